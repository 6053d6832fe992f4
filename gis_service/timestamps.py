"""How every timestamp leaves the service: RFC 3339 in Huế's time, with its offset, to the second.

One convention for ``/v1``, Open311, the exports and the CLI (they differed: UTC in one, +07:00 in
the other). Huế's offset (+07:00, no daylight saving) because the people reading the answers
live there and a deadline of "17:00" should read as 17:00; the offset keeps every value
unambiguous for machines. Seconds, because no stored time is meaningful below that. Inputs
accept any offset.
"""

from __future__ import annotations

import datetime as dt

from gis_service.reports.calendar import TZ


def timestamp_text(value: dt.datetime) -> str:
    """The published form of an aware date-time.

    >>> timestamp_text(dt.datetime(2025, 1, 1, 3, 0, 0, 500, tzinfo=dt.UTC))
    '2025-01-01T10:00:00+07:00'
    """
    if value.tzinfo is None:
        raise ValueError("a date-time without a time zone cannot be published")
    return value.astimezone(TZ).isoformat(timespec="seconds")


def optional_timestamp_text(value: dt.datetime | None) -> str | None:
    """:func:`timestamp_text`, passing None through."""
    return None if value is None else timestamp_text(value)
