"""Vector tiles and their TileJSON documents: what ``/tiles`` serves.

>>> tile = get_tile(conn, "boundaries-2025", 12, 3271, 1882)
>>> get_tile(conn, "boundaries-2025", 12, 3271, 1882) is tile, len(tile.etag)
(True, 34)
"""

from __future__ import annotations

from typing import Any

import h3
import numpy as np
import shapely
from sqlalchemy import Connection

from gis_service.cells import cell_polygons
from gis_service.data_versions import DataVersion, read_versions
from gis_service.ogc import cells as ogc_cells
from gis_service.ogc import collections as catalogue
from gis_service.ogc.params import ItemsQuery
from gis_service.tiles import sql
from gis_service.tiles.cache import Tile, TileCache
from gis_service.tiles.grid import TileId, lonlat_bounds, tile_id
from gis_service.tiles.layers import (
    MAX_ZOOM,
    MIN_ZOOM,
    REPORT_POINT_ZOOM,
    Layer,
    all_layers,
    cell_margin_deg,
    find_layer,
    report_resolution,
)

MVT = "application/vnd.mapbox-vector-tile"
TILES = TileCache()


def _version(layer: Layer, versions: DataVersion) -> str:
    return versions.of(boundaries=layer.uses_boundaries, reports=layer.uses_reports)


def _hexagon_wkb(cells: list[int]) -> list[bytes]:
    return [shapely.to_wkb(polygon) for polygon in cell_polygons(cells)]


def _padded(tile: TileId, margin: float) -> tuple[float, float, float, float]:
    """The tile's bounds with its MVT buffer (cells drawn there too), and ``margin`` more."""
    west, south, east, north = lonlat_bounds(tile)
    margin += (east - west) * sql.BUFFER / sql.EXTENT
    return (west - margin, south - margin, east + margin, north + margin)


def _report_cells(conn: Connection, tile: TileId, layer: Layer) -> sql.Encoded:
    resolution = report_resolution(tile.z)
    found = sql.report_cell_counts(conn, resolution, _padded(tile, cell_margin_deg(resolution)))
    columns = {"cell": ([h3.int_to_str(c) for c in found.cells], sql.CELL_TYPES["cell"]),
               "count": (found.counts, sql.CELL_TYPES["count"]),
               "resolution": ([resolution] * len(found.cells), sql.CELL_TYPES["resolution"])}
    data = sql.cells_tile(conn, tile, layer.id, _hexagon_wkb(found.cells), columns)
    return sql.Encoded(data, found.versions)


def _hotspot_cells(conn: Connection, tile: TileId, layer: Layer,
                   versions: DataVersion) -> sql.Encoded:
    assert layer.resolution is not None
    frame = ogc_cells.cell_frame(conn, versions, layer.resolution, ItemsQuery())
    box = shapely.box(*lonlat_bounds(tile))
    rows = frame.iloc[np.sort(frame.sindex.query(box, predicate="intersects"))]
    columns: dict[str, tuple[Any, Any]] = {
        "cell": (rows["cell"].tolist(), sql.CELL_TYPES["cell"]),
        "count": ([int(v) for v in rows["count"]], sql.CELL_TYPES["count"]),
        "z": ([round(float(v), 3) for v in rows["z"]], sql.CELL_TYPES["z"]),
        "class": (rows["cls"].tolist(), sql.CELL_TYPES["class"])}
    wkb = [bytes(b) for b in shapely.to_wkb(rows.geometry.values)]
    return sql.Encoded(sql.cells_tile(conn, tile, layer.id, wkb, columns), versions)


def _make(conn: Connection, layer: Layer, tile: TileId, versions: DataVersion) -> sql.Encoded:
    if layer.generation is not None:
        return sql.boundaries_tile(conn, tile, layer.id, layer.generation)
    if layer.resolution is not None:
        return _hotspot_cells(conn, tile, layer, versions)
    if tile.z >= REPORT_POINT_ZOOM:
        return sql.report_points_tile(conn, tile, layer.id)
    return _report_cells(conn, tile, layer)


def get_tile(conn: Connection, layer_id: str, z: int, x: int, y: int) -> Tile:
    """A layer's tile from memory if its data are unchanged, else made by PostGIS and kept
    under the versions the making statement read."""
    tile, versions = tile_id(z, x, y), read_versions(conn)
    layer = find_layer(conn, layer_id, versions)
    found = TILES.get((layer.id, z, x, y, _version(layer, versions)))
    if found is not None:
        return found
    encoded = _make(conn, layer, tile, versions)
    made = Tile.of(encoded.data)
    TILES.put((layer.id, z, x, y, _version(layer, encoded.versions)), made)
    return made


def _bounds(conn: Connection, layer: Layer) -> list[float]:
    collection = catalogue.find_collection(conn, layer.collection_id)
    extent = catalogue.extent(conn, collection, read_versions(conn))
    return list(extent.bbox) if extent.bbox else [-180.0, -85.0511, 180.0, 85.0511]


def tilejson(conn: Connection, base: str, layer_id: str) -> dict[str, Any]:
    """The TileJSON 3.0.0 document of one layer."""
    layer = find_layer(conn, layer_id)
    west, south, east, north = bounds = _bounds(conn, layer)
    return {
        "tilejson": "3.0.0", "name": layer.id, "description": layer.description,
        "version": "1.0.0", "scheme": "xyz",
        "tiles": [f"{base}/{layer.id}/{{z}}/{{x}}/{{y}}.mvt"],
        "minzoom": MIN_ZOOM, "maxzoom": MAX_ZOOM, "bounds": bounds,
        "center": [round((west + east) / 2, 5), round((south + north) / 2, 5), 12],
        "attribution": "gis-service (Huế)",
        "vector_layers": [{"id": layer.id, "description": layer.description,
                           "minzoom": MIN_ZOOM, "maxzoom": MAX_ZOOM,
                           "fields": dict(layer.fields)}],
    }


def tile_index(conn: Connection, base: str) -> dict[str, Any]:
    """Every layer, with its TileJSON's and tiles' URLs."""
    return {"layers": [{"id": layer.id, "description": layer.description,
                        "tilejson": f"{base}/{layer.id}.json",
                        "tiles": f"{base}/{layer.id}/{{z}}/{{x}}/{{y}}.mvt"}
                       for layer in all_layers(conn)],
            "tileMatrixSet": "WebMercatorQuad", "format": MVT}
