"""The hotspot map: H3 cells coloured by Gi* class, one layer per report category."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import folium
import geopandas as gpd
from sqlalchemy import Connection

from gis_service.analysis import hotspots
from gis_service.analysis.selection import ANALYSIS_RESOLUTIONS, TimeBound
from gis_service.boundaries.frames import units_frame
from gis_service.maps.base import MapOptions, base_map, frame_bounds
from gis_service.maps.boundaries import commune_outlines
from gis_service.maps.classes import class_legend
from gis_service.maps.controls import FormField, legend, panel
from gis_service.maps.layers import drawn_cells, hex_layer
from gis_service.reports.categories import list_categories

#: The layer of every selected category together, shown first.
ALL_LAYER = "All selected categories"
#: The map's default resolution: res-8 cells (0.7 km²) keep a province-wide page light.
DEFAULT_RESOLUTION = 8
MAX_K = 5


@dataclass(frozen=True)
class HotspotLayer:
    """One selectable set of cells: the Gi* result of one category (or of all). A category's
    layer draws only its hot and cold cells, which keeps a page of 15 layers light."""

    name: str
    cells: gpd.GeoDataFrame
    significant_only: bool = False

    def drawn(self) -> gpd.GeoDataFrame:
        return drawn_cells(self.cells, significant_only=self.significant_only)


def draw_hotspots(
    layers: Sequence[HotspotLayer],
    communes: gpd.GeoDataFrame,
    *,
    cell_column: str,
    lines: Sequence[str] = (),
    form: Sequence[FormField] = (),
    options: MapOptions | None = None,
) -> folium.Map:
    """The page from Gi* frames (first layer shown, the rest chosen in the layer control)."""
    drawn = [layer.drawn() for layer in layers[:1]]
    fmap = base_map("Report hotspots", frame_bounds(*drawn, communes), options)
    for index, layer in enumerate(layers):
        hex_layer(layer.cells, name=layer.name, cell_column=cell_column, show=index == 0,
                  significant_only=layer.significant_only).add_to(fmap)
    commune_outlines(fmap, communes)
    folium.LayerControl(collapsed=False).add_to(fmap)
    panel("Report hotspots (Getis-Ord Gi*)", lines, form).add_to(fmap)
    legend("Gi* class (FDR-adjusted)", class_legend(),
           note="Cells without reports and without a significant pattern are not drawn; "
                "a category's own layer shows its hot and cold cells only.").add_to(fmap)
    return fmap


@dataclass(frozen=True)
class HotspotFilters:
    """The page's filters: the query parameters of /maps/hotspots, as /v1/hotspots takes them."""

    resolution: int = DEFAULT_RESOLUTION
    k: int = 1
    weights: str = "binary"
    categories: tuple[str, ...] | None = None
    channel: str | None = None
    status: str | None = None
    start: TimeBound | None = None
    end: TimeBound | None = None

    def run(self, conn: Connection, categories: tuple[str, ...] | None) -> gpd.GeoDataFrame:
        """Gi* for these filters over ``categories`` (None: every category)."""
        return hotspots(conn, resolution=self.resolution, k=self.k, weights=self.weights,
                        categories=categories, channel=self.channel, status=self.status,
                        start=self.start, end=self.end)


def _summary(cells: gpd.GeoDataFrame, filters: HotspotFilters) -> list[str]:
    classes = cells["cls"].astype(str)
    period = (f"{filters.start.isoformat() if filters.start else 'first report'} to "
              f"{filters.end.isoformat() if filters.end else 'last report'}")
    return [
        f"{int(cells['count'].sum()):,} reports, {period}.",
        f"{len(cells):,} cells at H3 resolution {filters.resolution}, neighbours within "
        f"{filters.k} ring{'s' if filters.k > 1 else ''} ({filters.weights} weights).",
        f"{int(classes.str.startswith('hot').sum())} hot and "
        f"{int(classes.str.startswith('cold').sum())} cold cells.",
    ]


def _when(name: str, label: str, value: TimeBound | None) -> FormField:
    # A date-time (not only a day) keeps its time in a text box.
    if isinstance(value, dt.datetime):
        return FormField(name, label, value.isoformat())
    return FormField(name, label, value.isoformat() if value else "", input_type="date")


def _form(filters: HotspotFilters, codes: Sequence[tuple[str, str]]) -> list[FormField]:
    chosen = ",".join(filters.categories or ())
    choices = [("", "all"), *codes]
    if chosen and chosen not in dict(codes):
        choices.append((chosen, chosen))  # several categories, from a typed URL
    form = [
        FormField("res", "Resolution", str(filters.resolution),
                  choices=[(str(r), str(r)) for r in ANALYSIS_RESOLUTIONS]),
        FormField("k", "Rings", str(filters.k),
                  choices=[(str(k), str(k)) for k in range(1, MAX_K + 1)]),
        FormField("weights", "Weights", filters.weights,
                  choices=[("binary", "binary"), ("decay", "decay")]),
        FormField("category", "Category", chosen, choices=choices),
        _when("from", "From", filters.start),
        _when("to", "Before", filters.end),
    ]
    form += [FormField(name, name, value, input_type="hidden")
             for name, value in (("channel", filters.channel), ("status", filters.status))
             if value]
    return form


def _category_layer(name: str, cells: gpd.GeoDataFrame) -> HotspotLayer:
    classes = cells["cls"].astype(str)
    hot, cold = int(classes.str.startswith("hot").sum()), int(classes.str.startswith("cold").sum())
    return HotspotLayer(f"{name} ({hot} hot, {cold} cold)", cells, significant_only=True)


def hotspot_map(conn: Connection, filters: HotspotFilters | None = None, *,
                by_category: bool = True, options: MapOptions | None = None) -> folium.Map:
    """Gi* hot and cold spots for the filters, with one layer per report category.

    The first layer is every selected category together (all categories by default); with
    ``by_category`` each selected category gets its own Gi* run and layer.

    >>> fmap = hotspot_map(conn, HotspotFilters(resolution=8, k=1))  # doctest: +SKIP
    """
    filters = filters or HotspotFilters()
    combined = filters.run(conn, filters.categories)
    known = [(item.code, item.name) for item in list_categories(conn)]
    layers = [HotspotLayer(ALL_LAYER, combined)]
    if by_category:
        names = dict(known)
        codes = filters.categories or tuple(names)
        if len(codes) > 1:
            layers += [_category_layer(names.get(code, code), filters.run(conn, (code,)))
                       for code in codes]
    return draw_hotspots(layers, units_frame(conn), cell_column="cell",
                         lines=_summary(combined, filters), form=_form(filters, known),
                         options=options)
