"""The coverage map: communes shaded by reports per 1,000 residents, urban and rural apart."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import folium
import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection

from gis_service.analysis import coverage, coverage_summary
from gis_service.analysis.coverage import DEFAULT_FLAG_MODEL, FLAG_MODEL_NOTES
from gis_service.analysis.selection import TimeBound
from gis_service.boundaries import generations
from gis_service.maps.base import MapOptions, base_map, frame_bounds
from gis_service.maps.boundaries import COMMUNE_CLASS, OUTLINE, SIMPLIFY_DEG
from gis_service.maps.controls import FormField, LegendEntry, legend, panel
from gis_service.maps.geojson import feature_collection
from gis_service.maps.layers import outline_pane, styled_geojson

# ColorBrewer PuBu, one colour per quintile of the smoothed rate (class 1 = fewest reports).
QUINTILE_COLOURS = ("#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d")
NO_DATA_COLOUR = "#cccccc"
FLAG_COLOUR = "#d7301f"
# Flagged communes' outlines carry this CSS class.
FLAG_CLASS = "gis-flag"
SETTING_LAYERS = (("urban", "Urban wards (phường, thị trấn)"), ("rural", "Rural communes (xã)"))
DEFAULT_GENERATION = "2025"


@dataclass(frozen=True)
class CoverageFilters:
    """The page's filters: the query parameters of /maps/coverage, as /v1/coverage takes them."""

    generation: str = DEFAULT_GENERATION
    start: TimeBound | None = None
    end: TimeBound | None = None
    categories: tuple[str, ...] | None = None
    attribution: str = "point"
    model: str = DEFAULT_FLAG_MODEL

    def communes(self, conn: Connection) -> gpd.GeoDataFrame:
        return coverage(conn, generation=self.generation, start=self.start, end=self.end,
                        categories=self.categories, attribution=self.attribution,
                        model=self.model)

    def summary(self, conn: Connection) -> pd.DataFrame:
        return coverage_summary(conn, generation=self.generation, start=self.start,
                                end=self.end, categories=self.categories,
                                attribution=self.attribution, model=self.model)


def _number(digits: int) -> Callable[[object], str]:
    def show(value: object) -> str:
        if not isinstance(value, int | float) or not math.isfinite(value):
            return "–"
        return f"{value:,.{digits}f}"
    return show


def _percent(value: object) -> str:
    return "–" if not isinstance(value, float) or not math.isfinite(value) else f"{value:.0%}"


# (column shown, tooltip alias, how it is written)
_TOOLTIP: tuple[tuple[str, str, Callable[[object], str]], ...] = (
    ("name", "Commune", str),
    ("setting", "Setting", str),
    ("population", "Population", _number(0)),
    ("reports", "Reports", _number(0)),
    ("rate_per_1000", "Reports per 1,000", _number(1)),
    ("rate_eb", "Per 1,000, smoothed (EB)", _number(1)),
    ("expected", "Expected reports", _number(0)),
    ("observed_to_expected", "Observed / expected", _number(2)),
    ("under_reporting", "Under-reporting (FDR 5%)", lambda v: "yes" if v else "no"),
    ("flag_model", "Flag model", str),
    ("response_median_h", "Median hours to response", _number(1)),
    ("resolution_median_h", "Median hours to resolution", _number(1)),
    ("share_within_deadline", "Resolved within deadline", _percent),
    ("satisfaction", "Mean satisfaction (1–5)", _number(2)),
    ("reporting_rate_per_day", "Reports per day while open (LBG)", _number(3)),
    ("reporting_delay_days", "Days before a first report (LBG)", _number(1)),
    ("reporting_rate", "Reports per incident (zero-truncated, not calibrated)", _number(2)),
)
#: How the panel names each model (the API's ``model`` values).
MODEL_LABELS = {"population_only": "residents only", "with_setting": "residents and setting"}
METHOD_LINES = (
    "Reporting rate: Liu, Bhandaram & Garg (2024), further reports while an incident is open, "
    "Poisson regression with the open days as exposure; 95% profile likelihood intervals, "
    "calibrated on generated data (94-98% hold the truth). Delay = 1 / rate.",
)


def _tooltip_frame(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The communes with every tooltip value written out, and the class that colours them."""
    shown = {column: communes[column].map(write) for column, _, write in _TOOLTIP}
    return gpd.GeoDataFrame({"code": communes["code"], **shown,
                             "rate_class": communes["rate_class"].astype(int)},
                            geometry=communes.geometry.values, crs=communes.crs)


def _choropleth_style(feature: dict[str, dict[str, int]]) -> dict[str, object]:
    rate_class = int(feature["properties"]["rate_class"])
    colour = QUINTILE_COLOURS[rate_class - 1] if 1 <= rate_class <= 5 else NO_DATA_COLOUR
    return {"fillColor": colour, "fillOpacity": 0.8, "color": OUTLINE, "weight": 1,
            "className": COMMUNE_CLASS}


def _flag_style(_: object) -> dict[str, object]:
    return {"color": FLAG_COLOUR, "weight": 3, "dashArray": "6 4", "fill": False,
            "className": FLAG_CLASS}


def setting_layer(communes: gpd.GeoDataFrame, name: str) -> folium.GeoJson:
    """One setting's communes, shaded by quintile, with every metric in the tooltip."""
    data = feature_collection(_tooltip_frame(communes), id_column="code",
                              properties=[c for c, _, _ in _TOOLTIP] + ["rate_class"],
                              simplify_deg=SIMPLIFY_DEG)
    return styled_geojson(data, style=_choropleth_style,
                          tooltip=[(c, alias) for c, alias, _ in _TOOLTIP], name=name,
                          overlay=True)


def quintile_legend(communes: gpd.GeoDataFrame) -> list[LegendEntry]:
    """One entry per rate class present, with the range of smoothed rates it holds."""
    entries = []
    for rate_class, colour in enumerate(QUINTILE_COLOURS, start=1):
        rates = communes.loc[communes["rate_class"] == rate_class, "rate_eb"]
        if len(rates):
            entries.append(LegendEntry(f"{rates.min():,.1f} – {rates.max():,.1f}", colour))
    if (communes["rate_class"] == 0).any():
        entries.append(LegendEntry("no residents on record", NO_DATA_COLOUR))
    return entries


def _summary_lines(summary: pd.DataFrame) -> list[str]:
    """Urban against rural (with 95% intervals), from coverage_summary's rows."""
    values = summary[["estimate", "low", "high"]].astype(float).to_numpy()
    rows = {(metric, setting): tuple(value) for metric, setting, value
            in zip(summary["metric"], summary["setting"], values, strict=True)}
    lines = []
    for metric, label in (("rate_per_1000", "Reports per 1,000 residents"),
                          ("reporting_rate_per_day", "Reports per day while open (LBG)"),
                          ("reporting_delay_days", "Days before a first report (LBG)"),
                          ("reporting_rate", "Reports per incident (zero-truncated, "
                                             "not calibrated)")):
        found = [(setting, rows.get((metric, setting)))
                 for setting in ("urban", "rural", "urban/rural")]
        parts = [f"{setting} {value[0]:,.2f} ({value[1]:,.2f}–{value[2]:,.2f})"
                 for setting, value in found if value is not None]
        if parts:
            lines.append(f"{label}: {'; '.join(parts)}.")
    return lines


def method_lines(model: str) -> list[str]:
    """The methods the page shows, named: the reporting rate's and the flag model's."""
    return [*METHOD_LINES,
            f"Under-reporting flags, model '{model}' ({MODEL_LABELS[model]}): "
            f"{FLAG_MODEL_NOTES[model]}."]


def draw_coverage(communes: gpd.GeoDataFrame, *, lines: Sequence[str] = (),
                  form: Sequence[FormField] = (), options: MapOptions | None = None
                  ) -> folium.Map:
    """The page from a coverage frame (see :func:`gis_service.analysis.coverage`)."""
    fmap = base_map("Reporting coverage", frame_bounds(communes), options)
    for setting, name in SETTING_LAYERS:
        setting_layer(communes.loc[communes["setting"] == setting], name).add_to(fmap)
    flagged = communes.loc[communes["under_reporting"].astype(bool)]
    data = feature_collection(flagged, id_column="code", properties=("name",),
                              simplify_deg=SIMPLIFY_DEG)
    styled_geojson(data, style=_flag_style, name=f"Under-reporting ({len(flagged)})",
                   overlay=True, interactive=False, pane=outline_pane(fmap)).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    panel("Reporting coverage", lines, form).add_to(fmap)
    entries = quintile_legend(communes)
    model = str(communes.attrs.get("model", DEFAULT_FLAG_MODEL))
    entries.append(LegendEntry(f"significant under-reporting (model: {MODEL_LABELS[model]})",
                               FLAG_COLOUR, outline=True))
    legend("Reports per 1,000 residents (EB-smoothed, quintiles)", entries).add_to(fmap)
    return fmap


def _form(filters: CoverageFilters, known: Sequence[str]) -> list[FormField]:
    def day(value: TimeBound | None) -> str:
        return value.isoformat() if value else ""
    return [
        FormField("generation", "Generation", filters.generation,
                  choices=[(code, code) for code in known]),
        FormField("from", "From", day(filters.start), input_type="date"),
        FormField("to", "Before", day(filters.end), input_type="date"),
        FormField("model", "Flag model", filters.model,
                  choices=[(code, label) for code, label in MODEL_LABELS.items()]),
    ]


def coverage_map(conn: Connection, filters: CoverageFilters | None = None, *,
                 with_summary: bool = True, options: MapOptions | None = None) -> folium.Map:
    """Communes of a generation shaded by their smoothed report rate, an overlay per setting
    (the urban/rural toggle), flagged under-reporting outlined, and the urban–rural summary.

    >>> fmap = coverage_map(conn, CoverageFilters(generation="2025"))  # doctest: +SKIP
    """
    filters = filters or CoverageFilters()
    communes = filters.communes(conn)
    total = int(communes["reports"].sum())
    lines = [f"Generation {filters.generation}: {len(communes)} communes, {total:,} reports."]
    if not total:
        lines.append("No reports match these filters: nothing to compare.")
    elif with_summary:
        lines += _summary_lines(filters.summary(conn))
    lines += method_lines(filters.model)
    known = [found.code for found in generations.list_generations(conn)]
    return draw_coverage(communes, lines=lines, form=_form(filters, known), options=options)
