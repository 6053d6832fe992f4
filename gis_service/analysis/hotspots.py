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
from gis_service.analysis.hotspot_model import (
    Cells,
    Measure,
    Scale,
    analysis_cells,
    check_measure,
    choose_scale,
)
from gis_service.analysis.periods import Period, check_period, period_range
from gis_service.analysis.selection import (
    ANALYSIS_RESOLUTIONS,
    ReportSelection,
    TimeBound,
    check_resolution,
    report_selection,
)
from gis_service.analysis.sql import hotspots as sql
from gis_service.analysis.statistics.emerging import DEFAULT_ALPHA
from gis_service.analysis.statistics.emerging_inference import emerging_tested
from gis_service.analysis.statistics.inference import (
    DEFAULT_MIN_COUNT,
    DEFAULT_PERMUTATIONS,
    DEFAULT_SEED,
    Inference,
    check_inference,
    check_min_count,
    check_permutations,
    local_test,
)
from gis_service.analysis.statistics.weights import (
    CellWeights,
    WeightScheme,
    check_k,
    check_scheme,
)
from gis_service.errors import InvalidInput
from gis_service.reports.calendar import TZ

CRS = "EPSG:4326"
CellArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Method:
    """How to test, as asked: the measure, the inference (``auto`` resolved later, per map),
    the minimum count, the permutations and their seed."""

    measure: str = "excess"
    inference: str = "auto"
    min_count: int = DEFAULT_MIN_COUNT
    permutations: int = DEFAULT_PERMUTATIONS
    seed: int = DEFAULT_SEED


@dataclass(frozen=True)
class _Request:
    scale: Scale
    scheme: WeightScheme
    selection: ReportSelection
    measure: Measure
    method: Method


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise InvalidInput("seed must be a whole number from 0 to 4294967295", field="seed")
    return seed


def _request(conn: Connection, selection: ReportSelection, method: Method, *,
             resolution: int | None, k: int | None, weights: str, max_resolution: int
             ) -> _Request:
    scheme = check_scheme(weights)
    measure = check_measure(method.measure)
    checked = Method(measure, method.inference, check_min_count(method.min_count),
                     check_permutations(method.permutations), _check_seed(method.seed))
    if resolution is not None:
        check_resolution(resolution)
    if k is not None:
        check_k(k)
    if selection.categories:
        unknown = sql.unknown_categories(conn, selection.categories)
        if unknown:
            raise InvalidInput(f"unknown category: {', '.join(unknown)}", field="category")
    scale = choose_scale(conn, selection, measure=measure, resolution=resolution, k=k,
                         scheme=scheme, max_resolution=max_resolution)
    return _Request(scale, scheme, selection, measure, checked)


def _inference(request: _Request, weights: CellWeights) -> tuple[Inference, str]:
    """The inference to run, and why (for ``auto``: the module docstring of inference)."""
    chosen = check_inference(request.method.inference, weights)
    if request.method.inference != "auto":
        return chosen, "given"
    if chosen == "exact":
        return chosen, ("auto: binary weights, so each neighbourhood's count has an exact "
                        "binomial distribution under the background; exact p at any count")
    return chosen, "auto: decay weights give weighted sums without an exact distribution"


def _frame(cells: CellArray, columns: Mapping[str, object], attrs: Mapping[str, object]
           ) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame({"cell": grid.cell_names(cells), **columns},
                             geometry=grid.cell_polygons(cells), crs=CRS)
    frame.attrs.update(attrs)
    return frame


def _ratio(observed: npt.NDArray[np.float64], expected: npt.NDArray[np.float64]
           ) -> npt.NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(expected > 0, observed / expected, np.nan)


def hotspots(
    conn: Connection,
    *,
    resolution: int | None = None,
    k: int | None = None,
    weights: str = "binary",
    measure: str = "excess",
    inference: str = "auto",
    min_count: int = DEFAULT_MIN_COUNT,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = DEFAULT_SEED,
    categories: str | Iterable[str] | None = None,
    channel: str | None = None,
    status: str | None = None,
    start: TimeBound | None = None,
    end: TimeBound | None = None,
    max_resolution: int = max(ANALYSIS_RESOLUTIONS),
) -> gpd.GeoDataFrame:
    """Hot and cold spots of reports per H3 cell over the study area, tested so that sparse
    counts do not pass for clusters (:mod:`gis_service.analysis.statistics.inference`).

    One row per cell of the study area (zeros included): ``cell`` (H3 string), ``count``,
    ``expected`` (the cell's share of the reports under the background: residents for
    ``measure="excess"``, area for ``"count"``), ``nbhd_count`` and ``nbhd_expected`` (the
    cell and its ``k`` rings), ``ratio`` (their quotient), ``z`` (Gi* of the analysed values),
    ``p`` (two-sided, from the inference), ``p_fdr`` (Benjamini-Hochberg), ``tested`` (enough
    reports, or expected reports, for a call: ``min_count``), ``cls`` (``hot_99`` ...
    ``cold_90``, ``not_significant``) and ``geometry``. ``resolution`` and ``k`` default to
    the scale the data support (:mod:`gis_service.analysis.hotspot_model`); ``frame.attrs``
    says what was used and why (``resolution``, ``k``, ``chosen_by``, ``inference``, ...).

    >>> frame = hotspots(conn, categories=["sanitation"],
    ...                  start=dt.date(2025, 1, 1), end=dt.date(2026, 1, 1))  # doctest: +SKIP
    >>> frame.attrs["resolution"], frame.attrs["inference"]  # doctest: +SKIP
    (8, 'exact')
    """
    selection = report_selection(categories=categories, channel=channel, status=status,
                                 start=start, end=end)
    request = _request(conn, selection, Method(measure, inference, min_count, permutations, seed),
                       resolution=resolution, k=k, weights=weights,
                       max_resolution=max_resolution)
    found = analysis_cells(conn, selection, request.scale.resolution, request.measure)
    matrix = grid.weights(found.cells, request.scale.k, request.scheme)
    chosen, reason = _inference(request, matrix)
    result = local_test(found.counts, found.background, matrix, measure=request.measure,
                        inference=chosen, min_count=request.method.min_count,
                        permutations=request.method.permutations, seed=request.method.seed)
    cell_expected = _cell_expected(found)
    return _frame(
        found.cells,
        {"count": found.counts, "expected": cell_expected, "nbhd_count": result.observed,
         "nbhd_expected": result.expected, "ratio": _ratio(result.observed, result.expected),
         "z": result.z, "p": result.p, "p_fdr": result.p_fdr, "tested": result.tested,
         "cls": result.cls},
        _attrs(request, found, inference=chosen, inference_reason=reason,
               dispersion=round(result.dispersion, 4)))


def _cell_expected(found: Cells) -> npt.NDArray[np.float64]:
    tested = np.where(found.background > 0, found.counts, 0).sum()
    share = found.background / found.background.sum() if found.background.sum() > 0 else 0.0
    return np.asarray(share * tested, dtype=np.float64)


def _attrs(request: _Request, found: Cells, **extra: object) -> dict[str, object]:
    selection, method = request.selection, request.method
    return {"resolution": request.scale.resolution, "k": request.scale.k,
            "chosen_by": request.scale.chosen_by, "scale_figures": request.scale.figures,
            "weights": request.scheme, "measure": request.measure,
            "min_count": method.min_count, "permutations": method.permutations,
            "seed": method.seed,
            "categories": list(selection.categories or ()), "channel": selection.channel,
            "status": selection.status,
            "start": selection.start.isoformat() if selection.start else None,
            "end": selection.end.isoformat() if selection.end else None,
            "reports": int(found.counts.sum()), "area_cells": found.area_cells,
            "study_cells": len(found.cells), **extra}


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
    resolution: int | None = None,
    k: int | None = None,
    period: str = "month",
    weights: str = "binary",
    measure: str = "excess",
    inference: str = "auto",
    min_count: int = DEFAULT_MIN_COUNT,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = DEFAULT_SEED,
    categories: str | Iterable[str] | None = None,
    channel: str | None = None,
    status: str | None = None,
    start: TimeBound | None = None,
    end: TimeBound | None = None,
    alpha: float = DEFAULT_ALPHA,
) -> gpd.GeoDataFrame:
    """ESRI's Emerging Hot Spot Analysis categories per cell: each week or month tested as
    :func:`hotspots` tests the whole range (same measure, inference and minimum count), then a
    Mann-Kendall trend on each cell's z-scores (see
    :mod:`gis_service.analysis.statistics.emerging`).

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
    kind: Period = check_period(period)
    if not 0 < alpha < 1:
        raise InvalidInput("alpha must be between 0 and 1", field="alpha")
    request = _request(conn, selection, Method(measure, inference, min_count, permutations, seed),
                       resolution=resolution, k=k, weights=weights,
                       max_resolution=max(ANALYSIS_RESOLUTIONS))
    resolution_used = request.scale.resolution
    found = sql.cell_period_counts(conn, resolution_used, kind, selection)
    periods = _periods(selection, found, kind)
    area = analysis_cells(conn, selection, resolution_used, request.measure)
    counts = np.zeros((len(area.cells), len(periods)), dtype=np.int64)
    inside = np.isin(found.cells, area.cells)
    np.add.at(counts, (np.searchsorted(area.cells, found.cells[inside]),
                       np.searchsorted(periods, found.days[inside])), found.counts[inside])
    matrix = grid.weights(area.cells, request.scale.k, request.scheme)
    chosen, reason = _inference(request, matrix)
    result, phi, last_p = emerging_tested(counts, area.background, matrix, measure=request.measure,
                                  inference=chosen, alpha=alpha,
                                  min_count=request.method.min_count,
                                  permutations=request.method.permutations,
                                  seed=request.method.seed)
    return _frame(
        area.cells,
        {"count": counts.sum(axis=1), "category": result.category, "trend_tau": result.trend.tau,
         "trend_z": result.trend.z, "trend_p": result.trend.p, "hot_periods": result.hot_periods,
         "cold_periods": result.cold_periods, "z": result.z[:, -1],
         "p": last_p, "p_fdr": result.p_fdr[:, -1]},
        _attrs(request, area, period=kind, periods=[str(day) for day in periods.tolist()],
               alpha=alpha, inference=chosen, inference_reason=reason,
               dispersion=round(phi, 4)))
