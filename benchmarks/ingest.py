"""Bulk import of a million generated reports end to end, against a bare COPY of the same file.

Sets up a scratch database with Huế's boundaries (both generations) and the report
configuration, generates ``--count`` reports with the synthetic generator (not timed: it is
the input), then in the same run:

1. **bare COPY**: the file as it is into an unindexed table with the import columns typed
   (timestamps, numbers; no checks, no snapping, no indexes): the floor for moving the rows;
2. **import**: ``import_reports(offline=True)`` in one transaction, committed (the report
   tables locked, their indexes and foreign keys rebuilt once at the end, as for a first
   load; see gis_service/reports/importing/offline.py): read and check in Python, H3,
   COPY to staging, snap to both generations, routing, deadlines, the near-boundary flag, and the
   ``report``, ``report_contact`` and ``report_event`` rows with all their indexes and foreign
   keys. Timed end to end (commit included), with the seconds of each step; then
   ``--online-count`` more reports in the default online mode (indexes and foreign keys
   maintained row by row, the tables open to the API), on top of the first million;
3. **POST /v1/reports**: new reports submitted one by one over HTTP under gunicorn (2 workers)
   by concurrent wrk clients, each with its own Idempotency-Key, against ``/healthz`` in the
   same run; after the import, so every submission meets a million stored reports.

Target (issue 4) on this 2-core machine: at least 10,000 reports/s. The machine is shared:
the load average before and after is printed with the result. The last line of output is one
JSON object.

    .venv/bin/python benchmarks/ingest.py [--count 1000000] [--seed 1] [--post-seconds 10]
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

from gis_service.auth import issue_key
from gis_service.config import Settings
from gis_service.db.engine import make_engine
from gis_service.db.schema import report, report_contact, report_event
from gis_service.reports.importing.format import COLUMNS
from gis_service.reports.importing.importer import import_reports
from gis_service.reports.setup import load_config
from gis_service.synthetic.generator import category_codes, generate, load_communes

from support import gunicorn_server, hue_database, province_points, wrk

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


def timed_import(engine: Engine, path: Path, *, offline: bool) -> dict[str, Any]:
    started = time.perf_counter()
    with engine.begin() as conn:
        summary = import_reports(conn, path, batch_label=path.stem, offline=offline)
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        stored = {name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                  for name, table in (("reports", report), ("events", report_event),
                                      ("contacts", report_contact))}
    steps = {name: round(value, 2) for name, value in summary.steps.items()}
    steps["commit_and_rest"] = round(seconds - summary.seconds, 2)
    return {
        "mode": "offline" if offline else "online",
        "rows": summary.rows, "imported": summary.imported, "rejected": summary.rejected,
        "rejected_by_reason": summary.by_reason, "stored": stored,
        "seconds": round(seconds, 2), "reports_per_s": round(summary.imported / seconds),
        "steps_seconds": steps,
    }


def post_reports_throughput(engine: Engine, url: str, settings: Settings, *, seconds: int,
                            connections: int) -> dict[str, Any]:
    """``POST /v1/reports`` under gunicorn (2 workers) from ``connections`` concurrent wrk
    clients, each request a new report with its own Idempotency-Key, against ``/healthz`` in
    the same run (the HTTP stack's ceiling). Run after the import, so each submission is
    checked for duplicates against a million stored reports."""
    with engine.begin() as conn:
        key = issue_key(conn, name="ingest-benchmark", role="client",
                        rate_limit_per_minute=1_000_000_000).key
    categories = category_codes(settings)
    bodies = [json.dumps({"category": categories[i % len(categories)], "channel": "app",
                          "description": f"benchmark report {i}", "lat": lat, "lon": lon})
              for i, (lon, lat) in enumerate(province_points(url, settings, 2_000, seed=3))]
    with gunicorn_server(url, workers=2) as base:
        wrk(base, ["/healthz"], seconds=2, connections=connections)  # warm-up
        health = wrk(base, ["/healthz"], seconds=seconds, connections=connections)
        posted = wrk(base, ["/v1/reports"], seconds=seconds, connections=connections,
                     bodies=bodies, headers={"X-API-Key": key})
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(report)
                              .where(report.c.import_batch.is_(None))).scalar_one()
    return {"connections": connections, "seconds": seconds, "healthz": health, "posted": posted,
            "reports_per_s": posted["rps"], "created": stored,
            "post_to_healthz_ratio": round(posted["rps"] / health["rps"], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="reports to generate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--online-count", type=int, default=100_000,
                        help="reports imported afterwards in the default (online) mode")
    parser.add_argument("--post-seconds", type=int, default=10)
    parser.add_argument("--post-connections", type=int, default=16)
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
            imported = timed_import(engine, path, offline=True)
            print(f"import: {imported}", flush=True)
            later = Path(folder) / "later.csv"
            generate_file(engine, settings, later, args.online_count, args.seed + 1)
            online = timed_import(engine, later, offline=False)
            print(f"online import: {online}", flush=True)
            posts = post_reports_throughput(engine, url, settings, seconds=args.post_seconds,
                                            connections=args.post_connections)
            print(f"POST /v1/reports: {posts}", flush=True)
        finally:
            engine.dispose()
    result = {
        "benchmark": "ingest",
        "reports": rows,
        "bare_copy": copy,
        "import": imported,
        "reports_per_s": imported["reports_per_s"],
        "online_import": online,
        # How many times longer the import takes than moving the same rows with a bare COPY.
        "import_to_bare_copy_ratio": round(copy["rows_per_s"] / imported["reports_per_s"], 1),
        "target_reports_per_s": TARGET_REPORTS_PER_S,
        "meets_target": imported["reports_per_s"] >= TARGET_REPORTS_PER_S,
        "post_reports": posts,
        "machine": {"cpus": os.cpu_count(), "loadavg_before": load_before,
                    "loadavg_after": os.getloadavg()},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
