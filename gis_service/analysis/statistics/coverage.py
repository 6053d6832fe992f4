"""Statistics of coverage: smoothed rates, expected counts and under-reporting, intervals, and
reporting rates estimated from duplicate reports. Arrays in, arrays out: no SQL, no pandas.

**Empirical Bayes rates** (Marshall, "Mapping disease and mortality rates using empirical Bayes
estimators", Applied Statistics 40, 1991). A commune of 2,000 residents with 3 reports has a
rate that is mostly noise; EB pulls each raw rate ``r_i = y_i / n_i`` towards a prior mean
``m`` by the weight ``C_i = A / (A + m / n_i)``, where ``A = s² − m / n̄`` is the between-unit
variance left after the Poisson noise (``s²`` the population-weighted variance of the raw
rates, ``n̄`` the mean population; ``A`` is set to 0 when negative, pulling every unit to
``m``). :func:`global_eb` uses one prior for all units; :func:`local_eb` uses each unit's
neighbourhood (itself and its neighbours), so a rural commune is pulled towards its rural
neighbours rather than towards the city.

**Expected reports** come from a regression of report counts on setting with
``log(population)`` as offset, with negative-binomial (NB2) variance
(:func:`fit_negative_binomial`). Negative binomial rather than Poisson: communes differ in
ways the model does not know (reporting habits, busy places), so counts vary far more than
Poisson allows (Pearson χ²/df: 67 over the 2019 communes and 270 over the 2025 wards of Huế's
generated history) and a Poisson test would flag most communes. The NB keeps the same mean
model and lets the data say how much extra variation is ordinary. :func:`under_reporting` gives each
unit the lower-tail probability of seeing so few reports and flags units whose
Benjamini–Hochberg adjusted value is below the false-discovery rate (one test per commune, so
about ``fdr`` of the flags are expected to be false).

**Intervals for urban–rural figures**: :func:`bootstrap_ratio` resamples *communes* (a
cluster bootstrap) because reports of one commune share its habits; an analytic Poisson
interval on pooled counts would be far too narrow.

**Reporting rates from duplicates** (Liu, Bhandaram and Garg, "Quantifying spatial
under-reporting disparities in resident crowdsourcing", Nature Computational Science 4, 2024).
Their insight: once an incident has been reported, the *further* reports about it measure how
readily residents report, independently of how often incidents happen. They model reports of
an incident as a Poisson process observed from the first report to the incident's inspection,
so duplicates in that known window are Poisson with the window as exposure. Our reports carry
no such window (and the synthetic history draws a number of reports per incident, not a
process in time), so we use the count form of the same idea: an incident of commune *c* is
reported ``K ~ Poisson(r_c)`` times, unreported incidents (``K = 0``) are never seen, and the
sizes of the duplicate groups (original + reports with ``duplicate_of`` pointing to it) are
zero-truncated Poisson. The MLE solves ``r / (1 − e^{−r}) = mean group size``
(:func:`ztp_rate`); intervals invert the likelihood-ratio test (:func:`ztp_interval`), which
behaves at ``r = 0`` (no duplicates at all) where a Wald interval does not. ``e^{−r}`` is the
estimated share of incidents nobody reported. Assumptions: residents report independently of
each other (the Poisson limit of many residents each reporting rarely); duplicates are linked
to their original (links one level deep, as the lifecycle enforces); the rate is the same for
all incidents of a unit (pooling units with different rates gives a figure a little above
their incident-weighted mean: the truncated fit of a mixture); incidents are not cut off by
the end of the period (a duplicate after ``end`` still counts towards its group).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, sparse, special, stats

from gis_service.analysis.statistics.hotspots import benjamini_hochberg

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ArrayLike = npt.ArrayLike

__all__ = [
    "Interval",
    "NegativeBinomialFit",
    "ReportingRates",
    "Smoothed",
    "UnderReporting",
    "bootstrap_ratio",
    "bootstrap_ratio_of_ratios",
    "bootstrap_sums",
    "fit_negative_binomial",
    "global_eb",
    "local_eb",
    "percentile_interval",
    "quantile_classes",
    "rate_per",
    "reporting_rates",
    "under_reporting",
    "ztp_interval",
    "ztp_rate",
]

#: log(alpha) bounds of the NB2 fit: alpha = 1/theta from Poisson-like to wildly dispersed.
_LOG_ALPHA_BOUNDS = (-20.0, 5.0)
#: Below this log(alpha) (alpha 1e-6) the fitted NB is Poisson for any count we will see.
_POISSON_LOG_ALPHA = math.log(1e-6)
_BISECTIONS = 100


def _floats(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def rate_per(events: ArrayLike, population: ArrayLike, per: float = 1000.0) -> FloatArray:
    """Events per ``per`` residents; NaN where the population is 0.

    >>> rate_per([5, 0], [2500, 0]).tolist()
    [2.0, nan]
    """
    y, n = _floats(events), _floats(population)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, per * y / np.where(n > 0, n, 1.0), np.nan)


# -- Empirical Bayes -------------------------------------------------------------------------

@dataclass(frozen=True)
class Smoothed:
    """Empirical Bayes rates (per resident) and the prior each unit was pulled towards."""

    rate: FloatArray
    raw: FloatArray
    prior_mean: FloatArray
    prior_variance: FloatArray
    #: Weight of the unit's own raw rate (1: kept, 0: replaced by the prior mean).
    weight: FloatArray


def _shrink(y: FloatArray, n: FloatArray, m: FloatArray, a: FloatArray) -> Smoothed:
    populated = n > 0
    raw = np.where(populated, y / np.where(populated, n, 1.0), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        noise = np.where(populated, m / np.where(populated, n, 1.0), np.inf)
        weight = np.where(a + noise > 0, a / (a + noise), 0.0)
    weight = np.where(populated, weight, 0.0)
    rate = m + weight * (np.where(populated, raw, m) - m)
    return Smoothed(rate=rate, raw=raw, prior_mean=m, prior_variance=a, weight=weight)


def global_eb(events: ArrayLike, population: ArrayLike) -> Smoothed:
    """Marshall's global Empirical Bayes rates: one prior (mean and variance) for all units.

    >>> smoothed = global_eb([1, 10, 30], [100, 1000, 1000])
    >>> (smoothed.rate * 1000).round(2).tolist()
    [16.96, 12.03, 27.76]
    """
    y, n = _floats(events), _floats(population)
    populated = n > 0
    total = n[populated].sum()
    if total <= 0:
        raise ValueError("Empirical Bayes needs at least one unit with a population")
    m = y[populated].sum() / total
    raw = y[populated] / n[populated]
    s2 = float((n[populated] * (raw - m) ** 2).sum() / total)
    a = max(s2 - m / n[populated].mean(), 0.0)
    return _shrink(y, n, np.full(len(y), m), np.full(len(y), a))


def _neighbourhoods(neighbours: Sequence[Sequence[int]]) -> sparse.csr_matrix:
    """A 0/1 matrix whose row i marks unit i and its neighbours."""
    size = len(neighbours)
    rows = [i for i, members in enumerate(neighbours) for _ in range(len(members) + 1)]
    cols = [j for i, members in enumerate(neighbours) for j in (i, *members)]
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    # A neighbour listed twice (or a unit listing itself) still counts once.
    matrix.data[:] = 1.0
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def local_eb(events: ArrayLike, population: ArrayLike,
             neighbours: Sequence[Sequence[int]]) -> Smoothed:
    """Marshall's local Empirical Bayes rates: each unit's prior from itself and its neighbours.

    ``neighbours[i]`` lists the indices of unit i's neighbours (e.g. communes sharing a
    boundary). A unit with no neighbours is its own neighbourhood, and keeps its raw rate.

    >>> smoothed = local_eb([1, 10, 30], [100, 1000, 1000], [[1], [0, 2], [1]])
    >>> (smoothed.rate * 1000).round(2).tolist()
    [10.0, 12.03, 28.0]
    """
    y, n = _floats(events), _floats(population)
    if len(neighbours) != len(y):
        raise ValueError("one neighbour list per unit is needed")
    w = _neighbourhoods(neighbours)
    populated = (n > 0).astype(np.float64)
    pop_sum = w @ n
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(pop_sum > 0, (w @ y) / pop_sum, np.nan)
        raw = np.where(n > 0, y / np.where(n > 0, n, 1.0), 0.0)
        # s²_i = Σ_j n_j (r_j − m_i)² / Σ_j n_j, expanded so one sparse product per term does.
        s2 = ((w @ (n * raw**2)) - 2 * m * (w @ (n * raw)) + m**2 * pop_sum) / pop_sum
        mean_pop = pop_sum / (w @ populated)
        a = np.maximum(s2 - m / mean_pop, 0.0)
    return _shrink(y, n, m, np.nan_to_num(a))


def quantile_classes(values: ArrayLike, classes: int = 5) -> IntArray:
    """Each value's quantile class, 1 (lowest) to ``classes``; 0 for NaN.

    >>> quantile_classes([5.0, 1.0, 3.0, 2.0, 4.0, float("nan")]).tolist()
    [5, 1, 3, 2, 4, 0]
    """
    v = _floats(values)
    if classes < 1:
        raise ValueError("classes must be at least 1")
    finite = np.isfinite(v)
    out = np.zeros(len(v), dtype=np.int64)
    if not finite.any():
        return out
    # Breaks between classes at the 1/k, 2/k, ... quantiles; a value on a break goes up.
    breaks = np.quantile(v[finite], np.arange(1, classes) / classes)
    out[finite] = np.searchsorted(breaks, v[finite], side="right") + 1
    return np.minimum(out, classes)


# -- Expected reports and under-reporting ----------------------------------------------------

@dataclass(frozen=True)
class NegativeBinomialFit:
    """An NB2 regression ``y ~ NB(mean = exposure · exp(X β), variance = μ + μ²/θ)``."""

    coef: FloatArray
    #: Size parameter; ``inf`` when the counts are no more variable than Poisson.
    theta: float
    #: Fitted (expected) counts.
    mean: FloatArray
    #: Pearson χ² / degrees of freedom of the Poisson fit: how overdispersed the counts are.
    poisson_dispersion: float


def _poisson_glm(y: FloatArray, offset: FloatArray, x: FloatArray) -> FloatArray:
    """Poisson regression coefficients by Newton's method (IRLS)."""
    beta = np.zeros(x.shape[1])
    beta[0] = math.log(max(y.sum(), 0.5) / np.exp(offset).sum()) if x.shape[1] else 0.0
    for _ in range(50):
        mu = np.exp(offset + x @ beta)
        step = np.linalg.lstsq((x.T * mu) @ x, x.T @ (y - mu), rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def _nb_negloglik(log_alpha: float, y: FloatArray, mu: FloatArray) -> float:
    theta = 1.0 / math.exp(log_alpha)
    ll = (special.gammaln(y + theta) - special.gammaln(theta) - special.gammaln(y + 1)
          + theta * np.log(theta / (theta + mu)) + y * np.log(mu / (theta + mu)))
    return float(-ll.sum())


def fit_negative_binomial(counts: ArrayLike, exposure: ArrayLike, design: ArrayLike
                          ) -> NegativeBinomialFit:
    """Fit the mean ``exposure · exp(X β)`` and the NB2 dispersion; ``design`` has the intercept.

    The coefficients are the Poisson (quasi-)likelihood's: consistent whatever the dispersion,
    and with indicator columns they reproduce each group's total, so expected counts are an
    indirect standardisation (the NB likelihood's own means sit well below the totals when a
    few communes have most reports). θ is then the NB likelihood's given those means; Poisson
    (``theta = inf``) when the counts vary no more than Poisson allows.

    >>> fit = fit_negative_binomial([10, 20, 30, 400], [1e4, 1e4, 1e4, 1e5], [[1], [1], [1], [1]])
    >>> round(fit.poisson_dispersion, 1), fit.mean.round(1).tolist(), round(fit.theta, 1)
    (10.6, [35.4, 35.4, 35.4, 353.8], 3.4)
    """
    y, n = _floats(counts), _floats(exposure)
    x = np.asarray(design, dtype=np.float64).reshape(len(y), -1)
    if (n <= 0).any():
        raise ValueError("every unit needs a positive exposure")
    offset = np.log(n)
    beta = _poisson_glm(y, offset, x)
    mu = np.exp(offset + x @ beta)
    dof = max(len(y) - x.shape[1], 1)
    dispersion = float((((y - mu) ** 2) / mu).sum() / dof)
    theta = math.inf
    if dispersion > 1.0:
        found = optimize.minimize_scalar(_nb_negloglik, bounds=_LOG_ALPHA_BOUNDS, args=(y, mu),
                                         method="bounded")
        # At the lower end of α the likelihood prefers no extra variation at all: Poisson.
        if found.x > _POISSON_LOG_ALPHA:
            theta = 1.0 / math.exp(found.x)
    return NegativeBinomialFit(coef=beta, theta=theta, mean=mu, poisson_dispersion=dispersion)


@dataclass(frozen=True)
class UnderReporting:
    """Per unit: P(Y ≤ observed | expected), its BH-adjusted value, and the flag."""

    p_value: FloatArray
    q_value: FloatArray
    flag: npt.NDArray[np.bool_]


def under_reporting(observed: ArrayLike, expected: ArrayLike, theta: float = math.inf, *,
                    fdr: float = 0.05) -> UnderReporting:
    """Flag units with significantly fewer reports than expected, at false-discovery rate ``fdr``.

    Lower-tail probabilities under NB(expected, θ) (Poisson for ``theta = inf``); fractional
    counts (re-aggregated through a crosswalk) are rounded down.

    >>> result = under_reporting([2, 30, 95], [30.0, 30.0, 100.0], theta=50.0)
    >>> result.flag.tolist()
    [True, False, False]
    """
    y, mu = np.floor(_floats(observed)), _floats(expected)
    if not 0 < fdr < 1:
        raise ValueError("fdr must be between 0 and 1")
    p = (stats.poisson.cdf(y, mu) if math.isinf(theta)
         else stats.nbinom.cdf(y, theta, theta / (theta + mu)))
    p = np.where(mu > 0, p, np.nan)
    q = np.full(len(p), np.nan)
    tested = np.isfinite(p)
    q[tested] = benjamini_hochberg(p[tested])
    return UnderReporting(p_value=p, q_value=q, flag=np.nan_to_num(q, nan=1.0) <= fdr)


# -- Intervals --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    """An estimate with a two-sided interval at ``level``."""

    estimate: float
    low: float
    high: float
    level: float


def bootstrap_sums(values: ArrayLike, *, reps: int = 2000, seed: int | np.random.Generator = 0
                   ) -> FloatArray:
    """Column sums over units resampled with replacement: ``reps`` rows, one column per column
    of ``values`` (units in rows). Any statistic of sums can be bootstrapped from them.

    >>> bootstrap_sums([[1, 10], [1, 10]], reps=3).tolist()
    [[2.0, 20.0], [2.0, 20.0], [2.0, 20.0]]
    """
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix.reshape(-1, 1)
    if len(matrix) == 0:
        # No units (e.g. no reports in the period): every resampled sum is empty, i.e. 0.
        return np.zeros((reps, matrix.shape[1]))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    picks = rng.integers(0, len(matrix), size=(reps, len(matrix)))
    sums: FloatArray = matrix[picks].sum(axis=1)
    return sums


def _ratio_replicates(numerator: FloatArray, denominator: FloatArray, reps: int,
                      rng: np.random.Generator) -> FloatArray:
    sums = bootstrap_sums(np.column_stack([numerator, denominator]), reps=reps, seed=rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios: FloatArray = sums[:, 0] / sums[:, 1]
    return ratios


def percentile_interval(estimate: float, replicates: FloatArray, level: float = 0.95) -> Interval:
    """The estimate with the (1 − level)/2 and (1 + level)/2 quantiles of its bootstrap replicates."""
    finite = replicates[np.isfinite(replicates)]
    if not len(finite) or not math.isfinite(estimate):
        return Interval(estimate, math.nan, math.nan, level)
    low, high = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
    return Interval(estimate, float(low), float(high), level)


def bootstrap_ratio(numerator: ArrayLike, denominator: ArrayLike, *, reps: int = 2000,
                    level: float = 0.95, seed: int = 0) -> Interval:
    """Σ numerator / Σ denominator over units, with a percentile interval from resampling units.

    >>> interval = bootstrap_ratio([10, 12, 8, 11], [1000, 1000, 1000, 1000])
    >>> interval.estimate, interval.low < interval.estimate < interval.high
    (0.01025, True)
    """
    num, den = _floats(numerator), _floats(denominator)
    if len(num) != len(den):
        raise ValueError("numerator and denominator must have one value per unit")
    if not len(num) or den.sum() <= 0:
        return Interval(math.nan, math.nan, math.nan, level)
    replicates = _ratio_replicates(num, den, reps, np.random.default_rng(seed))
    return percentile_interval(float(num.sum() / den.sum()), replicates, level)


def bootstrap_ratio_of_ratios(first: tuple[ArrayLike, ArrayLike], second: tuple[ArrayLike, ArrayLike],
                              *, reps: int = 2000, level: float = 0.95, seed: int = 0) -> Interval:
    """(Σ num₁/Σ den₁) / (Σ num₂/Σ den₂): two groups of units resampled independently.

    >>> interval = bootstrap_ratio_of_ratios(([20, 22, 18], [1e3] * 3), ([10, 11, 9], [1e3] * 3))
    >>> round(interval.estimate, 6), interval.low < 2 < interval.high
    (2.0, True)
    """
    rng = np.random.default_rng(seed)
    parts = []
    for num, den in (first, second):
        n, d = _floats(num), _floats(den)
        if not len(n) or d.sum() <= 0:
            return Interval(math.nan, math.nan, math.nan, level)
        parts.append((float(n.sum() / d.sum()), _ratio_replicates(n, d, reps, rng)))
    (a, reps_a), (b, reps_b) = parts
    with np.errstate(divide="ignore", invalid="ignore"):
        return percentile_interval(a / b if b else math.nan, reps_a / reps_b, level)


# -- Reporting rates from duplicates ------------------------------------------------------------

def _truncated_mean(rate: FloatArray) -> FloatArray:
    """E[K | K ≥ 1] for K ~ Poisson(rate): r / (1 − e^{−r}), 1 at r = 0."""
    safe = np.where(rate > 0, rate, 1.0)
    return np.where(rate > 0, safe / -np.expm1(-safe), 1.0)


def ztp_rate(incidents: ArrayLike, reports: ArrayLike) -> FloatArray:
    """Maximum-likelihood Poisson mean from zero-truncated counts, given their number and sum.

    ``incidents`` is the number of duplicate groups (reported incidents), ``reports`` the
    reports in them. The MLE solves ``r / (1 − e^{−r}) = reports / incidents``: 0 when no
    incident was reported twice, NaN with no incidents.

    >>> ztp_rate([100, 100, 0], [100, 158.2, 0]).round(3).tolist()
    [0.0, 1.0, nan]
    """
    n, s = _floats(incidents), _floats(reports)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.where(n > 0, s / np.where(n > 0, n, 1.0), np.nan)
    if (target[np.isfinite(target)] < 1).any():
        raise ValueError("every incident has at least one report (reports >= incidents)")
    # r / (1 − e^{−r}) is increasing and exceeds r, so the root lies in [0, target].
    low, high = np.zeros_like(target), np.nan_to_num(target)
    for _ in range(_BISECTIONS):
        mid = (low + high) / 2
        below = _truncated_mean(mid) < target
        low, high = np.where(below, mid, low), np.where(below, high, mid)
    return np.where(np.isfinite(target), np.where(target > 1, (low + high) / 2, 0.0), np.nan)


def _ztp_loglik(rate: FloatArray, n: FloatArray, s: FloatArray) -> FloatArray:
    """Σ log P(K_i | K_i ≥ 1) up to a constant: S log r − n log(e^r − 1); 0 at r = 0, S = n."""
    safe = np.where(rate > 0, rate, 1.0)
    value = s * np.log(safe) - n * np.log(np.expm1(safe))
    at_zero = np.where(s > n, -np.inf, 0.0)
    return np.where(rate > 0, value, at_zero)


def ztp_interval(incidents: ArrayLike, reports: ArrayLike, level: float = 0.95
                 ) -> tuple[FloatArray, FloatArray]:
    """Likelihood-ratio interval for the zero-truncated Poisson mean: every ``r`` whose
    deviance from the MLE is below the χ²₁ quantile. Lower bound 0 when no duplicates.

    >>> low, high = ztp_interval([400], [633])
    >>> low.round(2).tolist(), high.round(2).tolist()
    ([0.88], [1.13])
    """
    n, s = _floats(incidents), _floats(reports)
    rate = ztp_rate(n, s)
    critical = stats.chi2.ppf(level, 1) / 2
    best = _ztp_loglik(np.nan_to_num(rate), n, s)

    def too_far(r: FloatArray) -> npt.NDArray[np.bool_]:
        return np.asarray(best - _ztp_loglik(r, n, s) > critical)

    def search(low: FloatArray, high: FloatArray, rising: bool) -> FloatArray:
        for _ in range(_BISECTIONS):
            mid = (low + high) / 2
            # On the upper side the deviance rises with r: too far means go lower.
            move_high = too_far(mid) == rising
            low, high = np.where(move_high, low, mid), np.where(move_high, mid, high)
        return (low + high) / 2

    found = np.isfinite(rate)
    r = np.nan_to_num(rate)
    cap = np.maximum(2 * np.nan_to_num(s / np.where(n > 0, n, 1.0)), 1.0)
    while (grow := found & ~too_far(cap)).any():
        cap = np.where(grow, 2 * cap, cap)
    high = search(r.copy(), cap, rising=True)
    low = np.where(r > 0, search(np.zeros_like(r), r.copy(), rising=False), 0.0)
    return np.where(found, low, np.nan), np.where(found, high, np.nan)


@dataclass(frozen=True)
class ReportingRates:
    """Per unit: reported incidents, their reports, the rate (reports per incident, the Poisson
    mean) with its interval, and the share of incidents nobody reported (``e^{−rate}``)."""

    incidents: FloatArray
    reports: FloatArray
    rate: FloatArray
    low: FloatArray
    high: FloatArray
    level: float

    @property
    def unreported_share(self) -> FloatArray:
        return np.exp(-self.rate)

    @property
    def estimated_incidents(self) -> FloatArray:
        """Reported incidents scaled up by the share that were reported at all."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.incidents / -np.expm1(-self.rate)


def reporting_rates(incidents: ArrayLike, reports: ArrayLike, level: float = 0.95
                    ) -> ReportingRates:
    """The reporting rate of each unit from its duplicate groups, with likelihood-ratio intervals.

    >>> rates = reporting_rates([400, 10], [633, 10])
    >>> rates.rate.round(2).tolist(), rates.high.round(2).tolist()
    ([1.0, 0.0], [1.13, 0.37])
    """
    n, s = _floats(incidents), _floats(reports)
    low, high = ztp_interval(n, s, level)
    return ReportingRates(incidents=n, reports=s, rate=ztp_rate(n, s), low=low, high=high,
                          level=level)
