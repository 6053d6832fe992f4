"""The study area as H3 cells, with the cells' polygons and spatial weights, cached.

The study area at a resolution is every cell whose centre lies in the service area (the
active generation's province, ``h3.polygon_to_cells``), plus any cell outside it that holds a
report: a report snapped to the nearest commune from just beyond the coast or the border
still counts where it was made. Cells inside with no reports count as zeros, so a cluster is
judged against the whole area, not only against the places that report.

Finding the cells (0.2 s at resolution 9, 0.6 s at 10), their polygons and the weights
(0.2-2 s) dominates an analysis, and none of it changes unless the boundaries do: each is
cached per process, keyed by a digest of the service area's polygon (asked of the database
every time, so reloaded boundaries are noticed) or of the exact cell list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import h3
import h3.api.basic_int as h3b
import h3.api.numpy_int as h3n
import numpy as np
import numpy.typing as npt
import shapely
from scipy import sparse
from sqlalchemy import Connection

from gis_service.analysis.cache import LruCache
from gis_service.analysis.sql import hotspots as sql
from gis_service.analysis.statistics.weights import CellWeights, WeightScheme, ring_weights

CellArray = npt.NDArray[np.int64]
PolygonArray = npt.NDArray[np.object_]

_AREAS: LruCache[tuple[str, int], CellArray] = LruCache(8)
_WEIGHTS: LruCache[tuple[str, int, str], CellWeights] = LruCache(4)
_POLYGONS: LruCache[str, PolygonArray] = LruCache(4)
# The whole areas' own, kept apart so that the cut lists do not push them out.
_AREA_WEIGHTS: LruCache[tuple[str, int, str], CellWeights] = LruCache(4)
_AREA_POLYGONS: LruCache[tuple[str, int], PolygonArray] = LruCache(4)
#: The latest study area seen at each resolution: a cell list mostly inside it takes its
#: weights and polygons from the area's (cut out, plus the few cells outside), so a data
#: change that adds or drops a cell does not rebuild the province's (15 s at resolution 10).
_LATEST: dict[int, StudyArea] = {}
#: Below this share of the area's cells a list is built directly: cutting from the whole
#: area's matrix would first build it, which a small selection does not need.
AREA_SHARE_TO_CUT = 0.5


@dataclass(frozen=True)
class StudyArea:
    """The service area's cells at one resolution, sorted, and the area's digest."""

    key: str
    resolution: int
    cells: CellArray


def cells_in_parts(parts: Sequence[bytes], resolution: int) -> CellArray:
    """Sorted distinct cells whose centre lies in any of the polygons (WKB).

    >>> square = shapely.box(107.58, 16.46, 107.59, 16.47).wkb
    >>> len(cells_in_parts([square], 9)) > 5
    True
    """
    found = [h3n.h3shape_to_cells(h3.geo_to_h3shape(shapely.from_wkb(wkb)), resolution)
             for wkb in parts]
    if not found:
        return np.empty(0, dtype=np.int64)
    return np.unique(np.concatenate(found)).astype(np.int64)


def study_area(conn: Connection, resolution: int) -> StudyArea:
    """The service area's cells at ``resolution``, from the cache while the polygon is unchanged."""
    key = sql.service_area_key(conn)
    cells = _AREAS.get_or_make(
        (key, resolution), lambda: cells_in_parts(sql.service_area(conn).parts, resolution))
    area = StudyArea(key=key, resolution=resolution, cells=cells)
    _LATEST[resolution] = area
    return area


def in_sorted(haystack: CellArray, values: CellArray) -> npt.NDArray[np.bool_]:
    """Which of ``values`` are in the sorted ``haystack`` (a binary search: numpy's set
    operations hash or sort both arrays, seconds for a province at resolution 10).

    >>> in_sorted(np.array([1, 3, 5]), np.array([3, 4, 9])).tolist()
    [True, False, False]
    """
    if len(haystack) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(haystack, values), len(haystack) - 1)
    return np.asarray(haystack[at] == values)


def with_cells(area: StudyArea, extra: CellArray) -> CellArray:
    """The study area's cells and any of ``extra`` outside it, sorted."""
    outside = np.unique(extra[~in_sorted(area.cells, extra)])
    return area.cells if len(outside) == 0 else np.union1d(area.cells, outside)


def warm(conn: Connection, resolution: int, k: int = 1, scheme: WeightScheme = "binary") -> None:
    """Build the study area's cells, polygons and weights at ``resolution`` ahead of the first
    analysis that needs them (``gis-service serve`` does, per worker, in the background)."""
    area = study_area(conn, resolution)
    _AREA_POLYGONS.get_or_make((area.key, resolution), lambda: _build_polygons(area.cells))
    _AREA_WEIGHTS.get_or_make((f"{area.key}/{resolution}", k, scheme),
                              lambda: ring_weights(area.cells, k, scheme))


def digest(cells: CellArray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(cells).tobytes(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class _Cut:
    """Where a sorted cell list lies in a study area: the area, each cell's position in it
    and which cells are inside."""

    area: StudyArea
    position: npt.NDArray[np.intp]
    inside: npt.NDArray[np.bool_]


def _cut_of(cells: CellArray) -> _Cut | None:
    """``cells`` against the latest study area of their resolution, when mostly inside it."""
    if len(cells) == 0:
        return None
    area = _LATEST.get(h3b.get_resolution(int(cells[0])))
    if area is None or len(cells) < AREA_SHARE_TO_CUT * len(area.cells):
        return None
    position = np.minimum(np.searchsorted(area.cells, cells), len(area.cells) - 1)
    return _Cut(area, position, in_sorted(area.cells, cells))


def weights(cells: CellArray, k: int, scheme: WeightScheme) -> CellWeights:
    """:func:`ring_weights` over ``cells`` (sorted), cached by the exact cell list; a list
    mostly inside the study area is cut from the area's weights (the same numbers: a weight
    depends only on the two cells' ring distance)."""
    def make() -> CellWeights:
        cut = _cut_of(cells)
        if cut is None:
            return ring_weights(cells, k, scheme)
        area = _AREA_WEIGHTS.get_or_make((f"{cut.area.key}/{cut.area.resolution}", k, scheme),
                                         lambda: ring_weights(cut.area.cells, k, scheme))
        return _cut_weights(cells, cut, area, k, scheme)

    return _WEIGHTS.get_or_make((digest(cells), k, scheme), make)


def _cut_weights(cells: CellArray, cut: _Cut, area: CellWeights, k: int,
                 scheme: WeightScheme) -> CellWeights:
    """The area's weights among ``cells``' inside cells, plus every pair involving a cell
    outside the area, from ring weights over the outside cells and their neighbours."""
    n = len(cells)
    inner = np.flatnonzero(cut.inside)
    picked = area.matrix[cut.position[inner]][:, cut.position[inner]].tocoo()
    rows, cols, data = [inner[picked.row]], [inner[picked.col]], [picked.data]
    outside = cells[~cut.inside]
    if len(outside):
        near = np.unique(np.concatenate(
            [np.asarray(h3b.grid_disk(int(c), k), dtype=np.int64) for c in outside]))
        local_cells = near[in_sorted(cells, near)]
        local = ring_weights(local_cells, k, scheme).matrix.tocoo()
        strange = ~in_sorted(cut.area.cells, local_cells)
        keep = strange[local.row] | strange[local.col]
        at = np.searchsorted(cells, local_cells)
        rows.append(at[local.row[keep]])
        cols.append(at[local.col[keep]])
        data.append(local.data[keep])
    matrix = sparse.csr_array((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                              shape=(n, n))
    matrix.sort_indices()
    matrix = sparse.csr_array((matrix.data, matrix.indices.astype(np.int32),
                               matrix.indptr.astype(np.int32)), shape=(n, n))
    return CellWeights(cells=cells, matrix=matrix, k=k, scheme=scheme)


def cell_polygons(cells: CellArray) -> PolygonArray:
    """Each cell's hexagon (lon/lat, EPSG:4326) as shapely polygons, cached by the cell list
    (a list mostly inside the study area takes the area's own).

    h3 gives one boundary per call; the polygons are then built in one vectorised step.
    """
    def make() -> PolygonArray:
        cut = _cut_of(cells)
        if cut is None:
            return _build_polygons(cells)
        area = _AREA_POLYGONS.get_or_make((cut.area.key, cut.area.resolution),
                                          lambda: _build_polygons(cut.area.cells))
        found = np.empty(len(cells), dtype=object)
        found[cut.inside] = area[cut.position[cut.inside]]
        found[~cut.inside] = _build_polygons(cells[~cut.inside])
        return found

    return _POLYGONS.get_or_make(digest(cells), make)


def _build_polygons(cells: CellArray) -> PolygonArray:
    if len(cells) == 0:
        return np.empty(0, dtype=object)
    boundaries = [h3b.cell_to_boundary(cell) for cell in cells.tolist()]
    sizes = np.fromiter((len(b) for b in boundaries), dtype=np.intp, count=len(boundaries))
    # h3 gives (lat, lng) pairs; shapely wants (lon, lat).
    latlng = np.array([point for boundary in boundaries for point in boundary], dtype=np.float64)
    rings = shapely.linearrings(latlng[:, ::-1], indices=np.repeat(np.arange(len(cells)), sizes))
    return np.asarray(shapely.polygons(rings), dtype=object)


def cell_names(cells: CellArray) -> list[str]:
    """H3 cells as the usual hexadecimal strings.

    >>> cell_names(np.array([617700169958293503]))
    ['8928308280fffff']
    """
    # The same strings as h3.int_to_str (lower-case hex, no padding), without a call per cell.
    return list(map("{:x}".format, cells.tolist()))


def clear_caches() -> None:
    """Forget every cached study area, polygon and weight matrix (tests, benchmarks)."""
    for cache in (_AREAS, _WEIGHTS, _POLYGONS, _AREA_WEIGHTS, _AREA_POLYGONS):
        cache.clear()
    _LATEST.clear()
