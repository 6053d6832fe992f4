"""Bulk import of a million generated reports end to end, against a bare COPY of the same file.

Sets up a scratch database with Huế's boundaries (both generations) and the report
configuration, generates ``--count`` reports with the synthetic generator (not timed: it is
the input), then in the same run:

1. **bare COPY**: the file as it is into an unindexed table with the import columns typed
   (timestamps, numbers; no checks, no snapping, no indexes): the floor for moving the rows;
2. **import**: ``import_reports`` in one transaction, committed: read and check in Python, H3,
   COPY to staging, snap to both generations, routing, deadlines, the near-boundary flag, and the
   ``report``, ``report_contact`` and ``report_event`` rows with all their indexes and foreign
   keys. Timed end to end (commit included), with the seconds of each step.

Target (issue 4) on this 2-core machine: at least 10,000 reports/s. The machine is shared:
the load average before and after is printed with the result. The last line of output is one
JSON object.

    .venv/bin/python benchmarks/ingest.py [--count 1000000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import psycopg
from sqlalchemy import Engine, func, select

from gis_service.config import Settings
from gis_service.db.engine import make_engine
from gis_service.db.schema import report, report_contact, report_event
from gis_service.reports.generator import category_codes, generate, load_communes
from gis_service.reports.import_format import COLUMNS
from gis_service.reports.importer import import_reports
from gis_service.reports.setup import load_config

from support import hue_database

TARGET_REPORTS_PER_S = 10_000
# The import format's columns with the types a bare COPY gives them.
_BARE_TYPES = {
    "created_at": "timestamptz", "first_response_at": "timestamptz", "resolved_at": "timestamptz",
    "closed_at": "timestamptz", "lat": "double precision", "lon": "double precision",
    "satisfaction": "smallint", "incident_id": "bigint",
}


def generate_file(engine: Engine, settings: Settings, out: Path, count: int, seed: int) -> int:
    with engine.connect() as conn:
        communes = load_communes(conn, "2019")
    history = generate(communes, out=out, count=count, seed=seed,
                       categories=category_codes(settings))
    return history.reports


def bare_copy(url: str, path: Path) -> dict[str, Any]:
    """COPY the file as it is into an unindexed table with the import columns; rows and seconds."""
    columns = psycopg.sql.SQL(", ").join(
        psycopg.sql.SQL("{} {}").format(psycopg.sql.Identifier(name),
                                        psycopg.sql.SQL(_BARE_TYPES.get(name, "text")))
        for name in COLUMNS)
    with psycopg.connect(url) as conn:
        conn.execute(psycopg.sql.SQL("CREATE TABLE bare_copy ({})").format(columns))
        conn.commit()
        started = time.perf_counter()
        with conn.cursor().copy("COPY bare_copy FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        seconds = time.perf_counter() - started
        rows = cast(tuple[int], conn.execute("SELECT count(*) FROM bare_copy").fetchone())[0]
        conn.execute("DROP TABLE bare_copy")
        conn.commit()
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds)}


def timed_import(engine: Engine, path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    with engine.begin() as conn:
        summary = import_reports(conn, path, batch_label="ingest-benchmark")
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        stored = {name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                  for name, table in (("reports", report), ("events", report_event),
                                      ("contacts", report_contact))}
    steps = {name: round(value, 2) for name, value in summary.steps.items()}
    steps["commit_and_rest"] = round(seconds - summary.seconds, 2)
    return {
        "rows": summary.rows, "imported": summary.imported, "rejected": summary.rejected,
        "rejected_by_reason": summary.by_reason, "stored": stored,
        "seconds": round(seconds, 2), "reports_per_s": round(summary.imported / seconds),
        "steps_seconds": steps,
    }


# TODO(lead): post_reports_throughput(base_url) -> dict: POST /v1/reports under gunicorn
# (support.gunicorn_server) with concurrent clients, each request with its own
# Idempotency-Key; put its requests/s and latency percentiles under "post_reports" in the
# JSON below. Not measured here yet: the key stays null rather than an invented number.


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="reports to generate")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    settings = Settings.from_env()
    if not settings.has_data_root:
        raise SystemExit(f"the shared data root {settings.data_root} is needed (GIS_DATA_ROOT)")
    load_before = os.getloadavg()
    with hue_database(settings, "ingest") as url, tempfile.TemporaryDirectory() as folder:
        engine = make_engine(url, settings)
        try:
            with engine.begin() as conn:
                load_config(conn, settings)
            path = Path(folder) / "reports.csv"
            rows = generate_file(engine, settings, path, args.count, args.seed)
            print(f"generated {rows:,} reports ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
            copy = bare_copy(url, path)
            print(f"bare COPY: {copy}", flush=True)
            imported = timed_import(engine, path)
            print(f"import: {imported}", flush=True)
        finally:
            engine.dispose()
    result = {
        "benchmark": "ingest",
        "reports": rows,
        "bare_copy": copy,
        "import": imported,
        "reports_per_s": imported["reports_per_s"],
        # How many times longer the import takes than moving the same rows with a bare COPY.
        "import_to_bare_copy_ratio": round(copy["rows_per_s"] / imported["reports_per_s"], 1),
        "target_reports_per_s": TARGET_REPORTS_PER_S,
        "meets_target": imported["reports_per_s"] >= TARGET_REPORTS_PER_S,
        "post_reports": None,
        "machine": {"cpus": os.cpu_count(), "loadavg_before": load_before,
                    "loadavg_after": os.getloadavg()},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
