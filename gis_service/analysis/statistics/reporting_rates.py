"""Reporting rates and delays from duplicate reports in time (Liu, Bhandaram and Garg).

Liu, Bhandaram and Garg, "Quantifying spatial under-reporting disparities in resident
crowdsourcing" (Nature Computational Science 4, 2024). Once an incident has been reported, the
*further* reports about it measure how readily residents report, whatever the number of
incidents. While an incident is open, residents report it as a Poisson process of rate ``λ``
(reports per day); the first report starts the clock, so the further reports (duplicates)
made between the first report and the incident's closing (or the end of the data) are
``D_i ~ Poisson(λ · T_i)``, ``T_i`` the incident's observed open window. ``λ`` is then a
Poisson regression of ``D`` with ``log T`` as offset, and ``1 / λ`` the expected delay
before an incident's first report (the waiting time of the same process).

- :func:`poisson_rates` fits one rate per unit (a ward, a ward and category, a setting): the
  sufficient statistics are the unit's ``ΣD`` and ``ΣT``, the estimate ``ΣD / ΣT``, and the
  interval the **profile likelihood-ratio** interval (every ``λ`` whose deviance from the MLE
  is within the χ²₁ quantile). For one parameter the profile is the likelihood itself; unlike
  a Wald interval it stays inside ``(0, ∞)``, is right-skewed like the likelihood, and gives
  ``[0, χ²₁/(2ΣT)]`` for a unit with no duplicates. Given the windows, ``ΣD`` is Poisson with
  mean ``Σ λ_i T_i``, so a unit pooling incidents of different rates (a 2025 ward made of
  several 2019 communes, a whole setting) estimates their **exposure-weighted** mean rate,
  and the interval is still exact in that sense; that is the truth it is checked against.
- :func:`rate_regression` regresses the rate on unit covariates (population density,
  urban/rural): a Poisson GLM of ``ΣD`` with offset ``log ΣT``, coefficients as rate ratios
  with **Wald intervals on the log scale** from a sandwich (robust) variance, because units
  differ beyond the covariates and the model-based variance would then be too small.

Assumptions (from the paper): reports of an incident are independent events at a rate that is
constant while it is open; the duplicates are linked to the right original (the grouping's
precision and recall are checked separately); the window ends when the incident is closed
(resolved, or rejected) or at the end of the data, and no duplicate is counted outside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

__all__ = ["PoissonRates", "RateRegression", "poisson_rates", "rate_regression"]

METHOD = "Liu, Bhandaram & Garg: Poisson regression of duplicates on open days (exposure)"
INTERVAL = "profile likelihood-ratio"
_BISECTIONS = 80


def _floats(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


@dataclass(frozen=True)
class PoissonRates:
    """Per unit: further reports, open days, the rate (reports per day) with its interval, and
    the expected delay before a first report (days, ``1 / rate``) with the inverted interval."""

    further: FloatArray
    exposure_days: FloatArray
    rate: FloatArray
    low: FloatArray
    high: FloatArray
    level: float

    @property
    def delay_days(self) -> FloatArray:
        with np.errstate(divide="ignore"):
            return np.where(np.isfinite(self.rate), 1.0 / self.rate, np.nan)

    @property
    def delay_low(self) -> FloatArray:
        with np.errstate(divide="ignore"):
            return np.where(np.isfinite(self.high), 1.0 / self.high, np.nan)

    @property
    def delay_high(self) -> FloatArray:
        """Infinite when no duplicate was seen: the data cannot rule out a rate near 0."""
        with np.errstate(divide="ignore"):
            return np.where(np.isfinite(self.low), 1.0 / self.low, np.nan)


def _deviance(mean: FloatArray, count: FloatArray) -> FloatArray:
    """Poisson deviance of ``count`` against ``mean`` (``mean > 0``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_term = np.where(count > 0, count * np.log(count / mean), 0.0)
    return 2.0 * (log_term - (count - mean))


def _bisect(low: FloatArray, high: FloatArray, count: FloatArray, critical: float,
            rising: bool) -> FloatArray:
    """The mean where the deviance crosses ``critical`` between ``low`` and ``high``."""
    for _ in range(_BISECTIONS):
        mid = (low + high) / 2
        beyond = _deviance(mid, count) > critical
        move_high = beyond if rising else ~beyond
        low, high = np.where(move_high, low, mid), np.where(move_high, mid, high)
    return (low + high) / 2


def _count_interval(count: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    """LR interval for a Poisson mean from one count (the profile of ``λ T`` is this)."""
    critical = float(stats.chi2.ppf(level, 1))
    # The deviance is within the critical value on [low, high], and
    # count ± 4 sqrt(count) + critical brackets both ends for any count.
    wide = count + 4.0 * np.sqrt(count) + critical
    high = _bisect(count.copy(), wide + 1.0, count, critical, rising=True)
    tiny = np.full_like(count, 1e-12)
    low = np.where(count > 0, _bisect(tiny, np.maximum(count, 1e-12), count, critical,
                                      rising=False), 0.0)
    return low, high


def poisson_rates(further: ArrayLike, exposure_days: ArrayLike, level: float = 0.95
                  ) -> PoissonRates:
    """Each unit's reporting rate ``ΣD / ΣT`` with its profile likelihood-ratio interval;
    NaN where the unit has no open days at all.

    >>> rates = poisson_rates([20, 0], [100.0, 50.0])
    >>> rates.rate.tolist(), rates.low.round(3).tolist(), rates.high.round(3).tolist()
    ([0.2, 0.0], [0.125, 0.0], [0.301, 0.038])
    >>> rates.delay_days.round(1).tolist()
    [5.0, inf]
    """
    d, t = _floats(further), _floats(exposure_days)
    if d.shape != t.shape:
        raise ValueError("one count and one exposure per unit are needed")
    if (d < 0).any() or (t < 0).any():
        raise ValueError("counts and exposures must not be negative")
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    exposed = t > 0
    safe_t = np.where(exposed, t, 1.0)
    low, high = _count_interval(d, level)
    return PoissonRates(
        further=d, exposure_days=t,
        rate=np.where(exposed, d / safe_t, np.nan),
        low=np.where(exposed, low / safe_t, np.nan),
        high=np.where(exposed, high / safe_t, np.nan),
        level=level)


@dataclass(frozen=True)
class RateRegression:
    """A Poisson regression of further reports on unit covariates with open days as exposure.

    ``names`` label the columns of the design (``intercept`` first); ``rate_ratio`` is
    ``exp(coef)`` (for the intercept: the rate at covariates 0), with Wald intervals on the
    log scale from the sandwich variance."""

    names: tuple[str, ...]
    coef: FloatArray
    robust_se: FloatArray
    rate_ratio: FloatArray
    low: FloatArray
    high: FloatArray
    level: float
    #: Pearson χ² / degrees of freedom: above 1, the units differ beyond the covariates.
    dispersion: float


def _poisson_fit(d: FloatArray, offset: FloatArray, x: FloatArray) -> FloatArray:
    """Poisson GLM coefficients by Newton's method, started at the pooled rate."""
    beta = np.zeros(x.shape[1])
    beta[0] = math.log(max(d.sum(), 0.5) / np.exp(offset).sum())
    for _ in range(100):
        mu = np.exp(offset + x @ beta)
        step = np.linalg.lstsq((x.T * mu) @ x, x.T @ (d - mu), rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def rate_regression(further: ArrayLike, exposure_days: ArrayLike, covariates: ArrayLike,
                    names: tuple[str, ...], level: float = 0.95) -> RateRegression:
    """Regress the reporting rate on unit covariates (an intercept is added).

    >>> fit = rate_regression([10, 20, 40, 80], [100, 100, 100, 100], [[0], [0], [1], [1]],
    ...                       ("urban",))
    >>> fit.names, fit.rate_ratio.round(2).tolist()
    (('intercept', 'urban'), [0.15, 4.0])
    """
    d, t = _floats(further), _floats(exposure_days)
    keep = t > 0
    x = np.column_stack([np.ones(len(d)), np.asarray(covariates, dtype=np.float64)
                         .reshape(len(d), -1)])[keep]
    if x.shape[1] != len(names) + 1:
        raise ValueError("one name per covariate column is needed")
    d, offset = d[keep], np.log(t[keep])
    beta = _poisson_fit(d, offset, x)
    mu = np.exp(offset + x @ beta)
    bread = np.linalg.pinv((x.T * mu) @ x)
    meat = (x.T * (d - mu) ** 2) @ x
    se = np.sqrt(np.diag(bread @ meat @ bread))
    z = float(stats.norm.ppf((1 + level) / 2))
    dof = max(len(d) - x.shape[1], 1)
    return RateRegression(
        names=("intercept", *names), coef=beta, robust_se=se, rate_ratio=np.exp(beta),
        low=np.exp(beta - z * se), high=np.exp(beta + z * se), level=level,
        dispersion=float(((d - mu) ** 2 / mu).sum() / dof))
