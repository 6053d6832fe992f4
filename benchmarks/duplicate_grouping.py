"""Duplicate grouping against the generator's incident ids, and the calibration of the
reporting-rate intervals: the figures the README's Coverage section quotes.

1. Generates the default history (37,000 reports, ``--seed``) on Huế's 2019 communes (a
   scratch database with the boundaries; the fallback set without a data root) and scores, per
   setting (urban wards are the dense places, rural communes the sparse ones), the pairwise
   precision and recall of the ``duplicate_of`` links the estimators use and of the intake's
   duplicate rule at 250 m (its old radius) and at the current ``RADIUS_M``.
2. Runs the calibration study (``gis_service.analysis.calibration``) over ``--seeds`` seeds:
   the share of 95% intervals holding the truth per estimator, generation and setting.

The baseline of the grouping is the old 250 m rule; ``precision_ratio`` is the new rule's
urban precision over it. The last line is one JSON object.

    .venv/bin/python benchmarks/duplicate_grouping.py [--seed S] [--seeds N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from gis_service.analysis.calibration import calibration_cases, demo_layout, interval_coverage
from gis_service.analysis.duplicate_grouping import generated_reports, grouping_quality
from gis_service.config import Settings
from gis_service.db.engine import make_engine
from gis_service.reports.duplicates import RADIUS_M
from gis_service.synthetic.generator import generate, load_communes

from support import hue_database  # benchmarks/support.py, beside this script

OLD_RADIUS_M = 250.0


def _grouping(settings: Settings, seed: int) -> dict[str, Any]:
    with hue_database(settings, "bench_dup") as url, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url, settings)
        with engine.connect() as conn:
            communes = load_communes(conn, "2019")
        engine.dispose()
        history = generate(communes, out=Path(tmp) / "h.csv", seed=seed)
        reports = generated_reports(history.reports_path, history.incidents_path)
        began = time.perf_counter()
        table = grouping_quality(reports, (OLD_RADIUS_M, RADIUS_M))
        seconds = time.perf_counter() - began
    figures = {f"{row.grouping} {row.setting}": {"precision": round(row.precision, 4),
                                                 "recall": round(row.recall, 4)}
               for row in table.itertuples()}
    old = figures[f"rule {OLD_RADIUS_M:g} m urban"]["precision"]
    new = figures[f"rule {RADIUS_M:g} m urban"]["precision"]
    return {"reports": len(reports), "grouping": figures, "scoring_s": round(seconds, 2),
            "precision_ratio": round(new / old, 4)}


def _calibration(seeds: int) -> dict[str, Any]:
    began = time.perf_counter()
    summary = interval_coverage(calibration_cases(demo_layout(), range(seeds)))
    return {"seeds": seeds, "seconds": round(time.perf_counter() - began, 2),
            "coverage": {f"{r.estimator} {r.generation} {r.level} {r.setting}":
                         {"coverage": round(r.coverage, 3), "worst_unit": round(r.worst_unit, 3)}
                         for r in summary.itertuples()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--seeds", type=int, default=50)
    args = parser.parse_args()
    result = {"grouping": _grouping(Settings.from_env(), args.seed),
              "calibration": _calibration(args.seeds)}
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
