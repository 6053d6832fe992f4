"""When incidents happen: a daily rate profile per category, and times of day.

A category's rate on day ``d`` is ``(1 + tet·T(d) + flood·F(d) + summer·S(d)) · W(d)`` where
``T`` is a Gaussian bump around each lunar new year (Tết: rubbish before and after the
festival, busy markets), ``F`` one around the peak of the central-coast flood season (late
October; drainage, potholes, fallen trees), ``S`` one around mid-July (dengue season: epidemic
risk), and ``W`` lowers weekends. Tết moves with the lunar calendar: its dates come from the
``holidays`` package, not a hand-typed list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache

import holidays
import numpy as np
import numpy.typing as npt

from gis_service.synthetic.mix import CategoryProfile
from gis_service.synthetic.params import GeneratorParams

FloatArray = npt.NDArray[np.float64]
_TET_NAME = "Lunar New Year"
# Reports by hour of the day (local time): quiet at night, peaks in the morning and afternoon.
HOURLY_WEIGHTS = np.array([
    1.0, 0.6, 0.4, 0.3, 0.4, 1.0, 2.5, 4.0, 5.0, 5.0, 4.5, 4.0,
    3.0, 3.0, 4.0, 4.5, 4.5, 4.0, 3.5, 4.0, 3.5, 3.0, 2.0, 1.5,
])


@cache
def tet_days(first_year: int, last_year: int) -> tuple[dt.date, ...]:
    """The first day of the lunar new year in each year of the range.

    >>> tet_days(2025, 2026)
    (datetime.date(2025, 1, 29), datetime.date(2026, 2, 17))
    """
    calendar = holidays.country_holidays("VN", years=range(first_year, last_year + 1),
                                         language="en_US")
    return tuple(sorted(day for day, name in calendar.items() if name == _TET_NAME))


def _bump(offset_days: FloatArray, width: float) -> FloatArray:
    return np.exp(-0.5 * (offset_days / width) ** 2)


def _yearly_offset(days: FloatArray, peak: dt.date) -> FloatArray:
    """Days from each day to the nearest anniversary of ``peak`` (-182 .. 183)."""
    return (days - peak.toordinal() + 182.6) % 365.25 - 182.6


def _seasonal_bumps(start: dt.date, n_days: int, params: GeneratorParams) -> FloatArray:
    """T, F and S (columns) for each day (rows) of the period."""
    days = np.arange(start.toordinal(), start.toordinal() + n_days, dtype=np.float64)
    end_year = (start + dt.timedelta(days=n_days)).year
    tet = np.zeros(n_days)
    for day in tet_days(start.year - 1, end_year + 1):
        tet += _bump(days - day.toordinal(), params.tet_width_days)
    flood_month, flood_day = params.flood_peak
    summer_month, summer_day = params.summer_peak
    flood = _bump(_yearly_offset(days, dt.date(start.year, flood_month, flood_day)),
                  params.flood_width_days)
    summer = _bump(_yearly_offset(days, dt.date(start.year, summer_month, summer_day)),
                   params.summer_width_days)
    return np.column_stack([tet, flood, summer])


def _weekday_factors(start: dt.date, n_days: int, params: GeneratorParams) -> FloatArray:
    weekday = (start.weekday() + np.arange(n_days)) % 7
    factors = np.ones(n_days)
    factors[weekday == 5] = params.saturday_factor
    factors[weekday == 6] = params.sunday_factor
    return factors


def daily_profile(profiles: Sequence[CategoryProfile], start: dt.date, n_days: int,
                  params: GeneratorParams) -> FloatArray:
    """Each category's share of its incidents falling on each day: shape (days, categories),
    each column summing to 1."""
    amplitudes = np.array([[p.tet, p.flood, p.summer] for p in profiles])  # (categories, 3)
    rate = 1.0 + _seasonal_bumps(start, n_days, params) @ amplitudes.T
    rate *= _weekday_factors(start, n_days, params)[:, None]
    shares: FloatArray = rate / rate.sum(axis=0, keepdims=True)
    return shares


def seconds_of_day(rng: np.random.Generator, n: int) -> npt.NDArray[np.int64]:
    """Random times of day (seconds after midnight) following :data:`HOURLY_WEIGHTS`."""
    hours = rng.choice(24, size=n, p=HOURLY_WEIGHTS / HOURLY_WEIGHTS.sum())
    return (hours * 3600 + rng.integers(0, 3600, n)).astype(np.int64)
