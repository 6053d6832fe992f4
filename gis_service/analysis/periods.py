"""Calendar periods (ISO weeks from Monday, or months) on Huế's calendar, as numpy days."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import numpy.typing as npt

from gis_service.errors import InvalidInput

Period = Literal["week", "month"]
PERIODS: tuple[Period, ...] = ("week", "month")
DayArray = npt.NDArray[np.datetime64]
# 1970-01-01, day 0 of numpy's calendar, was a Thursday: three days after a Monday.
_EPOCH_WEEKDAY = 3


def check_period(period: str) -> Period:
    """``period`` if it is ``week`` or ``month``, or :class:`InvalidInput` naming ``period``."""
    for known in PERIODS:
        if period == known:
            return known
    raise InvalidInput("period must be week or month", field="period")


def period_start(days: DayArray, period: Period) -> DayArray:
    """The first day of each day's period (its week's Monday, or its month's first day).

    >>> period_start(np.array(["2025-01-15", "2025-01-19"], dtype="datetime64[D]"), "week").tolist()
    [datetime.date(2025, 1, 13), datetime.date(2025, 1, 13)]
    """
    days = days.astype("datetime64[D]")
    if period == "month":
        return days.astype("datetime64[M]").astype("datetime64[D]")
    offset = (days.astype(np.int64) + _EPOCH_WEEKDAY) % 7
    mondays: DayArray = days - offset.astype("timedelta64[D]")
    return mondays


def period_range(first: dt.date, last: dt.date, period: Period) -> DayArray:
    """Every period from the one holding ``first`` to the one holding ``last``, by first day.

    >>> period_range(dt.date(2025, 11, 20), dt.date(2026, 1, 2), "month").tolist()
    [datetime.date(2025, 11, 1), datetime.date(2025, 12, 1), datetime.date(2026, 1, 1)]
    """
    bounds = period_start(np.array([first, last], dtype="datetime64[D]"), period)
    if period == "month":
        months = np.arange(bounds[0].astype("datetime64[M]"), bounds[1].astype("datetime64[M]") + 1)
        return months.astype("datetime64[D]")
    return np.arange(bounds[0], bounds[1] + np.timedelta64(1, "D"), np.timedelta64(7, "D"))
