"""Synthetic report histories that look like Huế's, with the truth written alongside.

The history is simulated the way reports arise: incidents happen first, then residents
report each one while it is open, as a Poisson process in time at a known per-commune rate,
until the agency's handling of the first report closes it. So the duplicates made in an
incident's open window carry information about the reporting rate (Liu, Bhandaram and Garg,
"Quantifying spatial under-reporting disparities in resident crowdsourcing", Nature
Computational Science, 2024), and the generator writes the true rates so estimates can be
checked.

Model (parameters in :class:`GeneratorParams`; defaults in brackets):

1. **Incidents.** Per commune, a Poisson number of incidents proportional to its population,
   with a higher per-capita rate in urban wards (phường, thị trấn) than rural communes (xã)
   [``urban_incident_ratio`` 2.0], placed uniformly in the commune's polygon. A share of all
   incidents [``cluster_share`` 0.2] instead falls in Gaussian clusters around 15 busy places
   (markets, the Lê Lợi / Phạm Ngũ Lão tourist streets, the citadel and tombs, a school,
   stations, Thuận An and Lăng Cô beaches; hand-placed, approximate: see ``places.ANCHORS``),
   redrawn when they land outside every commune. Categories: a mix by setting dominated by
   urban order and sanitation (``mix.PROFILES``), a mix per kind of place for clusters.
   Seasonality per category (``seasons``): a peak around Tết (from the ``holidays`` lunar
   calendar) for rubbish, encroachment and noise; the October–November flood season for
   drainage, potholes and trees; summer for epidemic risk; quieter weekends.
2. **Reports.** While incident *i* of commune *c* is open, residents report it at rate
   ``λ_c = λ_setting · exp(σ z_c − σ²/2)`` reports per day, ``z_c ~ N(0, 1)`` [urban 0.2,
   rural 0.06, σ 0.25]: a Poisson process (the limit of many residents each reporting with a
   small probability). The first report comes after an ``Exponential(λ_c)`` delay (mean
   ``1/λ_c`` days), unless the incident ends by itself first [``unreported_lifetime_days``
   10, exponential]: then nobody reports it. The first report is the original; its lifecycle
   (step 4) closes the incident at its resolution (at its answer if rejected), and the
   further reports, ``Poisson(λ_c × open days)`` of them at uniform times in the window, are
   ``status = duplicate`` with ``duplicate_of`` its public id, from other residents, with their
   own channel and point. Rates vary by commune only, not by category.
3. **How.** Channel app/web/hotline by setting (hotline for 60% of rural reports); GPS for
   the app, an address geocoded or placed by hand for web and hotline; the point jittered
   around the incident by 10/25/40 m by location source (kept where it was if that would leave
   the incident's commune, so snapping finds the commune whose true rate the truth states);
   addresses in Vietnamese as residents write them (house number and street or
   *kiệt* in wards, *thôn* in communes, "gần chợ Đông Ba" near a cluster's landmark; the new
   2025 ward's name for most reports after 1 July 2025); short descriptions per category;
   reporters who are obviously fake (``texts.FAKE_*``: "Cư dân thử nghiệm N", phones
   0900xxxxxx, ``resident+N@example.invalid``), each with a phone or an e-mail.
4. **Outcome** as of ``end`` (``lifecycle``): response and resolution times by category (the
   agency that typically answers it) and setting (rural slower), statuses from ``received``
   to ``closed`` with a few ``rejected`` and ``reopened``, satisfaction 1–5 falling with the
   time to resolution.

The history covers ``[start, end)``; reports are placed with the communes' populations of the
generation given (2019 by default: the 2025 wards were dissolved from those communes, and
the importer snaps every report to both generations). ``count`` is the expected number of
report rows; the realised number is within a few per cent of it. Everything is drawn from
``numpy.random.Generator`` streams derived from the seed (one for the communes' rates, one
per window of time), so a seed gives byte-identical files. Windows of at most a month and
about 60,000 incidents are simulated and appended in turn, so memory stays bounded at any
size; within a window rows are in time order.

Files: ``OUT.csv`` (the bulk-import format, :mod:`gis_service.reports.importing.format`),
``OUT.incidents.csv`` (every incident, reported or not, with its commune's true rate, its first
report and closing times, and its drawn and observed report counts), ``OUT.truth.json``
(parameters, seed, per-commune and per-setting true rates, incident counts and the open days
observed: the exposure).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, and_, bindparam, func, select

from gis_service.config import Settings
from gis_service.db.schema import admin_unit, generation
from gis_service.errors import InvalidInput, NotFound
from gis_service.reports import categories as category_file
from gis_service.reports import configfile
from gis_service.reports.importing.format import ENCODING
from gis_service.synthetic import output, simulate
from gis_service.synthetic.mix import DEFAULT_CATEGORIES
from gis_service.synthetic.params import GeneratorParams
from gis_service.synthetic.world import Commune, build_world

__all__ = [
    "DEFAULT_COUNT",
    "DEFAULT_END",
    "DEFAULT_GENERATION",
    "Commune",
    "GeneratedHistory",
    "GeneratorParams",
    "category_codes",
    "default_start",
    "generate",
    "load_communes",
]

DEFAULT_COUNT = 37_000
DEFAULT_END = dt.date(2026, 11, 30)
DEFAULT_GENERATION = "2019"
#: Called after each window with (windows done, windows in all, rows written so far).
Progress = Callable[[int, int, int], None]


@dataclass(frozen=True)
class GeneratedHistory:
    """What :func:`generate` wrote, with its size and how long it took."""

    reports_path: Path
    incidents_path: Path
    truth_path: Path
    reports: int
    duplicates: int
    incidents: int
    incidents_reported: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.reports / self.seconds if self.seconds > 0 else float("inf")


def default_start(end: dt.date) -> dt.date:
    """Two years before ``end`` (29 February falls back to the 28th).

    >>> default_start(dt.date(2026, 11, 30))
    datetime.date(2024, 11, 30)
    """
    try:
        return end.replace(year=end.year - 2)
    except ValueError:
        return end.replace(year=end.year - 2, day=28)


def load_communes(conn: Connection, generation_code: str = DEFAULT_GENERATION
                  ) -> tuple[Commune, ...]:
    """The communes of a generation, with setting, population, polygon and district.

    >>> communes = load_communes(conn)
    >>> len(communes), sorted({commune.setting for commune in communes})
    (152, ['rural', 'urban'])
    """
    parent = admin_unit.alias("parent")
    stmt = (
        select(admin_unit.c.code, admin_unit.c.name, admin_unit.c.setting,
               admin_unit.c.population, func.ST_AsBinary(admin_unit.c.geom).label("wkb"),
               parent.c.code.label("district_code"), parent.c.name.label("district_name"))
        .join(generation, generation.c.id == admin_unit.c.generation_id)
        .outerjoin(parent, and_(parent.c.id == admin_unit.c.parent_id,
                                parent.c.level == "district"))
        .where(generation.c.code == bindparam("generation_code", generation_code),
               admin_unit.c.level == "commune")
        .order_by(admin_unit.c.code)
    )
    rows = conn.execute(stmt).all()
    if not rows:
        raise NotFound(f"generation {generation_code!r} has no communes", field="generation")
    territory = _service_territory(conn)
    return tuple(
        Commune(code=row.code, name=row.name, setting=row.setting,
                population=int(row.population or 0),
                polygon=_within(shapely.from_wkb(bytes(row.wkb)), territory),
                district_code=row.district_code, district_name=row.district_name)
        for row in rows
    )


#: Kept this far inside the service territory's edge, so no drawn point lies on it.
_EDGE_DEG = 1e-5


def _service_territory(conn: Connection) -> BaseGeometry | None:
    """The active generation's province(s), where residents' reports can be filed today; None
    without an active generation. The 2019 communes (GADM) reach a few hundred metres past
    Huế's official outline in places: a report drawn there would lie in another province."""
    wkb = conn.execute(
        select(func.ST_AsBinary(func.ST_Union(admin_unit.c.geom)))
        .join(generation, generation.c.id == admin_unit.c.generation_id)
        .where(generation.c.status == "active", admin_unit.c.level == "province")
    ).scalar_one_or_none()
    return None if wkb is None else shapely.buffer(shapely.from_wkb(bytes(wkb)), -_EDGE_DEG)


def _within(polygon: BaseGeometry, territory: BaseGeometry | None) -> BaseGeometry:
    """The part of a commune inside the territory (the whole commune if none is known, or if
    nothing of it is inside, so every commune keeps somewhere to draw from)."""
    if territory is None:
        return polygon
    clipped = shapely.intersection(polygon, territory)
    kept = [part for part in shapely.get_parts(clipped) if isinstance(part, Polygon)]
    return MultiPolygon(kept) if kept else polygon


def category_codes(settings: Settings) -> tuple[str, ...]:
    """The category codes of the categories file (``boundaries/reports/categories.toml``).

    >>> category_codes(Settings())[:3]
    ('urban_order', 'sanitation', 'roads')
    """
    path = configfile.config_path(settings, category_file.CATEGORIES_FILE)
    return tuple(item.code for item in category_file.read_categories(path))


def _check(communes: Sequence[Commune], count: int, seed: int, start: dt.date, end: dt.date
           ) -> None:
    if count < 1:
        raise InvalidInput("count must be at least 1", field="count")
    if seed < 0:
        raise InvalidInput("seed must not be negative", field="seed")
    if start >= end:
        raise InvalidInput("start must be before end", field="start")
    if not communes or sum(max(c.population, 0) for c in communes) <= 0:
        raise InvalidInput("communes with a population are needed", field="communes")


def generate(
    communes: Sequence[Commune],
    *,
    out: Path,
    count: int = DEFAULT_COUNT,
    seed: int = 0,
    start: dt.date | None = None,
    end: dt.date = DEFAULT_END,
    params: GeneratorParams | None = None,
    categories: Sequence[str] | None = None,
    id_prefix: str | None = None,
    progress: Progress | None = None,
) -> GeneratedHistory:
    """Simulate about ``count`` reports over ``[start, end)`` and write them to ``out``, with
    ``out.incidents.csv`` and ``out.truth.json`` beside it.

    >>> history = generate(load_communes(conn), out=Path("h.csv"), count=5000, seed=7)  # doctest: +SKIP
    >>> history.reports, history.truth_path.name  # doctest: +SKIP
    (4973, 'h.truth.json')
    """
    start = start or default_start(end)
    _check(communes, count, seed, start, end)
    began = time.perf_counter()
    streams = np.random.SeedSequence(seed).spawn(2)
    world = build_world(communes, codes=tuple(categories or DEFAULT_CATEGORIES),
                        params=params or GeneratorParams(), rng=np.random.default_rng(streams[0]),
                        count=count, start=start, end=end)
    windows = streams[1].spawn(len(world.windows))
    paths = out, output.incidents_path(out), output.truth_path(out)
    with (paths[0].open("w", encoding=ENCODING, newline="") as reports_file,
          paths[1].open("w", encoding=ENCODING, newline="") as incidents_file):
        writer = output.HistoryWriter(world, reports_file, incidents_file,
                                      id_prefix if id_prefix is not None else f"SYN{seed}-")
        for done, (window, stream) in enumerate(zip(world.windows, windows, strict=True), 1):
            rng = np.random.default_rng(stream)
            found = simulate.incidents(world, rng, window)
            writer.write(found, simulate.reports(world, rng, found))
            if progress is not None:
                progress(done, len(world.windows), writer.rows)
    files = {"reports": paths[0].name, "incidents": paths[1].name}
    output.write_truth(paths[2], output.truth(world, writer.tally, seed=seed, count=count,
                                              files=files))
    return GeneratedHistory(
        reports_path=paths[0], incidents_path=paths[1], truth_path=paths[2],
        reports=writer.rows, duplicates=writer.tally.duplicates,
        incidents=writer.incident_count, incidents_reported=int(writer.tally.reported.sum()),
        seconds=time.perf_counter() - began,
    )
