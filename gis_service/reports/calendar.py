"""Working days and deadlines: when a report's answer is due.

Working days are Monday to Friday, minus Vietnamese public holidays (lunar Tết included, and
the days off the government moves next to a holiday), plus the Saturdays it declares working
days in exchange; all of it from the maintained ``holidays`` library (country VN), never a
hand-typed list. Day boundaries are in Asia/Ho_Chi_Minh (UTC+7, no daylight saving).

**When a deadline ends** (the same rule in SQL, :func:`due_at_sql`, and in Python,
:func:`due_at`):

- ``N hours``: ``created_at + N hours`` (wall-clock; Vietnam has no daylight saving, so this is
  also elapsed time). Urgent matters do not wait for office hours.
- ``N working days``: the report's *first day* is the day it was created if that is a working
  day and it arrived before the office closes (17:00 local time); otherwise (a weekend, a
  holiday, or 17:00 or later) it is the next working day, as if it had arrived that morning.
  It is due at 17:00 local time on the N-th working day after its first day. So a report made
  on Monday 10:00 with 10 working days is due at 17:00 on the Monday two weeks later (no
  holidays between); one made on Friday 18:00, Saturday or Sunday counts from Monday, and is
  due at 17:00 on the Monday two weeks after that Monday; one made during Tết counts from the
  first working day after Tết.

In SQL the working days come from ``calendar_day`` (one row per date: ``working``, the
holiday's Vietnamese name, and ``working_seq``, the number of working days from the first row
up to and including that day, so a Saturday has the seq of the Friday before it). The N-th
working day after day d is then the working day whose seq is ``seq(d) + N``: two index lookups
per report, with no loop. :func:`ensure_calendar` fills the table for the years needed; a
report outside the filled years gets a NULL due date, which ``report.due_at NOT NULL`` refuses.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Integer,
    Text,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Interval, Time

from gis_service.db.schema import calendar_day
from gis_service.errors import InvalidInput

TIMEZONE = "Asia/Ho_Chi_Minh"
TZ = ZoneInfo(TIMEZONE)
#: Government offices in Huế close at 17:00; a report arriving later counts from the next day.
OFFICE_CLOSE = dt.time(17, 0)
WORKING_DAYS = "working_days"
HOURS = "hours"
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class CalendarDay:
    day: dt.date
    working: bool
    working_seq: int
    holiday: str | None


@dataclass(frozen=True)
class CalendarFill:
    """What :func:`ensure_calendar` did: the table now covers ``first_day`` .. ``last_day``."""

    first_day: dt.date
    last_day: dt.date
    written: int

    def describe(self) -> str:
        return (f"calendar {self.first_day} .. {self.last_day}: {self.written} days written, "
                "the rest unchanged")


@functools.lru_cache(maxsize=64)
def _holidays(year: int) -> holidays.HolidayBase:
    # One year per object: the library populates holidays and the swapped working Saturdays
    # year by year, and a cached year never changes.
    return holidays.country_holidays("VN", years=year, language="vi")


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday and not a public holiday, or a Saturday declared a working day.

    >>> is_working_day(dt.date(2025, 1, 29))  # the first day of Tết At Ty
    False
    >>> is_working_day(dt.date(2025, 4, 26))  # a Saturday worked in exchange for 2 May
    True
    """
    return bool(_holidays(day.year).is_working_day(day))


def holiday_name(day: dt.date) -> str | None:
    """The holiday's Vietnamese name, or None."""
    name = _holidays(day.year).get(day)
    return None if name is None else str(name)


def calendar_days(first: dt.date, last: dt.date) -> Iterator[CalendarDay]:
    """Every day from ``first`` to ``last`` (inclusive), counting working days from ``first``."""
    seq = 0
    day = first
    while day <= last:
        working = is_working_day(day)
        seq += working
        yield CalendarDay(day, working, seq, holiday_name(day))
        day += _DAY


def ensure_calendar(conn: Connection, first_year: int, last_year: int) -> CalendarFill:
    """Make ``calendar_day`` cover ``first_year`` .. ``last_year`` (and whatever it covered
    already), with the holidays of the installed library; never commits.

    The table stays one contiguous range whose ``working_seq`` counts from its first day, so
    extending it backwards renumbers every row (due dates depend on differences of seq only).
    Rows already right are not rewritten: running it twice writes nothing.

    >>> with engine.begin() as conn:  # doctest: +SKIP
    ...     ensure_calendar(conn, 2019, 2028).describe()
    'calendar 2019-01-01 .. 2028-12-31: 3653 days written, the rest unchanged'
    """
    if first_year > last_year:
        raise InvalidInput(f"first year {first_year} is after last year {last_year}", field="years")
    first, last = dt.date(first_year, 1, 1), dt.date(last_year, 12, 31)
    covered = conn.execute(select(func.min(calendar_day.c.day), func.max(calendar_day.c.day))).one()
    if covered[0] is not None:
        first, last = min(first, covered[0]), max(last, covered[1])
    days = list(calendar_days(first, last))
    written = _upsert(conn, days)
    if written:
        # Fresh statistics: without them the planner expects six days per working_seq and
        # reads each deadline's day through a bitmap (a million imported reports: 4.7 s).
        conn.execute(text("ANALYZE calendar_day"))
    return CalendarFill(first, last, written)


def _upsert(conn: Connection, days: list[CalendarDay]) -> int:
    """One statement: unnest the columns as arrays, insert, update only rows that differ."""
    rows = select(
        func.unnest(bindparam("days", [d.day for d in days], type_=ARRAY(Date))).label("day"),
        func.unnest(bindparam("working", [d.working for d in days], type_=ARRAY(Boolean))),
        func.unnest(bindparam("seqs", [d.working_seq for d in days], type_=ARRAY(Integer))),
        func.unnest(bindparam("names", [d.holiday for d in days], type_=ARRAY(Text))),
    )
    stmt = insert(calendar_day).from_select(["day", "working", "working_seq", "holiday"], rows)
    updatable = ("working", "working_seq", "holiday")
    stmt = stmt.on_conflict_do_update(
        index_elements=[calendar_day.c.day],
        set_={name: stmt.excluded[name] for name in updatable},
        where=or_(*(calendar_day.c[name].is_distinct_from(stmt.excluded[name]) for name in updatable)),
    )
    return len(conn.execute(stmt.returning(calendar_day.c.day)).all())


# --- due dates -------------------------------------------------------------------------------


def _first_day(local: dt.datetime) -> dt.date:
    """The day a working-day deadline counts from (see the module docstring)."""
    day = local.date()
    if is_working_day(day) and local.time() < OFFICE_CLOSE:
        return day
    return _next_working_day(day)


def _next_working_day(day: dt.date) -> dt.date:
    day += _DAY
    while not is_working_day(day):
        day += _DAY
    return day


def due_at(created_at: dt.datetime, amount: int, unit: str) -> dt.datetime:
    """When a report created at ``created_at`` with a deadline of ``amount`` ``unit`` is due.

    >>> created = dt.datetime(2025, 1, 24, 10, 0, tzinfo=TZ)  # Friday before Tết 2025
    >>> due_at(created, 10, "working_days").isoformat()
    '2025-02-14T17:00:00+07:00'
    >>> due_at(created, 24, "hours").isoformat()
    '2025-01-25T10:00:00+07:00'
    """
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        raise InvalidInput("created_at needs a time zone", field="created_at")
    if amount <= 0:
        raise InvalidInput(f"a deadline must be positive, not {amount}", field="amount")
    if unit == HOURS:
        return created_at + dt.timedelta(hours=amount)
    if unit != WORKING_DAYS:
        raise InvalidInput(f"unknown deadline unit {unit!r}", field="unit")
    day = _first_day(created_at.astimezone(TZ))
    for _ in range(amount):
        day = _next_working_day(day)
    return dt.datetime.combine(day, OFFICE_CLOSE, tzinfo=TZ)


def due_at_sql(
    created_at: ColumnElement[Any], amount: ColumnElement[Any], unit: ColumnElement[Any]
) -> ColumnElement[dt.datetime]:
    """SQL for :func:`due_at` over columns (of a staging table, a VALUES list, ``report``).

    Reads ``calendar_day`` through two correlated lookups (primary key, then the
    ``working_seq`` index); NULL when the calendar does not cover the dates.

    >>> stmt = select(due_at_sql(report.c.created_at, category.c.deadline_amount,
    ...                          category.c.deadline_unit))  # doctest: +SKIP
    """
    local = func.timezone(TIMEZONE, created_at)
    start = calendar_day.alias("start_day")
    due = calendar_day.alias("due_day")
    before_close = and_(start.c.working, sql_cast(local, Time) < literal(OFFICE_CLOSE, Time))
    first_seq = (
        select(start.c.working_seq + case((before_close, 0), else_=1))
        .where(start.c.day == sql_cast(local, Date))
        # Correlated to the caller's row even though it sits two SELECTs deep.
        .correlate_except(start)
        .scalar_subquery()
    )
    due_day = (
        select(due.c.day)
        .where(due.c.working, due.c.working_seq == first_seq + amount)
        .correlate_except(due)
        .scalar_subquery()
    )
    close = literal(dt.timedelta(hours=OFFICE_CLOSE.hour, minutes=OFFICE_CLOSE.minute), Interval)
    working_due = func.timezone(TIMEZONE, sql_cast(due_day, DateTime) + close)
    hours_due = created_at + amount * literal(dt.timedelta(hours=1), Interval)
    return case(
        (unit == literal(HOURS, Text), hours_due),
        (unit == literal(WORKING_DAYS, Text), working_due),
        else_=None,
    ).cast(DateTime(timezone=True))
