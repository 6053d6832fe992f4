"""Scorecards on a generated history: ``scorecards()`` by each grouping, against the fetch alone.

Builds its own throw-away database (migrated, Huế's boundaries, the report config) and loads a
synthetic history of ``--reports`` reports with the bulk importer (``--database-url`` reuses a
database that already has reports). Then, for each grouping (agency, commune, category,
setting), the median of ``--repeat`` calls of ``gis_service.analysis.scorecards.scorecards`` over
the whole history, and, as the baseline measured in the same run, the median time of the one
SQL statement it runs (``report_columns``: every report with its flags, fetched into Python as arrays).
``ratio_*_to_fetch`` says how much the working-hours clock and the per-cell figures add to
fetching the rows. The machine is shared: compare ratios. The last line is one JSON object.

    .venv/bin/python benchmarks/scorecards.py [--reports N] [--repeat R] [--database-url URL]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from gis_service.analysis.scorecards import GROUPINGS, scorecards
from gis_service.analysis.sql import scorecards as sql
from gis_service.config import Settings
from gis_service.db.engine import make_engine

from support import history_database  # benchmarks/support.py, beside this script


def median_time(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def measure(conn: Connection, repeat: int) -> dict[str, Any]:
    rows = sql.report_columns(conn, sql.Scope())
    fetch_s = median_time(lambda: sql.report_columns(conn, sql.Scope()), repeat)
    result: dict[str, Any] = {"reports": len(rows["status"]), "fetch_s": round(fetch_s, 3)}
    for by in GROUPINGS:
        card = scorecards(conn, by=by)
        seconds = median_time(lambda by=by: scorecards(conn, by=by), repeat)
        result[f"{by}_cells"] = len(card.cells)
        result[f"{by}_ranked"] = sum(cell.rank is not None for cell in card.cells)
        result[f"{by}_s"] = round(seconds, 3)
        result[f"ratio_{by}_to_fetch"] = round(seconds / fetch_s, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="a database that already has reports")
    args = parser.parse_args()
    settings = Settings.from_env()

    @contextmanager
    def database() -> Iterator[str]:
        if args.database_url:
            yield args.database_url
        else:
            with history_database(settings, "bench_scorecards", args.reports, args.seed) as url:
                yield url

    with database() as url:
        engine = make_engine(url, dataclasses.replace(settings, statement_timeout_ms=600_000))
        with engine.connect() as conn:
            result = measure(conn, args.repeat)
        engine.dispose()
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
