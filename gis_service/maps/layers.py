"""Layers the analysis maps share: panes that keep outlines on top, and H3 cells by Gi* class."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import folium
import geopandas as gpd
import h3
import pandas as pd
from folium.map import CustomPane

from gis_service.maps.classes import CLASS_COLOURS, NOT_SIGNIFICANT, UNKNOWN_COLOUR, class_label
from gis_service.maps.geojson import feature_collection

# Above Leaflet's overlay pane (400), below tooltips (650): outlines stay on top whichever layer
# the layer control switches in, and never catch the mouse.
OUTLINE_PANE = "outlines"
OUTLINE_PANE_Z = 450
# Every drawn cell carries this CSS class (and gis-hex-<class>), so pages and tests find them.
HEX_CLASS = "gis-hex"
_TOOLTIP = (("cell", "H3 cell"), ("count", "Reports"), ("expected", "Expected"), ("z", "Gi* z"),
            ("p", "p"),
            ("p_fdr", "p (FDR-adjusted)"), ("label", "Class"))


def outline_pane(fmap: folium.Map) -> str:
    """Add (once) the pane commune outlines are drawn in; return its name."""
    CustomPane(OUTLINE_PANE, z_index=OUTLINE_PANE_Z, pointer_events=False).add_to(fmap)
    return OUTLINE_PANE


def drawn_cells(cells: gpd.GeoDataFrame, *, significant_only: bool = False) -> gpd.GeoDataFrame:
    """The cells a hotspot layer draws: significant ones (a cold spot may have no reports)
    and, unless ``significant_only``, every cell with reports. Empty, unremarkable cells are
    left as background: drawing every cell of the study area would put tens of thousands of
    shapes on the page at resolution 9."""
    keep = cells["cls"] != NOT_SIGNIFICANT
    if not significant_only:
        keep |= cells["count"] > 0
    return cells.loc[keep]


def _cell_id(value: object) -> str:
    """H3 cells arrive as bigint ids or strings; pages show the string form."""
    if isinstance(value, str):
        return value
    return str(h3.int_to_str(int(value)))  # type: ignore[call-overload]


def _hex_style(feature: dict[str, dict[str, str]]) -> dict[str, object]:
    cls = feature["properties"]["cls"]
    return {"fillColor": CLASS_COLOURS.get(cls, UNKNOWN_COLOUR), "fillOpacity": 0.75,
            "color": "#737373", "weight": 0.5, "className": f"{HEX_CLASS} {HEX_CLASS}-{cls}"}


def hex_layer(cells: gpd.GeoDataFrame, *, name: str, cell_column: str, show: bool,
              significant_only: bool = False) -> folium.GeoJson:
    """Cells coloured by class with a tooltip (count, z, p); a base layer of the layer control,
    so one set of cells shows at a time."""
    shown = drawn_cells(cells, significant_only=significant_only)
    frame = pd.DataFrame({
        "cell": [_cell_id(value) for value in shown[cell_column]],
        "count": shown["count"].astype(int),
        "z": shown["z"].map(lambda v: f"{v:.2f}"),
        "p": shown["p"].map(lambda v: f"{v:.2g}"),
        "p_fdr": shown["p_fdr"].map(lambda v: "not tested" if pd.isna(v) else f"{v:.2g}"),
        "expected": (shown["expected"].map(lambda v: f"{v:.1f}") if "expected" in shown
                     else ""),
        "cls": shown["cls"].astype(str),
        "label": shown["cls"].astype(str).map(class_label),
    }, index=shown.index)
    framed = gpd.GeoDataFrame(frame, geometry=shown.geometry.values, crs=cells.crs)
    data = feature_collection(framed, id_column="cell", properties=list(frame.columns))
    return styled_geojson(data, style=_hex_style, tooltip=_TOOLTIP, name=name, overlay=False,
                          show=show)


def styled_geojson(data: dict[str, Any], *, style: Callable[[Any], dict[str, object]],
                   tooltip: Sequence[tuple[str, str]] = (), **options: Any) -> folium.GeoJson:
    """folium.GeoJson with a style function and a (field, alias) tooltip; an empty collection
    gets neither (folium inspects the first feature for both)."""
    if not data["features"]:
        return folium.GeoJson(data, **options)
    hover = folium.GeoJsonTooltip(fields=[field for field, _ in tooltip],
                                  aliases=[alias for _, alias in tooltip],
                                  sticky=True) if tooltip else None
    return folium.GeoJson(data, style_function=style, tooltip=hover, **options)
