"""The hot spot tests validated on generated maps of Huế with known truth (the 2019 census
residents per cell as background): null maps stay within the FDR level, planted 3x hot and
1/3 cold clusters are found. A moderate number of seeds; ``benchmarks/hotspot_power.py``
runs many and prints the figures."""

from __future__ import annotations

import pytest

from gis_service.analysis.hotspot_model import validation_setup
from gis_service.analysis.statistics.validation import (
    Plan,
    adaptive_setup,
    null_study,
    power_study,
)
from tests.conftest import HueDB

#: Clusters about 1 km across: 1 ring at resolution 8, 2 at 9.
RADIUS = {8: 1, 9: 2}


@pytest.fixture(scope="module")
def setups(hue_db: HueDB) -> dict[int, object]:
    with hue_db.engine.connect() as conn:
        return {8: validation_setup(conn, 8), 9: validation_setup(conn, 9),
                92: validation_setup(conn, 9, k=2)}


@pytest.mark.parametrize("resolution", [8, 9])
@pytest.mark.parametrize("total", [1_500, 37_000])
def test_null_maps_stay_within_the_fdr_level(setups: dict[int, object], resolution: int,
                                             total: int) -> None:
    setup = setups[resolution]
    plain = null_study(setup, total, range(20))  # type: ignore[arg-type]
    clumped = null_study(setup, total, range(20), duplicates=True)  # type: ignore[arg-type]
    assert plain.fdr <= 0.10 and clumped.fdr <= 0.10
    assert plain.called_share <= 0.10 and clumped.called_share <= 0.10


def test_planted_clusters_are_found_at_resolution_8(setups: dict[int, object]) -> None:
    summary = power_study(setups[8], 37_000, range(10),  # type: ignore[arg-type]
                          Plan(hot=4, cold=4, radius=RADIUS[8], strength=3.0))
    assert summary.hot_recall is not None and summary.hot_recall >= 0.8
    assert summary.cold_recall is not None and summary.cold_recall > 0.3  # cold found too
    assert summary.precision is not None and summary.precision >= 0.9


def test_planted_clusters_are_found_at_resolution_9(setups: dict[int, object]) -> None:
    """At resolution 9 the same clusters span 19 cells of a fifth the residents each: the
    demo's 37,000 reports find about 60% of their cells with one ring, 78% with two; 100,000
    find 80% with one ring and 90% with two (the benchmark's figures)."""
    summary = power_study(setups[92], 100_000, range(8),  # type: ignore[arg-type]
                          Plan(hot=4, cold=4, radius=RADIUS[9], strength=3.0))
    assert summary.hot_recall is not None and summary.hot_recall >= 0.8
    assert summary.cold_recall is not None and summary.cold_recall > 0.3
    assert summary.precision is not None and summary.precision >= 0.9


@pytest.fixture(scope="module")
def adaptive_9(hue_db: HueDB, setups: dict[int, object]) -> list[object]:
    with hue_db.engine.connect() as conn:
        return [setups[9], setups[92], validation_setup(conn, 9, k=3)]


def test_the_default_answer_finds_planted_clusters_at_resolution_9(adaptive_9: list[object]
                                                                   ) -> None:
    """The answer's default neighbourhoods (adaptive: each cell the fewest of 1-3 rings whose
    cells expect 30 reports) find 0.8 of the planted cells from the demo's 37,000 reports,
    where one ring for every cell finds about 0.65 (the benchmark's figures)."""
    setup = adaptive_setup(adaptive_9, 37_000)  # type: ignore[arg-type]
    summary = power_study(setup, 37_000, range(10), Plan(hot=4, cold=4, radius=RADIUS[9]))
    fixed = power_study(adaptive_9[0], 37_000, range(4),  # type: ignore[arg-type]
                        Plan(hot=4, cold=4, radius=RADIUS[9]))
    assert summary.hot_recall is not None and summary.hot_recall >= 0.8
    assert fixed.hot_recall is not None and fixed.hot_recall < summary.hot_recall
    assert summary.cold_recall is not None and summary.cold_recall > 0.2
    assert summary.precision is not None and summary.precision >= 0.9


@pytest.mark.parametrize("total", [1_500, 37_000])
def test_adaptive_neighbourhoods_keep_null_maps_within_the_fdr_level(adaptive_9: list[object],
                                                                     total: int) -> None:
    setup = adaptive_setup(adaptive_9, total)  # type: ignore[arg-type]
    plain = null_study(setup, total, range(20))
    clumped = null_study(setup, total, range(20), duplicates=True)
    assert plain.fdr <= 0.10 and clumped.fdr <= 0.10
