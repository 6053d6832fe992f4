"""Adaptive neighbourhoods: each cell takes the fewest rings (1 to ``k``) whose cells expect
at least :data:`TARGET_EXPECTED` reports under the background.

Why. With one ring everywhere, a cell of a sparse street at resolution 9 expects 1-3 reports
in its 7 cells: a 3x cluster there adds a handful, which no test can tell from chance after
the Benjamini-Hochberg adjustment over 40,000 cells (the validation measured recall 0.06 for
planted cells whose neighbourhood expects under 3, 0.33 at 3-10, 0.78 at 10-30, 0.99 above).
Wider rings everywhere pool enough but blur the dense centre, where one ring already expects
dozens (a k = 3 hot cell means "its 37 cells hold the excess": 41% of k = 3 calls lie on the
planted cells). So the neighbourhood adapts to the expected count, as adaptive-bandwidth
kernels do (a population-adjusted filter, Rushton and Lolonis 1996): one ring in the centre,
two or three at the edge of town. The rings depend only on the background and the number of
reports, never on where the reports fell, so the test and its FDR level are unchanged (the
null maps of the validation keep their false-discovery share at or under 0.10).

:data:`TARGET_EXPECTED` = 30 is from a study at resolution 9 (37,000 reports, 3x clusters of
2 rings as ``benchmarks/hotspot_power.py`` plants them, up to 3 rings): over 20 maps, 20
expected gave recall 0.79, 25 gave 0.81, 30 gave 0.82 with 68% of calls on planted cells
(one ring everywhere: 0.65; three everywhere: 0.82 with 41%); over 10 maps, 10 gave 0.73 and
40 gave 0.86 with 64%. The most rings (:func:`max_rings`) is one beyond the radius of the
~1 km cluster the power is judged on (:mod:`.power`): at resolution 8 a third ring (37 cells,
4 km across) cost precision (0.83 against 0.87 with at most two) for no recall.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import sparse

from gis_service.analysis.statistics.power import cluster_rings
from gis_service.analysis.statistics.weights import CellWeights

FloatArray = npt.NDArray[np.float64]
TARGET_EXPECTED = 30.0
MAX_ADAPTIVE_RINGS = 3


def max_rings(resolution: int) -> int:
    """The most rings an adaptive neighbourhood takes at ``resolution``: one beyond a ~1 km
    cluster's radius (:func:`.power.cluster_rings`), at most 3.

    >>> [max_rings(r) for r in (7, 8, 9, 10)]
    [1, 2, 3, 3]
    """
    return min(MAX_ADAPTIVE_RINGS, cluster_rings(resolution) + 1)


def rings_by_steps(first: CellWeights, k: int) -> list[CellWeights]:
    """Binary weights of 1 to ``k`` rings from the one-ring weights, by steps through the study
    area's cells (boolean powers of the matrix: milliseconds, where h3's ``grid_disk`` per cell
    takes a second or two for 42,000 cells at k = 3, most of a cold default answer). A cell
    two rings away that can be reached only through a cell outside the study area is left
    out: at the coast and the border only.

    >>> import h3.api.numpy_int as h3n
    >>> from gis_service.analysis.statistics.weights import ring_weights
    >>> cells = h3n.grid_disk(h3n.latlng_to_cell(16.46, 107.59, 9), 5).astype(np.int64)
    >>> stepped = rings_by_steps(ring_weights(cells, 1), 3)[2].matrix
    >>> bool((stepped != ring_weights(cells, 3).matrix).nnz == 0)
    True
    """
    by_k = [first]
    for ring in range(2, k + 1):
        reach = sparse.csr_array(by_k[-1].matrix @ first.matrix)
        reach.data[:] = 1.0
        reach.sort_indices()
        by_k.append(CellWeights(cells=first.cells, matrix=reach, k=ring, scheme="binary"))
    return by_k


def rings_needed(expected_by_k: Sequence[FloatArray], target: float = TARGET_EXPECTED
                 ) -> npt.NDArray[np.int64]:
    """Per cell, the fewest rings (1-based) whose neighbourhood expects ``target``, else the
    most offered.

    >>> rings_needed([np.array([30.0, 5.0, 1.0]), np.array([90.0, 35.0, 4.0])]).tolist()
    [1, 2, 2]
    """
    most = len(expected_by_k)
    rings = np.full(len(expected_by_k[0]), most, dtype=np.int64)
    for ring in range(most, 0, -1):
        rings = np.where(expected_by_k[ring - 1] >= target, ring, rings)
    return rings


def adaptive_weights(by_k: Sequence[CellWeights], expected: FloatArray,
                     target: float = TARGET_EXPECTED) -> tuple[CellWeights, npt.NDArray[np.int64]]:
    """Binary weights whose row *i* is row *i* of ``by_k[rings_i - 1]`` (rings 1 to
    ``len(by_k)``, each cell's from :func:`rings_needed` on ``expected``, the cells' expected
    reports), and the rings.

    >>> import h3.api.numpy_int as h3n
    >>> from gis_service.analysis.statistics.weights import ring_weights
    >>> cells = h3n.grid_disk(h3n.latlng_to_cell(16.46, 107.59, 9), 4).astype(np.int64)
    >>> expected = np.where(cells == cells[0], 35.0, 0.5)
    >>> w, rings = adaptive_weights([ring_weights(cells, k) for k in (1, 2)], expected)
    >>> int(rings[0]), int(w.matrix[[0]].sum()), int(rings.max())
    (1, 7, 2)
    """
    rings = rings_needed([w.matrix @ expected for w in by_k], target)
    matrix = sparse.csr_array((by_k[0].n, by_k[0].n), dtype=np.float64)
    for ring, weights in enumerate(by_k, 1):
        matrix = matrix + sparse.diags_array((rings == ring).astype(np.float64)) @ weights.matrix
    matrix = sparse.csr_array(matrix)
    matrix.sort_indices()
    return CellWeights(cells=by_k[0].cells, matrix=matrix, k=len(by_k), scheme="binary"), rings
