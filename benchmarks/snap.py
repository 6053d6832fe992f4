"""Snapping a million points: set-based PostGIS against an in-memory shapely STRtree.

Sets up its own throw-away database on the cluster (migrated, generation 2019 loaded from its
manifest), draws points over Thừa Thiên Huế weighted by 2019 commune population (uniform
inside each commune) plus 5% in gaps and offshore (a 3 km band around the province), then:

1. snaps them with ``snap_points`` (COPY in, one statement, COPY out), and the same query alone
   over a pre-staged table (``sql_only``) to show where the time goes;
2. does the same job in memory: STRtree covers, deepest-commune rule for the few points
   covered twice, nearest commune within the tolerance in metres (UTM 48N) for the misses;
3. calls ``snap_point`` in a loop over one connection, and for comparison the same statement
   through SQLAlchemy Core and a bare ``SELECT 1`` (the round-trip floor).

Targets (issue 2) on this 2-core machine: set-based >= 100,000 points/s and >= 0.25 x the
in-memory rate; single >= 5,000 lookups/s. The machine is shared: each form runs ``--repeat``
times and the median is judged. The last line of output is one JSON object.

    .venv/bin/python benchmarks/snap.py [--points N] [--repeat R] [--seconds S] [--subdivide V]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
import psycopg.sql
import shapely
from pyproj import Transformer
from sqlalchemy import Connection, Engine, column, select, table, text

from gis_service.boundaries.manifest import load_manifest
from gis_service.config import Settings
from gis_service.coords import LonLat
from gis_service.db.engine import database_url, make_engine
from gis_service.db.schema import SUBDIVIDE_MAX_VERTICES, admin_unit, generation
from gis_service.db.scratch import scratch_database
from gis_service.spatial.bulk import snap_points
from gis_service.spatial.grid import CELL_DEG
from gis_service.spatial.query import snap_select
from gis_service.spatial.single import snap_point
from gis_service.spatial.statements import single_statement
from gis_service.spatial.types import DEFAULT_TOLERANCE_M, Snap

GENERATION = "2019"
SEED = 20190401
OFFSHORE_SHARE = 0.05
BAND_DEG = 0.027  # ~3 km: two thirds of the band lies within the 2 km tolerance
TARGETS = {"set_points_per_s": 100_000, "set_to_in_memory": 0.25, "single_per_s": 5_000}


@dataclass(frozen=True)
class Communes:
    """The generation's communes as stored, with their parents and population."""

    ids: np.ndarray
    codes: list[str]
    polygons: np.ndarray  # lon/lat
    metric: np.ndarray  # UTM 48N
    district: np.ndarray
    province: np.ndarray
    population: np.ndarray


def read_communes(conn: Connection, settings: Settings) -> Communes:
    parent = admin_unit.alias("parent")
    rows = conn.execute(
        select(admin_unit.c.id, admin_unit.c.code, admin_unit.c.geom.ST_AsBinary(),
               parent.c.id, parent.c.parent_id)
        .join(generation, generation.c.id == admin_unit.c.generation_id)
        .join(parent, parent.c.id == admin_unit.c.parent_id)
        .where(generation.c.code == GENERATION, admin_unit.c.level == "commune")
        .order_by(admin_unit.c.code)
    ).all()
    codes = [row[1] for row in rows]
    population_file = settings.data_root / "population" / "tth_commune_population_2019.csv"
    with population_file.open(newline="", encoding="utf-8") as handle:
        people = {r["gso_code_2019"]: float(r["total"]) for r in csv.DictReader(handle)}
    polygons = shapely.from_wkb([bytes(row[2]) for row in rows])
    to_metric = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
    metric = shapely.transform(polygons, lambda xy: np.column_stack(
        to_metric.transform(xy[:, 0], xy[:, 1])))
    return Communes(np.array([row[0] for row in rows]), codes, polygons, metric,
                    np.array([row[3] for row in rows]), np.array([row[4] for row in rows]),
                    np.array([people.get(code, 0.0) for code in codes]))


def draw_points(communes: Communes, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 2) lon/lat: population-weighted inside communes, plus the offshore share."""
    inland = rng.multinomial(count - int(count * OFFSHORE_SHARE),
                             communes.population / communes.population.sum())
    parts = [_uniform_in(polygon, n, rng) for polygon, n in zip(communes.polygons, inland,
                                                                   strict=True) if n]
    land = shapely.union_all(communes.polygons)
    band = shapely.difference(land.buffer(BAND_DEG), land)
    parts.append(_uniform_in(band, count - int(inland.sum()), rng))
    points = np.concatenate(parts)
    return points[rng.permutation(len(points))]


def _uniform_in(area: shapely.Geometry, count: int, rng: np.random.Generator) -> np.ndarray:
    shapely.prepare(area)
    x0, y0, x1, y1 = shapely.bounds(area).tolist()
    found: list[np.ndarray] = []
    while sum(len(f) for f in found) < count:
        xy = np.column_stack([rng.uniform(x0, x1, 2 * count + 64), rng.uniform(y0, y1, 2 * count + 64)])
        found.append(xy[shapely.contains_xy(area, xy[:, 0], xy[:, 1])])
    return np.concatenate(found)[:count]


class InMemory:
    """The same job in memory: covers, the deepest rule, nearest within tolerance in metres."""

    def __init__(self, communes: Communes, tolerance_m: float) -> None:
        self.communes = communes
        self.tolerance_m = tolerance_m
        shapely.prepare(communes.polygons)
        self.tree = shapely.STRtree(communes.polygons)
        self.metric_tree = shapely.STRtree(communes.metric)
        self.to_metric = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
        self.code_rank = np.argsort(np.argsort(communes.codes))  # lower code, lower rank

    def snap(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Commune index (-1 when outside), match code (0 inside, 1 nearest, 2 outside), metres."""
        count = len(lon)
        which, poly = self.tree.query(shapely.points(lon, lat), predicate="covered_by")
        hits = np.bincount(which, minlength=count)
        commune = np.full(count, -1)
        single = hits[which] == 1
        commune[which[single]] = poly[single]
        self._deepest(lon, lat, which[~single], poly[~single], commune)
        match = np.where(hits > 0, 0, 2)
        distance = np.where(hits > 0, 0.0, np.nan)
        chosen, nearest, metres = self._nearest(lon, lat, np.flatnonzero(hits == 0))
        commune[chosen], match[chosen], distance[chosen] = nearest, 1, metres
        return commune, match, distance

    def _metric_points(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return np.asarray(shapely.points(*self.to_metric.transform(lon, lat)))

    def _deepest(self, lon: np.ndarray, lat: np.ndarray, which: np.ndarray, poly: np.ndarray,
                 commune: np.ndarray) -> None:
        if not len(which):
            return
        depth = shapely.distance(shapely.boundary(self.communes.metric[poly]),
                                 self._metric_points(lon[which], lat[which]))
        # Deepest first (to the millimetre), then the lowest code; first row per point wins.
        order = np.lexsort((self.code_rank[poly], -np.round(depth * 1000), which))
        first = np.unique(which[order], return_index=True)[1]
        commune[which[order][first]] = poly[order][first]

    def _nearest(self, lon: np.ndarray, lat: np.ndarray, misses: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Of the missed points, those with a commune within the tolerance: which, metres."""
        (which, poly), metres = self.metric_tree.query_nearest(
            self._metric_points(lon[misses], lat[misses]), max_distance=self.tolerance_m,
            return_distance=True, all_matches=True)
        order = np.lexsort((self.code_rank[poly], np.round(metres * 1000), which))
        first = np.unique(which[order], return_index=True)[1]
        return misses[which[order][first]], poly[order][first], metres[order][first]


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def rate_for(seconds: float, call: Callable[[int], Any]) -> float:
    """Calls per second of ``call(i)`` over about ``seconds``."""
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        call(count)
        count += 1
    return count / elapsed


def resubdivide(engine: Engine, vertices: int) -> int:
    """Cut the pieces again at ``vertices`` (an experiment on the throw-away database only)."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM admin_unit_part"))
        conn.execute(text(
            "INSERT INTO admin_unit_part (unit_id, generation_id, level, geom) "
            "SELECT id, generation_id, level, ST_Subdivide(geom, :v) FROM admin_unit"), {"v": vertices})
        conn.execute(text("ANALYZE admin_unit_part"))
        return int(conn.execute(text("SELECT count(*) FROM admin_unit_part")).scalar_one())


def sql_only(engine: Engine, points: np.ndarray) -> float:
    """Seconds for the snapping statement alone over an already staged, analysed table."""
    with engine.connect() as conn:
        generation_id = conn.execute(select(generation.c.id).where(
            generation.c.code == GENERATION)).scalar_one()
        conn.execute(text("CREATE TEMPORARY TABLE staged (idx integer, lon float8, lat float8)"))
        driver: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
        with driver.cursor() as cursor, cursor.copy("COPY staged FROM STDIN") as copy:
            for i, (x, y) in enumerate(points.tolist()):
                copy.write_row((i, x, y))
        conn.execute(text("ANALYZE staged"))
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        query = snap_select(table("staged", column("idx"), column("lon"), column("lat")),
                            generation_id, DEFAULT_TOLERANCE_M)
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        with driver.cursor() as cursor:
            started = time.perf_counter()
            copy_out = psycopg.sql.SQL("COPY ({}) TO STDOUT (FORMAT binary)").format(
                psycopg.sql.SQL(sql))  # compiled by SQLAlchemy, literals only
            with cursor.copy(copy_out) as copy:
                for _ in copy:
                    pass
            return time.perf_counter() - started


def single_rates(engine: Engine, points: np.ndarray, seconds: float, rounds: int = 8
                 ) -> dict[str, Any]:
    """Lookups per second over one connection, in ``rounds`` interleaved windows.

    The round-trip floor (``SELECT 1``) moves by a factor of three from minute to minute on
    this shared VM, so the three forms take turns in short windows and each figure is the
    median of its windows, with the ratio to the floor measured in the same round.
    """
    sample = [LonLat(float(x), float(y)) for x, y in points[:50_000]]
    core = single_statement("code")
    window = seconds / rounds
    with engine.connect() as conn:
        snap_point(conn, sample[0], generation=GENERATION)
        driver: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
        forms: dict[str, Callable[[int], Any]] = {
            "snap_point_per_s": lambda i: snap_point(
                conn, sample[i % len(sample)], generation=GENERATION),
            "same_statement_via_sqlalchemy_core_per_s": lambda i: conn.execute(
                core, {"lon": sample[i % len(sample)].lon, "lat": sample[i % len(sample)].lat,
                       "tolerance_m": DEFAULT_TOLERANCE_M, "generation_code": GENERATION}).one(),
            "select_1_per_s": lambda i: driver.execute("SELECT 1").fetchone(),
        }
        windows: dict[str, list[float]] = {name: [] for name in forms}
        for _ in range(rounds):
            for name, call in forms.items():
                windows[name].append(rate_for(window, call))
    ratios = [s / f for s, f in zip(windows["snap_point_per_s"], windows["select_1_per_s"],
                                    strict=True)]
    return {**{name: round(statistics.median(rates), 1) for name, rates in windows.items()},
            "snap_point_windows_per_s": [round(rate) for rate in windows["snap_point_per_s"]],
            "select_1_windows_per_s": [round(rate) for rate in windows["select_1_per_s"]],
            "snap_point_to_select_1_median": round(statistics.median(ratios), 3)}


def agreement(snaps: list[Any], mine: tuple[np.ndarray, np.ndarray, np.ndarray],
              communes: Communes, points: np.ndarray) -> dict[str, Any]:
    commune, match, _ = mine
    names = ("inside", "nearest", "outside")
    theirs = [(names[m], communes.codes[c] if c >= 0 else None) for c, m in zip(commune, match,
                                                                             strict=True)]
    ours = [(s.match, s.commune.code if s.commune else None) for s in snaps]
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    return {"same": len(ours) - len(differ), "differ": len(differ),
            "examples": [{"lonlat": points[i].round(6).tolist(), "postgis": ours[i],
                          "in_memory": theirs[i]} for i in differ[:3]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="per single-point form, in interleaved windows")
    parser.add_argument("--subdivide", type=int, default=None,
                        help=f"re-cut pieces at this many vertices (default: the migration's "
                             f"{SUBDIVIDE_MAX_VERTICES})")
    args = parser.parse_args()
    settings = Settings.from_env()
    if not settings.has_data_root:
        raise SystemExit(f"the shared data root {settings.data_root} is needed (GIS_DATA_ROOT)")
    load_start = os.getloadavg()
    with scratch_database(database_url(settings, start=True), settings, "snapbench") as url:
        engine = make_engine(url, settings)
        try:
            result = run(engine, settings, args)
        finally:
            engine.dispose()
    result["machine"] = {"cpus": os.cpu_count(), "loadavg_before": load_start,
                         "loadavg_after": os.getloadavg()}
    print(json.dumps(result))


def run(engine: Engine, settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    with engine.begin() as conn:
        load_manifest(conn, settings, code=GENERATION)
    pieces = resubdivide(engine, args.subdivide) if args.subdivide else None
    with engine.connect() as conn:
        communes = read_communes(conn, settings)
        pieces = pieces or int(conn.execute(text("SELECT count(*) FROM admin_unit_part")).scalar_one())
    points = draw_points(communes, args.points, np.random.default_rng(SEED))
    lonlats = [LonLat(float(x), float(y)) for x, y in points]
    memory = InMemory(communes, DEFAULT_TOLERANCE_M)
    # One untimed full pass first: the first million-point run of a fresh database backend is
    # ~5 s slower (measured; it first touches ~300 MB of work memory, which this VM backs
    # lazily), a one-off reported as cold_first_run_seconds rather than mixed into the median.
    with engine.connect() as conn:
        cold_s, _ = timed(lambda: snap_points(conn, lonlats, generation=GENERATION))
    memory.snap(points[:, 0], points[:, 1])
    set_s: list[float] = []
    memory_s: list[float] = []
    snaps: list[Snap] = []
    mine = None
    # Each form's repeats back to back, as a service snapping batch after batch would run. Not
    # interleaved: between two set-based runs the in-memory one takes the pages the database
    # backend had just freed, and the backend's next 180 MB hash aggregate then lands on pages
    # this VM backs only when first touched (measured: 12.3 s a run instead of 7.9 s, with the
    # statement itself unchanged). The cold first run above shows that cost once.
    for _ in range(args.repeat):
        with engine.connect() as conn:
            seconds, snaps = timed(lambda: snap_points(conn, lonlats, generation=GENERATION))
            set_s.append(seconds)
    for _ in range(args.repeat):
        seconds, mine = timed(lambda: memory.snap(points[:, 0], points[:, 1]))
        memory_s.append(seconds)
    assert mine is not None
    sql_s = sql_only(engine, points)
    count = len(points)
    set_rate = count / statistics.median(set_s)
    memory_rate = count / statistics.median(memory_s)
    single = single_rates(engine, points, args.seconds)
    return {
        "benchmark": "snap",
        "points": count,
        "matches": dict(Counter(s.match for s in snaps)),
        "set_based": {"cold_first_run_seconds": round(cold_s, 3),
                      "seconds": [round(s, 3) for s in set_s],
                      "points_per_s": round(set_rate), "sql_only_seconds": round(sql_s, 3)},
        "in_memory": {"seconds": [round(s, 3) for s in memory_s], "points_per_s": round(memory_rate),
                      "method": "shapely 2 STRtree covered_by on prepared polygons from numpy "
                                "arrays; UTM 48N for depth and nearest"},
        "ratio_set_to_in_memory": [round(m / s, 3) for s, m in zip(set_s, memory_s, strict=True)],
        "ratio_median": round(set_rate / memory_rate, 3),
        "agreement_with_in_memory": agreement(snaps, mine, communes, points),
        "single": single,
        "targets": {
            "set_points_per_s_ge_100000": set_rate >= TARGETS["set_points_per_s"],
            "set_to_in_memory_ge_0_25": set_rate / memory_rate >= TARGETS["set_to_in_memory"],
            "single_per_s_ge_5000": single["snap_point_per_s"] >= TARGETS["single_per_s"],
        },
        "setup": {"generation": GENERATION, "communes": len(communes.codes), "pieces": pieces,
                  "subdivide_max_vertices": args.subdivide or SUBDIVIDE_MAX_VERTICES,
                  "cell_deg": CELL_DEG, "tolerance_m": DEFAULT_TOLERANCE_M,
                  "offshore_share": OFFSHORE_SHARE, "seed": SEED},
    }


if __name__ == "__main__":
    main()
