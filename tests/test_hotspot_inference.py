"""The sparse-count inference of the hot spots (exact binomial and compound Poisson tails,
conditional permutation, the minimum count, the dispersion), the data-chosen scale, H3
parents, and the emerging categories against esda's EmergingHotSpot rules (no database)."""

from __future__ import annotations

import doctest
import warnings
from types import ModuleType

import h3
import h3.api.numpy_int as h3n
import numpy as np
import pytest
from esda.getisord import G_Local
from esda.moran import Moran
from libpysal.weights import W
from scipy import stats

from gis_service.analysis import hierarchy, residents
from gis_service.analysis.statistics import (
    emerging_inference,
    inference,
    scale,
    validation,
)
from gis_service.analysis.statistics.emerging_inference import emerging_tested
from gis_service.analysis.statistics.inference import (
    binomial_tails,
    compound_poisson_tails,
    dispersion,
    local_test,
    permutation_p,
)
from gis_service.analysis.statistics.weights import CellWeights, ring_weights

CENTRE = h3n.latlng_to_cell(16.4637, 107.5905, 9)


def disk(rings: int) -> np.ndarray:
    return h3n.grid_disk(CENTRE, rings).astype(np.int64)


@pytest.mark.parametrize("module", [inference, scale, validation, emerging_inference,
                                    hierarchy, residents])
def test_docstring_examples(module: ModuleType) -> None:
    assert doctest.testmod(module).failed == 0


def test_binomial_tails_are_scipy_s() -> None:
    observed = np.array([0.0, 1, 2, 5, 9, 30])
    share = np.array([0.001, 0.01, 0.2, 0.05, 0.3, 0.5])
    high, low = binomial_tails(observed, 60.0, share)
    np.testing.assert_allclose(high, stats.binom.sf(observed - 1, 60, share), rtol=1e-9)
    np.testing.assert_allclose(low, stats.binom.cdf(observed, 60, share), rtol=1e-9)


def test_compound_poisson_tails_follow_simulated_clumps() -> None:
    rng = np.random.default_rng(4)
    clump, expected = 1.1, 2.5
    incidents = rng.poisson(expected / (clump / (1 - np.exp(-clump))), 40_000)
    sizes = rng.poisson(clump, incidents.sum())
    while (zero := sizes == 0).any():
        sizes[zero] = rng.poisson(clump, int(zero.sum()))
    reports = np.add.reduceat(sizes, np.r_[0, np.cumsum(incidents)[:-1]]) * (incidents > 0)
    observed = np.array([0.0, 2, 5, 9])
    high, low = compound_poisson_tails(observed, np.full(4, expected), clump)
    np.testing.assert_allclose(high, [(reports >= o).mean() for o in observed], atol=0.01)
    np.testing.assert_allclose(low, [(reports <= o).mean() for o in observed], atol=0.01)
    # Without clumping it is the Poisson distribution.
    high, _ = compound_poisson_tails(observed, np.full(4, expected), 1e-9)
    np.testing.assert_allclose(high, stats.poisson.sf(observed - 1, expected), rtol=1e-3)


def test_a_lone_report_and_an_empty_cell_are_never_hot() -> None:
    """The issue's first example: analytic z called single reports (and empty cells beside
    them) hot. On a sparse map the exact test with its minimum count calls nothing."""
    cells = disk(8)
    counts = np.zeros(len(cells), dtype=np.int64)
    counts[[3, 50, 90]] = [1, 2, 1]
    w = ring_weights(cells, 1)
    analytic = local_test(counts, np.ones(len(cells)), w, measure="count", inference="analytic",
                          min_count=1)
    assert np.char.startswith(analytic.cls.astype(str), "hot").sum() > 0  # the old failure
    for measure in ("count", "excess"):
        exact = local_test(counts, np.ones(len(cells)), w, measure=measure, inference="exact")
        assert set(exact.cls.tolist()) == {"not_significant"}
        assert not exact.tested.any()


def test_min_count_gates_hot_and_cold_calls() -> None:
    cells = disk(10)
    rng = np.random.default_rng(2)
    counts = rng.poisson(3.0, len(cells))
    busy = np.isin(cells, h3n.grid_disk(CENTRE, 1).astype(np.int64))
    counts[busy] = 40
    quiet = np.isin(cells, h3n.grid_disk(int(cells[-1]), 1).astype(np.int64))
    counts[quiet] = 0
    w = ring_weights(cells, 1)
    result = local_test(counts, np.ones(len(cells)), w, measure="count", inference="exact",
                        min_count=5)
    cls = result.cls.astype(str)
    assert cls[cells == CENTRE][0] == "hot_99"
    assert np.char.startswith(cls, "cold")[quiet].any()
    assert (result.observed[np.char.startswith(cls, "hot")] >= 5).all()
    assert (result.expected[np.char.startswith(cls, "cold")] >= 5).all()
    strict = local_test(counts, np.ones(len(cells)), w, measure="count", inference="exact",
                        min_count=1000)
    assert set(strict.cls.tolist()) == {"not_significant"}
    assert np.isnan(strict.p_fdr).all()


def test_dispersion_reads_clumps_not_clusters() -> None:
    cells = disk(14)
    rng = np.random.default_rng(8)
    background = np.ones(len(cells))
    w = ring_weights(cells, 1)
    plan = validation.Plan(hot=2, cold=0, radius=2, strength=3.0)
    planted = validation.planted_map(cells, background, 800, rng, plan)
    x = planted.counts.astype(float)
    # Sharp cluster edges inflate it a little (a conservative error), clumps a lot.
    clustered = dispersion(x, inference.expected_counts(x, background), w)
    assert clustered < 2.0
    clumped = validation.null_map(background, 800, rng, duplicates=True).counts.astype(float)
    phi = dispersion(clumped, inference.expected_counts(clumped, background), w)
    truth = 1 + validation.DUPLICATE_RATE  # E[K^2] / E[K] of the zero-truncated Poisson
    # Read from the sparse cells, whose rings happened to be quiet, it errs high (about +0.6 on
    # Huë's maps too): more caution, never less.
    assert truth - 0.2 < phi < truth + 1.0 and phi > clustered


def test_permutation_p_matches_esda_conditional_randomisation() -> None:
    """Our shared-draw permutation against esda's G_Local(permutations=9999) p_sim (one-sided,
    folded: half our two-sided p), on a map with a cluster; Monte Carlo error only."""
    cells = disk(9)
    rng = np.random.default_rng(5)
    values = rng.poisson(2.0, len(cells)).astype(float)
    values[np.isin(cells, h3n.grid_disk(CENTRE, 1).astype(np.int64))] += 6
    weights = ring_weights(cells, 1)
    ours, direction = permutation_p(values, weights, permutations=9999, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        esda = G_Local(values, W(weights.neighbours(), silence_warnings=True), transform="B",
                       star=True, permutations=9999, seed=3)
    # Where it matters (the tail) they agree; elsewhere ties of whole counts, which we count
    # on both sides (conservative), separate them.
    # esda folds its cold side onto strict inequalities (ties left out, so lower p): compare
    # the hot side, where both count the simulated sums at or above the observed one.
    tail = (esda.p_sim < 0.1) & (direction > 0)
    assert tail.sum() >= 7
    assert np.abs(ours[tail] / 2 - esda.p_sim[tail]).max() < 0.02
    assert stats.spearmanr(ours, np.minimum(esda.p_sim, 0.5)).statistic > 0.9
    assert (direction[esda.p_sim < 0.01] == np.sign(esda.Zs[esda.p_sim < 0.01])).all()
    again, _ = permutation_p(values, weights, permutations=9999, seed=3)
    np.testing.assert_array_equal(ours, again)  # seeded


def test_h3_parents_are_h3_s() -> None:
    rng = np.random.default_rng(1)
    lats, lons = rng.uniform(16.0, 16.8, 200), rng.uniform(107.0, 108.2, 200)
    cells = np.array([h3.str_to_int(h3.latlng_to_cell(a, o, 10)) for a, o in zip(lats, lons, strict=True)])
    for resolution in (7, 8, 9):
        expected = [h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), resolution))
                    for c in cells]
        assert hierarchy.parents(cells, resolution).tolist() == expected


def test_moran_z_is_esda_s() -> None:
    cells = disk(7)
    rng = np.random.default_rng(3)
    values = rng.poisson(2.0, len(cells)) + (np.arange(len(cells)) < 30) * 4.0
    weights = ring_weights(cells, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        esda = Moran(values, W(weights.neighbours(), silence_warnings=True), transformation="B",
                     permutations=0)
    assert scale.moran_z(values, weights) == pytest.approx(esda.z_norm, rel=1e-9)


# -- esda's EmergingHotSpot rules (pysal/esda, commit baf56d3 of its EmergingHotSpot PR: not on
# main or PyPI), re-implemented from their published description, for one cube -----------------

ESDA_PATTERNS = ("new", "intensifying", "persistent", "diminishing", "oscillating", "sporadic",
                 "consecutive", "historical", "not_significant")


def esda_rules(significant: np.ndarray, mk_z: float, mk_p: float, alpha: float) -> str:  # noqa: PLR0911  # esda's rules, one return each
    """esda's _classify_pattern: significant bins (any sign), the 3 last periods as 'recent',
    80% of periods as 'most', runs of 3 as consecutive, 40% changes as oscillating."""
    n_total, n_sig = len(significant), int(significant.sum())
    if n_sig == 0:
        return "not_significant"
    recent, past = significant[-min(3, n_total):], significant[:max(1, n_total - 3)]
    if n_sig == 1:
        return "new" if recent.any() and not past.any() else (
            "historical" if past.any() and not recent.any() else "sporadic")
    if mk_p < alpha and mk_z > 0 and recent.all():
        return "intensifying"
    if mk_p < alpha and mk_z < 0:
        return "diminishing"
    if n_sig >= 0.8 * n_total and mk_p >= alpha:
        return "persistent"
    runs = np.diff(np.r_[0, significant.astype(int), 0])
    longest = int((np.flatnonzero(runs == -1) - np.flatnonzero(runs == 1)).max())
    if longest >= 3:
        return "consecutive"
    if np.count_nonzero(significant[1:] != significant[:-1]) >= 0.4 * n_total:
        return "oscillating"
    return "sporadic"


def test_emerging_categories_agree_with_esda_rules_where_the_definitions_meet() -> None:
    """The same cube (a steady cluster, a new one, a fading one, noise), our significance and
    trend fed to esda's rules: cells esda finds nothing in are no_pattern here; our persistent
    cells are esda's persistent (its 80% rule is looser than ESRI's 90%); our new cells are
    esda's new; our steady-then-gone cells are esda's historical, diminishing or persistent."""
    cells = disk(9)
    rng = np.random.default_rng(11)
    periods = 14
    cube = rng.poisson(1.0, (len(cells), periods))
    near = lambda cell: np.isin(cells, h3n.grid_disk(int(cell), 1).astype(np.int64))  # noqa: E731
    steady, late, gone = near(CENTRE), near(cells[200]), near(cells[150])
    cube[steady] += 12
    cube[late, -1] += 25
    cube[gone, :-3] += 12
    result, _, _ = emerging_tested(cube, np.ones(len(cells)), ring_weights(cells, 1),
                                   measure="count", inference="exact")
    ours = result.category.astype(str)
    significant = (result.hot_periods + result.cold_periods) > 0
    theirs = np.array([
        esda_rules((np.nan_to_num(result.p_fdr[i], nan=1.0) < 0.10), result.trend.z[i],
                   result.trend.p[i], 0.10) for i in range(len(cells))])
    assert (ours[theirs == "not_significant"] == "no_pattern").all()
    assert not significant[theirs == "not_significant"].any()
    assert ours[cells == CENTRE][0] in {"persistent_hot", "intensifying_hot", "diminishing_hot"}
    assert set(theirs[ours == "persistent_hot"]) <= {"persistent", "intensifying", "diminishing"}
    never_cold = result.cold_periods == 0
    assert set(theirs[(ours == "new_hot") & never_cold]) <= {"new"}
    assert (ours[late & (ours != "no_pattern")] == "new_hot").any()
    assert set(ours[gone & (ours != "no_pattern")]) <= {"historical_hot"}
    assert set(theirs[ours == "historical_hot"]) <= {"historical", "diminishing", "persistent",
                                                      "consecutive"}


def test_validation_setup_of_a_drawn_city_meets_the_targets() -> None:
    """A drawn city (a dense centre, a sparse rim) as a fast stand-in for Huế's map (the
    database test uses the real one): nulls within the FDR level, planted 3x clusters found."""
    cells = disk(22)
    distance = np.array([h3n.grid_distance(CENTRE, int(c)) for c in cells], dtype=float)
    background = 50.0 * np.exp(-distance / 6) + 1
    setup = validation.Setup(cells, ring_weights(cells, 1), background)
    assert validation.null_study(setup, 20_000, range(25)).fdr <= 0.10
    assert validation.null_study(setup, 2_000, range(25), duplicates=True).fdr <= 0.10
    planted = validation.power_study(setup, 20_000, range(10), validation.Plan(3, 3, 1, 3.0))
    assert planted.hot_recall is not None and planted.hot_recall >= 0.8
    assert planted.cold_recall is not None and planted.cold_recall > 0.2
    assert planted.precision is not None and planted.precision >= 0.85


def test_weights_of_no_cells_make_an_empty_test() -> None:
    empty = ring_weights(np.empty(0, dtype=np.int64), 1)
    assert isinstance(empty, CellWeights)
    result = local_test(np.empty(0), np.empty(0), empty, measure="count", inference="exact")
    assert len(result.cls) == 0
