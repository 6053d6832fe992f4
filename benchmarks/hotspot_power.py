"""Power and calibration of the hot spot tests on generated maps of Huế with known truth.

Builds its own throw-away database (Huế's boundaries, so the 2019 census residents per cell),
then, with :mod:`gis_service.analysis.statistics.validation`, for resolutions 8, 9 and 10
(k = 1, binary weights, ``measure=excess``):

1. **null maps** (reports from residents alone, independent; and as incidents reported by
   several residents at once, the duplicates): the false-discovery rate (mean V/R), the share
   of maps with any call, the share of cells called;
2. **planted maps**: ``--hot`` hot and ``--cold`` cold clusters of ``radius`` rings (1 ring at
   res 8, 2 at 9, 4 at 10: about 0.5-1 km across) at 3x (and 1/3) the residents' rate:
   recall of planted hot and cold cells, precision;
3. the same for a *rare category* (``--rare`` reports over the whole map) and for the common
   case (``--reports``, the demo's size);
4. the exact test against 999 conditional permutations and the analytic z on the same maps
   (the baseline measured in the same run: ``ratio_*`` are recall over the permutation's).

Targets (issue 19): null false-discovery rate <= 0.10 on average; recall >= 0.8 for 3x
clusters at res 8-9. The last line is one JSON object.

    .venv/bin/python benchmarks/hotspot_power.py [--seeds 50] [--reports 37000] [--rare 1500]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from typing import Any

from gis_service.analysis.hotspot_model import validation_setup
from gis_service.analysis.statistics.inference import Inference
from gis_service.analysis.statistics.validation import (
    Plan,
    Setup,
    min_count_study,
    null_study,
    power_study,
)
from gis_service.config import Settings
from gis_service.db.engine import make_engine

from support import hue_database  # benchmarks/support.py, beside this script

RADIUS = {8: 1, 9: 2, 10: 4}
TARGET_FDR = 0.10
TARGET_RECALL = 0.8


def _figures(summary: Any) -> dict[str, Any]:
    return {key: (round(value, 4) if isinstance(value, float) else value)
            for key, value in summary.figures().items()}


def one_resolution(setup: Setup, resolution: int, totals: dict[str, int], seeds: range,
                   args: argparse.Namespace) -> dict[str, Any]:
    plan = Plan(hot=args.hot, cold=args.cold, radius=RADIUS[resolution], strength=args.strength)
    out: dict[str, Any] = {"cells": len(setup.cells)}
    for label, total in totals.items():
        for inference in ("exact", "permutation", "analytic"):
            chosen: Inference = inference  # type: ignore[assignment]
            tried = dataclasses.replace(setup, inference=chosen)
            few = seeds if inference == "exact" else range(min(len(seeds), args.baseline_seeds))
            began = time.perf_counter()
            out[f"{label}_{inference}"] = {
                "null": _figures(null_study(tried, total, few)),
                "null_duplicates": _figures(null_study(tried, total, few, duplicates=True)),
                "planted": _figures(power_study(tried, total, few, plan)),
                "seconds": round(time.perf_counter() - began, 1)}
            print(f"res {resolution} {label} {inference}: {out[f'{label}_{inference}']}",
                  file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--baseline-seeds", type=int, default=10,
                        help="maps for the permutation and analytic baselines")
    parser.add_argument("--reports", type=int, default=37_000)
    parser.add_argument("--rare", type=int, default=1_500)
    parser.add_argument("--hot", type=int, default=4)
    parser.add_argument("--cold", type=int, default=4)
    parser.add_argument("--strength", type=float, default=3.0)
    parser.add_argument("--resolutions", default="8,9,10")
    parser.add_argument("--min-count-study", action="store_true",
                        help="also run the minimum-count study (null maps with duplicates)")
    args = parser.parse_args()
    settings = Settings.from_env()
    totals = {"common": args.reports, "rare": args.rare}
    seeds = range(args.seeds)
    result: dict[str, Any] = {"seeds": args.seeds, "reports": args.reports, "rare": args.rare,
                              "strength": args.strength, "hot": args.hot, "cold": args.cold}
    with hue_database(settings, "bench_hotspot_power") as url:
        engine = make_engine(url, settings)
        with engine.connect() as conn:
            for resolution in (int(r) for r in args.resolutions.split(",")):
                setup = validation_setup(conn, resolution)
                result[f"res{resolution}"] = one_resolution(setup, resolution, totals, seeds, args)
                if args.min_count_study:
                    result[f"res{resolution}"]["min_count_study"] = min_count_study(
                        setup, (300, args.rare, args.reports), range(min(args.seeds, 20)),
                        plan=Plan(hot=args.hot, cold=args.cold, radius=RADIUS[resolution]))
        engine.dispose()
    result["meets_target"] = all(
        result[key]["common_exact"]["null"]["fdr"] <= TARGET_FDR
        and result[key]["rare_exact"]["null"]["fdr"] <= TARGET_FDR
        and (int(key[3:]) > 9 or (result[key]["common_exact"]["planted"]["hot_recall"] or 0)
             >= TARGET_RECALL)
        for key in result if key.startswith("res"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
