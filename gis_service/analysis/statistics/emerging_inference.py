"""Emerging hot spots with the same inference as the hot spot map: each period's cells tested
by :func:`gis_service.analysis.statistics.inference.local_test` (exact binomial, permutation or
analytic; the minimum count; BH within the period), then ESRI's categories from the hot and
cold bins and the Mann-Kendall trend of each cell's Gi* z-scores
(:mod:`gis_service.analysis.statistics.emerging`).

The dispersion of the exact test is read once from the whole range's counts (one period holds
too few reports to tell clumps from chance) and used for every period.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from gis_service.analysis.statistics.emerging import (
    DEFAULT_ALPHA,
    MIN_PERIODS,
    Emerging,
    classify_series,
)
from gis_service.analysis.statistics.inference import (
    DEFAULT_MIN_COUNT,
    DEFAULT_PERMUTATIONS,
    DEFAULT_SEED,
    Inference,
    dispersion,
    expected_counts,
    local_test,
)
from gis_service.analysis.statistics.trend import mann_kendall
from gis_service.analysis.statistics.weights import CellWeights
from gis_service.errors import InvalidInput


def emerging_tested(counts: npt.ArrayLike, background: npt.ArrayLike, weights: CellWeights, *,
                    measure: Literal["excess", "count"], inference: Inference,
                    alpha: float = DEFAULT_ALPHA, min_count: int = DEFAULT_MIN_COUNT,
                    permutations: int = DEFAULT_PERMUTATIONS, seed: int = DEFAULT_SEED
                    ) -> tuple[Emerging, float, npt.NDArray[np.float64]]:
    """Categories of a cells x periods matrix of counts, the dispersion used, and the final
    period's p-values.

    >>> from gis_service.analysis.statistics.weights import ring_weights
    >>> import h3.api.numpy_int as h3n
    >>> centre = h3n.latlng_to_cell(16.4637, 107.5905, 9)
    >>> cells = h3n.grid_disk(centre, 6).astype(np.int64)
    >>> busy = np.isin(cells, h3n.grid_disk(centre, 1).astype(np.int64))
    >>> counts = np.where(busy[:, None], 30, 1) * np.ones((1, 12), dtype=int)
    >>> result, phi, _ = emerging_tested(counts, np.ones(len(cells)), ring_weights(cells, 1),
    ...                               measure="count", inference="exact")
    >>> str(result.category[cells == centre][0])
    'persistent_hot'
    """
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < MIN_PERIODS:
        periods = x.shape[1] if x.ndim == 2 else 0
        raise InvalidInput(f"emerging hot spots need at least {MIN_PERIODS} periods "
                           f"(this range has {periods}): widen it or use shorter periods",
                           field="period")
    base = np.asarray(background, dtype=np.float64)
    total = np.where(base > 0, x.sum(axis=1), 0.0)
    phi = dispersion(total, expected_counts(total, base), weights) if inference == "exact" else 1.0
    tests = [local_test(x[:, t], base, weights, measure=measure, inference=inference,
                        min_count=min_count, permutations=permutations, seed=seed + t, phi=phi)
             for t in range(x.shape[1])]
    z = np.column_stack([test.z for test in tests])
    p_fdr = np.column_stack([test.p_fdr for test in tests])
    cls = np.column_stack([test.cls.astype(str) for test in tests])
    hot, cold = np.char.startswith(cls, "hot"), np.char.startswith(cls, "cold")
    called_alpha = np.where(np.nan_to_num(p_fdr, nan=1.0) < alpha, True, False)
    hot, cold = hot & called_alpha, cold & called_alpha
    # classify_series reads hot bins as significant with z > 0: give it the calls' signs.
    signed = np.where(hot, np.abs(z) + 1e-12, np.where(cold, -np.abs(z) - 1e-12, z))
    trend = mann_kendall(np.round(z, 9))
    category = classify_series(signed, hot | cold, trend, alpha)
    return Emerging(category=category, trend=trend, hot_periods=hot.sum(axis=1),
                    cold_periods=cold.sum(axis=1), z=z, p_fdr=p_fdr), phi, tests[-1].p
