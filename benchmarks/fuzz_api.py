"""A longer schemathesis run over every operation of /openapi.json than the test suite's.

Builds a throw-away database on the project's cluster (``gis-service db url``) with Huế's
boundaries, the report config and ``--reports`` generated reports, serves the app in process
(WSGI, as tests/test_api_fuzz.py does) and fuzzes each operation in the three passes of
tests/api_fuzz.py (positive, known values, negative) with up to ``--examples``
requests each, seeded (``--seed``) rather than derandomized, so successive seeds explore
different requests. Checks: no 5xx; documented status, content type, headers and body;
negative data refused. Operations whose path starts with one of ``--slow`` prefixes (the
province-wide analyses, about a second a call) get ``--slow-examples``.

The last line of output is one JSON object: per operation and pass the requests sent, the
seconds and the first failure (shrunk), and totals. Exit status 1 if anything failed.

    .venv/bin/python benchmarks/fuzz_api.py [--examples 200] [--slow-examples 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis_service.config import Settings
from gis_service.db.engine import database_url, make_engine
from gis_service.db.scratch import scratch_database
from gis_service.web import create_app
from tests.api_fuzz import (
    PASSES,
    Outcome,
    fuzz_operation,
    issue_keys,
    known_values,
    load_schema,
    operations,
    prepare_database,
)

FAILURE_CHARS = 4000


def run(args: argparse.Namespace) -> list[Outcome]:
    settings = Settings.from_env()
    outcomes: list[Outcome] = []
    with scratch_database(database_url(settings, start=True), settings, "bench_fuzz") as url, \
            tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(url, settings)
        try:
            prepare_database(engine, settings, history_csv=Path(scratch) / "history.csv",
                             reports=args.reports, seed=args.seed)
            keys = issue_keys(engine)
            known = known_values(engine, keys)
            schema = load_schema(create_app(settings, engine=engine))
            for mode in PASSES:
                for operation in operations(schema):
                    slow = operation.path.startswith(tuple(args.slow))
                    outcome = fuzz_operation(
                        operation, mode, keys=keys, known=known, seed=args.seed,
                        max_examples=args.slow_examples if slow else args.examples)
                    print(f"{'FAIL' if outcome.failure else 'ok  '} {mode:8} {outcome.operation}: "
                          f"{outcome.requests} requests, {outcome.seconds:.1f} s", flush=True)
                    outcomes.append(outcome)
        finally:
            engine.dispose()
    return outcomes


def summary(outcomes: list[Outcome], args: argparse.Namespace, seconds: float) -> dict[str, object]:
    return {
        "benchmark": "fuzz_api",
        "seed": args.seed, "examples": args.examples, "slow_examples": args.slow_examples,
        "reports": args.reports,
        "operations": len({outcome.operation for outcome in outcomes}),
        "requests": sum(outcome.requests for outcome in outcomes),
        "failures": sum(outcome.failure is not None for outcome in outcomes),
        "seconds": round(seconds, 1),
        "runs": [{"operation": outcome.operation, "pass": outcome.mode,
                  "requests": outcome.requests, "seconds": round(outcome.seconds, 2),
                  "failure": outcome.failure[:FAILURE_CHARS] if outcome.failure else None}
                 for outcome in outcomes],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--slow-examples", type=int, default=20)
    parser.add_argument("--slow", nargs="*", default=["/v1/hotspots", "/v1/coverage"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reports", type=int, default=3000)
    args = parser.parse_args()
    started = time.perf_counter()
    outcomes = run(args)
    result = summary(outcomes, args, time.perf_counter() - started)
    print(json.dumps(result, ensure_ascii=False))
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
