"""The hotspot map: H3 cells coloured by Gi* class, one layer per report category."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlencode

import folium
import geopandas as gpd
from sqlalchemy import Connection

from gis_service.analysis import hotspots
from gis_service.analysis.selection import ANALYSIS_RESOLUTIONS, TimeBound
from gis_service.analysis.statistics.inference import DEFAULT_MIN_COUNT
from gis_service.boundaries.frames import units_frame
from gis_service.maps.base import MapOptions, base_map, frame_bounds
from gis_service.maps.boundaries import commune_outlines
from gis_service.maps.classes import class_legend
from gis_service.maps.controls import FormField, legend, panel
from gis_service.maps.layers import drawn_cells, hex_layer
from gis_service.reports.categories import list_categories

#: The layer of every selected category together, shown first.
ALL_LAYER = "All selected categories"
#: The map's default resolution: None, chosen from the data (analysis.hotspot_model), but
#: never finer than MAX_RESOLUTION: res-10 cells would make a province-wide page heavy.
DEFAULT_RESOLUTION: int | None = None
MAX_RESOLUTION = 9
MAX_K = 5
#: What the page says it shows, Vietnamese first.
MEASURE_TITLES = {
    "excess": "Điểm nóng phản ánh vượt mức dân số · Hot spots of reports in excess of residents",
    "count": "Điểm nóng số phản ánh · Hot spots of report counts (raw)",
}
MEASURE_NOTES = {
    "excess": "Báo cáo so với số dân (điều tra 2019) · reports against the cells' residents "
              "(2019 census, areal weighting): hot = more reports than residents explain.",
    "count": "Số báo cáo so với diện tích · reports against area: where reports are many, "
             "which is mostly where people live.",
}


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
    measure: str = "excess",
    links: Sequence[tuple[str, str]] = (),
) -> folium.Map:
    """The page from hot spot frames (first layer shown, the rest chosen in the layer
    control); the title says which ``measure`` it shows."""
    drawn = [layer.drawn() for layer in layers[:1]]
    fmap = base_map("Report hotspots", frame_bounds(*drawn, communes), options)
    for index, layer in enumerate(layers):
        hex_layer(layer.cells, name=layer.name, cell_column=cell_column, show=index == 0,
                  significant_only=layer.significant_only).add_to(fmap)
    commune_outlines(fmap, communes)
    folium.LayerControl(collapsed=False).add_to(fmap)
    panel(MEASURE_TITLES.get(measure, measure), [MEASURE_NOTES.get(measure, ""), *lines], form,
          links).add_to(fmap)
    legend("Class (FDR-adjusted)", class_legend(),
           note="Cells without reports and without a significant pattern are not drawn; "
                "a category's own layer shows its hot and cold cells only. No cell is hot "
                "or cold on fewer reports (or expected reports) than the minimum count."
           ).add_to(fmap)
    return fmap


@dataclass(frozen=True)
class HotspotFilters:
    """The page's filters: the query parameters of /maps/hotspots, as /v1/hotspots takes them."""

    resolution: int | None = DEFAULT_RESOLUTION
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

    def run(self, conn: Connection, categories: tuple[str, ...] | None) -> gpd.GeoDataFrame:
        """Gi* for these filters over ``categories`` (None: every category)."""
        return hotspots(conn, resolution=self.resolution, k=self.k, weights=self.weights,
                        measure=self.measure, inference=self.inference,
                        min_count=self.min_count, categories=categories, channel=self.channel,
                        status=self.status, start=self.start, end=self.end,
                        max_resolution=MAX_RESOLUTION)

    def query(self) -> str:
        """These filters as the page's query string."""
        pairs = {"res": self.resolution, "k": self.k, "weights": self.weights,
                 "measure": self.measure, "inference": self.inference,
                 "min_count": self.min_count,
                 "category": ",".join(self.categories) if self.categories else None,
                 "channel": self.channel, "status": self.status,
                 "from": self.start.isoformat() if self.start else None,
                 "to": self.end.isoformat() if self.end else None}
        return urlencode({key: value for key, value in pairs.items() if value is not None})


def _summary(cells: gpd.GeoDataFrame, filters: HotspotFilters) -> list[str]:
    classes = cells["cls"].astype(str)
    attrs = cells.attrs
    period = (f"{filters.start.isoformat() if filters.start else 'first report'} to "
              f"{filters.end.isoformat() if filters.end else 'last report'}")
    k = int(attrs.get("k", filters.k or 1))
    return [
        f"{int(cells['count'].sum()):,} reports, {period}.",
        f"{len(cells):,} cells at H3 resolution {attrs.get('resolution', filters.resolution)}, "
        f"neighbours within {k} ring{'s' if k > 1 else ''} ({filters.weights} weights); "
        f"scale {attrs.get('chosen_by', 'given')}.",
        f"Inference: {attrs.get('inference', '?')} (dispersion {attrs.get('dispersion', 1)}); "
        f"minimum count {attrs.get('min_count', filters.min_count)}.",
        f"{int(classes.str.startswith('hot').sum())} hot and "
        f"{int(classes.str.startswith('cold').sum())} cold cells.",
    ]


def _other_measure(filters: HotspotFilters) -> tuple[str, str]:
    """The link to the same map in the other measure (one click to the raw counts and back)."""
    other = "count" if filters.measure == "excess" else "excess"
    label = ("Xem số phản ánh thô · show raw counts" if other == "count"
             else "Xem phần vượt mức dân số · show excess over residents")
    return label, "?" + replace(filters, measure=other).query()


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
        FormField("measure", "Measure", filters.measure,
                  choices=[("excess", "excess over residents"), ("count", "raw counts")]),
        FormField("res", "Resolution", "" if filters.resolution is None else str(filters.resolution),
                  choices=[("", "auto"), *((str(r), str(r)) for r in ANALYSIS_RESOLUTIONS)]),
        FormField("k", "Rings", "" if filters.k is None else str(filters.k),
                  choices=[("", "auto"), *((str(k), str(k)) for k in range(1, MAX_K + 1))]),
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
    """Hot and cold spots for the filters (excess over residents by default, the raw counts
    one link away), with one layer per report category.

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
                         options=options, measure=filters.measure,
                         links=[_other_measure(filters)])
