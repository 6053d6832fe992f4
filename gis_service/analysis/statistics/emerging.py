"""Emerging hot spots: ESRI's Emerging Hot Spot Analysis categories, from each cell's series
of per-period Gi* results and the Mann-Kendall trend of its z-scores.

Definitions are ESRI's, as published in "How Emerging Hot Spot Analysis works" (ArcGIS Pro
3.x tool reference, Space Time Pattern Mining toolbox). A *hot bin* is a period in which the
cell is a significant hot spot (Gi* z > 0 and FDR-adjusted p below ``alpha``); a cold bin
likewise with z < 0. For hot spots (cold spots are the mirror image, with hot and cold
swapped and the trend reversed):

- **new**: the final period is a hot bin and no earlier period was.
- **consecutive**: a single uninterrupted run of at least two hot bins ends in the final
  period, no period before the run was hot, and less than 90% of all periods are hot.
- **intensifying**: at least 90% of periods are hot, including the final one, and the z-scores
  increase significantly (Mann-Kendall).
- **persistent**: at least 90% of periods are hot, including the final one, with no
  significant trend.
- **diminishing**: at least 90% of periods are hot, including the final one, and the z-scores
  decrease significantly.
- **sporadic**: the final period is hot, earlier hot periods came and went, less than 90% of
  periods are hot, and no period was a cold bin.
- **oscillating**: the final period is hot, some earlier period was a cold bin, and less than
  90% of periods are hot.
- **historical**: the final period is not hot, but at least 90% of periods were.

Where ESRI's wording lets two categories match, the first in this list wins (so a cell hot in
its last period only is *new* even if it was once cold), and hot categories are tested before
cold ones. ESRI's *persistent* does not mention the final period; since *historical* claims
every cell whose final period is not hot, persistent here requires it. Everything else is
``no_pattern``.

Two deliberate differences from ESRI's tool: Gi* is computed per period with spatial
neighbours only (ESRI's space-time cube can add neighbours from earlier periods), and the
trend and bin significance share one ``alpha`` (0.10 by default: ESRI's 90% confidence).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gis_service.analysis.statistics.hotspots import benjamini_hochberg, gi_star_z, two_sided_p
from gis_service.analysis.statistics.trend import MannKendall, mann_kendall
from gis_service.analysis.statistics.weights import CellWeights
from gis_service.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
PATTERNS = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic",
            "oscillating", "historical")
NO_PATTERN = "no_pattern"
CATEGORIES = (*(f"{p}_hot" for p in PATTERNS), *(f"{p}_cold" for p in PATTERNS), NO_PATTERN)
#: ESRI's threshold for "most of the time".
MOST = 0.9
#: Fewer periods than this make "90% of periods" mean "all of them" and leave the trend test
#: without power: the analysis refuses them.
MIN_PERIODS = 10
DEFAULT_ALPHA = 0.10


@dataclass(frozen=True)
class Emerging:
    """Per cell: the category, the trend of its z-scores, how many periods were hot and cold,
    and its final period's z and adjusted p. ``z`` and ``p_fdr`` keep the whole cells x
    periods matrices."""

    category: npt.NDArray[np.str_]
    trend: MannKendall
    hot_periods: npt.NDArray[np.int64]
    cold_periods: npt.NDArray[np.int64]
    z: FloatArray
    p_fdr: FloatArray


def classify_series(z: FloatArray, significant: BoolArray, trend: MannKendall,
                    alpha: float = DEFAULT_ALPHA) -> npt.NDArray[np.str_]:
    """The category of each row of a cells x periods matrix of Gi* z-scores, given which
    bins are significant and the rows' trends.

    >>> z = np.array([[3.0] * 10, [0.0] * 9 + [3.0]])
    >>> classify_series(z, np.abs(z) > 2, mann_kendall(z)).tolist()
    ['persistent_hot', 'new_hot']
    """
    hot, cold = significant & (z > 0), significant & (z < 0)
    rising = (trend.p < alpha) & (trend.s > 0)
    falling = (trend.p < alpha) & (trend.s < 0)
    hot_rules = _rules(hot, cold, rising, falling)
    cold_rules = _rules(cold, hot, falling, rising)
    conditions = [*hot_rules, *cold_rules]
    labels = [*(f"{p}_hot" for p in PATTERNS), *(f"{p}_cold" for p in PATTERNS)]
    return np.select(conditions, labels, default=NO_PATTERN)


def _rules(mine: BoolArray, other: BoolArray, stronger: BoolArray, weaker: BoolArray
           ) -> list[BoolArray]:
    """The eight conditions, in :data:`PATTERNS` order, for bins ``mine`` (hot for hot spots)
    against ``other`` (cold); ``stronger`` is a significant trend away from zero."""
    periods = mine.shape[1]
    count = mine.sum(axis=1)
    final = mine[:, -1]
    most = count >= MOST * periods
    final_run = np.cumprod(mine[:, ::-1], axis=1).sum(axis=1)
    steady = most & final
    return [
        final & (count == 1),
        final & (final_run >= 2) & (count == final_run) & ~most,
        steady & stronger,
        steady & ~stronger & ~weaker,
        steady & weaker,
        final & ~most & ~other.any(axis=1),
        final & ~most & other.any(axis=1),
        most & ~final,
    ]


def emerging(counts: npt.ArrayLike, weights: CellWeights, *, alpha: float = DEFAULT_ALPHA
             ) -> Emerging:
    """Gi* per period of a cells x periods matrix of counts, BH-adjusted within each period,
    then each cell's trend and category.

    >>> from gis_service.analysis.statistics.weights import ring_weights
    >>> import h3.api.numpy_int as h3n
    >>> centre = h3n.latlng_to_cell(16.4637, 107.5905, 9)
    >>> cells = h3n.grid_disk(centre, 6).astype(np.int64)
    >>> busy = np.isin(cells, h3n.grid_disk(centre, 1).astype(np.int64))
    >>> counts = np.where(busy[:, None], 30.0, 1.0) * np.ones((1, 12))
    >>> str(emerging(counts, ring_weights(cells, 1)).category[cells == centre][0])
    'persistent_hot'
    """
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < MIN_PERIODS:
        periods = x.shape[1] if x.ndim == 2 else 0
        raise InvalidInput(f"emerging hot spots need at least {MIN_PERIODS} periods "
                           f"(this range has {periods}): widen it or use shorter periods",
                           field="period")
    z = gi_star_z(x, weights)
    p_fdr = benjamini_hochberg(two_sided_p(z))
    significant = p_fdr < alpha
    # Quiet: no report near the cell in any period, and a neighbourhood smaller than the area.
    spread = weights.n * weights.row_square_sum - weights.row_sum ** 2
    # Rounded: z-scores equal in exact arithmetic must tie, not differ by float noise.
    trend = _trends(np.round(z, 9), quiet=((weights.matrix @ x.sum(axis=1)) == 0) & (spread > 1e-9))
    return Emerging(
        category=classify_series(z, significant, trend, alpha), trend=trend,
        hot_periods=(significant & (z > 0)).sum(axis=1),
        cold_periods=(significant & (z < 0)).sum(axis=1), z=z, p_fdr=p_fdr)


def _trends(z: FloatArray, quiet: BoolArray) -> MannKendall:
    """Mann-Kendall of every row of ``z``, testing each *quiet* row (no report anywhere in its
    neighbourhood, ever) only once: such a row's z-scores are ``-c_i mean_t / sd_t`` with
    ``c_i > 0``, one series scaled per cell, and the test depends only on the series' order.
    In a city most cells are quiet, so this saves nearly all of the test's time."""
    loud = np.flatnonzero(~quiet)
    first_quiet = np.flatnonzero(quiet)[:1]
    tested = mann_kendall(z[np.concatenate([loud, first_quiet])])
    source = np.full(len(z), len(loud), dtype=np.intp)  # quiet rows: the last tested row
    source[loud] = np.arange(len(loud))
    return MannKendall(*(np.asarray(getattr(tested, name))[source]
                         for name in ("s", "var_s", "z", "p", "tau")))

