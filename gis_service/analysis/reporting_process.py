"""Reporting rates and delays per ward, after Liu, Bhandaram and Garg (Nature Computational
Science, 2024): how many reports per day residents make about an open incident, and the
expected delay before an incident is first reported, with intervals, and their regression on
ward covariates. The statistics are :mod:`gis_service.analysis.statistics.reporting_rates`,
the SQL :mod:`gis_service.analysis.sql.reporting_rates`.

Calibrated: over 50 generator seeds the 95% intervals hold the true rate in 94–98% of cases
per setting, for single 2019 communes, for 2025 wards (truth mapped as the exposure-weighted
mean rate of the incidents attributed to the ward) and for the settings pooled
(:mod:`gis_service.analysis.calibration`, ``tests/test_reporting_rates.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from gis_service.analysis.selection import TimeBound, report_selection
from gis_service.analysis.sql import coverage as coverage_sql
from gis_service.analysis.sql.hotspots import unknown_categories
from gis_service.analysis.sql.reporting_rates import incident_windows
from gis_service.analysis.statistics.reporting_rates import (
    INTERVAL,
    METHOD,
    poisson_rates,
    rate_regression,
)
from gis_service.boundaries import generations
from gis_service.boundaries.frames import units_frame
from gis_service.errors import InvalidInput

__all__ = [
    "BY",
    "METHOD_NOTE",
    "regression_rows",
    "reporting_rate_regression",
    "reporting_rates_in_time",
    "setting_rows",
]

BY = ("commune", "setting", "category", "commune_category")
LEVEL = 0.95
_SETTINGS = ("urban", "rural")
#: What the API says about the method, beside its figures.
METHOD_NOTE = {
    "method": METHOD,
    "unit": "reports per day of an open incident; delay in days (1 / rate)",
    "interval": f"{INTERVAL}, 95%",
    "calibrated": True,
    "calibration": ("95% intervals hold the generator's true rate in 94-98% of cases per "
                    "setting over 50 seeds, for 2019 communes, 2025 wards and settings"),
}


def _scope(conn: Connection, generation: str, start: TimeBound | None, end: TimeBound | None,
           categories: str | Iterable[str] | None) -> tuple[generations.Generation,
                                                            coverage_sql.Scope]:
    chosen = generations.by_code(conn, generation)
    selection = report_selection(categories=categories, start=start, end=end)
    if selection.categories is not None:
        unknown = unknown_categories(conn, selection.categories)
        if unknown:
            raise InvalidInput(f"unknown category: {', '.join(unknown)}", field="category")
    return chosen, coverage_sql.Scope(chosen.id, selection.start, selection.end,
                                      selection.categories)


def _with_rates(table: pd.DataFrame, level: float) -> pd.DataFrame:
    rates = poisson_rates(table["further"], table["exposure_days"], level)
    return table.assign(rate=rates.rate, low=rates.low, high=rates.high,
                        delay_days=rates.delay_days, delay_low=rates.delay_low,
                        delay_high=rates.delay_high)


def _grouped(windows: pd.DataFrame, units: pd.DataFrame, by: str) -> pd.DataFrame:
    windows = windows.join(units[["setting"]], on="unit_code")
    keys = {"commune": ["unit_code"], "setting": ["setting"], "category": ["category"],
            "commune_category": ["unit_code", "category"]}[by]
    table = windows.groupby(keys)[["incidents", "further", "exposure_days"]].sum()
    if by == "commune":
        table = table.reindex(units.index, fill_value=0)
        table.index.name = "unit_code"
    elif by == "setting":
        table = table.reindex([s for s in _SETTINGS if s in table.index], fill_value=0)
    return table


def reporting_rates_in_time(conn: Connection, *, generation: str = "2025",
                            start: TimeBound | None = None, end: TimeBound | None = None,
                            categories: str | Iterable[str] | None = None, by: str = "commune",
                            level: float = LEVEL) -> pd.DataFrame:
    """Reporting rate (reports per day while an incident is open) and the expected delay
    before a first report (days), per commune, setting, category or commune and category.

    Columns: the key(s) (``code`` and ``name``/``setting`` for communes), incidents, further
    (reports after the first, inside the windows), exposure_days, rate, low, high (profile
    likelihood-ratio interval at ``level``), delay_days, delay_low, delay_high.

    >>> reporting_rates_in_time(conn, generation="2019", by="setting")  # doctest: +SKIP
    """
    if by not in BY:
        raise InvalidInput(f"by must be one of {', '.join(BY)}", field="by")
    chosen, scope = _scope(conn, generation, start, end, categories)
    units = units_frame(conn, chosen.code).set_index("code")
    table = _with_rates(_grouped(incident_windows(conn, scope), units, by), level)
    if by in ("commune", "commune_category"):
        table = table.join(units[["name", "setting"]], on="unit_code")
    out = table.reset_index().rename(columns={"unit_code": "code"})
    out.attrs.update(generation=chosen.code, method=METHOD, interval=INTERVAL, level=level)
    return out


def _covariates(units: pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...]]:
    """Urban indicator and log residents per km² (2019 census), centred on the mean."""
    density = units["population"].astype(float) / units["area_km2"].astype(float)
    log_density = np.log(density.clip(lower=1.0).to_numpy())
    urban = (units["setting"] == "urban").to_numpy(float)
    return np.column_stack([urban, log_density - log_density.mean()]), ("urban", "log_density")


def _fit_on_units(units: pd.DataFrame, windows: pd.DataFrame, level: float) -> pd.DataFrame:
    """The regression on the populated units of ``units`` (population, area_km2, setting)."""
    units = units[(units["population"].fillna(0) > 0) & (units["area_km2"] > 0)]
    table = windows.groupby("unit_code")[["further", "exposure_days"]].sum().reindex(
        units.index, fill_value=0)
    design, names = _covariates(units)
    fit = rate_regression(table["further"], table["exposure_days"], design, names, level)
    return pd.DataFrame({"term": fit.names, "rate_ratio": fit.rate_ratio, "low": fit.low,
                         "high": fit.high, "dispersion": fit.dispersion})


def regression_rows(units: pd.DataFrame, windows: pd.DataFrame, level: float = LEVEL
                    ) -> list[dict[str, Any]]:
    """Summary rows of the regression: metric ``reporting_rate_ratio``, setting the term."""
    fit = _fit_on_units(units, windows, level)
    method = "Wald on the log scale, sandwich variance (Poisson regression on ward covariates)"
    return [{"metric": "reporting_rate_ratio", "setting": row.term, "estimate": row.rate_ratio,
             "low": row.low, "high": row.high, "interval": method}
            for row in fit.itertuples()]


def reporting_rate_regression(conn: Connection, *, generation: str = "2025",
                              start: TimeBound | None = None, end: TimeBound | None = None,
                              categories: str | Iterable[str] | None = None,
                              level: float = LEVEL) -> pd.DataFrame:
    """The rate regressed on ward covariates: urban/rural and population density (2019 census
    population per km², log, centred). One row per term: ``term``, ``rate_ratio`` (for the
    intercept, the rate of a rural commune of mean log density), ``low``, ``high`` (Wald on the
    log scale, sandwich variance), ``dispersion``.

    >>> reporting_rate_regression(conn, generation="2019")  # doctest: +SKIP
    """
    chosen, scope = _scope(conn, generation, start, end, categories)
    units = units_frame(conn, chosen.code).set_index("code")
    return _fit_on_units(units, incident_windows(conn, scope), level)


def setting_rows(table: pd.DataFrame, level: float = LEVEL) -> list[dict[str, Any]]:
    """Summary rows: rate and delay per setting (pooled, exposure-weighted) and the urban/rural
    rate ratio (Wald on the log scale: var log ratio = 1/D_urban + 1/D_rural)."""
    pooled = _with_rates(table.groupby("setting")[["further", "exposure_days"]].sum()
                         .reindex(list(_SETTINGS), fill_value=0), level)
    method = f"{INTERVAL} (Liu, Bhandaram & Garg), pooled over the setting's incidents"
    rows: list[dict[str, Any]] = []
    for setting, row in pooled.iterrows():
        rows.append({"metric": "reporting_rate_per_day", "setting": setting,
                     "estimate": row["rate"], "low": row["low"], "high": row["high"],
                     "interval": method})
        rows.append({"metric": "reporting_delay_days", "setting": setting,
                     "estimate": row["delay_days"], "low": row["delay_low"],
                     "high": row["delay_high"], "interval": method})
    further = dict(zip(pooled.index, pooled["further"].astype(float).tolist(), strict=True))
    rate = dict(zip(pooled.index, pooled["rate"].astype(float).tolist(), strict=True))
    ratio, spread = math.nan, math.nan
    if min(further["urban"], further["rural"]) > 0:
        ratio = rate["urban"] / rate["rural"]
        spread = 1.96 * math.sqrt(1 / further["urban"] + 1 / further["rural"])
    rows.append({"metric": "reporting_rate_per_day", "setting": "urban/rural", "estimate": ratio,
                 "low": ratio * math.exp(-spread), "high": ratio * math.exp(spread),
                 "interval": "Wald on the log scale, Poisson counts"})
    return rows
