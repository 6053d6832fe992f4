"""Working hours between two instants, on the same working-day calendar as deadlines.

A working day (:func:`gis_service.reports.calendar.is_working_day`: Monday to Friday, minus
Vietnam's public holidays and Tết, plus the Saturdays worked in exchange) has **8 working
hours**: the office hours of Huế's government offices, 07:00–11:30 and 13:30–17:00 Huế time
(Asia/Ho_Chi_Minh). Evenings, the lunch break, weekends and holidays count nothing, so a report
made on Friday at 16:00 and answered on Monday at 08:00 waited 2 working hours.

Vectorised: every instant is mapped to its position on a "working clock" (working hours since
the first day needed), and a duration is the difference of two positions.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import numpy.typing as npt

from gis_service.reports.calendar import TZ, is_working_day

#: Office hours of a working day, as (start, end) hours after local midnight.
OFFICE_HOURS: tuple[tuple[float, float], ...] = ((7.0, 11.5), (13.5, 17.0))
HOURS_PER_DAY = sum(end - start for start, end in OFFICE_HOURS)
_UTC_OFFSET_S = 7 * 3600  # Asia/Ho_Chi_Minh: UTC+7 all year (no daylight saving since 1975)
_DAY_S = 86400
_EPOCH = dt.date(1970, 1, 1)

FloatArray = npt.NDArray[np.float64]


def _local_days_and_hours(epoch_s: FloatArray) -> tuple[npt.NDArray[np.int64], FloatArray]:
    local = epoch_s + _UTC_OFFSET_S
    days = np.floor(local / _DAY_S)
    return days.astype(np.int64), (local - days * _DAY_S) / 3600.0


@functools.lru_cache(maxsize=16)
def _working_flags(first_day: int, last_day: int) -> npt.NDArray[np.bool_]:
    """Whether each day ``first_day .. last_day`` (days since 1970-01-01) is a working day."""
    return np.array([is_working_day(_EPOCH + dt.timedelta(days=int(day)))
                     for day in range(first_day, last_day + 1)], dtype=bool)


def _hours_into_day(hours: FloatArray) -> FloatArray:
    """Working hours of a working day elapsed at ``hours`` after local midnight."""
    return sum((np.clip(hours, start, end) - start for start, end in OFFICE_HOURS),
               np.zeros_like(hours))


def working_clock(epoch_s: FloatArray, first_day: int, last_day: int) -> FloatArray:
    """Working hours from the start of ``first_day`` to each instant (seconds since the Unix
    epoch; NaN stays NaN). Every instant must fall within ``first_day .. last_day``."""
    valid = ~np.isnan(epoch_s)
    days, hours = _local_days_and_hours(np.where(valid, epoch_s, 0.0))
    days = np.where(valid, days, first_day)
    working = _working_flags(first_day, last_day)
    before = np.concatenate([[0], np.cumsum(working)])[days - first_day]
    inside = np.where(working[days - first_day], _hours_into_day(hours), 0.0)
    return np.where(valid, before * HOURS_PER_DAY + inside, np.nan)


def day_range(*instants: FloatArray) -> tuple[int, int]:
    """The first and last local day (days since 1970-01-01) of all the instants given."""
    present = [values[~np.isnan(values)] for values in instants]
    values = np.concatenate(present) if present else np.array([])
    if not len(values):
        return 0, 0
    days, _ = _local_days_and_hours(values)
    return int(days.min()), int(days.max())


def working_hours_between(start_s: FloatArray, end_s: FloatArray) -> FloatArray:
    """Working hours from each ``start_s`` to the matching ``end_s`` (seconds since the Unix
    epoch); NaN where either is NaN.

    >>> friday = dt.datetime(2026, 2, 13, 16, 0, tzinfo=TZ).timestamp()  # the day before Tết
    >>> after = dt.datetime(2026, 2, 23, 8, 0, tzinfo=TZ).timestamp()    # the first day back
    >>> working_hours_between(np.array([friday]), np.array([after])).tolist()
    [2.0]
    """
    first, last = day_range(start_s, end_s)
    return working_clock(end_s, first, last) - working_clock(start_s, first, last)


def epoch_seconds(values: list[dt.datetime | None]) -> FloatArray:
    """Aware datetimes as seconds since the Unix epoch (None as NaN)."""
    return np.array([np.nan if value is None else value.timestamp() for value in values],
                    dtype=np.float64)


def local_dates(epoch_s: FloatArray) -> npt.NDArray[np.int64]:
    """Each instant's date in Huế, as days since 1970-01-01 (NaN instants give -1)."""
    days, _ = _local_days_and_hours(np.where(np.isnan(epoch_s), 0.0, epoch_s))
    return np.where(np.isnan(epoch_s), -1, days)


__all__ = ["HOURS_PER_DAY", "OFFICE_HOURS", "TZ", "day_range", "epoch_seconds", "local_dates",
           "working_clock", "working_hours_between"]
