"""Getis-Ord Gi* with analytic z-scores, Benjamini-Hochberg false-discovery-rate adjustment,
and the hot/cold classes.

Gi* (Ord and Getis 1995, "Local spatial autocorrelation statistics: distributional issues and
an application", Geographical Analysis 27(4)), for counts ``x`` over the ``n`` cells of the
study area and weights ``w_ij`` that include the cell itself::

    z_i = (sum_j w_ij x_j - mean(x) W_i) / (S sqrt((n sum_j w_ij^2 - W_i^2) / (n - 1)))

with ``W_i = sum_j w_ij`` and ``S`` the population standard deviation of ``x``. With binary
weights ``sum_j w_ij^2 = W_i`` and this is exactly PySAL esda's
``G_Local(star=True, transform='B').Zs`` (the tests check it to 1e-6); esda's default
``transform='R'`` row-standardises the weights first and gives other values.

p-values are two-sided, ``2 (1 - Phi(|z|))``, as ESRI's Hot Spot Analysis reports them (esda's
``p_norm`` is one-sided). Every cell of the study area is one test, so a map of 40,000 cells at
90% confidence would show about 4,000 "significant" cells from noise alone: the classes use
the Benjamini-Hochberg adjusted p-value (``p_fdr``), as ESRI's Hot Spot Analysis does with its
FDR option (and Optimized Hot Spot Analysis always does). BH controls the false discovery
rate under positive dependence (Benjamini and Yekutieli 2001), which is what overlapping Gi*
neighbourhoods produce. The raw ``p`` is kept for analysts who want it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from gis_service.analysis.statistics.weights import CellWeights

FloatArray = npt.NDArray[np.float64]
#: Confidence levels of the classes, most confident first, and the class labels.
CONFIDENCE_LEVELS = (99, 95, 90)
NOT_SIGNIFICANT = "not_significant"
CLASSES = (*(f"hot_{level}" for level in CONFIDENCE_LEVELS),
           *(f"cold_{level}" for level in CONFIDENCE_LEVELS), NOT_SIGNIFICANT)


@dataclass(frozen=True)
class GiStar:
    """Gi* per cell (rows in the order of the weights' cells): z, two-sided p, BH-adjusted p,
    and the class (:data:`CLASSES`, from ``z`` and ``p_fdr``)."""

    z: FloatArray
    p: FloatArray
    p_fdr: FloatArray
    cls: npt.NDArray[np.str_]


def gi_star_z(counts: npt.ArrayLike, weights: CellWeights) -> FloatArray:
    """Gi* z-scores of ``counts`` (one column per series: a vector, or a cells x periods
    matrix). A series with no variation (all counts equal) has z = 0 everywhere.

    >>> from gis_service.analysis.statistics.weights import ring_weights
    >>> import h3.api.numpy_int as h3n
    >>> centre = h3n.latlng_to_cell(16.4637, 107.5905, 9)
    >>> cells = h3n.grid_disk(centre, 2).astype(np.int64)
    >>> x = np.where(cells == centre, 10.0, 0.0)  # everything in the centre cell
    >>> z = gi_star_z(x, ring_weights(cells, 1))
    >>> bool(z[cells == centre][0] == z.max())
    True
    """
    x = np.asarray(counts, dtype=np.float64)
    n = weights.n
    if x.shape[0] != n:
        raise ValueError(f"{x.shape[0]} counts for {n} cells")
    mean = x.mean(axis=0)
    sd = np.sqrt(np.maximum((x * x).mean(axis=0) - mean * mean, 0.0))
    row_sum, row_square = weights.row_sum, weights.row_square_sum
    spread = np.sqrt(np.maximum(n * row_square - row_sum * row_sum, 0.0) / max(n - 1, 1))
    if x.ndim == 2:
        row_sum, spread = row_sum[:, None], spread[:, None]
    lagged = weights.matrix @ x
    denominator = spread * sd
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (lagged - mean * row_sum) / denominator
    # No variation (sd = 0), or a neighbourhood that is the whole study area: nothing to test.
    return np.where(denominator > 0, z, 0.0)


def two_sided_p(z: FloatArray) -> FloatArray:
    """Two-sided normal p-values.

    >>> round(float(two_sided_p(np.array([1.959964]))[0]), 4)
    0.05
    """
    return np.asarray(2.0 * special.ndtr(-np.abs(z)), dtype=np.float64)


def benjamini_hochberg(p: npt.ArrayLike) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (the step-up FDR procedure), along the first axis.

    ``p_fdr[i] = min over j with p_j >= p_i of (m p_j / rank_j)``, capped at 1; a test is
    significant at FDR ``q`` when ``p_fdr <= q``.

    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.005]).round(4).tolist()
    [0.02, 0.04, 0.04, 0.02]
    """
    values = np.asarray(p, dtype=np.float64)
    m = values.shape[0]
    if m == 0:
        return values.copy()
    order = np.argsort(values, axis=0, kind="stable")
    ranked = np.take_along_axis(values, order, axis=0)
    rank = np.arange(1, m + 1, dtype=np.float64).reshape((m,) + (1,) * (values.ndim - 1))
    stepped = np.minimum.accumulate((ranked * m / rank)[::-1], axis=0)[::-1]
    adjusted = np.empty_like(values)
    np.put_along_axis(adjusted, order, np.minimum(stepped, 1.0), axis=0)
    return adjusted


def classify(z: FloatArray, p_fdr: FloatArray) -> npt.NDArray[np.str_]:
    """``hot_99`` ... ``cold_90`` or ``not_significant``: the most confident level whose
    alpha (1%, 5%, 10%) the adjusted p-value is below, hot for z > 0, cold for z < 0.

    >>> classify(np.array([3.0, -2.0, 1.0]), np.array([0.001, 0.04, 0.5])).tolist()
    ['hot_99', 'cold_95', 'not_significant']
    """
    conditions, labels = [], []
    for level in CONFIDENCE_LEVELS:
        significant = p_fdr < (100 - level) / 100
        conditions += [significant & (z > 0), significant & (z < 0)]
        labels += [f"hot_{level}", f"cold_{level}"]
    return np.select(conditions, labels, default=NOT_SIGNIFICANT)


def gi_star(counts: npt.ArrayLike, weights: CellWeights) -> GiStar:
    """Gi* of one count per cell, with p-values, FDR-adjusted p-values and classes.

    >>> from gis_service.analysis.statistics.weights import ring_weights
    >>> import h3.api.numpy_int as h3n
    >>> centre = h3n.latlng_to_cell(16.4637, 107.5905, 9)
    >>> cells = h3n.grid_disk(centre, 6).astype(np.int64)
    >>> busy = np.isin(cells, h3n.grid_disk(centre, 1).astype(np.int64))
    >>> result = gi_star(np.where(busy, 40.0, 1.0), ring_weights(cells, 1))
    >>> str(result.cls[cells == centre][0])
    'hot_99'
    """
    z = gi_star_z(counts, weights)
    p = two_sided_p(z)
    p_fdr = benjamini_hochberg(p)
    return GiStar(z=z, p=p, p_fdr=p_fdr, cls=classify(z, p_fdr))
