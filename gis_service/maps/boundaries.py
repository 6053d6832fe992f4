"""Commune boundaries: an outline layer for the other maps, and the demo's boundaries map."""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
from sqlalchemy import Connection

from gis_service.boundaries import generations
from gis_service.boundaries.frames import units_frame
from gis_service.maps.base import MapOptions, base_map, frame_bounds
from gis_service.maps.controls import FormField, LegendEntry, legend, panel
from gis_service.maps.geojson import feature_collection
from gis_service.maps.layers import outline_pane, styled_geojson

# About 10 m: invisible at city zoom, and it keeps the page small.
SIMPLIFY_DEG = 1e-4
SETTING_COLOURS = {"urban": "#9ecae1", "rural": "#c7e9c0"}
NO_SETTING_COLOUR = "#dddddd"
OUTLINE = "#4d4d4d"
# Every commune path carries this CSS class, so pages and tests can find them.
COMMUNE_CLASS = "gis-commune"
_UNIT_TOOLTIP = (("name", "Name"), ("unit_type", "Type"), ("setting", "Setting"),
                 ("population", "Population"), ("area_km2", "Area (km²)"),
                 ("approximate", "Approximate"))
_UNIT_FIELDS = tuple(field for field, _ in _UNIT_TOOLTIP)


def _outline_style(_: object) -> dict[str, object]:
    return {"color": OUTLINE, "weight": 1, "fill": False, "className": COMMUNE_CLASS}


def commune_outlines(fmap: folium.Map, communes: gpd.GeoDataFrame, *,
                     name: str = "Commune boundaries") -> folium.GeoJson:
    """Commune outlines on top of every other layer, with no fill and no mouse events."""
    data = feature_collection(communes, id_column="code", properties=("name",),
                              simplify_deg=SIMPLIFY_DEG)
    layer = styled_geojson(data, style=_outline_style, name=name, overlay=True,
                           interactive=False, pane=outline_pane(fmap))
    layer.add_to(fmap)
    return layer


def _unit_style(feature: dict[str, object]) -> dict[str, object]:
    properties = feature["properties"]
    setting = properties.get("setting") if isinstance(properties, dict) else None
    return {"color": OUTLINE, "weight": 1, "fillOpacity": 0.6, "className": COMMUNE_CLASS,
            "fillColor": SETTING_COLOURS.get(str(setting), NO_SETTING_COLOUR)}


def commune_areas(communes: gpd.GeoDataFrame) -> folium.GeoJson:
    """Communes filled by setting (urban or rural), with a tooltip naming each."""
    frame = communes.assign(area_km2=communes["area_km2"].round(2))
    data = feature_collection(frame, id_column="code", properties=_UNIT_FIELDS,
                              simplify_deg=SIMPLIFY_DEG)
    return styled_geojson(data, style=_unit_style, tooltip=_UNIT_TOOLTIP, name="Communes")


def draw_boundaries(communes: gpd.GeoDataFrame, *, generation: str,
                    known_generations: Sequence[str] = (), options: MapOptions | None = None
                    ) -> folium.Map:
    """The boundaries map from a frame of communes (see :func:`units_frame`)."""
    fmap = base_map(f"Communes, generation {generation}", frame_bounds(communes), options)
    commune_areas(communes).add_to(fmap)
    counts = communes["setting"].value_counts()
    approximate = int(communes["approximate"].sum())
    lines = [f"{len(communes)} communes: {counts.get('urban', 0)} urban (phường, thị trấn), "
             f"{counts.get('rural', 0)} rural (xã)."]
    if approximate:
        lines.append(f"{approximate} polygons are approximate (derived, not official).")
    form = [FormField("generation", "Generation", generation,
                      choices=[(code, code) for code in known_generations])] \
        if known_generations else []
    panel(f"Boundaries {generation}", lines, form).add_to(fmap)
    legend("Setting", [LegendEntry("urban", SETTING_COLOURS["urban"]),
                       LegendEntry("rural", SETTING_COLOURS["rural"])]).add_to(fmap)
    return fmap


def boundaries_map(conn: Connection, generation: str | None = None, *,
                   options: MapOptions | None = None) -> folium.Map:
    """The communes of a generation (the active one by default), coloured urban or rural.

    >>> html = map_html(boundaries_map(conn, "2025"))  # doctest: +SKIP
    """
    communes = units_frame(conn, generation)
    known = [found.code for found in generations.list_generations(conn)]
    return draw_boundaries(communes, generation=communes.attrs["generation"],
                           known_generations=known, options=options)
