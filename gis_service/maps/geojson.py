"""GeoDataFrames to the GeoJSON a page embeds: rounded, optionally simplified, JSON-safe."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

# 5 decimals of a degree is about 1 m: finer than any edge the maps draw, and a third of the size.
COORDINATE_GRID = 1e-5


def _plain(value: Any) -> Any:
    """numpy and pandas scalars as JSON values; NaN, NaT and NA become null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):  # a list or array: not a missing scalar
        return value


def feature_collection(
    frame: gpd.GeoDataFrame,
    *,
    id_column: str,
    properties: Sequence[str],
    simplify_deg: float = 0.0,
) -> dict[str, Any]:
    """A FeatureCollection of ``frame`` in EPSG:4326, each feature's ``id`` from ``id_column``.

    >>> import geopandas as gpd, shapely
    >>> frame = gpd.GeoDataFrame({"code": ["a"], "n": [3]},
    ...                          geometry=[shapely.box(107.1, 16.1, 107.2, 16.2)], crs=4326)
    >>> fc = feature_collection(frame, id_column="code", properties=["n"])
    >>> fc["features"][0]["id"], fc["features"][0]["properties"]
    ('a', {'n': 3})
    """
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    geometry = frame.geometry.values
    if simplify_deg > 0:
        geometry = shapely.simplify(geometry, simplify_deg, preserve_topology=True)
    # Pointwise: round the coordinates only, never re-node or drop a ring.
    geometry = shapely.set_precision(geometry, COORDINATE_GRID, mode="pointwise")
    columns = [frame[name].tolist() for name in properties]
    features = [
        {
            "type": "Feature",
            "id": _plain(ident),
            "properties": {name: _plain(col[i]) for name, col in zip(properties, columns,
                                                                      strict=True)},
            "geometry": shapely.geometry.mapping(shape),
        }
        for i, (ident, shape) in enumerate(zip(frame[id_column].tolist(), geometry, strict=True))
    ]
    return {"type": "FeatureCollection", "features": features}
