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
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import h3
import h3.api.basic_int as h3b
import h3.api.numpy_int as h3n
import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import Connection

from gis_service.analysis.cache import LruCache
from gis_service.analysis.sql import hotspots as sql
from gis_service.analysis.statistics.weights import CellWeights, WeightScheme, ring_weights

CellArray = npt.NDArray[np.int64]
PolygonArray = npt.NDArray[np.object_]

_AREAS: LruCache[tuple[str, int], CellArray] = LruCache(8)
_WEIGHTS: LruCache[tuple[str, int, str], CellWeights] = LruCache(4)
_POLYGONS: LruCache[str, PolygonArray] = LruCache(4)


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
    return study_area_job(conn, resolution)()


def study_area_job(conn: Connection, resolution: int) -> Callable[[], StudyArea]:
    """:func:`study_area` in two steps: the database's part now (the polygon's digest, and its
    parts unless cached), the cells when called (no connection: another thread may run it
    while this one waits for the database)."""
    key = sql.service_area_key(conn)
    cached = _AREAS.get((key, resolution))
    if cached is not None:
        return lambda: StudyArea(key=key, resolution=resolution, cells=cached)
    parts = sql.service_area(conn).parts

    def finish() -> StudyArea:
        cells = _AREAS.get_or_make((key, resolution), lambda: cells_in_parts(parts, resolution))
        return StudyArea(key=key, resolution=resolution, cells=cells)

    return finish


def with_cells(area: StudyArea, extra: CellArray) -> CellArray:
    """The study area's cells and any of ``extra`` outside it, sorted."""
    outside = np.setdiff1d(extra, area.cells, assume_unique=False)
    return area.cells if len(outside) == 0 else np.union1d(area.cells, outside)


def digest(cells: CellArray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(cells).tobytes(), digest_size=16).hexdigest()


def weights(cells: CellArray, k: int, scheme: WeightScheme) -> CellWeights:
    """:func:`ring_weights` over ``cells``, cached by the exact cell list."""
    return _WEIGHTS.get_or_make((digest(cells), k, scheme), lambda: ring_weights(cells, k, scheme))


def cell_polygons(cells: CellArray) -> PolygonArray:
    """Each cell's hexagon (lon/lat, EPSG:4326) as shapely polygons, cached by the cell list.

    h3 gives one boundary per call; the polygons are then built in one vectorised step.
    """
    return _POLYGONS.get_or_make(digest(cells), lambda: _build_polygons(cells))


def _build_polygons(cells: CellArray) -> PolygonArray:
    if len(cells) == 0:
        return np.empty(0, dtype=object)
    boundaries = [h3b.cell_to_boundary(cell) for cell in cells.tolist()]
    sizes = np.fromiter(map(len, boundaries), dtype=np.intp, count=len(boundaries))
    # Flattened straight into one array (not an array of pairs): a fifth less time.
    chain = itertools.chain.from_iterable
    latlng = np.fromiter(chain(chain(boundaries)), dtype=np.float64,
                         count=2 * int(sizes.sum())).reshape(-1, 2)
    # h3 gives (lat, lng) pairs; shapely wants (lon, lat).
    rings = shapely.linearrings(latlng[:, ::-1], indices=np.repeat(np.arange(len(cells)), sizes))
    return np.asarray(shapely.polygons(rings), dtype=object)


def cell_names(cells: CellArray) -> list[str]:
    """H3 cells as the usual hexadecimal strings.

    >>> cell_names(np.array([617700169958293503]))
    ['8928308280fffff']
    """
    return [h3.int_to_str(cell) for cell in cells.tolist()]


def clear_caches() -> None:
    """Forget every cached study area, polygon and weight matrix (tests, benchmarks)."""
    for cache in (_AREAS, _WEIGHTS, _POLYGONS):
        cache.clear()
