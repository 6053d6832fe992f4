"""Forward geocoding accuracy (top-1, top-3) on the labelled evaluation set, and its speed.

Also (issue 13) the 40 administrative-centre addresses of the 2025 wards (top-1: the right
current ward, at commune precision) and one street-only address per street of TTH.json (top-1:
a district the street list allows; ``given_commune``: the share answered with a commune or
finer, target 0), from ``tests/geocode_extra_sets.py``.

Builds a throw-away database on the project's cluster (``gis-service db url``), migrates it,
loads Huế's boundary manifests, builds the in-memory index, runs every case of
``tests/geocode_eval.py`` through :func:`gis_service.geocode.geocode`, and drops the database.
Prints a per-variant table and the misses, then one JSON line (the last line of output).

    .venv/bin/python benchmarks/geocode_accuracy.py [--misses 30] [--seed 20250701]

Timings are per query on one core of a shared machine: compare ratios between runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis_service.boundaries.manifest import load_manifest
from gis_service.config import Settings
from gis_service.db.engine import database_url, make_engine
from gis_service.db.scratch import scratch_database
from gis_service.geocode import GeocodeIndex, GeocodeResult, build_index, geocode
from gis_service.geocode.streets import load_streets
from tests.geocode_eval import SEED, EvalCase, Scores, build_cases, evaluate
from tests.geocode_extra_sets import (
    SetScores,
    centre_cases,
    score_centres,
    score_streets,
    street_cases,
)


def load_index(settings: Settings, url: str) -> tuple[GeocodeIndex, float, list[str]]:
    """Load every manifest (and their crosswalks), and build the index; returns it, build ms,
    generations."""
    engine = make_engine(url, settings)
    try:
        with engine.begin() as conn:
            loaded = [result.code for result in load_manifest(conn, settings)]
        with engine.connect() as conn:
            started = time.perf_counter()
            index = build_index(conn, streets=load_streets(settings.data_root))
            build_ms = (time.perf_counter() - started) * 1000
    finally:
        engine.dispose()
    return index, build_ms, loaded


def timed_run(index: GeocodeIndex, cases: list[EvalCase]) -> tuple[Scores, list[float]]:
    """Score every case, timing each geocode call (microseconds)."""
    timings: list[float] = []

    def run(query: str) -> list[GeocodeResult]:
        started = time.perf_counter_ns()
        results = geocode(index, query)
        timings.append((time.perf_counter_ns() - started) / 1000)
        return results

    return evaluate(cases, run), timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(scores: Scores, timings: list[float], misses: int) -> None:
    print(f"{'variant':28} {'cases':>6} {'top1':>7} {'top3':>7}")
    for variant, row in scores.by_variant.items():
        print(f"{variant:28} {row['cases']:>6.0f} {row['top1']:>7.3f} {row['top3']:>7.3f}")
    print(f"{'ALL':28} {scores.total:>6} {scores.top1:>7.3f} {scores.top3:>7.3f}")
    print(f"per query: mean {statistics.fmean(timings):.0f} us, "
          f"p50 {percentile(timings, 0.5):.0f} us, p99 {percentile(timings, 0.99):.0f} us")
    for case, got in scores.misses[:misses]:
        print(f"MISS {case.variant:24} {case.query!r} -> {got} "
              f"(want {case.generation}/{case.code})")


def extra_sets(index: GeocodeIndex, settings: Settings, seed: int) -> dict[str, SetScores]:
    """The administrative-centre and street-only sets, scored."""
    def run(query: str) -> list[GeocodeResult]:
        return geocode(index, query)

    return {
        "admin_centres": score_centres(centre_cases(settings.data_root), run),
        "street_only": score_streets(street_cases(index.streets, seed=seed), run),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", type=int, default=30, help="misses to print")
    parser.add_argument("--seed", type=int, default=SEED, help="evaluation set seed")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if not settings.has_data_root:
        print(f"shared data root {settings.data_root} is absent (set GIS_DATA_ROOT)",
              file=sys.stderr)
        return 2
    with scratch_database(database_url(settings, start=True), settings, "bench_geocode") as url:
        index, build_ms, loaded = load_index(settings, url)
    cases = build_cases(index.units.values(), index.current, seed=args.seed)
    geocode(index, "warm-up: Phường Vỹ Dạ, Thành phố Huế")
    scores, timings = timed_run(index, cases)
    report(scores, timings, args.misses)
    extra = extra_sets(index, settings, args.seed)
    for name, found in extra.items():
        print(f"{name:28} {found.cases:>6} {found.top1:>7.3f}  given a commune: "
              f"{found.given_commune:.3f}")
        for query, got in found.misses[:args.misses]:
            print(f"MISS {name:24} {query!r} -> {got}")
    summary = {
        "benchmark": "geocode_accuracy", "generations": loaded, "current": index.current,
        "seed": args.seed, "index_build_ms": round(build_ms, 1), **scores.to_dict(),
        "misses": len(scores.misses),
        **{name: found.to_dict() for name, found in extra.items()},
        "per_query_us": {"mean": round(statistics.fmean(timings), 1),
                         "p50": round(percentile(timings, 0.5), 1),
                         "p95": round(percentile(timings, 0.95), 1),
                         "p99": round(percentile(timings, 0.99), 1)},
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
