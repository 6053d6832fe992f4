"""A national synthetic history: millions of reports over every ward of a generation, by COPY.

Unlike :mod:`gis_service.synthetic.generator` (incidents simulated for one province, written
as an import file the importer snaps and routes), this writes ``report`` rows straight into
the database with ``COPY``, already placed: each report's ward is drawn with probability
proportional to the ward's *proxy population* (:mod:`gis_service.synthetic.population_proxy`:
area times an urban/rural density, since no national census by ward is at hand), its point
uniform inside that ward, its time uniform over the period, its category uniform over the
stored categories. What a hot spot, coverage or ingest benchmark needs at national scale, fast
(10,000,000 reports in minutes), and nothing a one-province analysis would test: no incidents,
no lifecycle (every report ``received``, with ``import_batch`` set so the overdue check skips
them), one agency for all.

The H3 cells come from one ``latlng_to_cell`` at resolution 10 per report; the coarser ones
are its parents, computed on the integers (:func:`h3_parents`), as h3 itself does.

>>> history = copy_history(conn, load_wards(conn, "vn2025"), count=1_000,
...                        agency_id=1, seed=1)  # doctest: +SKIP
>>> history.reports  # doctest: +SKIP
1000
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import h3.api.basic_int as h3
import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import Connection, bindparam, func, select

from gis_service.db.partitions import ensure_report_partitions
from gis_service.db.schema import H3_RESOLUTIONS, admin_unit, agency, category, generation
from gis_service.errors import NotFound
from gis_service.synthetic.places import Territory
from gis_service.synthetic.population_proxy import PopulationProxy

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: Rows per COPY chunk: big enough that per-chunk costs vanish, small enough for memory.
CHUNK = 200_000
NATIONAL_AGENCY = "synthetic-national"
BATCH_LABEL = "synthetic-national"
DUE_AFTER = np.timedelta64(10, "D")
#: One year (the hot spot and coverage benchmarks' window), from the 2025 reform.
DEFAULT_START, DEFAULT_END = dt.date(2025, 7, 1), dt.date(2026, 7, 1)
COLUMNS = (
    "public_id", "category", "channel", "geom", "location_source",
    *(f"h3_r{res}" for res in H3_RESOLUTIONS),
    "snap_generation_id", "commune_id", "province_id", "current_generation_id",
    "current_commune_id", "current_province_id", "snap_match", "snap_distance_m",
    "status", "agency_id", "created_at", "due_at", "import_batch",
)
CHANNELS = ("app", "web", "hotline")


@dataclass(frozen=True)
class Wards:
    """The wards (communes) of one generation: ids, provinces, areas, settings, polygons."""

    generation_id: int
    ids: IntArray
    province_ids: IntArray
    area_km2: FloatArray
    setting: npt.NDArray[np.object_]
    territory: Territory

    def shares(self, proxy: PopulationProxy) -> FloatArray:
        return proxy.shares(self.area_km2, self.setting)


@dataclass(frozen=True)
class NationalHistory:
    """What :func:`copy_history` wrote, and how fast."""

    reports: int
    seconds: float
    #: Reports per ward index (the draw, for checking it against the proxy).
    per_ward: IntArray

    @property
    def reports_per_s(self) -> float:
        return self.reports / self.seconds if self.seconds > 0 else 0.0


def load_wards(conn: Connection, generation_code: str) -> Wards:
    """The commune-level units of a generation (any kind: service or reference)."""
    stmt = (select(admin_unit.c.id, admin_unit.c.parent_id, admin_unit.c.area_km2,
                   admin_unit.c.setting, func.ST_AsBinary(admin_unit.c.geom).label("wkb"),
                   generation.c.id.label("generation_id"))
            .join(generation, generation.c.id == admin_unit.c.generation_id)
            .where(generation.c.code == bindparam("code", generation_code),
                   admin_unit.c.level == "commune")
            .order_by(admin_unit.c.id))
    rows = conn.execute(stmt).all()
    if not rows:
        raise NotFound(f"generation {generation_code!r} has no communes", field="generation")
    return Wards(
        generation_id=int(rows[0].generation_id),
        ids=np.array([r.id for r in rows], dtype=np.int64),
        # A ward without a province (a drawn test grid) is its own province.
        province_ids=np.array([r.parent_id or r.id for r in rows], dtype=np.int64),
        area_km2=np.array([r.area_km2 for r in rows], dtype=np.float64),
        setting=np.array([r.setting for r in rows], dtype=object),
        territory=Territory([shapely.from_wkb(bytes(r.wkb)) for r in rows]))


def national_agency(conn: Connection) -> int:
    """The agency every national synthetic report is filed with (made on first use)."""
    found = conn.execute(select(agency.c.id).where(agency.c.code == NATIONAL_AGENCY)
                         ).scalar_one_or_none()
    if found is not None:
        return int(found)
    return int(conn.execute(agency.insert().values(
        code=NATIONAL_AGENCY, name="Synthetic national history", kind="operations_centre",
    ).returning(agency.c.id)).scalar_one())


def h3_parents(cells: IntArray, resolution: int, parent: int) -> IntArray:
    """The parents at ``parent`` of H3 cells at ``resolution``, on the 64-bit integers: the
    resolution field (bits 52-55) set to ``parent``, the digits below it (3 bits each) to 7.

    >>> cell = h3.latlng_to_cell(16.46, 107.59, 10)
    >>> int(h3_parents(np.array([cell]), 10, 7)[0]) == h3.cell_to_parent(cell, 7)
    True
    """
    if not 0 <= parent <= resolution:
        raise ValueError(f"parent resolution {parent} not in 0..{resolution}")
    cleared = cells & ~np.int64(0xF << 52)
    unused = np.int64((1 << (3 * (15 - parent))) - 1)
    return cleared | np.int64(parent << 52) | unused


def cells_of(lon: FloatArray, lat: FloatArray) -> dict[int, IntArray]:
    """Each point's cell at every stored resolution (h3 is the one place (lat, lng) appears)."""
    finest = max(H3_RESOLUTIONS)
    cells = np.fromiter((h3.latlng_to_cell(y, x, finest) for x, y in zip(lon, lat, strict=True)),
                        dtype=np.int64, count=len(lon))
    return {res: h3_parents(cells, finest, res) for res in H3_RESOLUTIONS}


def ewkb_hex(lon: FloatArray, lat: FloatArray) -> list[str]:
    """Points as hex EWKB with SRID 4326 (what COPY reads for a geometry), built at once.

    >>> ewkb_hex(np.array([107.5]), np.array([16.5]))
    ['0101000020E61000000000000000E05A400000000000803040']
    """
    record = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<u4"),
                       ("x", "<f8"), ("y", "<f8")])
    points = np.empty(len(lon), dtype=record)
    # Little-endian (1), Point with the SRID flag (0x20000001), EPSG:4326.
    points["order"], points["type"], points["srid"] = 1, 0x20000001, 4326
    points["x"], points["y"] = lon, lat
    text = points.tobytes().hex().upper()
    width = 2 * record.itemsize
    return [text[i:i + width] for i in range(0, len(text), width)]


def _times(rng: np.random.Generator, count: int, start: dt.date, end: dt.date) -> IntArray:
    """``count`` UTC epoch seconds uniform over ``[start, end)``, in order (as they arrive)."""
    lower = int(dt.datetime.combine(start, dt.time(), dt.UTC).timestamp())
    upper = int(dt.datetime.combine(end, dt.time(), dt.UTC).timestamp())
    return np.sort(rng.integers(lower, upper, count, dtype=np.int64))


def _iso(seconds: IntArray) -> list[str]:
    text: list[str] = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").tolist()
    return [value + "Z" for value in text]


@dataclass(frozen=True)
class _Chunk:
    """One COPY chunk's rows before formatting: wards (indexes) and points, in ward order."""

    ward: IntArray
    lon: FloatArray
    lat: FloatArray


def _draw_places(rng: np.random.Generator, wards: Wards, shares: FloatArray, n: int) -> _Chunk:
    per_ward = rng.multinomial(n, shares)
    ward = np.repeat(np.arange(len(per_ward)), per_ward)
    lon, lat = np.empty(n), np.empty(n)
    at = 0
    for index in np.flatnonzero(per_ward):
        k = int(per_ward[index])
        lon[at:at + k], lat[at:at + k] = wards.territory.uniform_in(rng, int(index), k)
        at += k
    # Shuffled, so a chunk's times (in order) do not follow its wards (in order).
    order = rng.permutation(n)
    return _Chunk(ward[order], lon[order], lat[order])


def _rows(chunk: _Chunk, wards: Wards, *, created: IntArray, first: int, categories: Sequence[str],
          agency_id: int, rng: np.random.Generator) -> str:
    """The chunk as COPY text (tab-separated, one report a line)."""
    n = len(chunk.ward)
    cells = cells_of(chunk.lon, chunk.lat)
    commune = wards.ids[chunk.ward].astype(str).tolist()
    province = wards.province_ids[chunk.ward].astype(str).tolist()
    generation = itertools.repeat(str(wards.generation_id))
    columns: list[Iterator[str] | list[str]] = [
        (f"N-{i:010d}" for i in range(first, first + n)),
        np.array(categories, dtype=object)[rng.integers(0, len(categories), n)].tolist(),
        np.array(CHANNELS, dtype=object)[rng.integers(0, len(CHANNELS), n)].tolist(),
        ewkb_hex(chunk.lon, chunk.lat), itertools.repeat("gps"),
        *(cells[res].astype(str).tolist() for res in H3_RESOLUTIONS),
        generation, commune, province, generation, commune, province,
        itertools.repeat("inside"), itertools.repeat("0"), itertools.repeat("received"),
        itertools.repeat(str(agency_id)), _iso(created),
        _iso(created + DUE_AFTER.astype("timedelta64[s]").astype(np.int64)),
        itertools.repeat(BATCH_LABEL),
    ]
    # The repeats are endless: the finite columns end the rows.
    lines = map("\t".join, zip(*columns, strict=False))
    return "\n".join(itertools.islice(lines, n)) + "\n"


def _categories(conn: Connection) -> tuple[str, ...]:
    codes = tuple(conn.execute(select(category.c.code).order_by(category.c.code)).scalars())
    if not codes:
        raise NotFound("no categories are stored (load the report configuration first)",
                       field="category")
    return codes


def history_chunks(conn: Connection, wards: Wards, *, count: int, agency_id: int, seed: int = 0,
                   start: dt.date = DEFAULT_START, end: dt.date = DEFAULT_END,
                   proxy: PopulationProxy | None = None, per_ward: IntArray | None = None
                   ) -> Iterator[str]:
    """The COPY text of ``count`` reports, chunk by chunk (adding each chunk's reports per
    ward to ``per_ward`` if given). Public ids are ``N-`` and ten digits from 1."""
    rng = np.random.default_rng(seed)
    shares = wards.shares(proxy or PopulationProxy())
    categories, created = _categories(conn), _times(rng, count, start, end)
    for first in range(0, count, CHUNK):
        n = min(CHUNK, count - first)
        chunk = _draw_places(rng, wards, shares, n)
        if per_ward is not None:
            np.add.at(per_ward, chunk.ward, 1)
        yield _rows(chunk, wards, created=created[first:first + n], first=first + 1,
                    categories=categories, agency_id=agency_id, rng=rng)


def copy_text(conn: Connection, chunks: Iterable[str], table: str = "report") -> None:
    """COPY report rows (:data:`COLUMNS`, as :func:`history_chunks` writes them) into
    ``table``: ``report``, or a bare table of its columns for a baseline."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for text in chunks:
            copy.write(text)


def copy_history(conn: Connection, wards: Wards, *, count: int, agency_id: int, seed: int = 0,
                 start: dt.date = DEFAULT_START, end: dt.date = DEFAULT_END,
                 proxy: PopulationProxy | None = None) -> NationalHistory:
    """COPY ``count`` reports over ``wards`` into ``report``, with the yearly partitions of
    the period made first, in the connection's transaction (the caller commits).

    One history per database: a second is refused by the public ids it repeats.
    """
    ensure_report_partitions(conn, since=start.year)
    per_ward = np.zeros(len(wards.ids), dtype=np.int64)
    started = time.perf_counter()
    copy_text(conn, history_chunks(conn, wards, count=count, agency_id=agency_id, seed=seed,
                                   start=start, end=end, proxy=proxy, per_ward=per_ward))
    return NationalHistory(count, time.perf_counter() - started, per_ward)
