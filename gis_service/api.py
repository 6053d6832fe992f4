"""The library's public surface: what the web app, the CLI and the notebooks call.

Every function takes a SQLAlchemy connection (from :func:`engine`) and returns plain values,
dataclasses or GeoDataFrames; nothing here knows HTTP. The examples run as doctests against the
test suite's generated history (``tests/test_doctests.py``), so they stay true.

Points: snap one or many to their commune, district and province; reverse adds the neighbouring
commune near a boundary.

>>> snap(conn, lon=107.5905, lat=16.4637).match
'inside'
>>> [s.match for s in snap_many(conn, [LonLat(107.5905, 16.4637), LonLat(110.0, 12.0)])]
['inside', 'outside']
>>> reverse(conn, lon=107.5905, lat=16.4637).snap.commune.level
'commune'

Addresses: ranked candidates, in memory once the index is built (it is rebuilt whenever the
boundaries change).

>>> best = geocode(conn, "Phường Vỹ Dạ, Thành phố Huế")[0]
>>> best.precision, best.unit.level
('commune', 'commune')
>>> [o.kind for o in batch(conn, {"items": [{"id": 1, "q": "Vỹ Dạ, Huế"},
...                                          {"id": 2, "lat": 16.4637, "lon": 107.5905}]})]
['forward', 'reverse']

Reports: one transaction stores a report, its routing, deadline, cells and events.

>>> report_id = submit(conn, NewReport(category="street_lights", channel="app",
...                                    point=LonLat(107.5905, 16.4637)), actor="doctest")
>>> report_id > 0
True

Analyses: hot spots per H3 cell and coverage per ward, as GeoDataFrames in EPSG:4326.

>>> cells = hotspots(conn, resolution=8)
>>> {"cell", "count", "z", "cls"} <= set(cells.columns), cells.crs.to_epsg()
(True, 4326)
>>> wards = coverage(conn, generation="2025")
>>> len(wards), {"rate_eb", "under_reporting"} <= set(wards.columns)
(40, True)

Scorecards: every agency's (or ward's, category's, setting's) volume, on-time rate with its
Wilson interval, working-hour durations, backlog and satisfaction beside its rating coverage.

>>> card = scorecards(conn, by="setting")
>>> sorted(cell.key for cell in card.cells)
['rural', 'urban']

Public text: every description or note shown to the public passes through the redaction.

>>> redact("gọi 0905 123 456 nếu cần")
'gọi [số điện thoại] nếu cần'

Maps: folium pages from the same frames.

>>> type(hotspot_map(conn, HotspotFilters(resolution=8), by_category=False)).__name__
'Map'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import Connection

from gis_service.analysis import (
    coverage,
    coverage_summary,
    emerging_hotspots,
    engine,
    hotspots,
    populated_gaps,
    reporting_rates,
)
from gis_service.analysis.scorecards import Scorecards, scorecards
from gis_service.batch import BatchOutcome, run_batch
from gis_service.coords import LonLat, lonlat
from gis_service.geocode import GeocodeResult, IndexCache
from gis_service.geocode.point_text import geocode_text
from gis_service.maps import (
    CoverageFilters,
    HotspotFilters,
    boundaries_map,
    coverage_map,
    hotspot_map,
    map_html,
)
from gis_service.redaction import redact
from gis_service.reports.intake import NewReport, Reporter
from gis_service.reports.intake import submit as _submit
from gis_service.spatial.bulk import snap_points
from gis_service.spatial.reverse import ReverseResult, reverse_point
from gis_service.spatial.single import snap_point
from gis_service.spatial.types import DEFAULT_TOLERANCE_M, Snap

__all__ = [
    "CoverageFilters",
    "HotspotFilters",
    "LonLat",
    "NewReport",
    "Reporter",
    "Scorecards",
    "Snap",
    "batch",
    "boundaries_map",
    "coverage",
    "coverage_map",
    "coverage_summary",
    "emerging_hotspots",
    "engine",
    "geocode",
    "hotspot_map",
    "hotspots",
    "map_html",
    "populated_gaps",
    "redact",
    "reporting_rates",
    "reverse",
    "scorecards",
    "snap",
    "snap_many",
    "submit",
]

# The geocoder's index, built once per process and rebuilt when the boundaries change.
_INDEX = IndexCache()


def snap(conn: Connection, *, lon: float, lat: float, generation: str | None = None,
         at: dt.date | None = None, tolerance_m: float = DEFAULT_TOLERANCE_M) -> Snap:
    """The commune, district and province of one point (see :mod:`gis_service.spatial`)."""
    return snap_point(conn, lonlat(lon, lat), generation=generation, at=at,
                      tolerance_m=tolerance_m)


def snap_many(conn: Connection, points: Sequence[LonLat], *, generation: str | None = None,
              at: dt.date | None = None, tolerance_m: float = DEFAULT_TOLERANCE_M) -> list[Snap]:
    """Many points in one statement, answers in input order, equal to :func:`snap`'s."""
    return snap_points(conn, points, generation=generation, at=at, tolerance_m=tolerance_m)


def reverse(conn: Connection, *, lon: float, lat: float, generation: str | None = None,
            at: dt.date | None = None, tolerance_m: float = DEFAULT_TOLERANCE_M
            ) -> ReverseResult:
    """:func:`snap`, plus the neighbouring commune when the point is near a boundary."""
    return reverse_point(conn, lonlat(lon, lat), generation=generation, at=at,
                         tolerance_m=tolerance_m)


def geocode(conn: Connection, q: str, *, limit: int = 5,
            tolerance_m: float = DEFAULT_TOLERANCE_M) -> list[GeocodeResult]:
    """Ranked candidate places for an address as people write it (typed coordinates included:
    one result of precision ``point``)."""
    return geocode_text(conn, _INDEX.get(conn), q, limit=limit, tolerance_m=tolerance_m)


def batch(conn: Connection, body: Mapping[str, object], *,
          tolerance_m: float = DEFAULT_TOLERANCE_M) -> list[BatchOutcome]:
    """Answer a batch body (``{"items": [...]}``, addresses and points) item by item, in order."""
    return run_batch(conn, _INDEX.get(conn), body, tolerance_m=tolerance_m)


def submit(conn: Connection, new: NewReport, *, actor: str,
           tolerance_m: float = DEFAULT_TOLERANCE_M) -> int:
    """Store a new report in the caller's transaction; return its id."""
    return _submit(conn, new, index=_INDEX.get(conn), actor=actor, tolerance_m=tolerance_m)
