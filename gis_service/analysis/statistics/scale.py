"""The scale of a hot spot analysis chosen from the data (ESRI's *Optimized Hot Spot
Analysis*, on H3 cells): the resolution from a minimum mean count per occupied cell, the
rings where global spatial autocorrelation (Moran's I z) peaks.

- **Resolution**: the finest of the analysis resolutions at which the cells holding any
  report hold at least :data:`MIN_MEAN_COUNT` reports on average. Finer cells would mostly
  hold one report each, a map of where single reports fell; a neighbourhood of 7 such cells
  then rarely reaches the minimum count a call needs.
- **Rings**: ``k`` from 1 to :data:`MAX_AUTO_K` where Moran's I z of the analysed values
  (counts, or Pearson residuals against residents) peaks: the first k whose z exceeds the
  next one's, else the largest. This is ESRI's "peak of incremental spatial autocorrelation"
  with rings standing for distance bands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from gis_service.analysis.statistics.weights import CellWeights

FloatArray = npt.NDArray[np.float64]
#: Reports per occupied cell below which a resolution is too fine.
MIN_MEAN_COUNT = 5.0
MAX_AUTO_K = 3


def mean_occupied_count(counts: npt.ArrayLike) -> float:
    """Mean reports over the cells holding any.

    >>> mean_occupied_count([0, 1, 3, 0])
    2.0
    """
    x = np.asarray(counts, dtype=np.float64)
    occupied = x[x > 0]
    return float(occupied.mean()) if len(occupied) else 0.0


def choose_resolution(counts_by_resolution: Mapping[int, npt.ArrayLike]) -> int:
    """The finest resolution whose occupied cells hold :data:`MIN_MEAN_COUNT` on average
    (the coarsest offered when none does).

    >>> choose_resolution({8: [9, 3, 0], 9: [5, 2, 1, 1, 0], 10: [1, 1, 1, 1, 1]})
    8
    """
    ordered = sorted(counts_by_resolution)
    for resolution in reversed(ordered):
        if mean_occupied_count(counts_by_resolution[resolution]) >= MIN_MEAN_COUNT:
            return resolution
    return ordered[0]


def moran_z(values: npt.ArrayLike, weights: CellWeights) -> float:
    """Global Moran's I z-score (normality assumption) with the weights' binary neighbours,
    the cell itself left out (Cliff and Ord 1981).

    >>> from gis_service.analysis.statistics.weights import ring_weights
    >>> import h3.api.numpy_int as h3n
    >>> cells = h3n.grid_disk(h3n.latlng_to_cell(16.46, 107.59, 9), 6).astype(np.int64)
    >>> smooth = np.array([h3n.grid_distance(int(cells[0]), int(c)) for c in cells], float)
    >>> moran_z(smooth, ring_weights(cells, 1)) > 5
    True
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    links = weights.matrix.copy().tocsr()
    links.setdiag(0.0)
    links.eliminate_zeros()
    links.data[:] = 1.0
    s0 = float(links.sum())
    deviation = x - x.mean()
    denominator = float(deviation @ deviation)
    if n < 3 or s0 == 0 or denominator == 0:
        return 0.0
    moran = n / s0 * float(deviation @ (links @ deviation)) / denominator
    s1 = 2.0 * s0  # symmetric binary links: sum over i, j of (w_ij + w_ji)^2 / 2
    degree = np.asarray(links.sum(axis=1)).ravel()
    s2 = float(((2.0 * degree) ** 2).sum())
    expected = -1.0 / (n - 1)
    variance = (n * n * s1 - n * s2 + 3 * s0 * s0) / ((n * n - 1) * s0 * s0) - expected ** 2
    return float((moran - expected) / np.sqrt(variance)) if variance > 0 else 0.0


def choose_k(z_by_k: Sequence[float]) -> int:
    """The first k (1-based) whose z exceeds the next one's, else the largest.

    >>> choose_k([4.0, 6.0, 5.0]), choose_k([3.0, 4.0, 5.0]), choose_k([9.0, 6.0, 5.0])
    (2, 3, 1)
    """
    for index in range(len(z_by_k) - 1):
        if z_by_k[index] > z_by_k[index + 1]:
            return index + 1
    return len(z_by_k)
