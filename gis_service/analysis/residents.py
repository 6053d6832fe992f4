"""Residents per H3 cell: the 2019 census population by areal weighting, the background of
the hot spots of *excess* reports.

Each census commune's residents are spread evenly over its area (the areal weighting the
coverage analysis uses), measured on a raster of resolution-10 cells (0.015 km², about 65 m
across): a commune's population goes in equal parts to the resolution-10 cells whose centre
lies in it, and a coarser cell holds the sum of its resolution-10 children. Cells of one
resolution differ in area by well under 1% across Huế, so this is the overlap-area share to
within one resolution-10 cell along each commune's edge, and it costs one ``polygon_to_cells``
per commune piece (cached per process, keyed by a digest of the census communes) instead of
intersecting every analysis cell with every commune in SQL. A commune too small to hold a
resolution-10 centre (none in Huế) would give its residents to the cell of its first piece's
representative point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import h3.api.numpy_int as h3n
import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import Connection

from gis_service.analysis.cache import LruCache
from gis_service.analysis.grid import cells_in_parts
from gis_service.analysis.hierarchy import parents
from gis_service.analysis.sql import residents as sql

CellArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: The raster's resolution: the finest the reports store.
RASTER_RESOLUTION = 10
_RASTERS: LruCache[str, ResidentRaster] = LruCache(2)


@dataclass(frozen=True)
class ResidentRaster:
    """Residents per resolution-10 cell (``cells`` sorted)."""

    cells: CellArray
    residents: FloatArray


def raster_from_parts(parts: sql.CensusParts) -> ResidentRaster:
    """The raster of the census communes' residents (see the module docstring)."""
    found_cells: list[CellArray] = []
    found_units: list[npt.NDArray[np.int64]] = []
    for unit_id, wkb in zip(parts.unit_ids, parts.parts, strict=True):
        cells = cells_in_parts([wkb], RASTER_RESOLUTION)
        if len(cells) == 0:
            point = shapely.from_wkb(wkb).representative_point()
            cells = np.array([h3n.latlng_to_cell(point.y, point.x, RASTER_RESOLUTION)],
                             dtype=np.int64)
        found_cells.append(cells)
        found_units.append(np.full(len(cells), unit_id, dtype=np.int64))
    if not found_cells:
        return ResidentRaster(np.empty(0, dtype=np.int64), np.empty(0))
    cells, first = np.unique(np.concatenate(found_cells), return_index=True)
    units = np.concatenate(found_units)[first]
    unit_codes, unit_index, per_unit = np.unique(units, return_inverse=True, return_counts=True)
    population = np.array([parts.population.get(int(u), 0.0) for u in unit_codes])
    return ResidentRaster(cells=cells, residents=(population / per_unit)[unit_index.ravel()])


def resident_raster(conn: Connection) -> ResidentRaster | None:
    """The census raster, from the cache while the census communes are unchanged."""
    return resident_raster_job(conn)()


def resident_raster_job(conn: Connection) -> Callable[[], ResidentRaster | None]:
    """:func:`resident_raster` in two steps: the database's part now (the census digest, and
    the communes unless cached), the raster when called (no connection: another thread may
    run it)."""
    key = sql.census_key(conn)
    if key is None:
        return lambda: None
    cached = _RASTERS.get(key)
    if cached is not None:
        return lambda: cached
    parts = sql.census_parts(conn)

    def build() -> ResidentRaster:
        return raster_from_parts(parts) if parts else ResidentRaster(
            np.empty(0, dtype=np.int64), np.empty(0))

    return lambda: _RASTERS.get_or_make(key, build)


def residents_per_cell(raster: ResidentRaster, cells: CellArray, resolution: int) -> FloatArray:
    """Residents in each of ``cells`` (sorted, one resolution); 0 for cells without any.

    >>> raster = ResidentRaster(np.array([622646880841039871]), np.array([120.0]))
    >>> residents_per_cell(raster, parents(raster.cells, 8), 8).tolist()
    [120.0]
    """
    if len(cells) == 0 or len(raster.cells) == 0:
        return np.zeros(len(cells))
    owners = parents(raster.cells, resolution) if resolution < RASTER_RESOLUTION else raster.cells
    at = np.searchsorted(cells, owners)
    at = np.minimum(at, len(cells) - 1)
    inside = cells[at] == owners
    return np.bincount(at[inside], weights=raster.residents[inside],
                       minlength=len(cells)).astype(np.float64)


def clear_caches() -> None:
    _RASTERS.clear()
