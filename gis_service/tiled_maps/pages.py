"""What a tiled map page shows, as data: the base layer, the labels, the tile layers and their
colours, handed to the page's script as one JSON document (``gis_service/static/maps``).

Everything large comes as tiles; the document holds only what is small at every resolution:
ward label points (40 wards, 152 communes in 2019), the province outline simplified to about
100 m, the neighbouring provinces clipped near the city and simplified to about 200 m, the
colour tables and, on the coverage page, one row of figures per commune.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
from sqlalchemy import Connection

from gis_service.analysis.statistics.emerging import CATEGORIES as EMERGING_CATEGORIES
from gis_service.boundaries import generations
from gis_service.maps.base import HUE_BOUNDS
from gis_service.maps.classes import CLASS_COLOURS
from gis_service.maps.coverage import NO_DATA_COLOUR, QUINTILE_COLOURS
from gis_service.tiled_maps import sql

#: From this zoom the ward names are drawn (the city at 12: its 40 wards readable).
LABEL_MIN_ZOOM = 12
#: ESRI's emerging hot spot colours: reds for hot patterns, blues for cold, darker for
#: stronger (new/consecutive/intensifying/persistent), paler for waning or past ones.
_PATTERN_SHADES = ("#67000d", "#a50f15", "#cb181d", "#ef3b2c", "#fb6a4a", "#fc9272",
                   "#fcbba1", "#fee0d2")
_COLD_SHADES = ("#08306b", "#08519c", "#2171b5", "#4292c6", "#6baed6", "#9ecae1",
                "#c6dbef", "#deebf7")
_HOT = [c for c in EMERGING_CATEGORIES if c.endswith("_hot")]
_COLD = [c for c in EMERGING_CATEGORIES if c.endswith("_cold")]
EMERGING_COLOURS = {**dict(zip(_HOT, _PATTERN_SHADES, strict=False)),
                    **dict(zip(_COLD, _COLD_SHADES, strict=False)), "no_pattern": "#d9d9d9"}


@dataclass(frozen=True)
class Base:
    """The base layer drawn from our own data when no tile server is configured."""

    generation: str
    bounds: tuple[float, float, float, float]
    labels: list[dict[str, Any]]
    outline: Any
    tiles_url: str = ""
    attribution: str = ""
    #: The neighbouring provinces (GeoJSON, ``name``), drawn as land when there is no tile
    #: server; None with a tile server (its map has them) or no national layer loaded.
    neighbours: Any = None


def base_layer(conn: Connection, generation: str | None = None, *, tiles_url: str = "",
               attribution: str = "") -> Base:
    """The wards' labels and the province outline of ``generation`` (the active one) and,
    without a tile server, the neighbouring provinces of the national layer."""
    chosen = generations.resolve(conn, code=generation)
    labels = [asdict(label) for label in sql.ward_labels(conn, chosen.id)]
    outline_text = sql.outline_geojson(conn, chosen.id)
    outline = json.loads(outline_text) if outline_text else None
    if labels:
        lons = [label["lon"] for label in labels]
        lats = [label["lat"] for label in labels]
        bounds = (min(lons) - 0.02, min(lats) - 0.02, max(lons) + 0.02, max(lats) + 0.02)
    else:
        bounds = HUE_BOUNDS
    neighbours = None
    if not tiles_url:
        found = sql.neighbour_provinces_geojson(conn, chosen.id, bounds)
        neighbours = json.loads(found) if found else None
    return Base(chosen.code, bounds, labels, outline, tiles_url, attribution, neighbours)


@dataclass(frozen=True)
class TiledPage:
    """The script's document: the base, the cells' tile URL (if any), colours, words."""

    base: Base
    cells_url: str | None = None
    colours: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    words: Mapping[str, str] = field(default_factory=dict)
    wards_url: str = ""

    def as_json(self) -> str:
        """The document, safe inside a ``<script type="application/json">`` element."""
        document = {**asdict(self), "labelMinZoom": LABEL_MIN_ZOOM}
        return json.dumps(document, ensure_ascii=False).replace("</", "<\\/")


def coverage_values(communes: gpd.GeoDataFrame) -> dict[str, dict[str, Any]]:
    """Per commune code: what its tooltip and colour need (a row of figures, no geometry)."""
    rows: dict[str, dict[str, Any]] = {}
    for row in communes.itertuples(index=False):
        rate_class = int(row.rate_class) if _finite(row.rate_class) else 0
        rows[str(row.code)] = {
            "name": str(row.name), "setting": str(row.setting),
            "population": _rounded(row.population, 0), "reports": _rounded(row.reports, 0),
            "rate": _rounded(row.rate_per_1000, 1), "rate_eb": _rounded(row.rate_eb, 1),
            "flag": bool(row.under_reporting),
            "colour": QUINTILE_COLOURS[rate_class - 1] if 1 <= rate_class <= 5
            else NO_DATA_COLOUR}
    return rows


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _rounded(value: Any, digits: int) -> float | None:
    return round(float(value), digits) if _finite(value) else None


def hotspot_colours(kind: str) -> dict[str, str]:
    return dict(EMERGING_COLOURS if kind == "emerging" else CLASS_COLOURS)


def legend_rows(colours: Mapping[str, str], order: Sequence[str]) -> list[tuple[str, str]]:
    return [(name, colours[name]) for name in order if name in colours]
