"""The coverage statistics without a database: Empirical Bayes against hand-worked examples,
the expected-reports model and its flag on simulated communes, bootstrap intervals, and the
duplicate-based reporting-rate estimator on simulated incidents whose rate is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gis_service.analysis.statistics import coverage as cs


def test_global_eb_by_hand() -> None:
    """Three units, 1/100, 10/1000 and 30/1000 (Marshall 1991, worked by hand):
    m = 41/2100 = 0.0195238; s² = (1100 (0.01 − m)² + 1000 (0.03 − m)²) / 2100 = 9.97732e-5;
    A = s² − m / 700 = 7.18821e-5; C = A / (A + m/n) = 0.269100, 0.786405, 0.786405."""
    smoothed = cs.global_eb([1, 10, 30], [100, 1000, 1000])
    m = 41 / 2100
    assert smoothed.prior_mean == pytest.approx([m] * 3)
    assert smoothed.prior_variance == pytest.approx([7.18821e-5] * 3, rel=1e-5)
    assert smoothed.weight == pytest.approx([0.269100, 0.786405, 0.786405], rel=1e-5)
    expected = [m + c * (raw - m) for c, raw in zip([0.269100, 0.786405, 0.786405],
                                                    [0.01, 0.01, 0.03], strict=True)]
    assert smoothed.rate == pytest.approx(expected, rel=1e-5)
    # The small unit moves most: 10 -> 16.96 per 1,000; the large ones little.
    assert (smoothed.rate * 1000).round(2).tolist() == [16.96, 12.03, 27.76]


def test_global_eb_pulls_everything_to_the_mean_without_real_variation() -> None:
    # Raw rates 10 and 12 per 1,000 on 1,000 residents: within Poisson noise, so A < 0 -> 0.
    smoothed = cs.global_eb([10, 12, 0], [1000, 1000, 0])
    assert smoothed.prior_variance[0] == 0.0
    assert smoothed.rate == pytest.approx([0.011] * 3)
    assert math.isnan(smoothed.raw[2])


def test_local_eb_by_hand() -> None:
    """A chain 0 - 1 - 2. Unit 2's neighbourhood {1, 2}: m = 40/2000 = 0.02,
    s² = (1000·0.01² + 1000·0.01²)/2000 = 1e-4, A = 1e-4 − 0.02/1000 = 8e-5,
    C = 8e-5 / (8e-5 + 2e-5) = 0.8, rate = 0.02 + 0.8 × 0.01 = 0.028. Unit 0's neighbourhood
    {0, 1} has equal raw rates: A = 0, rate = m = 0.01. Unit 1 sees all three (as global)."""
    smoothed = cs.local_eb([1, 10, 30], [100, 1000, 1000], [[1], [0, 2], [1]])
    assert smoothed.rate == pytest.approx([0.01, cs.global_eb([1, 10, 30], [100, 1000, 1000]).rate[1],
                                           0.028])
    assert smoothed.weight[2] == pytest.approx(0.8)
    # Listing a neighbour twice, or the unit itself, changes nothing.
    again = cs.local_eb([1, 10, 30], [100, 1000, 1000], [[1, 1, 0], [0, 2], [1]])
    assert again.rate == pytest.approx(smoothed.rate)
    with pytest.raises(ValueError, match="neighbour list"):
        cs.local_eb([1, 2], [10, 10], [[1]])


def test_quantile_classes() -> None:
    values = np.arange(10.0)
    assert cs.quantile_classes(values, 5).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert cs.quantile_classes([1.0, float("nan")], 3).tolist() == [3, 0]


def _nb_counts(rng: np.random.Generator, mean: np.ndarray, theta: float) -> np.ndarray:
    return rng.poisson(rng.gamma(theta, mean / theta))


def test_negative_binomial_recovers_rates_and_dispersion() -> None:
    rng = np.random.default_rng(3)
    population = rng.integers(2_000, 20_000, 400).astype(float)
    urban = rng.random(400) < 0.4
    mean = population * np.where(urban, 0.05, 0.01)
    fit = cs.fit_negative_binomial(_nb_counts(rng, mean, 8.0), population,
                                   np.column_stack([np.ones(400), urban]))
    assert math.exp(fit.coef[0]) == pytest.approx(0.01, rel=0.05)
    assert math.exp(fit.coef[1]) == pytest.approx(5.0, rel=0.08)
    assert fit.theta == pytest.approx(8.0, rel=0.25)
    assert fit.poisson_dispersion > 5
    # Poisson counts: no extra variation found.
    poisson = cs.fit_negative_binomial(rng.poisson(mean), population,
                                       np.column_stack([np.ones(400), urban]))
    assert poisson.theta == math.inf or poisson.theta > 1_000
    assert poisson.poisson_dispersion == pytest.approx(1.0, abs=0.2)


def test_under_reporting_flags_the_planted_communes_only() -> None:
    rng = np.random.default_rng(11)
    expected = rng.uniform(50, 500, 200)
    counts = _nb_counts(rng, expected, 10.0).astype(float)
    planted = np.arange(0, 200, 40)  # five communes reporting a tenth of what they should
    counts[planted] = np.floor(counts[planted] * 0.1)
    found = cs.under_reporting(counts, expected, 10.0, fdr=0.05)
    assert found.flag[planted].all()
    # FDR 5%: among ~5 flags, a false one is possible but not several.
    assert found.flag.sum() - len(planted) <= 2
    assert (found.q_value >= found.p_value).all()
    # Poisson on the same overdispersed counts would flag a large share: why NB.
    assert cs.under_reporting(counts, expected).flag.sum() > 30
    with pytest.raises(ValueError, match="fdr"):
        cs.under_reporting(counts, expected, fdr=1.5)


def test_bootstrap_ratio_covers_the_truth() -> None:
    """200 simulated settings of 30 communes (Poisson counts on varied populations, true rate
    0.02): the 95% cluster-bootstrap interval covers 0.02 in about 95% of them; percentile
    intervals run a little short at n = 30, hence 0.88."""
    rng = np.random.default_rng(5)
    covered = 0
    for trial in range(200):
        population = rng.integers(500, 20_000, 30).astype(float)
        counts = rng.poisson(0.02 * population * rng.gamma(5, 1 / 5, 30))
        found = cs.bootstrap_ratio(counts, population, reps=500, seed=trial)
        assert found.low <= found.estimate <= found.high
        covered += found.low <= 0.02 <= found.high
    assert covered / 200 >= 0.88


def test_bootstrap_ratio_of_ratios() -> None:
    found = cs.bootstrap_ratio_of_ratios(([30, 40, 50], [1000, 1000, 1000]),
                                         ([10, 9, 11], [1000, 1000, 1000]), seed=1)
    assert found.estimate == pytest.approx(4.0)
    assert found.low < 4.0 < found.high
    assert math.isnan(cs.bootstrap_ratio([], []).estimate)


def _ztp_sample(rng: np.random.Generator, rate: float, incidents: int) -> np.ndarray:
    reports = rng.poisson(rate, incidents)
    return reports[reports > 0]


@pytest.mark.parametrize("rate", [0.3, 0.6, 1.2, 3.0])
def test_ztp_estimator_recovers_a_known_rate(rate: float) -> None:
    """20,000 incidents, of which the unreported are never seen. Standard error from the
    Fisher information of the truncated Poisson; 4 standard errors."""
    sizes = _ztp_sample(np.random.default_rng(int(rate * 10)), rate, 20_000)
    estimate = cs.ztp_rate([len(sizes)], [sizes.sum()])[0]
    q = -math.expm1(-rate)
    se = 1 / math.sqrt(len(sizes) * (1 / (rate * q) - math.exp(-rate) / q**2))
    assert abs(estimate - rate) < 4 * se
    # The naive mean of reports per reported incident is biased up (it ignores the zeros).
    assert sizes.mean() > rate


def test_ztp_intervals_cover_at_their_level() -> None:
    """400 communes of 60 incidents each (rate 0.8): the 95% likelihood-ratio intervals cover
    the rate in about 95% of communes (binomial sd 1.1 points: 4 sd is 0.906)."""
    rng = np.random.default_rng(8)
    samples = [_ztp_sample(rng, 0.8, 60) for _ in range(400)]
    rates = cs.reporting_rates([len(s) for s in samples], [s.sum() for s in samples])
    covered = ((rates.low <= 0.8) & (rates.high >= 0.8)).mean()
    assert 0.906 <= covered <= 0.99
    assert (rates.low <= rates.rate).all() and (rates.rate <= rates.high).all()


def test_ztp_interval_is_where_the_deviance_crosses() -> None:
    """Checked against the deviance on a fine grid, including a commune with no duplicates
    (MLE 0, lower bound 0) and one with no incidents (NaN)."""
    n, s = np.array([50.0, 40.0, 0.0]), np.array([70.0, 40.0, 0.0])
    low, high = cs.ztp_interval(n, s)
    grid = np.linspace(1e-6, 3, 300_001)
    for i in range(2):
        loglik = s[i] * np.log(grid) - n[i] * np.log(np.expm1(grid))
        best = 0.0 if s[i] == n[i] else loglik.max()
        inside = grid[2 * (best - loglik) <= 3.841458820694124]
        assert low[i] == pytest.approx(0.0 if s[i] == n[i] else inside.min(), abs=2e-5)
        assert high[i] == pytest.approx(inside.max(), abs=2e-5)
    assert math.isnan(low[2]) and math.isnan(high[2])
    assert cs.ztp_rate([40], [40])[0] == 0.0


def test_reporting_rates_derived_quantities() -> None:
    rates = cs.reporting_rates([632], [1000])
    assert rates.rate[0] == pytest.approx(1.0, abs=0.01)
    assert rates.unreported_share[0] == pytest.approx(math.exp(-rates.rate[0]))
    assert rates.estimated_incidents[0] == pytest.approx(632 / (1 - math.exp(-rates.rate[0])))
    with pytest.raises(ValueError, match="at least one report"):
        cs.ztp_rate([10], [9])
