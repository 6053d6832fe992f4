"""Working days and deadlines: the Python rule, the SQL rule, and that they agree."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, DateTime, Integer, Text, column, func, literal, select, values

from gis_service.db.schema import calendar_day
from gis_service.errors import InvalidInput
from gis_service.reports.calendar import TZ, due_at, due_at_sql, ensure_calendar, is_working_day

UTC = dt.UTC


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


@pytest.mark.parametrize(("day", "working"), [
    (dt.date(2025, 1, 24), True),    # Friday before Tết Ất Tỵ
    (dt.date(2025, 1, 27), False),   # 28 Tết, holiday
    (dt.date(2025, 1, 29), False),   # Tết Nguyên Đán
    (dt.date(2025, 1, 31), False),
    (dt.date(2025, 2, 3), True),     # back to work
    (dt.date(2026, 2, 16), False),   # Giao thừa Tết Bính Ngọ
    (dt.date(2026, 2, 20), False),
    (dt.date(2026, 2, 23), True),
    (dt.date(2025, 3, 8), False),    # an ordinary Saturday
    (dt.date(2025, 3, 9), False),    # an ordinary Sunday
    (dt.date(2025, 4, 26), True),    # Saturday worked in exchange for Friday 2 May
    (dt.date(2025, 5, 2), False),
    (dt.date(2025, 9, 2), False),    # National Day
    (dt.date(2026, 4, 27), False),   # Hùng Kings' day (26 April, a Sunday), observed
])
def test_working_days_follow_the_vietnamese_calendar(day: dt.date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize(("created", "amount", "unit", "due"), [
    # An ordinary fortnight: 10 working days after Monday is the Monday two weeks on, 17:00.
    (local(2025, 3, 3, 10, 0), 10, "working_days", local(2025, 3, 17, 17, 0)),
    # Friday after hours, Saturday and Sunday all count from Monday 10 March.
    (local(2025, 3, 7, 18, 0), 10, "working_days", local(2025, 3, 24, 17, 0)),
    (local(2025, 3, 8, 9, 0), 10, "working_days", local(2025, 3, 24, 17, 0)),
    (local(2025, 3, 9, 23, 59), 10, "working_days", local(2025, 3, 24, 17, 0)),
    # 17:00 sharp is after hours; 16:59 is not.
    (local(2025, 3, 3, 17, 0), 1, "working_days", local(2025, 3, 5, 17, 0)),
    (local(2025, 3, 3, 16, 59), 1, "working_days", local(2025, 3, 4, 17, 0)),
    # Early morning counts as that day.
    (local(2025, 3, 3, 6, 0), 1, "working_days", local(2025, 3, 4, 17, 0)),
    # Across Tết 2025: Friday 24 Jan, then nothing until Monday 3 Feb.
    (local(2025, 1, 24, 10, 0), 10, "working_days", local(2025, 2, 14, 17, 0)),
    (local(2025, 1, 24, 10, 0), 1, "working_days", local(2025, 2, 3, 17, 0)),
    # Made during Tết 2026: counts from Monday 23 February.
    (local(2026, 2, 17, 8, 0), 1, "working_days", local(2026, 2, 24, 17, 0)),
    # The exchanged Saturday of 2025 is a working day.
    (local(2025, 4, 25, 10, 0), 1, "working_days", local(2025, 4, 26, 17, 0)),
    # Hours ignore office hours and holidays.
    (local(2025, 1, 28, 23, 0), 24, "hours", local(2025, 1, 29, 23, 0)),
    # A UTC timestamp is judged by Huế's clock: 10:00 UTC is 17:00 in Huế.
    (dt.datetime(2025, 3, 3, 9, 59, tzinfo=UTC), 1, "working_days", local(2025, 3, 4, 17, 0)),
    (dt.datetime(2025, 3, 3, 10, 0, tzinfo=UTC), 1, "working_days", local(2025, 3, 5, 17, 0)),
])
def test_due_at(created: dt.datetime, amount: int, unit: str, due: dt.datetime) -> None:
    assert due_at(created, amount, unit) == due


@pytest.mark.parametrize(("created", "amount", "unit", "field"), [
    (dt.datetime(2025, 3, 3, 10, 0), 1, "working_days", "created_at"),
    (local(2025, 3, 3, 10, 0), 0, "working_days", "amount"),
    (local(2025, 3, 3, 10, 0), 1, "days", "unit"),
])
def test_due_at_refuses_bad_input(created: dt.datetime, amount: int, unit: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        due_at(created, amount, unit)
    assert caught.value.field == field


def test_ensure_calendar_is_idempotent_and_counts_working_days(conn: Connection) -> None:
    fill = ensure_calendar(conn, 2025, 2025)
    assert fill.first_day <= dt.date(2025, 1, 1) and fill.last_day >= dt.date(2025, 12, 31)
    assert ensure_calendar(conn, 2025, 2025).written == 0
    rows = conn.execute(
        select(calendar_day).where(calendar_day.c.day.between(dt.date(2025, 1, 1),
                                                              dt.date(2025, 12, 31)))
        .order_by(calendar_day.c.day)
    ).all()
    assert len(rows) == 365
    working = [row for row in rows if row.working]
    assert len(working) == sum(is_working_day(row.day) for row in rows)
    # working_seq climbs by one on each working day and stays put on days off.
    for before, after in itertools.pairwise(rows):
        assert after.working_seq - before.working_seq == int(after.working)
    tet = {row.day: row for row in rows}[dt.date(2025, 1, 29)]
    assert not tet.working and tet.holiday is not None and "Tết" in tet.holiday


def test_extending_the_calendar_backwards_keeps_due_dates(conn: Connection) -> None:
    ensure_calendar(conn, 2025, 2026)
    created = values(column("c", DateTime(timezone=True)), column("a", Integer),
                     column("u", Text), name="v").data([(local(2025, 1, 24, 10, 0), 10,
                                                         "working_days")])
    query = select(due_at_sql(created.c.c, created.c.a, created.c.u))
    before = conn.execute(query).scalar_one()
    fill = ensure_calendar(conn, 2023, 2023)
    assert fill.first_day <= dt.date(2023, 1, 1) and fill.written > 365
    assert conn.execute(query).scalar_one() == before == local(2025, 2, 14, 17, 0)


def test_due_at_sql_is_null_outside_the_calendar(conn: Connection) -> None:
    ensure_calendar(conn, 2025, 2025)
    first = conn.execute(select(func.min(calendar_day.c.day))).scalar_one()
    outside = dt.datetime.combine(first - dt.timedelta(days=400), dt.time(10), tzinfo=TZ)
    one = values(column("c", DateTime(timezone=True)), name="v").data([(outside,)])
    assert conn.execute(
        select(due_at_sql(one.c.c, literal(5, Integer), literal("working_days", Text)))
    ).scalar_one() is None


# Timestamps the two implementations must agree on: anywhere in 2024-2026, and concentrated
# around Tết 2025 and 2026, weekends, and 17:00.
_ANCHORS = [local(2025, 1, 20), local(2025, 1, 27), local(2026, 2, 9), local(2026, 2, 16),
            local(2025, 4, 25), local(2025, 8, 29), local(2025, 12, 29)]
_times = st.one_of(
    st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2026, 12, 31),
                 timezones=st.sampled_from([TZ, UTC])),
    st.builds(lambda anchor, minutes: anchor + dt.timedelta(minutes=minutes),
              st.sampled_from(_ANCHORS), st.integers(0, 14 * 24 * 60)),
    st.builds(lambda day, late: local(2025, 1, 1, 17 if late else 16, 0 if late else 59)
              + dt.timedelta(days=day), st.integers(0, 700), st.booleans()),
)
_deadlines = st.one_of(
    st.tuples(st.integers(1, 40), st.just("working_days")),
    st.tuples(st.integers(1, 72), st.just("hours")),
)


@settings(max_examples=60, deadline=None,
          # One calendar per test, filled through the rolled-back connection; examples only read.
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(st.tuples(_times, _deadlines), min_size=1, max_size=40))
def test_sql_and_python_due_dates_agree(
    conn: Connection, cases: list[tuple[dt.datetime, tuple[int, str]]]
) -> None:
    ensure_calendar(conn, 2024, 2027)
    rows = [(n, created, amount, unit) for n, (created, (amount, unit)) in enumerate(cases)]
    table = values(column("idx", Integer), column("created_at", DateTime(timezone=True)),
                   column("amount", Integer), column("unit", Text), name="deadline_input").data(rows)
    got = conn.execute(
        select(due_at_sql(table.c.created_at, table.c.amount, table.c.unit)).order_by(table.c.idx)
    ).scalars().all()
    assert got == [due_at(created, amount, unit) for _, created, amount, unit in rows]
