"""GeoDataFrames as HTTP answers: a GeoJSON FeatureCollection, or CSV without the geometry.

Built as text rather than through ``GeoDataFrame.to_json`` (several times slower for tens of
thousands of hexagons); coordinates are rounded to 6 decimals (about 0.1 m), which keeps a
resolution-9 map of Huế near a third of its full-precision size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import shapely
from flask import Response

COORDINATE_GRID = 1e-6
GEOJSON = "application/geo+json"


def _properties(frame: gpd.GeoDataFrame, renames: Mapping[str, str]) -> list[str]:
    table = frame.drop(columns=frame.geometry.name).rename(columns=dict(renames))
    # NaN (a value undefined for a cell, e.g. no expectation) is null in JSON, not NaN.
    table = table.astype(object).where(table.notna(), None)
    return [json.dumps(row, ensure_ascii=False) for row in table.to_dict("records")]


def feature_collection(frame: gpd.GeoDataFrame, *, id_column: str,
                       renames: Mapping[str, str] | None = None) -> str:
    """The frame as GeoJSON text: one Feature per row, ``id`` from ``id_column``, the other
    columns as properties (renamed per ``renames``), and ``frame.attrs`` as ``parameters``."""
    geometries = shapely.set_precision(np.asarray(frame.geometry.values), COORDINATE_GRID,
                                       mode="pointwise")
    texts = shapely.to_geojson(geometries)
    ids = [json.dumps(value) for value in frame[id_column].tolist()]
    features = ",".join(
        f'{{"type":"Feature","id":{fid},"geometry":{geometry},"properties":{props}}}'
        for fid, geometry, props in zip(ids, texts.tolist(), _properties(frame, renames or {}),
                                        strict=True))
    parameters = json.dumps(frame.attrs, ensure_ascii=False, default=str)
    return f'{{"type":"FeatureCollection","parameters":{parameters},"features":[{features}]}}'


def frame_response(frame: gpd.GeoDataFrame, output: str, *, name: str, id_column: str,
                   renames: Mapping[str, str] | None = None) -> Response:
    """``output`` ``geojson`` (a FeatureCollection) or ``csv`` (an attachment ``name``.csv)."""
    if output == "csv":
        table = frame.drop(columns=frame.geometry.name).rename(columns=dict(renames or {}))
        response = Response(table.to_csv(index=False), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    return Response(feature_collection(frame, id_column=id_column, renames=renames),
                    mimetype=GEOJSON)
