"""Which reports an analysis counts: a time range and filters, checked once and carried as a
frozen value.

Times are instants; a date given alone means midnight in Huế (Asia/Ho_Chi_Minh, UTC+7, the
calendar the city works by), and so does a datetime without a time zone. ``start`` is
inclusive and ``end`` exclusive, so ``start=date(2025, 1, 1), end=date(2025, 2, 1)`` is
January in Huế.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from gis_service.db.schema import CHANNELS, REPORT_STATUSES
from gis_service.errors import InvalidInput
from gis_service.reports.calendar import TZ

#: Resolutions the analyses work at (the report table stores 6 to 10; 6 is too coarse for a city).
ANALYSIS_RESOLUTIONS = (7, 8, 9, 10)
TimeBound = dt.date | dt.datetime


@dataclass(frozen=True)
class ReportSelection:
    """Reports created in ``[start, end)`` (either open) with the given categories (any when
    None), channel and status."""

    categories: tuple[str, ...] | None = None
    channel: str | None = None
    status: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None


def as_instant(value: TimeBound | None) -> dt.datetime | None:
    """An aware datetime: dates are midnight in Huế, naive datetimes are Huế's clock.

    >>> as_instant(dt.date(2025, 1, 1)).isoformat()
    '2025-01-01T00:00:00+07:00'
    """
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time(), tzinfo=TZ)
    return value if value.tzinfo is not None else value.replace(tzinfo=TZ)


def check_resolution(resolution: int) -> int:
    """``resolution`` if it is one of :data:`ANALYSIS_RESOLUTIONS`, or InvalidInput naming ``res``."""
    if isinstance(resolution, bool) or resolution not in ANALYSIS_RESOLUTIONS:
        raise InvalidInput(f"resolution must be one of {', '.join(map(str, ANALYSIS_RESOLUTIONS))}",
                           field="res")
    return resolution


def _categories(categories: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if categories is None:
        return None
    codes = (categories,) if isinstance(categories, str) else tuple(categories)
    if not codes or not all(isinstance(code, str) and code for code in codes):
        raise InvalidInput("categories must be non-empty category codes", field="category")
    return tuple(sorted(set(codes)))


def _one_of(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    if value is not None and value not in allowed:
        raise InvalidInput(f"{field} must be one of {', '.join(allowed)}", field=field)
    return value


def report_selection(
    *,
    categories: str | Iterable[str] | None = None,
    channel: str | None = None,
    status: str | None = None,
    start: TimeBound | None = None,
    end: TimeBound | None = None,
) -> ReportSelection:
    """Check the filters and build the selection (whether the categories exist is the
    database's to say: :func:`gis_service.analysis.sql.hotspots.unknown_categories`).

    >>> report_selection(categories="roads", start=dt.date(2025, 1, 1)).categories
    ('roads',)
    >>> report_selection(start=dt.date(2025, 2, 1), end=dt.date(2025, 1, 1))
    Traceback (most recent call last):
    ...
    gis_service.errors.InvalidInput: from must be before to
    """
    begin, finish = as_instant(start), as_instant(end)
    if begin is not None and finish is not None and begin >= finish:
        raise InvalidInput("from must be before to", field="from")
    return ReportSelection(
        categories=_categories(categories),
        channel=_one_of(channel, CHANNELS, "channel"),
        status=_one_of(status, REPORT_STATUSES, "status"),
        start=begin, end=finish)
