"""The national synthetic history's ingest: reports/s COPYed into ``report`` (partitioned,
every index, key and trigger) against a bare COPY of the same rows, in the same run.

Sets up a scratch database with the boundaries (the vn2025 reference generation's 3,321 wards
with the data root; the fallback set's communes without) and the report configuration, then:

1. **generate**: the COPY text of ``--count`` reports built in memory (Python and numpy only);
2. **bare COPY**: that text into an unlogged table with report's columns and defaults (no
   index, key, check or trigger): the floor for moving the rows into PostgreSQL;
3. **ingest**: :func:`copy_history` into ``report`` (generation and COPY together, committed).

The last line of output is one JSON object.

    .venv/bin/python benchmarks/national_history.py [--count 1000000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from sqlalchemy import Connection, func, select

from gis_service.config import Settings
from gis_service.db.engine import make_engine
from gis_service.db.schema import admin_unit, generation
from gis_service.reports.setup import load_config
from gis_service.synthetic.national import (
    copy_history,
    copy_text,
    history_chunks,
    load_wards,
    national_agency,
)

from support import hue_database

TARGET_REPORTS_PER_S = 15_000


def _generation(conn: Connection) -> str:
    """vn2025 if loaded (the data root's national wards), else the generation with most
    communes."""
    found = conn.execute(select(generation.c.code, func.count())
                         .join(admin_unit, admin_unit.c.generation_id == generation.c.id)
                         .where(admin_unit.c.level == "commune").group_by(generation.c.code)
                         .order_by(func.count().desc())).all()
    return "vn2025" if any(code == "vn2025" for code, _ in found) else str(found[0][0])


def run(url: str, settings: Settings, count: int, seed: int) -> dict[str, Any]:
    engine = make_engine(url, settings)
    try:
        with engine.begin() as conn:
            load_config(conn, settings)
            code = _generation(conn)
            wards, agency_id = load_wards(conn, code), national_agency(conn)
        with engine.begin() as conn:
            started = time.perf_counter()
            text = list(history_chunks(conn, wards, count=count, agency_id=agency_id, seed=seed))
            generate_s = time.perf_counter() - started
            conn.exec_driver_sql("CREATE UNLOGGED TABLE bare_report "
                                 "(LIKE report INCLUDING DEFAULTS)")
            started = time.perf_counter()
            copy_text(conn, text, table="bare_report")
            bare_s = time.perf_counter() - started
            conn.exec_driver_sql("DROP TABLE bare_report")
        del text
        with engine.begin() as conn:
            started = time.perf_counter()
            copy_history(conn, wards, count=count, agency_id=agency_id, seed=seed)
        ingest_s = time.perf_counter() - started  # the commit included
    finally:
        engine.dispose()
    return {"generation": code, "wards": len(wards.ids), "reports": count,
            "generate_reports_per_s": round(count / generate_s),
            "bare_copy_reports_per_s": round(count / bare_s),
            "ingest_reports_per_s": round(count / ingest_s),
            "ingest_over_bare_copy": round(bare_s / ingest_s, 3),
            "ingest_s": round(ingest_s, 1),
            "target_reports_per_s": TARGET_REPORTS_PER_S,
            "meets_target": count / ingest_s >= TARGET_REPORTS_PER_S,
            "load_average": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    settings = Settings.from_env()
    with hue_database(settings, "bench_national_history") as url:
        result = run(url, settings, args.count, args.seed)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
