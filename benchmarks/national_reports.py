"""A stand-in national report history for the national benchmark and tests, until the
synthetic generator's national mode (gis_service/synthetic, issue #17's partitions work) lands.

Replace :func:`write_reports` by that generator when it merges; nothing else depends on how
the rows are drawn. Each ward gets a share of the reports proportional to a documented proxy
for its population, since no national census is at hand: its area times 4 for an urban ward
(Phường, Đặc khu) and 1 for a rural one (Xã) -- Vietnam's wards are denser than its communes by
roughly that factor per km² on average of the 2019 census, which is the order of magnitude
that matters here, not the exact figure. Points are drawn uniformly in each ward by PostGIS
(``ST_GeneratePoints``, seeded), times uniformly over ``[start, end)`` in Vietnam's time, the
category, channel and status uniformly among the given codes (status ``received`` mostly).
The file is in the import format (gis_service/reports/importing/format.py).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from gis_service.reports.importing.format import COLUMNS, ENCODING

#: The proxy's weight of an urban ward's km² against a rural commune's.
URBAN_WEIGHT = 4.0
_WARDS = text(
    "SELECT u.code, u.area_km2, u.setting FROM admin_unit u JOIN generation g "
    "ON g.id = u.generation_id WHERE g.code = :generation AND u.level = 'commune' "
    "ORDER BY u.code")
# One seeded draw per ward: ST_GeneratePoints places the points in the polygon itself.
_POINTS = text(
    "SELECT ST_X(d.geom), ST_Y(d.geom) FROM admin_unit u JOIN generation g "
    "ON g.id = u.generation_id, LATERAL ST_Dump(ST_GeneratePoints(u.geom, :n, :seed)) d "
    "WHERE g.code = :generation AND u.level = 'commune' AND u.code = :code")


def ward_counts(conn: Connection, count: int, seed: int, generation: str = "2025"
                ) -> dict[str, int]:
    """Reports per ward code: a multinomial draw on the population proxy (see the module)."""
    rows = conn.execute(_WARDS, {"generation": generation}).all()
    weights = np.array([float(r.area_km2) * (URBAN_WEIGHT if r.setting == "urban" else 1.0)
                        for r in rows])
    drawn = np.random.default_rng(seed).multinomial(count, weights / weights.sum())
    return {row.code: int(n) for row, n in zip(rows, drawn, strict=True) if n}


def write_reports(conn: Connection, out: Path, *, count: int, seed: int, start: dt.date,
                  end: dt.date, categories: list[str], generation: str = "2025") -> int:
    """Write about ``count`` reports over the generation's wards to ``out``; the rows written."""
    rng = np.random.default_rng(seed + 1)
    span_s = (end - start).days * 86_400
    tz = dt.timezone(dt.timedelta(hours=7))
    origin = dt.datetime(start.year, start.month, start.day, tzinfo=tz)
    written = 0
    with out.open("w", encoding=ENCODING, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for n, (code, wanted) in enumerate(ward_counts(conn, count, seed, generation).items()):
            points = conn.execute(_POINTS, {"n": wanted, "seed": seed + n, "code": code,
                                            "generation": generation}).all()
            seconds = rng.integers(0, span_s, len(points))
            kinds = rng.integers(0, len(categories), len(points))
            channels = rng.integers(0, 3, len(points))
            for (lon, lat), offset, kind, channel in zip(points, seconds.tolist(),
                                                          kinds.tolist(), channels.tolist(),
                                                          strict=True):
                writer.writerow(_row(f"N{written}", origin + dt.timedelta(seconds=offset),
                                     categories[kind], ("app", "web", "hotline")[channel],
                                     lon=lon, lat=lat))
                written += 1
    return written


def _row(public_id: str, created: dt.datetime, category: str, channel: str, *, lon: float,
         lat: float) -> list[Any]:
    values: dict[str, Any] = {
        "public_id": public_id, "created_at": created.isoformat(timespec="seconds"),
        "category": category, "channel": channel, "lat": f"{lat:.6f}", "lon": f"{lon:.6f}",
        "location_source": "gps", "status": "received"}
    return [values.get(name, "") for name in COLUMNS]
