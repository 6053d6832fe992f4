"""Local hot spot tests that hold on sparse counts: an exact binomial test of each cell's
neighbourhood count, conditional permutation of Gi* (esda's approach), or the analytic z.

Why the exact test is the default. The analytic Gi* z treats each neighbourhood sum as
normal; with most cells at zero reports that is far from true (a cell holding nothing can be
``hot_95`` at z = 3.4 next to one busy cell, and cold spots cannot reach significance at all).
The null hypothesis a planner means is "reports fall on the map in proportion to a
*background*": residents (``measure=excess``, the areal-weighted 2019 census population) or
area (``measure=count``, every cell alike). Under it, with ``N`` reports in all, the reports in
cell *i*'s neighbourhood (the cell and its ``k`` rings) are ``Binomial(N, pi_i)`` with
``pi_i`` the neighbourhood's share of the background: an exact distribution at any count,
with p-values down to 1e-300. Conditional permutation (hold the cell's value, deal the other
cells' values at random to its neighbours) is exact only when the values are exchangeable,
which residuals of cells with 5 and 5,000 residents are not, and its p-value cannot fall below
``2 / (permutations + 1)``: with the Benjamini-Hochberg adjustment over tens of thousands of
cells, 999 permutations can show a cluster only when about a thousand cells reach that floor
together (the validation in :mod:`.validation` measures this). So ``inference="auto"`` picks:

- ``exact`` with binary weights (the default): the binomial test above, on counts divided by
  the data's *dispersion* (quasi-Poisson): residents who report one incident together (the
  duplicates) make clumps that an independent-report model would call clusters. The
  dispersion is estimated from the data (:func:`dispersion`), at least 1;
- ``permutation`` with ``decay`` weights, whose weighted sums have no exact distribution.

Every inference reports the Gi* ``z`` of the analysed values (counts, or Pearson residuals
``(O - E) / sqrt(E)`` for ``excess``) for its size and sign; ``p`` comes from the inference.

A cell is never called hot on fewer than ``min_count`` reports in its neighbourhood, nor cold
where fewer than ``min_count`` were expected there (a cold call means "expected at least that
many, saw far fewer"): such cells are not tested (``tested`` false: never hot or cold) and the
Benjamini-Hochberg adjustment still runs over every cell with an expectation (choosing the
family by its counts would make the adjustment too lenient).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from gis_service.analysis.statistics.hotspots import (
    NOT_SIGNIFICANT,
    benjamini_hochberg,
    classify,
    gi_star_z,
    two_sided_p,
)
from gis_service.analysis.statistics.weights import CellWeights
from gis_service.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
Inference = Literal["exact", "permutation", "analytic"]
INFERENCES: tuple[str, ...] = ("auto", "exact", "permutation", "analytic")
#: esda's default; the minimum for a two-sided p of 0.002.
DEFAULT_PERMUTATIONS = 999
MIN_PERMUTATIONS, MAX_PERMUTATIONS = 999, 99_999
#: From the study in :func:`gis_service.analysis.statistics.validation.min_count_study`
#: (README, Hot spots): the smallest minimum at which null maps with duplicate reports keep
#: their false-discovery share under 0.05 at every resolution and size tried.
DEFAULT_MIN_COUNT = 5
DEFAULT_SEED = 19
#: The dispersion is read from cells whose ring predicts at most this many reports, and only
#: when they hold at least MIN_DISPERSION_REPORTS (else 1: too little to tell clumps).
SPARSE_MU = 1.0
MIN_DISPERSION_REPORTS = 30
#: Where the exact test of clumped reports uses the compound Poisson tails (see exact_p).
COMPOUND_MAX_EXPECTED = 30.0
COMPOUND_MAX_COUNT = 120


@dataclass(frozen=True)
class LocalTest:
    """Per cell: Gi* ``z``, two-sided ``p`` from the inference, ``p_fdr`` (BH over the cells
    with an expectation, untested ones counted with p = 1; NaN where untested), ``cls``, the
    neighbourhood's observed and expected reports, and whether the cell was tested (enough
    reports, or expected reports, for a call)."""

    z: FloatArray
    p: FloatArray
    p_fdr: FloatArray
    cls: npt.NDArray[np.str_]
    observed: FloatArray
    expected: FloatArray
    tested: npt.NDArray[np.bool_]
    inference: Inference
    dispersion: float


def check_inference(inference: str, weights: CellWeights) -> Inference:
    """The inference to run: ``auto`` resolved (see the module docstring), or InvalidInput."""
    if inference not in INFERENCES:
        raise InvalidInput(f"inference must be one of {', '.join(INFERENCES)}", field="inference")
    if inference == "auto":
        return "exact" if weights.scheme == "binary" else "permutation"
    if inference == "exact" and weights.scheme != "binary":
        raise InvalidInput("the exact test needs binary weights (a weighted sum of counts has "
                           "no exact distribution): use inference=permutation", field="inference")
    chosen: Inference = inference  # type: ignore[assignment]  # checked against INFERENCES
    return chosen


def check_min_count(min_count: int) -> int:
    if isinstance(min_count, bool) or not isinstance(min_count, int) or not 1 <= min_count <= 1000:
        raise InvalidInput("min_count must be a whole number from 1 to 1000", field="min_count")
    return min_count


def check_permutations(permutations: int) -> int:
    if (isinstance(permutations, bool) or not isinstance(permutations, int)
            or not MIN_PERMUTATIONS <= permutations <= MAX_PERMUTATIONS):
        raise InvalidInput(f"permutations must be from {MIN_PERMUTATIONS} to {MAX_PERMUTATIONS}",
                           field="permutations")
    return permutations


def expected_counts(counts: FloatArray, background: FloatArray) -> FloatArray:
    """Each cell's share of the reports under the null: ``N b_i / sum b`` (columns: periods).

    >>> expected_counts(np.array([3.0, 1.0]), np.array([1.0, 3.0])).tolist()
    [1.0, 3.0]
    """
    total_background = background.sum()
    if total_background <= 0:
        return np.zeros_like(counts, dtype=np.float64)
    share = background / total_background
    totals = counts.sum(axis=0)
    return np.asarray(np.multiply.outer(share, totals) if counts.ndim == 2 else share * totals,
                      dtype=np.float64)


def pearson_residuals(counts: FloatArray, expected: FloatArray) -> FloatArray:
    """``(O - E) / sqrt(E)``, 0 where nothing was expected (cells without background)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        residual = (counts - expected) / np.sqrt(expected)
    return np.where(expected > 0, residual, 0.0)


def dispersion(counts: FloatArray, expected: FloatArray, weights: CellWeights) -> float:
    """How much more the cells' counts vary than independent reports would (the quasi-Poisson
    ``phi``, variance over mean), at least 1.

    Reports that come in clumps (several residents reporting one incident) have
    ``E[O(O - 1)] = mu^2 + (phi - 1) mu`` in a cell of mean ``mu``, independent reports
    ``mu^2``. Each cell's ``mu`` is predicted from its ring (its neighbours without itself),
    ``E_i O_ring / E_ring``, so a smooth change of intensity across the map (the clusters being
    looked for) is not taken for clumping, while clumps within one cell are; hence
    ``phi = 1 + (sum O(O - 1) - sum mu^2) / sum O``, summed over the sparse cells
    (``mu <= SPARSE_MU``), where a cluster's edge mispredicted by its ring adds little.

    >>> from gis_service.analysis.statistics.weights import ring_weights
    >>> import h3.api.numpy_int as h3n
    >>> cells = h3n.grid_disk(h3n.latlng_to_cell(16.46, 107.59, 9), 8).astype(np.int64)
    >>> rng = np.random.default_rng(1)
    >>> flat = rng.poisson(0.3, len(cells)).astype(float)  # independent reports
    >>> w = ring_weights(cells, 1)
    >>> round(dispersion(flat, np.full(len(cells), 0.3), w), 1) < 1.3
    True
    >>> trios = 3 * rng.poisson(0.1, len(cells)).astype(float)  # incidents reported 3 times
    >>> round(dispersion(trios, np.full(len(cells), 0.3), w), 1) > 2
    True
    """
    total = float(counts.sum())
    if total <= 0:
        return 1.0
    binary = weights.matrix.copy()
    binary.data[:] = 1.0
    observed_ring = binary @ counts - counts
    expected_ring = binary @ expected - expected
    with np.errstate(invalid="ignore", divide="ignore"):
        predicted = np.where(expected_ring > 0, expected * observed_ring / expected_ring, 0.0)
    # Sparse cells only: there clumps add (phi - 1) mu to the pairs, while a misprediction
    # (a cluster's sharp edge) adds its square, small where mu is small.
    sparse = (predicted <= SPARSE_MU) & (expected_ring > 0)
    reports = float(counts[sparse].sum())
    if reports < MIN_DISPERSION_REPORTS:
        return 1.0
    pairs = float((counts[sparse] * (counts[sparse] - 1)).sum())
    return max(1.0, 1.0 + (pairs - float((predicted[sparse] ** 2).sum())) / reports)


def binomial_tails(observed: FloatArray, trials: float, share: FloatArray
                   ) -> tuple[FloatArray, FloatArray]:
    """``P(X >= observed)`` and ``P(X <= observed)`` for ``X ~ Binomial(trials, share)``, with
    the regularised incomplete beta function, so counts scaled by the dispersion (not whole
    numbers) work too.

    >>> high, low = binomial_tails(np.array([3.0]), 10.0, np.array([0.1]))
    >>> round(float(high[0]), 4), round(float(low[0]), 4)
    (0.0702, 0.9872)
    """
    k = np.minimum(observed, trials)
    share = np.clip(share, 0.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        at_least = np.where(k <= 0, 1.0, special.betainc(np.maximum(k, 1e-12),
                                                         np.maximum(trials - k + 1, 1e-12),
                                                         share))
        at_most = np.where(k >= trials, 1.0, special.betainc(np.maximum(trials - k, 1e-12),
                                                             k + 1, 1.0 - share))
    return (np.asarray(np.nan_to_num(at_least, nan=1.0), dtype=np.float64),
            np.asarray(np.nan_to_num(at_most, nan=1.0), dtype=np.float64))


def exact_p(observed: FloatArray, expected: FloatArray, total: float, phi: float,
            needed: npt.NDArray[np.bool_] | None = None) -> FloatArray:
    """Two-sided exact p of neighbourhood counts against their expectation: twice the smaller
    tail, capped at 1.

    With ``phi = 1`` the tails are binomial. With clumped reports (``phi > 1``) they are those
    of a compound Poisson count (:func:`compound_poisson_tails`) wherever the neighbourhood is
    sparse enough for it to matter (at most :data:`COMPOUND_MAX_EXPECTED` expected and
    :data:`COMPOUND_MAX_COUNT` observed), and the binomial's on counts divided by ``phi``
    (quasi-Poisson) elsewhere, where counts are large enough for the variance to be all that
    differs. ``needed`` marks the cells whose p can lead to a call (the compound tails are
    computed for those only; the others keep the quasi-Poisson value).
    """
    if total <= 0:
        return np.ones_like(observed, dtype=np.float64)
    high, low = binomial_tails(observed / phi, total / phi, expected / total)
    if phi > 1 + 1e-9:
        sparse = (expected <= COMPOUND_MAX_EXPECTED) & (observed <= COMPOUND_MAX_COUNT)
        if needed is not None:
            sparse &= needed
        high[sparse], low[sparse] = compound_poisson_tails(observed[sparse], expected[sparse],
                                                           phi - 1)
    return np.minimum(1.0, 2.0 * np.minimum(high, low))


def compound_poisson_tails(observed: FloatArray, expected: FloatArray, clump: float
                           ) -> tuple[FloatArray, FloatArray]:
    """``P(S >= o)`` and ``P(S <= o)`` for ``S`` the reports of a Poisson number of incidents,
    each reported ``K ~ zero-truncated Poisson(clump)`` times (the generator's model of
    residents reporting one incident), with ``E[S]`` = ``expected``; Panjer's recursion.

    For this ``K``, ``phi = E[K^2] / E[K] = 1 + clump``, so :func:`dispersion` gives ``clump``.
    Where one incident is expected in a thousand, five reports are about as likely as one
    incident reported five times (0.8% of incidents at clump 1.1): far likelier than five
    independent reports, which is why dividing counts by ``phi`` does not suffice there.

    >>> high, low = compound_poisson_tails(np.array([5.0]), np.array([0.002]), 1.1)
    >>> 1e-6 < float(high[0]) < 1e-4
    True
    """
    if len(observed) == 0:
        return np.empty(0), np.empty(0)
    # Rows by observed count, in chunks: each chunk's recursion runs only to its own largest
    # count (the cost is rows x count^2 / 2).
    order = np.argsort(observed, kind="stable")
    high, low = np.empty(len(observed)), np.empty(len(observed))
    for first in range(0, len(order), _PANJER_CHUNK):
        rows = order[first:first + _PANJER_CHUNK]
        high[rows], low[rows] = _panjer_tails(observed[rows], expected[rows], clump)
    return high, low


_PANJER_CHUNK = 256


def _panjer_tails(observed: FloatArray, expected: FloatArray, clump: float
                  ) -> tuple[FloatArray, FloatArray]:
    top = int(observed.max())
    sizes = np.arange(top + 1, dtype=np.float64)
    log_factorial = special.gammaln(sizes + 1)
    with np.errstate(divide="ignore"):
        size_pmf = np.exp(sizes * np.log(clump) - clump - log_factorial) / (1 - np.exp(-clump))
    size_pmf[0] = 0.0
    mean_size = clump / (1 - np.exp(-clump))
    rate = expected / mean_size
    pmf = np.zeros((len(observed), top + 1))
    pmf[:, 0] = np.exp(-rate)
    weighted = sizes * size_pmf  # j g(j)
    for total in range(1, top + 1):
        pmf[:, total] = rate / total * (pmf[:, :total][:, ::-1] @ weighted[1:total + 1])
    cdf = np.cumsum(pmf, axis=1)
    at = observed.astype(np.intp)
    rows = np.arange(len(observed))
    below = np.where(at > 0, cdf[rows, np.maximum(at - 1, 0)], 0.0)
    return np.clip(1.0 - below, 0.0, 1.0), np.clip(cdf[rows, at], 0.0, 1.0)


@dataclass(frozen=True)
class _Patterns:
    """The cells grouped by the weights of their neighbours other than themselves (sorted,
    padded with zeros): cells of one pattern share one permutation distribution."""

    own: FloatArray  # each cell's weight on itself
    index: npt.NDArray[np.intp]  # each cell's pattern
    weights: FloatArray  # patterns x max neighbours


def _patterns(weights: CellWeights) -> _Patterns:
    matrix = weights.matrix.tocsr()
    own = np.asarray(matrix.diagonal(), dtype=np.float64)
    off = matrix.copy()
    off.setdiag(0.0)
    off.eliminate_zeros()
    lengths = np.diff(off.indptr)
    width = int(lengths.max()) if len(lengths) else 0
    padded = np.zeros((weights.n, max(width, 1)))
    rows = np.repeat(np.arange(weights.n), lengths)
    slots = np.arange(len(off.data)) - np.repeat(off.indptr[:-1], lengths)
    padded[rows, slots] = off.data
    padded = -np.sort(-padded, axis=1)
    unique, index = np.unique(padded, axis=0, return_inverse=True)
    return _Patterns(own=own, index=index.ravel(), weights=unique)


def permutation_p(values: FloatArray, weights: CellWeights, *, permutations: int, seed: int
                  ) -> tuple[FloatArray, FloatArray]:
    """Conditional permutation of Gi* (Anselin 1995; esda's ``crand``): each cell keeps its
    value and its neighbours' slots get values drawn without replacement from the map.

    One set of draws serves every cell, as in esda; cells whose neighbours weigh alike share
    one distribution, so the cost is (distinct weight patterns) x permutations x neighbours,
    not cells x permutations. The draws come from all cells' values (esda leaves the cell's
    own out): with a cell's value possibly among its simulated neighbours, an extreme cell's
    p-value can only grow, by at most (neighbours / cells). Returns the two-sided pseudo
    p-value ``2 (min(#sim >= obs, #sim <= obs) + 1) / (permutations + 1)`` (capped at 1) and
    each cell's direction (+1 above its simulated mean, -1 below, 0 equal).
    """
    patterns = _patterns(weights)
    n, width = weights.n, patterns.weights.shape[1]
    rng = np.random.default_rng(seed)
    draws = np.argsort(rng.random((permutations, n)), axis=1)[:, :width] if n <= width * 4 \
        else _draws(rng, permutations, n, width)
    simulated = values[draws] @ patterns.weights.T  # permutations x patterns
    lag = weights.matrix @ values
    rest = lag - patterns.own * values
    ge = np.empty(n)
    le = np.empty(n)
    centre = simulated.mean(axis=0)
    for pattern in range(simulated.shape[1]):
        members = np.flatnonzero(patterns.index == pattern)
        ordered = np.sort(simulated[:, pattern])
        # Rounded, so equal sums tie although floating point added them in another order.
        obs = rest[members] - 1e-9 * np.maximum(1.0, np.abs(rest[members]))
        ge[members] = permutations - np.searchsorted(ordered, obs, side="left")
        obs_high = rest[members] + 1e-9 * np.maximum(1.0, np.abs(rest[members]))
        le[members] = np.searchsorted(ordered, obs_high, side="right")
    p = np.minimum(1.0, 2.0 * (np.minimum(ge, le) + 1) / (permutations + 1))
    direction = np.sign(rest - centre[patterns.index])
    return p, direction


def _draws(rng: np.random.Generator, permutations: int, n: int, width: int
           ) -> npt.NDArray[np.intp]:
    """``permutations`` rows of ``width`` distinct cell positions (without replacement within
    a row): drawn with replacement, and the rare repeats redrawn."""
    draws = rng.integers(0, n, size=(permutations, width))
    while True:
        ordered = np.sort(draws, axis=1)
        repeated = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not repeated.any():
            return draws
        draws[repeated] = rng.integers(0, n, size=(int(repeated.sum()), width))


def local_test(counts: npt.ArrayLike, background: npt.ArrayLike, weights: CellWeights, *,
               measure: Literal["excess", "count"], inference: Inference,
               min_count: int = DEFAULT_MIN_COUNT, permutations: int = DEFAULT_PERMUTATIONS,
               seed: int = DEFAULT_SEED, phi: float | None = None) -> LocalTest:
    """The hot spot test of one count per cell (rows in the order of ``weights.cells``).

    ``background`` is what the null hypothesis spreads reports by: residents per cell for
    ``excess``, ones for ``count``; a cell without background expects nothing and is tested
    only through its neighbours. ``phi`` fixes the dispersion (else estimated, for ``exact``).

    >>> from gis_service.analysis.statistics.weights import ring_weights
    >>> import h3.api.numpy_int as h3n
    >>> centre = h3n.latlng_to_cell(16.4637, 107.5905, 9)
    >>> cells = h3n.grid_disk(centre, 6).astype(np.int64)
    >>> busy = np.isin(cells, h3n.grid_disk(centre, 1).astype(np.int64))
    >>> result = local_test(np.where(busy, 12, 1), np.ones(len(cells)), ring_weights(cells, 1),
    ...                     measure="count", inference="exact")
    >>> str(result.cls[cells == centre][0]), bool(result.tested.all())
    ('hot_99', True)
    """
    base = np.asarray(background, dtype=np.float64)
    # Reports in cells without background (beyond the census communes) are no evidence
    # against it: left out of the test, kept in the frame's counts.
    x = np.where(base > 0, np.asarray(counts, dtype=np.float64), 0.0)
    expected = expected_counts(x, base)
    values = pearson_residuals(x, expected) if measure == "excess" else x
    z = gi_star_z(values, weights)
    binary = weights.matrix.copy()
    binary.data[:] = 1.0
    observed_n, expected_n = binary @ x, binary @ expected
    used_phi = 1.0
    if inference == "exact":
        used_phi = dispersion(x, expected, weights) if phi is None else max(1.0, phi)
        direction = np.sign(observed_n - expected_n)
        p = exact_p(observed_n, expected_n, float(x.sum()), used_phi,
                    needed=_testable(direction, observed_n, expected_n, min_count))
    elif inference == "permutation":
        p, direction = permutation_p(values, weights, permutations=permutations, seed=seed)
    else:
        p, direction = two_sided_p(z), np.sign(z)
    return _called(z, p, direction, observed=observed_n, expected=expected_n,
                   min_count=min_count, inference=inference, phi=used_phi)


def _testable(direction: FloatArray, observed: FloatArray, expected: FloatArray,
              min_count: int) -> npt.NDArray[np.bool_]:
    """Hot needs ``min_count`` reports in the neighbourhood, cold ``min_count`` expected."""
    enough = np.where(direction > 0, observed >= min_count, expected >= min_count)
    return np.asarray(enough & (direction != 0), dtype=bool)


def _called(z: FloatArray, p: FloatArray, direction: FloatArray, *, observed: FloatArray,
            expected: FloatArray, min_count: int, inference: Inference, phi: float) -> LocalTest:
    """Classes from the BH-adjusted p over the cells with enough data for their direction."""
    # The adjustment runs over every cell with an expectation, whatever its count: adjusting
    # over only the cells that reached min_count would pick the family by its outcome.
    # A cell that cannot be called counts in the family with p = 1 (a test that never rejects).
    family = expected > 0
    tested = family & _testable(direction, observed, expected, min_count)
    p_fdr = np.full(len(p), np.nan)
    p_fdr[family] = benjamini_hochberg(np.where(tested, p, 1.0)[family])
    p_fdr[~tested] = np.nan
    cls = np.where(tested, classify(direction, np.where(tested, p_fdr, 1.0)), NOT_SIGNIFICANT)
    return LocalTest(z=z, p=p, p_fdr=p_fdr, cls=cls, observed=observed, expected=expected,
                     tested=tested, inference=inference, dispersion=phi)
