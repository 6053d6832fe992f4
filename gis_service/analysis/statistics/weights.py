"""Spatial weights between H3 cells: each cell's neighbours are the cells within ``k`` rings
(``h3.grid_disk``), the cell itself included, as Getis-Ord Gi* wants.

The matrix is a ``scipy.sparse`` CSR array over the study area's cells; neighbours outside
the study area are left out (the study area is the whole population of cells the statistic
describes). Two schemes:

- ``binary``: weight 1 for every cell within ``k`` rings (PySAL's ``transform='B'``, ESRI's
  fixed-distance band);
- ``decay``: inverse distance in rings, ``w = 1 / (1 + d)`` with ``d`` the grid distance (the
  cell itself 1, its first ring 1/2, the second 1/3, ...). Cells of one resolution are all
  about the same size in a city, so rings stand for distance.

h3-py has no vectorised ``grid_disk``: building the neighbour lists is one call per cell (and
per ring for ``decay``), about 0.3 s for 40,000 cells; everything after that is numpy.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import h3.api.basic_int as h3b
import h3.api.numpy_int as h3n  # noqa: F401  # the doctests build their cells with it
import numpy as np
import numpy.typing as npt
from scipy import sparse

from gis_service.errors import InvalidInput

WeightScheme = Literal["binary", "decay"]
WEIGHT_SCHEMES: tuple[WeightScheme, ...] = ("binary", "decay")
#: Rings beyond this make neighbourhoods of hundreds of cells: a smoother, not a hot spot map.
MAX_K = 5
CellArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
_BLOCK = 32_768


@dataclass(frozen=True)
class CellWeights:
    """Spatial weights over ``cells`` (row *i* is ``cells[i]``), self-weight on the diagonal.

    ``row_sum`` and ``row_square_sum`` are each row's sum of weights and of squared weights,
    the two moments Gi* needs.
    """

    cells: CellArray
    matrix: sparse.csr_array
    k: int
    scheme: WeightScheme

    @property
    def n(self) -> int:
        return len(self.cells)

    @property
    def row_sum(self) -> FloatArray:
        return np.asarray(self.matrix.sum(axis=1), dtype=np.float64)

    @property
    def row_square_sum(self) -> FloatArray:
        return np.asarray(self.matrix.multiply(self.matrix).sum(axis=1), dtype=np.float64)

    def neighbours(self) -> dict[int, list[int]]:
        """Each cell's neighbours (row positions, itself left out): the lists PySAL's ``W``
        takes, for checking these weights against another implementation."""
        indptr, indices = self.matrix.indptr, self.matrix.indices
        return {row: [int(col) for col in indices[indptr[row]:indptr[row + 1]] if col != row]
                for row in range(self.n)}


def check_k(k: int) -> int:
    """``k`` as a number of rings, 1 to :data:`MAX_K`, or :class:`InvalidInput` naming ``k``."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be a whole number of rings from 1 to {MAX_K}", field="k")
    return k


def check_scheme(scheme: str) -> WeightScheme:
    """``scheme`` if it is one of :data:`WEIGHT_SCHEMES`, or :class:`InvalidInput`."""
    for known in WEIGHT_SCHEMES:
        if scheme == known:
            return known
    raise InvalidInput(f"weights must be one of {', '.join(WEIGHT_SCHEMES)}", field="weights")


def ring_weights(cells: CellArray, k: int = 1, scheme: WeightScheme = "binary") -> CellWeights:
    """Weights between ``cells`` (distinct H3 cells of one resolution, as int64): neighbours
    within ``k`` rings.

    >>> centre = h3n.latlng_to_cell(16.4637, 107.5905, 9)
    >>> cells = h3n.grid_disk(centre, 1).astype(np.int64)
    >>> w = ring_weights(cells, 1)
    >>> w.matrix.shape, int(w.matrix.sum())  # the centre sees all 7, each outer cell 4
    ((7, 7), 31)
    """
    k, scheme = check_k(k), check_scheme(scheme)
    lookup = _CellIndex(cells)
    n = len(cells)
    # Block by block, so the neighbour lists' temporaries stay small: at resolution 10 with
    # k = 5 the whole province has 27 million neighbour pairs.
    blocks = [_block(cells[first:first + _BLOCK], lookup, k, scheme)
              for first in range(0, n, _BLOCK)]
    if not blocks:
        return CellWeights(cells=cells, matrix=sparse.csr_array((n, n), dtype=np.float64), k=k,
                           scheme=scheme)
    stacked = sparse.csr_array(sparse.vstack(blocks, format="csr"))
    # 32-bit indices (vstack gives 64): a third less memory for a matrix kept in a cache.
    matrix = sparse.csr_array((stacked.data, stacked.indices.astype(np.int32),
                               stacked.indptr.astype(np.int32)), shape=(n, n))
    return CellWeights(cells=cells, matrix=matrix, k=k, scheme=scheme)


def _block(block: CellArray, lookup: _CellIndex, k: int, scheme: WeightScheme
           ) -> sparse.csr_array:
    """The rows of ``block``'s cells: binary within ``k`` rings, or 1/(1 + d) ring by ring."""
    rings = range(k + 1) if scheme == "decay" else (None,)
    rows: list[npt.NDArray[np.intp]] = []
    cols: list[npt.NDArray[np.intp]] = []
    data: list[FloatArray] = []
    for ring in rings:
        found = _neighbour_lists(block, k if ring is None else ring, exact_ring=ring is not None)
        row, col = lookup.pairs(*found)
        rows.append(row)
        cols.append(col)
        data.append(np.full(len(row), 1.0 if ring is None else 1.0 / (1 + ring)))
    matrix = sparse.csr_array(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(block), len(lookup.sorted)))
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def _neighbour_lists(cells: CellArray, k: int, *, exact_ring: bool
                     ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp]]:
    """Every cell's neighbours (within ``k`` rings, or on ring ``k`` exactly), flattened, and
    how many each cell has."""
    if exact_ring and k == 0:
        return cells.astype(np.uint64), np.ones(len(cells), dtype=np.intp)
    # h3's int API returns plain lists: half the time of its numpy API, which makes one small
    # array per cell (0.6 s against 1.1 s for 42,000 cells at k = 1, measured side by side),
    # and the weights are most of a cold analysis.
    call = h3b.grid_ring if exact_ring else h3b.grid_disk
    lists = [call(cell, k) for cell in cells.tolist()]
    lengths = np.fromiter(map(len, lists), dtype=np.intp, count=len(lists))
    flat = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.uint64,
                       count=int(lengths.sum()))
    return flat, lengths


class _CellIndex:
    """Positions of cells in the study area, by binary search over the sorted cell ids."""

    def __init__(self, cells: CellArray) -> None:
        self.order = np.argsort(cells, kind="stable")
        self.sorted = cells[self.order].astype(np.uint64)

    def pairs(self, neighbours: npt.NDArray[np.uint64], lengths: npt.NDArray[np.intp]
              ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """(row, column) of each neighbour that lies in the study area."""
        rows = np.repeat(np.arange(len(lengths), dtype=np.intp), lengths)
        at = np.searchsorted(self.sorted, neighbours)
        at = np.minimum(at, len(self.sorted) - 1) if len(self.sorted) else at
        inside = self.sorted[at] == neighbours if len(self.sorted) else np.zeros(0, dtype=bool)
        return rows[inside], self.order[at[inside]]
