"""The Mann-Kendall trend test, for many series at once (one per row).

``S = sum_{i<j} sign(x_j - x_i)``; under no trend ``S`` is approximately normal with mean 0
and variance ``(n(n-1)(2n+5) - sum_t t(t-1)(2t+5)) / 18``, the sum over groups of ``t`` tied
values (Kendall 1975, *Rank Correlation Methods*; Hipel and McLeod 1994). ``z`` has the
continuity correction ``(S - sign(S)) / sqrt(var)``, the p-value is two-sided and
``tau = S / (n(n-1)/2)``: the same numbers as ``pymannkendall.original_test``. A constant
series has ``S = 0``, ``z = 0`` and ``p = 1``.

Vectorised over rows: ``S`` is summed one lag at a time (``n - 1`` numpy passes over the
whole matrix), and ties are counted from each row's sorted values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MannKendall:
    """Per row: the statistic ``s``, its variance, ``z``, two-sided ``p`` and Kendall's ``tau``."""

    s: FloatArray
    var_s: FloatArray
    z: FloatArray
    p: FloatArray
    tau: FloatArray


def mann_kendall(series: npt.ArrayLike) -> MannKendall:
    """The Mann-Kendall test of each row of ``series`` (rows x time), oldest value first.

    >>> result = mann_kendall([[1.0, 2.0, 3.0, 4.0, 5.0], [5.0, 5.0, 5.0, 5.0, 5.0]])
    >>> result.s.tolist(), result.tau.tolist(), round(float(result.p[0]), 4)
    ([10.0, 0.0], [1.0, 0.0], 0.0275)
    """
    x = np.atleast_2d(np.asarray(series, dtype=np.float64))
    rows, n = x.shape
    s = np.zeros(rows, dtype=np.float64)
    for lag in range(1, n):
        s += np.sign(x[:, lag:] - x[:, :-lag]).sum(axis=1)
    var_s = (n * (n - 1) * (2 * n + 5) - _tie_term(x)) / 18.0
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(var_s > 0, (s - np.sign(s)) / np.sqrt(var_s), 0.0)
    pairs = n * (n - 1) / 2
    tau = s / pairs if pairs else np.zeros(rows)
    p = np.asarray(2.0 * special.ndtr(-np.abs(z)), dtype=np.float64)
    return MannKendall(s=s, var_s=var_s, z=z, p=p, tau=tau)


def _tie_term(x: FloatArray) -> FloatArray:
    """Per row, ``sum t(t-1)(2t+5)`` over the groups of equal values."""
    rows, n = x.shape
    if n < 2:
        return np.zeros(rows)
    ordered = np.sort(x, axis=1)
    # A new group starts at every row's first value and wherever the sorted value changes.
    starts = np.ones((rows, n), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    group = np.cumsum(starts.ravel()) - 1
    sizes = np.bincount(group).astype(np.float64)
    row_of_group = np.repeat(np.arange(rows), starts.sum(axis=1))
    terms = sizes * (sizes - 1) * (2 * sizes + 5)
    return np.asarray(np.bincount(row_of_group, weights=terms, minlength=rows), dtype=np.float64)
