"""Ward scorecards as an OGC collection: :func:`gis_service.analysis.scorecards` by commune,
each card a feature with its ward's polygon and its flat figures (the CSV's columns).

A card is computed once per data version, period and minute (its backlog and overdue figures
are counted at ``now``, which every feature states) and kept in memory; a page is a slice of
that frame, as for the hot spot cells. ``datetime`` chooses the reports scored (created in
``[start, end)``); the cards themselves have no time.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import shapely
from sqlalchemy import Connection

from gis_service.analysis.cache import LruCache
from gis_service.analysis.scorecard_rows import flat
from gis_service.analysis.scorecards import Scorecards, commune_geometries, scorecards
from gis_service.data_versions import DataVersion
from gis_service.ogc.cells import geojson_geometry, selected
from gis_service.ogc.crs import Crs
from gis_service.ogc.params import ItemsQuery
from gis_service.ogc.sql import Extent, Page

COLLECTION_ID = "scorecards-communes"
_FRAMES: LruCache[tuple[object, ...], gpd.GeoDataFrame] = LruCache(8)


def _period(query: ItemsQuery) -> tuple[dt.datetime | None, dt.datetime | None]:
    interval = query.datetime
    return (interval.start, interval.end) if interval else (None, None)


def _make_frame(conn: Connection, query: ItemsQuery, now: dt.datetime) -> gpd.GeoDataFrame:
    start, end = _period(query)
    card = scorecards(conn, by="commune", start=start, end=end, now=now)
    polygons = _polygons(conn, card)
    rows = [{**flat(cell), "now": now.isoformat()} for cell in card.cells]
    geometry = [polygons.get(cell.key) for cell in card.cells]
    return gpd.GeoDataFrame(rows, geometry=geometry, crs=4326)


def _polygons(conn: Connection, card: Scorecards) -> dict[str, shapely.Geometry]:
    return {code: shapely.from_geojson(text)
            for code, text in commune_geometries(conn, card).items()}


def card_frame(conn: Connection, version: DataVersion, query: ItemsQuery) -> gpd.GeoDataFrame:
    """The communes' cards for the query's period, from memory when the data are unchanged
    and the card is less than a minute old."""
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    key = (version, *_period(query), now)
    return _FRAMES.get_or_make(key, lambda: _make_frame(conn, query, now))


def _features(frame: gpd.GeoDataFrame, crs: Crs) -> Iterator[dict[str, Any]]:
    columns = [name for name in frame.columns if name != "geometry"]
    for values, geometry in zip(frame[columns].itertuples(index=False), frame.geometry,
                                strict=True):
        properties = {name: _scalar(value) for name, value in zip(columns, values, strict=True)}
        yield {"type": "Feature", "id": properties["key"],
               "geometry": None if geometry is None else geojson_geometry(geometry, crs),
               "properties": properties}


def _scalar(value: Any) -> Any:
    """A JSON value: numpy numbers as Python's, NaN (a figure on no reports) as null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def card_page(frame: gpd.GeoDataFrame, query: ItemsQuery) -> Page:
    rows = selected(frame, query).iloc[query.offset:query.offset + query.limit]
    features = list(_features(rows, query.crs))
    return Page(json.dumps(features, ensure_ascii=False), len(features))


def card_feature(frame: gpd.GeoDataFrame, code: str, crs: Crs) -> str | None:
    rows = frame[frame["key"] == code]
    if rows.empty:
        return None
    return json.dumps(next(_features(rows, crs)), ensure_ascii=False)


def card_extent(frame: gpd.GeoDataFrame) -> Extent:
    known = frame[frame.geometry.notna()]
    if known.empty:
        return Extent(None, None, None)
    x1, y1, x2, y2 = (float(v) for v in known.total_bounds)
    return Extent((x1, y1, x2, y2), None, None)
