"""The pages' cell layers: one analysis frame per filter and data version, cut into vector
tiles, each cell carrying its ward's name and code.

A page and its tiles share the frame (computed once, kept in memory): the page states the
analysis' parameters (scale, inference, minimum count) and the tiles draw the same cells. A
cell's ward is the commune of the active generation holding its centre, so a tooltip names
where the cell is even when the cell straddles two wards.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import Connection

from gis_service.analysis import emerging_hotspots, hotspots
from gis_service.analysis.cache import LruCache
from gis_service.analysis.selection import TimeBound
from gis_service.analysis.statistics.emerging import NO_PATTERN
from gis_service.analysis.statistics.hotspots import NOT_SIGNIFICANT
from gis_service.analysis.statistics.inference import DEFAULT_MIN_COUNT
from gis_service.boundaries.frames import units_frame
from gis_service.data_versions import DataVersion, read_versions
from gis_service.tiled_maps.frame_store import read_frame, write_frame
from gis_service.tiles import sql as tile_sql
from gis_service.tiles.cache import Tile, TileCache
from gis_service.tiles.grid import lonlat_bounds, tile_id

KINDS = ("hotspots", "emerging")
# Frames by (kind, filters, data version): a res-10 frame of the province is a few MB.
_FRAMES: LruCache[tuple[object, ...], gpd.GeoDataFrame] = LruCache(8)
_TILES = TileCache(32 * 1024 * 1024)


@dataclass(frozen=True)
class CellFilters:
    """The hot spot pages' parameters, as /v1/hotspots[/emerging] take them."""

    kind: str = "hotspots"
    resolution: int | None = None
    k: int | None = None
    weights: str = "binary"
    measure: str = "excess"
    inference: str = "auto"
    min_count: int = DEFAULT_MIN_COUNT
    categories: tuple[str, ...] | None = None
    channel: str | None = None
    status: str | None = None
    start: TimeBound | None = None
    end: TimeBound | None = None
    period: str = "month"

    def query(self, **changes: Any) -> str:
        """These filters (with ``changes``) as a query string; defaults left out.

        >>> CellFilters(resolution=9).query(measure="count")
        'res=9&measure=count'
        """
        chosen = dataclasses.replace(self, **changes)
        default = CellFilters(kind=chosen.kind)
        pairs = {"res": chosen.resolution, "k": chosen.k, "weights": chosen.weights,
                 "measure": chosen.measure, "inference": chosen.inference,
                 "min_count": chosen.min_count,
                 "category": ",".join(chosen.categories) if chosen.categories else None,
                 "channel": chosen.channel, "status": chosen.status,
                 "from": chosen.start.isoformat() if chosen.start else None,
                 "to": chosen.end.isoformat() if chosen.end else None,
                 "period": chosen.period if chosen.kind == "emerging" else None}
        defaults = {"weights": default.weights, "measure": default.measure,
                    "inference": default.inference, "min_count": default.min_count,
                    "period": default.period}
        return urlencode({key: value for key, value in pairs.items()
                          if value is not None and defaults.get(key) != value})

    def analyse(self, conn: Connection) -> gpd.GeoDataFrame:
        options: dict[str, Any] = {
            "resolution": self.resolution, "k": self.k, "weights": self.weights,
            "measure": self.measure, "inference": self.inference, "min_count": self.min_count,
            "categories": self.categories, "channel": self.channel, "status": self.status,
            "start": self.start, "end": self.end}
        if self.kind == "emerging":
            return emerging_hotspots(conn, period=self.period, **options)
        return hotspots(conn, **options)


def drawn(frame: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    """The cells a page draws: those with reports or a pattern (empty, unremarkable cells are
    the background; drawing all would be every cell of the province)."""
    column, nothing = ("category", NO_PATTERN) if kind == "emerging" else ("cls", NOT_SIGNIFICANT)
    return frame.loc[(frame[column] != nothing) | (frame["count"] > 0)]


def with_wards(cells: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``cells`` with ``ward`` and ``ward_code``: the ward holding each cell's centre, else
    (a centre on the lagoon, the sea or a river a ward's polygon leaves out) the nearest
    ward, so every cell a page draws names one."""
    if cells.empty or wards.empty:
        return cells.assign(ward="", ward_code="")
    centres = shapely.centroid(cells.geometry.values)
    ward_of = np.full(len(cells), -1, dtype=np.intp)
    cell_index, ward_index = wards.sindex.query(centres, predicate="within")
    ward_of[cell_index] = ward_index
    outside = np.flatnonzero(ward_of < 0)
    if len(outside):
        # Degrees as the distance: only which ward is nearest matters, over a few km.
        near_cell, near_ward = wards.sindex.nearest(centres[outside], return_all=False)
        ward_of[outside[near_cell]] = near_ward
    return cells.assign(ward=wards["name"].to_numpy()[ward_of],
                        ward_code=wards["code"].to_numpy()[ward_of])


def cell_frame(conn: Connection, filters: CellFilters, versions: DataVersion | None = None,
               *, store: Path | None = None) -> gpd.GeoDataFrame:
    """The drawn cells with their wards for ``filters``, from memory when the data are
    unchanged, else from ``store`` (the frames the server's other workers made,
    :mod:`.frame_store`), else made; ``attrs`` keep the analysis' parameters (scale,
    inference, minimum count)."""
    versions = versions or read_versions(conn)
    key = (filters, versions.of(boundaries=True, reports=True))

    # On disk the database is part of the key: two databases' versions can coincide.
    stored_key = (conn.engine.url.render_as_string(hide_password=True), *key)

    def make() -> gpd.GeoDataFrame:
        stored = read_frame(store, stored_key) if store else None
        if stored is not None:
            return stored
        analysed = filters.analyse(conn)
        frame = with_wards(drawn(analysed, filters.kind), units_frame(conn))
        frame.attrs = {**analysed.attrs, "total_reports": int(analysed["count"].sum()),
                       "cells": len(analysed)}
        if store:
            write_frame(store, stored_key, frame)
        return frame

    return _FRAMES.get_or_make(key, make)


def _columns(rows: gpd.GeoDataFrame, kind: str) -> dict[str, tuple[Any, Any]]:
    kinds = tile_sql.CELL_TYPES
    text = kinds["cell"]
    columns: dict[str, tuple[Any, Any]] = {
        "cell": ([str(c) for c in rows["cell"]], text),
        "count": ([int(v) for v in rows["count"]], kinds["count"]),
        "class": ([str(v) for v in rows["category" if kind == "emerging" else "cls"]], text),
        "ward": ([str(v) for v in rows["ward"]], text),
        "ward_code": ([str(v) for v in rows["ward_code"]], text)}
    z = rows["z"].to_numpy(dtype=float)
    columns["z"] = ([None if np.isnan(v) else round(float(v), 3) for v in z], kinds["z"])
    return columns


def cell_tile(conn: Connection, filters: CellFilters, z: int, x: int, y: int, *,
              store: Path | None = None) -> Tile:
    """One tile (layer ``cells``) of the page's cells, from memory when unchanged (the frame
    as :func:`cell_frame` finds it)."""
    tile, versions = tile_id(z, x, y), read_versions(conn)
    version = versions.of(boundaries=True, reports=True)
    key = (f"{filters.kind}?{filters.query()}", z, x, y, version)
    found = _TILES.get(key)
    if found is not None:
        return found
    frame = cell_frame(conn, filters, versions, store=store)
    rows = frame.iloc[np.sort(frame.sindex.query(shapely.box(*lonlat_bounds(tile)),
                                                 predicate="intersects"))]
    wkb = [bytes(b) for b in shapely.to_wkb(rows.geometry.values)]
    made = Tile.of(tile_sql.cells_tile(conn, tile, "cells", wkb, _columns(rows, filters.kind)))
    _TILES.put(key, made)
    return made
