"""Coverage gaps between urban wards and rural communes, as GeoDataFrames and tables.

Per commune of a boundary generation, over a time range and a set of categories:

- reports per 1,000 residents, raw and Empirical Bayes smoothed (global and local; see
  :mod:`gis_service.analysis.statistics.coverage`), with quintile classes for maps;
- response and resolution hours (median and 90th percentile) over all of the commune's reports
  and **per category** (:func:`coverage_by_category`), and a mix-adjusted ``response_index``:
  the commune's per-category medians relative to the province's per-category medians,
  averaged (geometrically) with the commune's report counts as weights, so a commune whose
  reports are mostly of slow categories is not called slow for it (1 = as fast as the
  province for the same categories, 2 = twice as long);
- the share of reports resolved within the deadline, mean satisfaction, channel shares;
- observed against expected reports (negative binomial on population and setting; per
  category by the setting's category mix) and a flag for significant under-reporting;
- the reporting rate (reports per incident) estimated from duplicate reports, with interval.

:func:`coverage_summary` compares urban wards with rural communes, :func:`reporting_rates`
gives the duplicate-based estimates alone, and :func:`populated_gaps` the H3 cells that hold a
share of a commune's residents and had no reports.

Reports are attributed to the generation's communes by their point (exact) or, with
``attribution="crosswalk"``, counts filed under another generation's communes are spread by the
crosswalk (see :mod:`gis_service.analysis.sql.coverage`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection

from gis_service.analysis import grid, reporting_process
from gis_service.analysis.selection import TimeBound, report_selection
from gis_service.analysis.sql import coverage as sql
from gis_service.analysis.sql.hotspots import unknown_categories
from gis_service.analysis.sql.reporting_rates import incident_windows
from gis_service.analysis.statistics import coverage as stats
from gis_service.analysis.statistics import reporting_rates as rs
from gis_service.boundaries import generations
from gis_service.boundaries.crosswalk import reaggregate
from gis_service.boundaries.frames import units_frame
from gis_service.cells import cells_covering
from gis_service.db.schema import CHANNELS
from gis_service.errors import InvalidInput

__all__ = [
    "DEFAULT_GAP_THRESHOLD",
    "cell_coverage",
    "coverage",
    "coverage_by_category",
    "coverage_summary",
    "populated_gaps",
    "reporting_rates",
]

#: A res-9 cell (0.105 km²) of a commune of 210 km² holds 0.05% of its residents by areal
#: weighting: the default keeps every full cell of all but the largest communes and drops slivers.
DEFAULT_GAP_THRESHOLD = 0.0005
FDR = 0.05
LEVEL = 0.95
_PER = 1000.0
_SETTINGS = ("urban", "rural")
_BOOTSTRAP_SEED = 20240101
#: The expected-reports models behind the under-reporting flag, and the default.
FLAG_MODELS = ("population_only", "with_setting")
#: Population only by default: planners ask which wards are under-served *relative to their
#: residents*, and the urban-rural gap is the finding; a model with the setting term explains
#: the gap away and flags only communes unusual within their own setting.
DEFAULT_FLAG_MODEL = "population_only"
FLAG_MODEL_NOTES = {
    "population_only": ("expected reports from residents alone (one province-wide rate): a "
                        "flag means fewer reports than the residents predict, from fewer "
                        "incidents or less reporting (the reporting rate per day tells them "
                        "apart); the urban-rural gap shows"),
    "with_setting": ("expected reports from residents and the urban/rural setting: a flag "
                     "means fewer reports than communes of the same setting make; the "
                     "urban-rural gap is adjusted away"),
}
#: The zero-truncated estimator (reports per incident) kept for comparison, marked.
ZTP_NOTE = {
    "method": "zero-truncated Poisson of duplicate-group sizes (reports per incident)",
    "calibrated": False,
    "note": ("not calibrated: it assumes each incident is reported K ~ Poisson(r) times; with "
             "reports arriving in time over windows that differ, and communes whose rates "
             "differ, its 95% intervals held the truth in under 50% of 50 generator seeds. "
             "Use reporting_rate_per_day."),
}


@dataclass(frozen=True)
class _Request:
    generation: generations.Generation
    scope: sql.Scope
    attribution: sql.Attribution


def _request(conn: Connection, generation: str, *, start: TimeBound | None,
             end: TimeBound | None, categories: str | Iterable[str] | None,
             attribution: str = "point") -> _Request:
    """Check every parameter once: unknown generation 404, bad range or category 400."""
    if attribution not in sql.ATTRIBUTIONS:
        raise InvalidInput("attribution must be point or crosswalk", field="attribution")
    chosen = generations.by_code(conn, generation)
    selection = report_selection(categories=categories, start=start, end=end)
    if selection.categories is not None:
        unknown = unknown_categories(conn, selection.categories)
        if unknown:
            raise InvalidInput(f"unknown category: {', '.join(unknown)}", field="category")
    scope = sql.Scope(chosen.id, selection.start, selection.end, selection.categories)
    return _Request(chosen, scope, "crosswalk" if attribution == "crosswalk" else "point")


# -- counts ----------------------------------------------------------------------------------

_COUNT_KEYS = ["unit_code", "category", "channel"]


def _reaggregated(conn: Connection, request: _Request, foreign: pd.DataFrame) -> pd.DataFrame:
    """Counts filed under other generations' communes, spread over this generation's by the
    crosswalk's population shares (one re-aggregation per category, channel and measure)."""
    rows: list[dict[str, object]] = []
    for (source, category, channel), group in foreign.groupby(
            ["source_generation", "category", "channel"]):
        spread = {measure: reaggregate(conn, str(source), request.generation.code,
                                       dict(zip(group["unit_code"], group[measure].astype(float),
                                                strict=True)))
                  for measure in ("reports", "originals")}
        rows.extend({"unit_code": code, "category": category, "channel": channel,
                     "reports": value, "originals": spread["originals"].get(code, 0.0)}
                    for code, value in spread["reports"].items())
    return pd.DataFrame(rows, columns=[*_COUNT_KEYS, "reports", "originals"])


def _counts(conn: Connection, request: _Request) -> pd.DataFrame:
    """Reports and originals per commune, category and channel (floats with a crosswalk)."""
    raw = sql.category_channel_counts(conn, request.scope, request.attribution)
    native = raw[raw["source_generation"].isna()]
    frames = [native[[*_COUNT_KEYS, "reports", "originals"]].astype({"reports": float,
                                                                     "originals": float})]
    foreign = raw[raw["source_generation"].notna()]
    if len(foreign):
        frames.append(_reaggregated(conn, request, foreign))
    counts = pd.concat(frames, ignore_index=True)
    return counts.groupby(_COUNT_KEYS, as_index=False)[["reports", "originals"]].sum()


# -- the per-commune table ---------------------------------------------------------------------

def _neighbour_lists(conn: Connection, request: _Request, codes: pd.Index) -> list[list[int]]:
    position = {code: i for i, code in enumerate(codes)}
    lists: list[list[int]] = [[] for _ in codes]
    for a, b in sql.neighbour_pairs(conn, request.generation.id):
        if a in position and b in position:
            lists[position[a]].append(position[b])
    return lists


def _rates(frame: pd.DataFrame, neighbours: list[list[int]]) -> None:
    reports, population = frame["reports"].to_numpy(), frame["population"].to_numpy()
    frame["rate_per_1000"] = stats.rate_per(reports, population, _PER)
    if (population > 0).any():
        frame["rate_eb"] = _PER * stats.global_eb(reports, population).rate
        frame["rate_eb_local"] = _PER * stats.local_eb(reports, population, neighbours).rate
    else:
        frame["rate_eb"] = frame["rate_eb_local"] = math.nan
    frame["rate_class"] = stats.quantile_classes(frame["rate_eb"].to_numpy())


def _design(setting: pd.Series, model: str) -> np.ndarray:
    """Intercept, and with the setting an urban indicator (expected reports per resident
    differ by setting)."""
    if model == "population_only":
        return np.ones((len(setting), 1))
    return np.column_stack([np.ones(len(setting)), (setting == "urban").to_numpy(float)])


def _expected(frame: pd.DataFrame, model: str) -> stats.NegativeBinomialFit | None:
    """Fit the expected-reports model on the populated communes; add expected and the flag."""
    populated = (frame["population"] > 0).to_numpy()
    frame["expected"] = np.nan
    frame["flag_model"] = model
    if populated.sum() < 3:
        frame["p_under"] = frame["q_under"] = np.nan
        frame["under_reporting"] = False
        return None
    part = frame[populated]
    fit = stats.fit_negative_binomial(part["reports"], part["population"],
                                      _design(part["setting"], model))
    frame.loc[populated, "expected"] = fit.mean
    flags = stats.under_reporting(frame["reports"], frame["expected"].fillna(0.0), fit.theta, fdr=FDR)
    frame["observed_to_expected"] = frame["reports"] / frame["expected"]
    frame["p_under"], frame["q_under"], frame["under_reporting"] = (
        flags.p_value, flags.q_value, flags.flag)
    return fit


def _channel_shares(frame: pd.DataFrame, counts: pd.DataFrame) -> None:
    by_channel = counts.pivot_table(index="unit_code", columns="channel", values="reports",
                                    aggfunc="sum", fill_value=0.0)
    by_channel = by_channel.reindex(index=frame.index, columns=list(CHANNELS), fill_value=0.0)
    total = by_channel.sum(axis=1).replace(0.0, np.nan)
    for channel in CHANNELS:
        frame[f"share_{channel}"] = by_channel[channel] / total


def _service(levels: pd.DataFrame) -> pd.DataFrame:
    """Per-commune service columns from the grouping-sets rows of one grouping."""
    out = levels.set_index("unit_code")[
        ["originals", "response_median_h", "response_p90_h", "resolution_median_h",
         "resolution_p90_h"]].astype(float)
    per = levels.set_index("unit_code")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share_within_deadline"] = (per["within_deadline"] / per["due"].replace(0, np.nan))
        out["satisfaction"] = per["satisfaction_sum"] / per["rated"].replace(0, np.nan)
    return out.astype(float)


def _response_index(levels: pd.DataFrame, column: str) -> pd.Series:
    """Each commune's per-category medians against the province's, geometric mean weighted by
    the commune's reports of each category (the mix-adjusted slowness, 1 = like the province)."""
    province = levels[levels["grouping"] == 5].set_index("category")[column]
    per = levels[levels["grouping"] == 1].dropna(subset=[column])
    per = per[per[column] > 0]
    reference = per["category"].map(province)
    log_ratio = pd.Series(np.log(per[column].astype(float) / reference.astype(float)),
                          index=per.index)
    weights = per["originals"].astype(float)
    weighted = (log_ratio * weights).groupby(per["unit_code"]).sum()
    return pd.Series(np.exp(weighted / weights.groupby(per["unit_code"]).sum()))


def _reporting(frame: pd.DataFrame, groups: pd.DataFrame) -> None:
    groups = groups.set_index("unit_code").reindex(frame.index, fill_value=0)
    rates = stats.reporting_rates(groups["incidents"], groups["reports"], LEVEL)
    frame["incidents"] = rates.incidents
    frame["reporting_rate"], frame["reporting_rate_low"], frame["reporting_rate_high"] = (
        rates.rate, rates.low, rates.high)
    frame["unreported_share"] = rates.unreported_share
    frame["reporting_rate_calibrated"] = False


def _reporting_in_time(frame: pd.DataFrame, windows: pd.DataFrame) -> None:
    """The reporting rate per day and the delay before a first report (Liu, Bhandaram, Garg)."""
    totals = windows.groupby("unit_code")[["further", "exposure_days"]].sum()
    totals = totals.reindex(frame.index, fill_value=0)
    rates = rs.poisson_rates(totals["further"], totals["exposure_days"], LEVEL)
    frame["further_reports"], frame["exposure_days"] = rates.further, rates.exposure_days
    frame["reporting_rate_per_day"] = rates.rate
    frame["reporting_rate_per_day_low"], frame["reporting_rate_per_day_high"] = rates.low, rates.high
    frame["reporting_delay_days"] = rates.delay_days
    frame["reporting_delay_days_low"], frame["reporting_delay_days_high"] = (
        rates.delay_low, rates.delay_high)


@dataclass(frozen=True)
class _Gathered:
    """Everything the public functions shape, fetched once."""

    request: _Request
    units: gpd.GeoDataFrame
    counts: pd.DataFrame
    levels: pd.DataFrame
    groups: pd.DataFrame
    windows: pd.DataFrame


def _gather(conn: Connection, generation: str, *, start: TimeBound | None,
            end: TimeBound | None, categories: str | Iterable[str] | None,
            attribution: str) -> _Gathered:
    request = _request(conn, generation, start=start, end=end, categories=categories,
                       attribution=attribution)
    units = units_frame(conn, request.generation.code).set_index("code")
    units["population"] = units["population"].fillna(0).astype(float)
    return _Gathered(request, units, _counts(conn, request),
                     sql.service_levels(conn, request.scope),
                     sql.duplicate_groups(conn, request.scope),
                     incident_windows(conn, request.scope))


def _check_model(model: str) -> str:
    if model not in FLAG_MODELS:
        raise InvalidInput(f"model must be one of {', '.join(FLAG_MODELS)}", field="model")
    return model


def methods(model: str) -> dict[str, object]:
    """What the coverage figures are and how far they can be trusted, for the API and maps."""
    return {"reporting_rate_per_day": reporting_process.METHOD_NOTE,
            "reporting_rate": ZTP_NOTE,
            "under_reporting": {"flag_model": model, "note": FLAG_MODEL_NOTES[model],
                                "test": "negative binomial lower tail, Benjamini-Hochberg",
                                "fdr": FDR}}


def _commune_table(conn: Connection, data: _Gathered,
                   model: str = DEFAULT_FLAG_MODEL) -> gpd.GeoDataFrame:
    frame = data.units[["name", "setting", "population", "area_km2", "geometry"]].copy()
    totals = data.counts.groupby("unit_code")[["reports", "originals"]].sum()
    frame["reports"] = totals["reports"].reindex(frame.index, fill_value=0.0)
    _rates(frame, _neighbour_lists(conn, data.request, frame.index))
    service = _service(data.levels[data.levels["grouping"] == 2])
    frame = frame.join(service.drop(columns="originals"))
    frame["response_index"] = _response_index(data.levels, "response_median_h")
    frame["resolution_index"] = _response_index(data.levels, "resolution_median_h")
    _channel_shares(frame, data.counts)
    _expected(frame, model)
    _reporting(frame, data.groups)
    _reporting_in_time(frame, data.windows)
    return frame


def coverage(conn: Connection, *, generation: str = "2025", start: TimeBound | None = None,
             end: TimeBound | None = None, categories: str | Iterable[str] | None = None,
             attribution: str = "point", model: str = DEFAULT_FLAG_MODEL) -> gpd.GeoDataFrame:
    """One row per commune of ``generation`` with its coverage metrics and polygon (EPSG:4326).

    Columns: code, name, setting, population, area_km2, reports, rate_per_1000, rate_eb,
    rate_eb_local, rate_class, response/resolution median and p90 hours (all categories),
    response_index and resolution_index (mix-adjusted), share_within_deadline, satisfaction,
    share_app/web/hotline, expected, observed_to_expected, p_under, q_under, under_reporting,
    flag_model (which expected-reports model, ``model``: ``population_only`` or
    ``with_setting``), incidents, reporting_rate with its low/high and unreported_share (the
    zero-truncated estimator, ``reporting_rate_calibrated`` false), further_reports,
    exposure_days, reporting_rate_per_day and reporting_delay_days with their low/high (Liu,
    Bhandaram and Garg, calibrated); geometry. ``frame.attrs["methods"]`` describes them.

    >>> frame = coverage(conn, generation="2025", start=dt.date(2025, 7, 1))  # doctest: +SKIP
    >>> frame.loc[frame["under_reporting"], ["code", "name", "rate_eb"]]  # doctest: +SKIP
    """
    _check_model(model)
    data = _gather(conn, generation, start=start, end=end, categories=categories,
                   attribution=attribution)
    frame = _commune_table(conn, data, model).reset_index(names="code")
    frame.attrs.update(generation=data.request.generation.code, attribution=attribution,
                       model=model, methods=methods(model))
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def coverage_by_category(conn: Connection, *, generation: str = "2025",
                         start: TimeBound | None = None, end: TimeBound | None = None,
                         categories: str | Iterable[str] | None = None,
                         attribution: str = "point") -> pd.DataFrame:
    """One row per commune and category: reports, expected (the commune's expected total split
    by its setting's category mix), and the service levels of that category alone, beside the
    province's median for the same category.

    >>> coverage_by_category(conn, generation="2025").query("category == 'roads'")  # doctest: +SKIP
    """
    data = _gather(conn, generation, start=start, end=end, categories=categories,
                   attribution=attribution)
    communes = _commune_table(conn, data)
    counts = data.counts.groupby(["unit_code", "category"], as_index=False).agg(
        reports=("reports", "sum"))
    levels = data.levels[data.levels["grouping"] == 1]
    service = _service(levels).set_index(levels["category"].to_numpy(), append=True)
    service.index.names = ["unit_code", "category"]
    long = counts.set_index(["unit_code", "category"]).join(service, how="outer").reset_index()
    long = long.merge(communes[["name", "setting", "expected"]], left_on="unit_code",
                      right_index=True)
    long["expected"] = long["expected"] * _category_mix(counts, communes, long)
    province = data.levels[data.levels["grouping"] == 5].set_index("category")
    for column in ("response_median_h", "resolution_median_h"):
        long[f"province_{column}"] = long["category"].map(province[column]).astype(float)
    long["reports"] = long["reports"].fillna(0.0)
    long = long.rename(columns={"unit_code": "code"}).sort_values(["code", "category"])
    out: pd.DataFrame = long.reset_index(drop=True)
    return out


def _category_mix(counts: pd.DataFrame, communes: gpd.GeoDataFrame, long: pd.DataFrame
                  ) -> pd.Series:
    """Each row's category share among all reports of its commune's setting."""
    setting = counts["unit_code"].map(communes["setting"])
    by_setting = counts.groupby([setting, counts["category"]])["reports"].sum()
    shares = by_setting / by_setting.groupby(level=0).transform("sum")
    keys = pd.MultiIndex.from_arrays([long["setting"], long["category"]])
    return pd.Series(shares.reindex(keys).to_numpy(), index=long.index).fillna(0.0)


# -- urban against rural ---------------------------------------------------------------------

_BOOTSTRAP = "cluster bootstrap over communes (2,000 resamples), percentile"


def _row(metric: str, setting: str, interval: stats.Interval | float, method: str
         ) -> dict[str, object]:
    if isinstance(interval, stats.Interval):
        return {"metric": metric, "setting": setting, "estimate": interval.estimate,
                "low": interval.low, "high": interval.high, "interval": method}
    return {"metric": metric, "setting": setting, "estimate": interval, "low": math.nan,
            "high": math.nan, "interval": method}


def _ratio_rows(metric: str, frame: pd.DataFrame, numerator: str, denominator: str,
                scale: float = 1.0) -> list[dict[str, object]]:
    """The metric per setting and the urban/rural ratio, with cluster-bootstrap intervals."""
    parts = {s: frame[frame["setting"] == s] for s in _SETTINGS}
    rows = []
    for setting, part in parts.items():
        found = stats.bootstrap_ratio(part[numerator] * scale, part[denominator],
                                      level=LEVEL, seed=_BOOTSTRAP_SEED)
        rows.append(_row(metric, setting, found, _BOOTSTRAP))
    ratio = stats.bootstrap_ratio_of_ratios(
        *((parts[s][numerator], parts[s][denominator]) for s in _SETTINGS),
        level=LEVEL, seed=_BOOTSTRAP_SEED)
    rows.append(_row(metric, "urban/rural", ratio, _BOOTSTRAP))
    return rows


def _index_parts(data: _Gathered, column: str) -> pd.DataFrame:
    """Per commune: Σ_k n_k log(median_k / province median_k) and Σ_k n_k, for bootstrapping
    the mix-adjusted index as a ratio of sums."""
    levels = data.levels
    province = levels[levels["grouping"] == 5].set_index("category")[column]
    per = levels[(levels["grouping"] == 1) & (levels[column] > 0)].copy()
    per["weighted"] = per["originals"] * np.log(per[column].astype(float)
                                                 / per["category"].map(province).astype(float))
    return per.groupby("unit_code")[["weighted", "originals"]].sum()


def _index_rows(metric: str, data: _Gathered, frame: pd.DataFrame, column: str
                ) -> list[dict[str, object]]:
    parts = _index_parts(data, column).join(frame["setting"])
    rows = []
    replicates: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(_BOOTSTRAP_SEED)
    for setting in _SETTINGS:
        part = parts[parts["setting"] == setting]
        sums = stats.bootstrap_sums(part[["weighted", "originals"]], seed=rng)
        with np.errstate(divide="ignore", invalid="ignore"):  # no reports: NaN, no interval
            replicates[setting] = np.exp(sums[:, 0] / sums[:, 1])
        estimate = math.exp(part["weighted"].sum() / part["originals"].sum()) if len(part) else math.nan
        rows.append(_row(metric, setting, stats.percentile_interval(
            estimate, replicates[setting], LEVEL), _BOOTSTRAP))
    ratio = rows[0]["estimate"] / rows[1]["estimate"]  # type: ignore[operator]
    rows.append(_row(metric, "urban/rural", stats.percentile_interval(
        float(ratio), replicates["urban"] / replicates["rural"], LEVEL), _BOOTSTRAP))
    return rows


def _reporting_rows(frame: pd.DataFrame, groups: pd.DataFrame) -> list[dict[str, object]]:
    per = groups.set_index("unit_code").join(frame["setting"])
    pooled = per.groupby("setting")[["incidents", "reports"]].sum().reindex(list(_SETTINGS))
    rates = stats.reporting_rates(pooled["incidents"], pooled["reports"], LEVEL)
    method = ("likelihood ratio, zero-truncated Poisson pooled over the setting's incidents "
              "(not calibrated)")
    rows = []
    for i, setting in enumerate(_SETTINGS):
        rate = stats.Interval(float(rates.rate[i]), float(rates.low[i]), float(rates.high[i]), LEVEL)
        rows.append(_row("reporting_rate", setting, rate, method))
        rows.append(_row("unreported_share", setting, stats.Interval(
            math.exp(-rate.estimate), math.exp(-rate.high), math.exp(-rate.low), LEVEL), method))
    rng = np.random.default_rng(_BOOTSTRAP_SEED)
    replicates = [stats.ztp_rate(*stats.bootstrap_sums(
        per.loc[per["setting"] == s, ["incidents", "reports"]], seed=rng).T) for s in _SETTINGS]
    ratio = float(rates.rate[0] / rates.rate[1])
    rows.append(_row("reporting_rate", "urban/rural", stats.percentile_interval(
        ratio, replicates[0] / replicates[1], LEVEL), _BOOTSTRAP))
    return rows


def _count_rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    rows = []
    for setting in _SETTINGS:
        part = frame[frame["setting"] == setting]
        for metric, value in (("communes", len(part)), ("population", part["population"].sum()),
                              ("reports", part["reports"].sum()),
                              ("under_reporting_communes", int(part["under_reporting"].sum()))):
            rows.append(_row(metric, setting, float(value), "count"))
    return rows


def _median_rows(levels: pd.DataFrame) -> list[dict[str, object]]:
    by_setting = levels[levels["grouping"] == 4].set_index("setting")
    return [_row(column, setting, float(by_setting[column].astype(float)[setting]),
                 "pooled over the setting's reports (no interval: see the mix-adjusted index)")
            for column in ("response_median_h", "resolution_median_h")
            for setting in _SETTINGS if setting in by_setting.index]


def coverage_summary(conn: Connection, *, generation: str = "2025", start: TimeBound | None = None,
                     end: TimeBound | None = None, categories: str | Iterable[str] | None = None,
                     attribution: str = "point", model: str = DEFAULT_FLAG_MODEL
                     ) -> pd.DataFrame:
    """Urban wards against rural communes, with 95% intervals, as a long table.

    Columns: metric, setting (``urban``, ``rural``, or ``urban/rural`` for the ratio),
    estimate, low, high, interval (how the interval was made), calibrated (for the reporting
    rates: whether the intervals were shown to hold a known truth; else None). Rates, deadline shares,
    satisfaction and the mix-adjusted response and resolution indices have cluster-bootstrap
    intervals (communes resampled within their setting); the reporting rate a likelihood-ratio
    interval (and a bootstrap one for the ratio).

    >>> coverage_summary(conn).query("metric == 'rate_per_1000'")  # doctest: +SKIP
    """
    _check_model(model)
    data = _gather(conn, generation, start=start, end=end, categories=categories,
                   attribution=attribution)
    frame = _commune_table(conn, data, model)
    service = data.levels[data.levels["grouping"] == 2].set_index("unit_code")
    frame = frame.join(service[["within_deadline", "due", "satisfaction_sum", "rated"]]).fillna(
        {"within_deadline": 0, "due": 0, "satisfaction_sum": 0, "rated": 0})
    rows = [
        *_count_rows(frame),
        *_ratio_rows("rate_per_1000", frame, "reports", "population", _PER),
        *_ratio_rows("share_within_deadline", frame, "within_deadline", "due"),
        *_ratio_rows("satisfaction", frame, "satisfaction_sum", "rated"),
        *_index_rows("response_index", data, frame, "response_median_h"),
        *_index_rows("resolution_index", data, frame, "resolution_median_h"),
        *_median_rows(data.levels),
        *(dict(row, calibrated=False) for row in _reporting_rows(frame, data.groups)),
        *_in_time_rows(frame, data.windows),
    ]
    table = pd.DataFrame(rows, columns=[*_SUMMARY_COLUMNS, "calibrated"])
    table["calibrated"] = table["calibrated"].astype(object).where(table["calibrated"].notna(), None)
    table.attrs.update(model=model, methods=methods(model))
    return table


_SUMMARY_COLUMNS = ["metric", "setting", "estimate", "low", "high", "interval"]


def _in_time_rows(frame: pd.DataFrame, windows: pd.DataFrame) -> list[dict[str, object]]:
    """The rate and delay per setting (calibrated) and the regression's rate ratios (its
    intervals are not part of the calibration study: ``calibrated`` None)."""
    table = windows.join(frame["setting"], on="unit_code")
    return [*(dict(row, calibrated=True) for row in reporting_process.setting_rows(table, LEVEL)),
            *reporting_process.regression_rows(frame, windows, LEVEL)]


def reporting_rates(conn: Connection, *, generation: str = "2025", start: TimeBound | None = None,
                    end: TimeBound | None = None, categories: str | Iterable[str] | None = None,
                    by: str = "commune", level: float = LEVEL) -> pd.DataFrame:
    """Reports per incident estimated from duplicate reports, per commune or per setting.

    Columns: code (or setting), incidents (reported), reports, repeated (incidents reported
    more than once), rate, low, high (likelihood-ratio interval at ``level``),
    unreported_share (``e^-rate``), estimated_incidents (reported ones / (1 - e^-rate)).

    >>> reporting_rates(conn, generation="2019", by="setting")  # doctest: +SKIP
    """
    if by not in ("commune", "setting"):
        raise InvalidInput("by must be commune or setting", field="by")
    request = _request(conn, generation, start=start, end=end, categories=categories)
    units = units_frame(conn, request.generation.code).set_index("code")
    groups = sql.duplicate_groups(conn, request.scope).set_index("unit_code")
    groups = groups.reindex(units.index, fill_value=0).join(units[["name", "setting"]])
    if by == "setting":
        groups = groups.groupby("setting")[["incidents", "reports", "repeated"]].sum()
        groups = groups.reindex([s for s in _SETTINGS if s in groups.index])
    rates = stats.reporting_rates(groups["incidents"], groups["reports"], level)
    out = groups.assign(rate=rates.rate, low=rates.low, high=rates.high,
                        unreported_share=rates.unreported_share,
                        estimated_incidents=rates.estimated_incidents)
    return out.reset_index(names="setting" if by == "setting" else "code")


# -- populated cells without reports --------------------------------------------------------------

def cell_coverage(conn: Connection, *, generation: str = "2025", resolution: int = 9,
                  start: TimeBound | None = None, end: TimeBound | None = None,
                  categories: str | Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """Every (H3 cell, commune) overlap of the service area with its share of the commune's
    residents by areal weighting (overlap area / commune area), that many residents, and the
    reports in it (attributed by point).

    >>> cells = cell_coverage(conn, resolution=8)  # doctest: +SKIP
    >>> cells.groupby("code")["population_share"].sum().round(3).unique()  # doctest: +SKIP
    array([1.])
    """
    if resolution not in sql.CELL_RESOLUTIONS:
        raise InvalidInput(f"resolution must be one of {', '.join(map(str, sql.CELL_RESOLUTIONS))}",
                           field="res")
    request = _request(conn, generation, start=start, end=end, categories=categories)
    units = units_frame(conn, request.generation.code)
    cells = cells_covering(units.geometry, resolution)
    pieces = sql.cell_pieces(conn, request.generation.id, cells, grid.cell_polygons(cells))
    counts = sql.cell_report_counts(conn, request.scope, resolution)
    frame = pieces.merge(counts, on=["cell", "unit_code"], how="left").fillna({"reports": 0})
    frame["population_share"] = frame["overlap_km2"] / frame["area_km2"]
    frame["residents"] = frame["population_share"] * frame["population"].fillna(0)
    frame = frame.merge(units[["code", "name", "setting"]], left_on="unit_code", right_on="code")
    frame["cell"] = [format(int(c), "x") for c in frame["cell"]]
    polygons = grid.cell_polygons(frame["cell"].map(lambda c: int(c, 16)).to_numpy(np.int64))
    columns = ["cell", "code", "name", "setting", "overlap_km2", "population_share", "residents",
               "reports"]
    out = gpd.GeoDataFrame(frame[columns].astype({"reports": int}), geometry=polygons,
                           crs="EPSG:4326")
    out.attrs.update(generation=request.generation.code, resolution=resolution)
    return out


def populated_gaps(conn: Connection, *, generation: str = "2025", resolution: int = 9,
                   threshold: float = DEFAULT_GAP_THRESHOLD, start: TimeBound | None = None,
                   end: TimeBound | None = None,
                   categories: str | Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """Cells holding at least ``threshold`` of a commune's residents (areal weighting) where no
    report was made in the period: the populated places the service does not hear from.

    >>> gaps = populated_gaps(conn, resolution=9, start=dt.date(2025, 7, 1))  # doctest: +SKIP
    >>> gaps.groupby("setting")["residents"].sum()  # doctest: +SKIP
    """
    if not (isinstance(threshold, int | float) and 0.0 <= threshold <= 1.0):
        raise InvalidInput("threshold must be a share between 0 and 1", field="threshold")
    cells = cell_coverage(conn, generation=generation, resolution=resolution, start=start,
                          end=end, categories=categories)
    gaps = cells[(cells["population_share"] >= threshold) & (cells["reports"] == 0)]
    return gaps.reset_index(drop=True)
