"""H3 cells (v4): the one module that calls h3 with coordinates, so the one place where its
(lat, lng) order appears. Cells are stored as bigint, computed once when a report arrives (one
at a time at intake, a whole file at once on import).

Each resolution is asked of h3 directly, never derived from the finest cell with
``cell_to_parent``: H3 cells do not nest exactly, so near a cell's edge the res-6 cell holding
a point can differ from the res-6 parent of its res-10 cell (the tests found such points), and
intake stores the cells holding the point. The integer API spares converting each cell through
its string form. An H3 index never sets its top bit, so the cells fit ``bigint``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import h3
import numpy as np
import numpy.typing as npt
import shapely
from h3.api import basic_int, numpy_int

from gis_service.coords import LonLat

# The resolutions stored, declared once with the report table's columns.
from gis_service.db.schema import H3_RESOLUTIONS as RESOLUTIONS

__all__ = ["RESOLUTIONS", "cell_polygons", "cells_centred_in", "cells_covering",
           "cells_for_points", "lonlat_to_cell", "lonlat_to_cells"]


def lonlat_to_cells(point: LonLat) -> dict[int, int]:
    """The point's H3 cell at each stored resolution, as integers.

    >>> lonlat_to_cells(LonLat(107.611, 16.4779))[9] == basic_int.latlng_to_cell(16.4779, 107.611, 9)
    True
    """
    return {res: basic_int.latlng_to_cell(point.lat, point.lon, res) for res in RESOLUTIONS}


def cells_for_points(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
                     ) -> dict[int, npt.NDArray[np.int64]]:
    """The cells of many (already validated) points, by resolution, as int64 arrays, equal to
    :func:`lonlat_to_cells` point by point.

    >>> cells = cells_for_points(np.array([107.5905]), np.array([16.4637]))
    >>> sorted(cells), int(cells[10][0]) == basic_int.latlng_to_cell(16.4637, 107.5905, 10)
    ([6, 7, 8, 9, 10], True)
    """
    to_cell = basic_int.latlng_to_cell
    lons, lats = lon.tolist(), lat.tolist()
    return {
        res: np.fromiter((to_cell(la, lo, res) for lo, la in zip(lons, lats, strict=True)),
                         dtype=np.int64, count=len(lons))
        for res in RESOLUTIONS
    }



def lonlat_to_cell(point: LonLat, resolution: int) -> int:
    """The point's cell at one resolution.

    >>> lonlat_to_cell(LonLat(107.611, 16.4779), 9) == lonlat_to_cells(LonLat(107.611, 16.4779))[9]
    True
    """
    return int(basic_int.latlng_to_cell(point.lat, point.lon, resolution))


def cell_polygons(cells: Sequence[int] | npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
    """The hexagons (or pentagons) of integer cells, in (lon, lat) order, as an array of shapely
    polygons (h3 gives one boundary per call; the polygons are built in one vectorised step).

    >>> cell = basic_int.latlng_to_cell(16.4637, 107.5905, 9)
    >>> hexagon = cell_polygons([cell])[0]
    >>> hexagon.contains(shapely.Point(107.5905, 16.4637)), len(hexagon.exterior.coords)
    (True, 7)
    """
    listed = [int(cell) for cell in cells]
    if not listed:
        return np.empty(0, dtype=object)
    boundaries = [basic_int.cell_to_boundary(cell) for cell in listed]
    sizes = np.fromiter((len(b) for b in boundaries), dtype=np.intp, count=len(boundaries))
    # h3 gives (lat, lng) pairs; shapely and every other module here speak (lon, lat).
    latlng = np.array([point for boundary in boundaries for point in boundary], dtype=np.float64)
    rings = shapely.linearrings(latlng[:, ::-1], indices=np.repeat(np.arange(len(listed)), sizes))
    return np.asarray(shapely.polygons(rings), dtype=object)


def cells_centred_in(polygon: shapely.Geometry, resolution: int
                     ) -> npt.NDArray[np.int64]:
    """The cells whose centre lies in the polygon, as int64 (h3's own order).

    >>> len(cells_centred_in(shapely.box(107.58, 16.46, 107.59, 16.47), 9)) > 5
    True
    """
    # GeoJSON-like input is (lon, lat), which geo_to_h3shape expects.
    return np.asarray(numpy_int.h3shape_to_cells(h3.geo_to_h3shape(polygon), resolution),
                      dtype=np.int64)


def cells_covering(polygons: Iterable[shapely.Polygon | shapely.MultiPolygon], resolution: int
                   ) -> npt.NDArray[np.int64]:
    """Every H3 cell that overlaps any of the polygons (not only those whose centre lies in
    one: areal weighting needs the cells along the edges too), sorted, as int64.

    >>> square = shapely.box(107.59, 16.46, 107.60, 16.47)
    >>> cells = cells_covering([square], 9)
    >>> bool(np.isin(basic_int.latlng_to_cell(16.465, 107.595, 9), cells)), len(cells) > 4
    (True, True)
    """
    found: set[str] = set()
    for polygon in polygons:
        # GeoJSON's mapping is (lon, lat), which geo_to_h3shape expects.
        shape = h3.geo_to_h3shape(shapely.geometry.mapping(polygon))
        found.update(h3.h3shape_to_cells_experimental(shape, resolution, contain="overlap"))
    return np.array(sorted(h3.str_to_int(cell) for cell in found), dtype=np.int64)
