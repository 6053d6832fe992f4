"""H3 parents of many cells at once, by the index's bits (h3-py has no vectorised parent).

An H3 cell index keeps its resolution in bits 52-55 and one 3-bit digit per resolution
1-15 below bit 45, finest last; digits past the cell's resolution are all ones (7). The parent
at resolution ``r`` is the same index with the resolution field set to ``r`` and the digits
of resolutions ``r + 1`` to 15 set to 7.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

CellArray = npt.NDArray[np.int64]
_RESOLUTION_SHIFT = 52
_RESOLUTION_MASK = np.int64(0xF << _RESOLUTION_SHIFT)


def parents(cells: CellArray, resolution: int) -> CellArray:
    """Each cell's parent at ``resolution`` (not finer than the cells' own).

    >>> import h3
    >>> cell = h3.str_to_int(h3.latlng_to_cell(16.4637, 107.5905, 10))
    >>> int(parents(np.array([cell]), 8)[0]) == h3.str_to_int(h3.cell_to_parent(h3.int_to_str(cell), 8))
    True
    """
    if not 0 <= resolution <= 15:
        raise ValueError("resolution must be 0 to 15")
    below = np.int64((1 << (3 * (15 - resolution))) - 1)
    cleared = np.asarray(cells, dtype=np.int64) & ~_RESOLUTION_MASK
    return np.asarray(cleared | np.int64(resolution << _RESOLUTION_SHIFT) | below, dtype=np.int64)
