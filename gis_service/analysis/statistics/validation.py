"""Validation of the hot spot tests on generated maps whose truth is known.

- **Null maps**: ``N`` reports placed on the cells in proportion to a background (residents
  per cell), nothing else; optionally as *incidents* each reported by several residents at
  once (a zero-truncated Poisson number of reports, as the synthetic generator draws them),
  the clumping that duplicates make. Every hot or cold call on a null map is false, so the
  false-discovery rate is the share of maps with any call (the expected V/R with V = R), and
  the Benjamini-Hochberg level promises at most ``q`` (0.10 for the 90% classes).
- **Planted maps**: the same, with hot clusters (``strength`` times the background's rate)
  and cold ones (``1 / strength``) of ``radius`` rings around centres drawn in proportion to
  the background (clusters where people live, as real ones are). *Recall* is the share of
  planted cells called hot (cold); *precision* the share of calls that are right, where a
  call on a cell within ``k`` rings of a planted cluster of its sign counts as right (its
  neighbourhood does hold the excess: that is what the neighbourhood statistic measures).

Pure numpy: the callers bring the cells, their weights and background
(``benchmarks/hotspot_power.py`` and ``tests/test_hotspot_validation.py`` use Huế's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import h3.api.numpy_int as h3n
import numpy as np
import numpy.typing as npt

from gis_service.analysis.statistics.inference import (
    DEFAULT_MIN_COUNT,
    Inference,
    LocalTest,
    local_test,
)
from gis_service.analysis.statistics.weights import CellWeights

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
#: Reports per incident in the generator's model (urban rate ~1.1): zero-truncated Poisson.
DUPLICATE_RATE = 1.1


@dataclass(frozen=True)
class GeneratedMap:
    """Reports per cell and the planted truth (all False on a null map)."""

    counts: npt.NDArray[np.int64]
    hot: BoolArray
    cold: BoolArray


@dataclass(frozen=True)
class Plan:
    """What to plant: how many hot and cold clusters, their radius in rings, their strength."""

    hot: int = 3
    cold: int = 3
    radius: int = 1
    strength: float = 3.0


@dataclass
class Score:
    """One map's outcome."""

    calls: int
    false_calls: int
    hot_recall: float | None
    cold_recall: float | None
    called_share: float


@dataclass
class Summary:
    """Many maps' outcomes: the false-discovery rate (mean of V/R, 0 where R = 0), the share of
    maps with any false call, recall of planted hot and cold cells, precision, and the mean
    share of all cells called."""

    maps: int
    fdr: float
    any_false_share: float
    hot_recall: float | None
    cold_recall: float | None
    precision: float | None
    called_share: float
    scores: list[Score] = field(default_factory=list, repr=False)

    def figures(self) -> dict[str, object]:
        out = asdict(self)
        out.pop("scores")
        return out


def _reports(rate: FloatArray, total: int, rng: np.random.Generator, duplicates: bool
             ) -> npt.NDArray[np.int64]:
    """``total`` reports over the cells by ``rate``: one each, or as incidents of a
    zero-truncated Poisson number of reports (stopping at ``total``)."""
    share = rate / rate.sum()
    if not duplicates:
        return rng.multinomial(total, share).astype(np.int64)
    mean_size = DUPLICATE_RATE / (1 - np.exp(-DUPLICATE_RATE))
    incidents = rng.multinomial(int(np.ceil(total / mean_size)), share)
    where = np.repeat(np.arange(len(rate)), incidents)
    sizes = rng.poisson(DUPLICATE_RATE, size=len(where))
    while (zero := sizes == 0).any():  # zero-truncated: redraw the zeros
        sizes[zero] = rng.poisson(DUPLICATE_RATE, size=int(zero.sum()))
    return np.bincount(where, weights=sizes, minlength=len(rate)).astype(np.int64)


def null_map(background: FloatArray, total: int, rng: np.random.Generator, *,
             duplicates: bool = False) -> GeneratedMap:
    """Reports from the background alone.

    >>> rng = np.random.default_rng(0)
    >>> int(null_map(np.array([1.0, 3.0]), 400, rng).counts.sum())
    400
    """
    none = np.zeros(len(background), dtype=bool)
    return GeneratedMap(_reports(background, total, rng, duplicates), none, none.copy())


def _centres(cells: npt.NDArray[np.int64], background: FloatArray, count: int, spacing: int,
             rng: np.random.Generator) -> list[int]:
    """``count`` cell positions drawn by background, each more than ``spacing`` rings from the
    others."""
    chosen: list[int] = []
    candidates = rng.choice(len(cells), size=min(len(cells), 50 * count + 50), replace=True,
                            p=background / background.sum())
    for position in candidates.tolist():
        if len(chosen) == count:
            break
        if all(h3n.grid_distance(int(cells[position]), int(cells[other])) > spacing
               for other in chosen):
            chosen.append(position)
    return chosen


def _disk(cells: npt.NDArray[np.int64], centre: int, radius: int) -> BoolArray:
    return np.isin(cells, h3n.grid_disk(int(cells[centre]), radius).astype(np.int64))


def planted_map(cells: npt.NDArray[np.int64], background: FloatArray, total: int,
                rng: np.random.Generator, plan: Plan, *, duplicates: bool = False
                ) -> GeneratedMap:
    """Reports from the background with ``plan``'s hot and cold clusters planted."""
    centres = _centres(cells, background, plan.hot + plan.cold, 2 * plan.radius + 4, rng)
    hot = np.zeros(len(cells), dtype=bool)
    cold = np.zeros(len(cells), dtype=bool)
    for index, centre in enumerate(centres):
        target = hot if index < plan.hot else cold
        target |= _disk(cells, centre, plan.radius) & (background > 0)
    rate = background * np.where(hot, plan.strength, 1.0) / np.where(cold, plan.strength, 1.0)
    return GeneratedMap(_reports(rate, total, rng, duplicates), hot, cold)


def score(result: LocalTest, truth: GeneratedMap, weights: CellWeights) -> Score:
    """Recall of the planted cells and the calls outside their ``k``-ring reach."""
    cls = result.cls.astype(str)
    called_hot, called_cold = np.char.startswith(cls, "hot"), np.char.startswith(cls, "cold")
    reach = weights.matrix.copy()
    reach.data[:] = 1.0
    near_hot = (reach @ truth.hot.astype(float)) > 0
    near_cold = (reach @ truth.cold.astype(float)) > 0
    false_calls = int((called_hot & ~near_hot).sum() + (called_cold & ~near_cold).sum())
    return Score(
        calls=int(called_hot.sum() + called_cold.sum()), false_calls=false_calls,
        hot_recall=float(called_hot[truth.hot].mean()) if truth.hot.any() else None,
        cold_recall=float(called_cold[truth.cold].mean()) if truth.cold.any() else None,
        called_share=float((called_hot | called_cold).mean()))


def _mean(values: Sequence[float | None]) -> float | None:
    found = [value for value in values if value is not None]
    return float(np.mean(found)) if found else None


def summarise(scores: list[Score]) -> Summary:
    fdp = [s.false_calls / s.calls if s.calls else 0.0 for s in scores]
    calls = sum(s.calls for s in scores)
    return Summary(
        maps=len(scores), fdr=float(np.mean(fdp)) if scores else 0.0,
        any_false_share=float(np.mean([s.false_calls > 0 for s in scores])) if scores else 0.0,
        hot_recall=_mean([s.hot_recall for s in scores]),
        cold_recall=_mean([s.cold_recall for s in scores]),
        precision=(1 - sum(s.false_calls for s in scores) / calls) if calls else None,
        called_share=float(np.mean([s.called_share for s in scores])) if scores else 0.0,
        scores=scores)


@dataclass(frozen=True)
class Setup:
    """The map the studies draw on: cells, weights, background, and the test's settings."""

    cells: npt.NDArray[np.int64]
    weights: CellWeights
    background: FloatArray
    measure: Literal["excess", "count"] = "excess"
    inference: Inference = "exact"
    min_count: int = DEFAULT_MIN_COUNT


def _test(setup: Setup, generated: GeneratedMap, seed: int, min_count: int | None = None
          ) -> LocalTest:
    base = setup.background if setup.measure == "excess" else np.ones(len(setup.cells))
    return local_test(generated.counts, base, setup.weights, measure=setup.measure,
                      inference=setup.inference, seed=seed,
                      min_count=setup.min_count if min_count is None else min_count)


def null_study(setup: Setup, total: int, seeds: Sequence[int], *, duplicates: bool = False
               ) -> Summary:
    """The tests on null maps, one per seed.

    >>> from gis_service.analysis.statistics.weights import ring_weights
    >>> cells = h3n.grid_disk(h3n.latlng_to_cell(16.46, 107.59, 9), 10).astype(np.int64)
    >>> setup = Setup(cells, ring_weights(cells, 1), np.ones(len(cells)))
    >>> null_study(setup, 2000, range(20)).fdr <= 0.10
    True
    """
    scores = []
    for seed in seeds:
        generated = null_map(setup.background, total, np.random.default_rng(seed),
                             duplicates=duplicates)
        scores.append(score(_test(setup, generated, seed), generated, setup.weights))
    return summarise(scores)


def power_study(setup: Setup, total: int, seeds: Sequence[int], plan: Plan, *,
                duplicates: bool = False) -> Summary:
    """The tests on planted maps, one per seed."""
    scores = []
    for seed in seeds:
        generated = planted_map(setup.cells, setup.background, total,
                                np.random.default_rng(seed), plan, duplicates=duplicates)
        scores.append(score(_test(setup, generated, seed), generated, setup.weights))
    return summarise(scores)


def min_count_study(setup: Setup, totals: Sequence[int], seeds: Sequence[int],
                    candidates: Sequence[int] = (1, 2, 3, 4, 5, 6, 8, 10), plan: Plan | None = None
                    ) -> list[dict[str, object]]:
    """For each candidate minimum and total: the false-discovery rate on null maps *with
    duplicate reports* (the clumping independent-report tests mistake for clusters) and the
    recall on planted maps. The default minimum is the smallest whose null rate stays at or
    under 0.05 for every total."""
    rows: list[dict[str, object]] = []
    for total in totals:
        maps = [null_map(setup.background, total, np.random.default_rng(seed), duplicates=True)
                for seed in seeds]
        planted = [planted_map(setup.cells, setup.background, total, np.random.default_rng(seed),
                               plan or Plan(), duplicates=True) for seed in seeds]
        for minimum in candidates:
            null = summarise([score(_test(setup, m, s, minimum), m, setup.weights)
                              for m, s in zip(maps, seeds, strict=True)])
            power = summarise([score(_test(setup, m, s, minimum), m, setup.weights)
                               for m, s in zip(planted, seeds, strict=True)])
            rows.append({"total": total, "min_count": minimum, "null_fdr": null.fdr,
                         "hot_recall": power.hot_recall, "cold_recall": power.cold_recall,
                         "precision": power.precision})
    return rows
