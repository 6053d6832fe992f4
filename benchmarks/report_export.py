"""Exporting 100,000 reports as CSV and GeoJSON: streamed, in bounded memory.

Builds its own throw-away database (Huế, the report config, ``--reports`` generated reports
loaded by the bulk importer), then runs ``GET /v1/reports?format=csv`` and ``format=geojson``
through the app (Flask's test client, the response consumed chunk by chunk as a client would),
and measures:

- ``*_s`` and ``*_reports_per_s``: the whole export (under tracemalloc, which slows Python
  down: the rates are lower bounds);
- ``*_peak_mib``: the Python heap's peak while exporting (tracemalloc), against
  ``page_peak_mib``, one JSON page of 500 reports (the baseline: what one page holds), and
  ``*_bytes`` the size of the export: a streamed export's peak stays near a page's however
  large the export, where a buffered one would hold all of its bytes at once;
- ``redaction_us_per_text``: gis_service.redaction on the exported texts.

    .venv/bin/python benchmarks/report_export.py [--reports N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from typing import Any

from sqlalchemy import func, select

from gis_service.config import Settings
from gis_service.db.engine import make_engine
from gis_service.db.schema import report
from gis_service.redaction import redact
from gis_service.web import create_app

from support import history_database  # benchmarks/support.py, beside this script

MIB = 1024 * 1024


def measured(client: Any, query: dict[str, Any]) -> dict[str, float]:
    """One GET consumed chunk by chunk: seconds, bytes and the heap's peak."""
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get("/v1/reports", query_string=query, buffered=False)
    size = sum(len(chunk) for chunk in response.response)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"s": round(seconds, 2), "bytes": size, "peak_mib": round(peak / MIB, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    settings = Settings.from_env()
    with history_database(settings, "bench_export", args.reports, args.seed) as url:
        engine = make_engine(url, settings)
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(report)).scalar_one()
            texts = [t for row in conn.execute(select(report.c.description, report.c.address)
                                               .limit(20_000)) for t in row if t]
        app = create_app(settings, engine=engine)
        figures: dict[str, Any] = {"reports": stored}
        with app.test_client() as client:
            page = measured(client, {"page_size": 500})
            figures["page_peak_mib"] = page["peak_mib"]
            figures["page_s"] = page["s"]
            for fmt in ("csv", "geojson"):
                run = measured(client, {"format": fmt})
                figures.update({f"{fmt}_{k}": v for k, v in run.items()})
                figures[f"{fmt}_reports_per_s"] = round(stored / run["s"])
                figures[f"{fmt}_peak_vs_page"] = round(run["peak_mib"] / page["peak_mib"], 2)
                figures[f"{fmt}_peak_vs_size"] = round(run["peak_mib"] * MIB / run["bytes"], 3)
        started = time.perf_counter()
        for text in texts:
            redact(text)
        figures["redaction_us_per_text"] = round(
            (time.perf_counter() - started) / max(1, len(texts)) * 1e6, 1)
        engine.dispose()
    print(json.dumps(figures), file=sys.stdout)


if __name__ == "__main__":
    main()
