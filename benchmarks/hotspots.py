"""Hot spots on a million reports: ``hotspots()`` end to end against PySAL esda's Gi*.

Builds its own throw-away database (migrated, Huế's boundaries, the report config), writes a
synthetic history of ``--reports`` reports with the generator and loads it with the bulk
importer (``--database-url`` reuses a database that already has reports instead). Then, at
resolution 9 with k = 1 and binary weights:

1. ``end_to_end_cold_s``: ``gis_service.analysis.hotspots()`` as planners call it (excess
   over residents, ``inference=auto``: the exact test) with empty caches, from the query to
   the finished GeoDataFrame (counts in SQL, the study area's cells, the residents per cell,
   the weights, the dispersion, the exact tails, BH, classes, hexagon polygons);
   ``fresh_process_cold_s``: the same call as the first of a new Python process (median of
   ``--fresh`` processes; ``fresh_process_import_s`` is the process's import of the package,
   not counted), and ``fresh_process_default_cold_s`` with ``k`` omitted (the default answer:
   adaptive neighbourhoods of 1-3 rings, three weight matrices to build);
2. ``end_to_end_warm_s``: the same call again (study area, residents, weights and polygons
   cached), the median of ``--repeat``; ``permutation_999_warm_s`` the same with 999
   conditional permutations; ``auto_scale_s`` with resolution and rings chosen from the data;
3. ``gi_star_s``: our Gi* alone (z, p, BH, classes) on the same counts and weights;
4. ``esda_s``: ``esda.G_Local(counts, w, star=True, transform='B', permutations=0)`` on the same
   counts and neighbour lists (a ``libpysal.weights.W`` built beforehand, not timed), and
   ``esda_graph_s`` with a ``libpysal.graph.Graph`` instead (esda's faster path).

Ratios are esda's time over ours; ``max_abs_z_diff`` compares esda's z-scores with ours on
the same counts (``measure=count``, ``inference=analytic``, the Gi* of the counts).
Targets (issues 5 and 19): end to end under 3 s (permutations included), at least 5 times
faster than esda,
equal z-scores. The machine is shared: compare ratios. The last line is one JSON object.

    .venv/bin/python benchmarks/hotspots.py [--reports N] [--repeat R] [--fresh F] [--database-url URL]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from esda.getisord import G_Local
from libpysal.graph import Graph
from libpysal.weights import W
from sqlalchemy import Connection, func, select

from gis_service.analysis import grid, hotspots, residents
from gis_service.analysis.selection import report_selection
from gis_service.analysis.sql import hotspots as sql
from gis_service.analysis.statistics.hotspots import gi_star
from gis_service.config import Settings
from gis_service.db.engine import make_engine
from gis_service.db.schema import report
from gis_service.reports.importing.importer import import_reports
from gis_service.reports.setup import load_config
from gis_service.synthetic.generator import category_codes, generate, load_communes

from support import hue_database  # benchmarks/support.py, beside this script

TARGET_S = 3.0
TARGET_RATIO = 5.0
Result = TypeVar("Result")


def timed(call: Callable[[], Result]) -> tuple[float, Result]:
    began = time.perf_counter()
    result = call()
    return time.perf_counter() - began, result


def median_time(call: Callable[[], object], repeat: int) -> float:
    return statistics.median(timed(call)[0] for _ in range(repeat))


@contextmanager
def history_database(settings: Settings, reports: int, seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """A scratch database with ``reports`` generated reports loaded by the importer."""
    with hue_database(settings, "bench_hotspots") as url, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url, settings)
        with engine.begin() as conn:
            load_config(conn, settings)
        with engine.connect() as conn:
            communes = load_communes(conn)
        history = generate(communes, out=Path(tmp) / "history.csv", count=reports, seed=seed,
                           categories=category_codes(settings))
        print(f"generated {history.reports:,} reports in {history.seconds:.1f} s", file=sys.stderr)
        with engine.begin() as conn:
            # Offline (a first load): setting up is not what this benchmark measures.
            import_s, summary = timed(lambda: import_reports(
                conn, history.reports_path, strict=True, offline=True))
        print(summary.describe(), file=sys.stderr)
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE report")
        engine.dispose()
        yield url, {"generate_s": round(history.seconds, 1), "import_s": round(import_s, 1)}


def esda_times(counts: np.ndarray, neighbours: dict[int, list[int]], repeat: int
               ) -> tuple[float, float, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands and disconnected components at the coast
        w = W(neighbours, silence_warnings=True)
        graph = Graph.from_W(w)
        result = G_Local(counts, w, transform="B", star=True, permutations=0)
        esda_s = median_time(lambda: G_Local(counts, w, transform="B", star=True, permutations=0),
                             repeat)
        graph_s = median_time(
            lambda: G_Local(counts, graph, transform="B", star=True, permutations=0), repeat)
    return esda_s, graph_s, np.asarray(result.Zs)


_FRESH = """
import json, sys, time
began = time.perf_counter()
from gis_service.analysis import hotspots
from gis_service.config import Settings
from gis_service.db.engine import make_engine
imported = time.perf_counter() - began
engine = make_engine(sys.argv[1], Settings.from_env())
k = None if sys.argv[3] == "none" else int(sys.argv[3])
with engine.connect() as conn:
    conn.exec_driver_sql("SELECT 1")  # connecting is not the analysis
    began = time.perf_counter()
    hotspots(conn, resolution=int(sys.argv[2]), k=k)
    print(json.dumps({"import_s": imported, "cold_s": time.perf_counter() - began}))
"""


def fresh_process(url: str, resolution: int, k: int | None, times: int) -> dict[str, float]:
    """The first ``hotspots()`` call of new Python processes (nothing imported, nothing
    cached): the median of ``times`` cold calls and of the imports before them."""
    runs = [json.loads(subprocess.run(
        [sys.executable, "-c", _FRESH, url, str(resolution), "none" if k is None else str(k)],
        check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent,
    ).stdout.strip().splitlines()[-1]) for _ in range(times)]
    return {key: round(statistics.median(run[key] for run in runs), 3)
            for key in ("import_s", "cold_s")}


def measure(conn: Connection, resolution: int, k: int, repeat: int) -> dict[str, Any]:
    grid.clear_caches()
    residents.clear_caches()
    cold_s, default = timed(lambda: hotspots(conn, resolution=resolution, k=k))
    warm_s = median_time(lambda: hotspots(conn, resolution=resolution, k=k), repeat)
    permutation_s, permuted = timed(lambda: hotspots(conn, resolution=resolution, k=k,
                                                     inference="permutation"))
    auto_s, auto = timed(lambda: hotspots(conn))
    # esda's z is Gi* of the raw counts: compare the count measure's analytic answer.
    frame = hotspots(conn, resolution=resolution, k=k, measure="count", inference="analytic")
    sql_s = median_time(lambda: sql.cell_counts(conn, resolution, report_selection()), repeat)
    found = sql.cell_counts(conn, resolution, report_selection())
    cells = grid.with_cells(grid.study_area(conn, resolution), found.cells)
    assert grid.cell_names(cells) == frame.cell.tolist()  # the same cells, in the same order
    grid.clear_caches()
    weights_s, weights = timed(lambda: grid.weights(cells, k, "binary"))
    counts = frame["count"].to_numpy(dtype=np.float64)
    gi_s = median_time(lambda: gi_star(counts, weights), repeat)
    esda_s, graph_s, esda_z = esda_times(counts, weights.neighbours(), repeat)
    reports = conn.execute(select(func.count()).select_from(report)).scalar_one()
    return {
        "reports": reports, "resolution": resolution, "k": k, "cells": len(frame),
        "inference": default.attrs["inference"], "measure": default.attrs["measure"],
        "dispersion": default.attrs["dispersion"],
        "hot_cells": int(default.cls.str.startswith("hot").sum()),
        "cold_cells": int(default.cls.str.startswith("cold").sum()),
        "analytic_count_hot_cells": int(frame.cls.str.startswith("hot").sum()),
        "end_to_end_cold_s": round(cold_s, 3), "end_to_end_warm_s": round(warm_s, 3),
        "permutation_999_warm_s": round(permutation_s, 3),
        "permutation_hot_cells": int(permuted.cls.str.startswith("hot").sum()),
        "auto_scale_s": round(auto_s, 3),
        "auto_scale": {"resolution": auto.attrs["resolution"], "k": auto.attrs["k"],
                       **auto.attrs["scale_figures"]},
        "sql_counts_s": round(sql_s, 3), "weights_s": round(weights_s, 3),
        "gi_star_s": round(gi_s, 4), "esda_s": round(esda_s, 3), "esda_graph_s": round(graph_s, 3),
        "ratio_esda_to_gi_star": round(esda_s / gi_s, 1),
        "ratio_esda_graph_to_gi_star": round(graph_s / gi_s, 1),
        "ratio_esda_to_end_to_end_warm": round(esda_s / warm_s, 2),
        "max_abs_z_diff": float(np.abs(frame.z.to_numpy() - esda_z).max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--resolution", type=int, default=9)
    parser.add_argument("--k", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fresh", type=int, default=3,
                        help="new processes timed for the fresh-process cold figures")
    parser.add_argument("--database-url", help="a database that already has reports")
    args = parser.parse_args()
    settings = Settings.from_env()

    @contextmanager
    def database() -> Iterator[tuple[str, dict[str, Any]]]:
        if args.database_url:
            yield args.database_url, {}
        else:
            with history_database(settings, args.reports, args.seed) as found:
                yield found

    with database() as (url, setup):
        engine = make_engine(url, dataclasses.replace(settings, statement_timeout_ms=600_000))
        with engine.connect() as conn:
            result = {**measure(conn, args.resolution, args.k, args.repeat), **setup}
        engine.dispose()
        fresh = fresh_process(url, args.resolution, args.k, args.fresh)
        default = fresh_process(url, args.resolution, None, args.fresh)
        result.update(fresh_process_cold_s=fresh["cold_s"],
                      fresh_process_import_s=fresh["import_s"],
                      fresh_process_default_cold_s=default["cold_s"])
    result["meets_target"] = bool(result["end_to_end_cold_s"] < TARGET_S
                                  and result["fresh_process_cold_s"] < TARGET_S
                                  and result["permutation_999_warm_s"] < TARGET_S
                                  and result["ratio_esda_to_gi_star"] >= TARGET_RATIO
                                  and result["max_abs_z_diff"] < 1e-6)
    for key, value in result.items():
        print(f"{key:>32}: {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
