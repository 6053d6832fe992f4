"""WebMercatorQuad tile arithmetic: which tiles exist, and a tile's bounds in lon/lat."""

from __future__ import annotations

import math
from dataclasses import dataclass

from gis_service.errors import InvalidInput

MAX_ZOOM = 22


@dataclass(frozen=True)
class TileId:
    z: int
    x: int
    y: int


def tile_id(z: int, x: int, y: int) -> TileId:
    """A tile of WebMercatorQuad, or a 400 naming the coordinate out of range.

    >>> tile_id(14, 13105, 7575)
    TileId(z=14, x=13105, y=7575)
    """
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput(f"z: zoom must be between 0 and {MAX_ZOOM}", field="z")
    size = 1 << z
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < size:
            raise InvalidInput(f"{name}: must be between 0 and {size - 1} at zoom {z}",
                               field=name)
    return TileId(z, x, y)


def _lat(y: float, size: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / size))))


def lonlat_bounds(tile: TileId) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees."""
    size = 1 << tile.z
    west, east = tile.x / size * 360 - 180, (tile.x + 1) / size * 360 - 180
    return (west, _lat(tile.y + 1, size), east, _lat(tile.y, size))
