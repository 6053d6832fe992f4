"""Hot spots and emerging hot spots of reports on H3 cells, as GeoDataFrames.

The library behind ``GET /v1/hotspots``, the maps and the notebooks: the SQL counts
(:mod:`gis_service.analysis.sql.hotspots`), the study area and weights
(:mod:`gis_service.analysis.grid`), the statistics (:mod:`gis_service.analysis.statistics`).
Every report the filters pick counts once, duplicates included (filter by ``status`` to
leave them out); cells of the service area without reports count as zeros.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from gis_service.analysis import grid
from gis_service.analysis.periods import Period, check_period, period_range
from gis_service.analysis.selection import (
    ReportSelection,
    TimeBound,
    check_resolution,
    report_selection,
)
from gis_service.analysis.sql import hotspots as sql
from gis_service.analysis.statistics.emerging import DEFAULT_ALPHA, emerging
from gis_service.analysis.statistics.hotspots import gi_star, two_sided_p
from gis_service.analysis.statistics.weights import WeightScheme, check_k, check_scheme
from gis_service.errors import InvalidInput
from gis_service.reports.calendar import TZ

CRS = "EPSG:4326"
CellArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Request:
    resolution: int
    k: int
    scheme: WeightScheme
    selection: ReportSelection


def _request(conn: Connection, resolution: int, k: int, weights: str,
             selection: ReportSelection) -> _Request:
    request = _Request(check_resolution(resolution), check_k(k), check_scheme(weights), selection)
    if selection.categories:
        unknown = sql.unknown_categories(conn, selection.categories)
        if unknown:
            raise InvalidInput(f"unknown category: {', '.join(unknown)}", field="category")
    return request


def _positions(cells: CellArray, wanted: CellArray) -> npt.NDArray[np.intp]:
    """Where each of ``wanted`` sits in the sorted ``cells`` (all of them are there)."""
    return np.searchsorted(cells, wanted)


def _frame(cells: CellArray, columns: Mapping[str, object], attrs: Mapping[str, object]
           ) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame({"cell": grid.cell_names(cells), **columns},
                             geometry=grid.cell_polygons(cells), crs=CRS)
    frame.attrs.update(attrs)
    return frame


def hotspots(
    conn: Connection,
    *,
    resolution: int = 9,
    k: int = 1,
    weights: str = "binary",
    categories: str | Iterable[str] | None = None,
    channel: str | None = None,
    status: str | None = None,
    start: TimeBound | None = None,
    end: TimeBound | None = None,
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* of report counts per H3 cell over the whole service area.

    One row per cell of the study area (zeros included): ``cell`` (H3 string), ``count``,
    ``z``, ``p`` (two-sided), ``p_fdr`` (Benjamini-Hochberg), ``cls`` (``hot_99`` ...
    ``cold_90``, ``not_significant``, from ``p_fdr``) and ``geometry`` (the hexagon, EPSG:4326).
    ``k`` rings of neighbours (1-5), ``weights`` ``binary`` or ``decay``; filters as in
    :func:`gis_service.analysis.selection.report_selection` (dates are Huế's midnight).
    ``frame.attrs`` holds the parameters and totals.

    >>> frame = hotspots(conn, resolution=9, k=1, categories=["sanitation"],
    ...                  start=dt.date(2025, 1, 1), end=dt.date(2026, 1, 1))  # doctest: +SKIP
    >>> frame.loc[frame.cls == "hot_99", ["cell", "count", "z"]].head(3)  # doctest: +SKIP
    """
    selection = report_selection(categories=categories, channel=channel, status=status,
                                 start=start, end=end)
    request = _request(conn, resolution, k, weights, selection)
    area = grid.study_area(conn, request.resolution)
    found = sql.cell_counts(conn, request.resolution, selection)
    cells = grid.with_cells(area, found.cells)
    counts = np.zeros(len(cells), dtype=np.int64)
    counts[_positions(cells, found.cells)] = found.counts
    result = gi_star(counts, grid.weights(cells, request.k, request.scheme))
    return _frame(
        cells, {"count": counts, "z": result.z, "p": result.p, "p_fdr": result.p_fdr,
                "cls": result.cls},
        _attrs(request, reports=int(counts.sum()), area_cells=len(area.cells)))


def _attrs(request: _Request, **extra: object) -> dict[str, object]:
    selection = request.selection
    return {"resolution": request.resolution, "k": request.k, "weights": request.scheme,
            "categories": list(selection.categories or ()), "channel": selection.channel,
            "status": selection.status,
            "start": selection.start.isoformat() if selection.start else None,
            "end": selection.end.isoformat() if selection.end else None, **extra}


def _periods(selection: ReportSelection, found: sql.PeriodCounts, kind: Period
             ) -> npt.NDArray[np.datetime64]:
    """The periods to compare: those holding the range asked for, else the reports' own."""
    first = selection.start.astimezone(TZ).date() if selection.start else None
    last = ((selection.end - dt.timedelta(microseconds=1)).astimezone(TZ).date()
            if selection.end else None)
    if len(found.days):
        first = first or found.days.min().astype(dt.date)
        last = last or found.days.max().astype(dt.date)
    if first is None or last is None:
        raise InvalidInput("no reports match these filters, so there are no periods to "
                           "compare: give from and to", field="from")
    return period_range(first, last, kind)


def emerging_hotspots(
    conn: Connection,
    *,
    resolution: int = 9,
    k: int = 1,
    period: str = "month",
    weights: str = "binary",
    categories: str | Iterable[str] | None = None,
    channel: str | None = None,
    status: str | None = None,
    start: TimeBound | None = None,
    end: TimeBound | None = None,
    alpha: float = DEFAULT_ALPHA,
) -> gpd.GeoDataFrame:
    """ESRI's Emerging Hot Spot Analysis categories per cell: Gi* per week or month, then a
    Mann-Kendall trend on each cell's z-scores (see :mod:`gis_service.analysis.statistics.emerging`).

    One row per cell of the study area: ``cell``, ``count`` (reports over the whole range),
    ``category`` (``new_hot`` ... ``historical_cold``, ``no_pattern``), ``trend_tau``,
    ``trend_z``, ``trend_p``, ``hot_periods``, ``cold_periods``, ``z``, ``p`` and ``p_fdr`` of
    the final period, ``geometry``. Periods run from the period holding ``start`` (else the first
    report) to the one holding ``end`` (else the last); at least 10 are needed. A period cut by
    ``start`` or ``end`` counts only its part. ``frame.attrs["periods"]`` lists their first days.

    >>> frame = emerging_hotspots(conn, resolution=8, period="month",
    ...                           start=dt.date(2025, 12, 1), end=dt.date(2026, 12, 1))  # doctest: +SKIP
    >>> frame.category.value_counts().head(3)  # doctest: +SKIP
    """
    selection = report_selection(categories=categories, channel=channel, status=status,
                                 start=start, end=end)
    request = _request(conn, resolution, k, weights, selection)
    kind: Period = check_period(period)
    if not 0 < alpha < 1:
        raise InvalidInput("alpha must be between 0 and 1", field="alpha")
    found = sql.cell_period_counts(conn, request.resolution, kind, selection)
    periods = _periods(selection, found, kind)
    area = grid.study_area(conn, request.resolution)
    cells = grid.with_cells(area, found.cells)
    counts = np.zeros((len(cells), len(periods)), dtype=np.int64)
    np.add.at(counts, (_positions(cells, found.cells), np.searchsorted(periods, found.days)),
              found.counts)
    result = emerging(counts, grid.weights(cells, request.k, request.scheme), alpha=alpha)
    return _frame(
        cells,
        {"count": counts.sum(axis=1), "category": result.category, "trend_tau": result.trend.tau,
         "trend_z": result.trend.z, "trend_p": result.trend.p, "hot_periods": result.hot_periods,
         "cold_periods": result.cold_periods, "z": result.z[:, -1],
         "p": two_sided_p(result.z[:, -1]), "p_fdr": result.p_fdr[:, -1]},
        _attrs(request, reports=int(counts.sum()), area_cells=len(area.cells), period=kind,
               periods=[str(day) for day in periods.tolist()], alpha=alpha))
