"""Hot spot cells as an OGC collection: Gi* of report counts on H3 cells at one resolution.

The cells come from :func:`gis_service.analysis.hotspots` (every cell of the study area, zeros
included), computed once per data version and filter and kept in memory; a page is then a
slice of that frame. A ``datetime`` here chooses the reports analysed (the cells themselves
have no time), and ``category`` the categories.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from sqlalchemy import Connection

from gis_service.analysis import hotspots
from gis_service.analysis.cache import LruCache
from gis_service.data_versions import DataVersion
from gis_service.ogc.crs import Crs
from gis_service.ogc.params import ItemsQuery
from gis_service.ogc.sql import Extent, Page

HOTSPOT_RESOLUTIONS = (8, 9)
# A frame per resolution and filter; ~40 k cells at res 9 take a few MB each.
_FRAMES: LruCache[tuple[object, ...], gpd.GeoDataFrame] = LruCache(16)


@functools.lru_cache(maxsize=8)
def _transformer(source: int, target: int) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def reproject(geometry: shapely.Geometry, source: int, target: int) -> shapely.Geometry:
    transformer = _transformer(source, target)

    def move(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geometry, move)


def _analysis_key(resolution: int, query: ItemsQuery) -> tuple[object, ...]:
    interval = query.datetime
    return (resolution, query.properties.get("category"),
            interval.start if interval else None, interval.end if interval else None)


def cell_frame(conn: Connection, version: DataVersion, resolution: int,
               query: ItemsQuery) -> gpd.GeoDataFrame:
    """The hot spot frame for the query's categories and period, from memory when the data are
    unchanged (the version was read before the analysis: a write in between only costs a
    recomputation later, never a stale answer under a new version)."""
    interval = query.datetime
    key = (version, *_analysis_key(resolution, query))
    return _FRAMES.get_or_make(key, lambda: hotspots(
        conn, resolution=resolution, categories=query.properties.get("category"),
        start=interval.start if interval else None, end=interval.end if interval else None))


def _bbox_polygon(query: ItemsQuery) -> shapely.Geometry | None:
    if query.bbox is None:
        return None
    a1, b1, a2, b2 = query.bbox
    x1, y1, x2, y2 = (b1, a1, b2, a2) if query.bbox_crs.lat_first else (a1, b1, a2, b2)
    box = shapely.box(x1, y1, x2, y2)
    if query.bbox_crs.srid == 4326:
        return box
    dense = shapely.segmentize(box, max(x2 - x1, y2 - y1) / 50 or 1.0)
    return reproject(dense, query.bbox_crs.srid, 4326)


def selected(frame: gpd.GeoDataFrame, query: ItemsQuery) -> gpd.GeoDataFrame:
    """The cells the query's bbox and class filter pick, in cell order."""
    box = _bbox_polygon(query)
    if box is not None:
        frame = frame.iloc[np.sort(frame.sindex.query(box, predicate="intersects"))]
    if "class" in query.properties:
        frame = frame[frame["cls"].isin(query.properties["class"])]
    return frame


def _coordinates(geometry: shapely.Geometry, crs: Crs) -> Any:
    out = geometry
    if crs.srid != 4326:
        out = reproject(geometry, 4326, crs.srid)
    if crs.lat_first:
        out = shapely.transform(out, lambda xy: xy[:, ::-1])
    return json.loads(shapely.to_geojson(shapely.set_precision(out, 10.0 ** -crs.decimals)))


def _features(frame: gpd.GeoDataFrame, crs: Crs) -> Iterator[dict[str, Any]]:
    for row in frame.itertuples(index=False):
        yield {"type": "Feature", "id": row.cell,
               "geometry": _coordinates(row.geometry, crs),
               "properties": {"cell": row.cell, "count": int(row.count),
                              "z": round(float(row.z), 4), "p": round(float(row.p), 6),
                              "p_fdr": round(float(row.p_fdr), 6), "class": row.cls}}


def cell_page(frame: gpd.GeoDataFrame, query: ItemsQuery) -> Page:
    rows = selected(frame, query).iloc[query.offset:query.offset + query.limit]
    features = list(_features(rows, query.crs))
    return Page(json.dumps(features, ensure_ascii=False), len(features))


def cell_feature(frame: gpd.GeoDataFrame, cell: str, crs: Crs) -> str | None:
    rows = frame[frame["cell"] == cell]
    if rows.empty:
        return None
    return json.dumps(next(_features(rows, crs)), ensure_ascii=False)


def cell_extent(frame: gpd.GeoDataFrame) -> Extent:
    if frame.empty:
        return Extent(None, None, None)
    x1, y1, x2, y2 = (float(v) for v in frame.total_bounds)
    return Extent((x1, y1, x2, y2), None, None)
