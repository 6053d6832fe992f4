"""The report lifecycle: the table of moves, timestamps, events, row locks, and escalation."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, delete, func, select, text, update
from sqlalchemy.exc import OperationalError

from gis_service.cli.context import AppContext
from gis_service.cli.reports import reports as reports_cli
from gis_service.config import Settings
from gis_service.db.schema import REPORT_STATUSES, admin_unit, agency, generation, report, report_event
from gis_service.errors import Conflict, InvalidInput, NotFound
from gis_service.reports.lifecycle import (
    OPEN_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    escalate_overdue,
    overdue_by_agency,
    transition,
)
from tests.factories import add_agency, add_report, report_place

NOW = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.UTC)


def events(conn: Connection, report_id: int) -> list[tuple[str, str | None, str | None, str]]:
    rows = conn.execute(
        select(report_event.c.kind, report_event.c.from_status, report_event.c.to_status,
               report_event.c.actor)
        .where(report_event.c.report_id == report_id)
        .order_by(report_event.c.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def status_of(conn: Connection, report_id: int) -> str:
    return str(conn.execute(select(report.c.status).where(report.c.id == report_id)).scalar_one())


def test_the_table_covers_every_status() -> None:
    assert set(TRANSITIONS) == set(REPORT_STATUSES)
    assert all(not TRANSITIONS[s] for s in TERMINAL_STATUSES)
    assert all("duplicate" in TRANSITIONS[s] for s in OPEN_STATUSES)
    assert all(to in REPORT_STATUSES for moves in TRANSITIONS.values() for to in moves)


PAIRS = [(a, b) for a in REPORT_STATUSES for b in REPORT_STATUSES if b != "duplicate"]


@pytest.mark.parametrize(("from_status", "to_status"), PAIRS)
def test_every_move_is_allowed_exactly_when_the_table_says(
    conn: Connection, from_status: str, to_status: str
) -> None:
    original = add_report(conn) if from_status == "duplicate" else None
    report_id = add_report(conn, status=from_status, duplicate_of=original)
    if to_status in TRANSITIONS[from_status]:
        moved = transition(conn, report_id, to_status, "staff:test")
        assert (moved.from_status, moved.to_status) == (from_status, to_status)
        assert status_of(conn, report_id) == to_status
        assert events(conn, report_id) == [("status", from_status, to_status, "staff:test")]
    else:
        with pytest.raises(Conflict) as caught:
            transition(conn, report_id, to_status, "staff:test")
        assert caught.value.status == 409 and caught.value.field == "status"
        assert f"is {from_status}: it cannot become {to_status}" in caught.value.detail
        assert status_of(conn, report_id) == from_status
        assert events(conn, report_id) == []


def test_a_full_life_sets_its_timestamps(conn: Connection) -> None:
    report_id = add_report(conn)
    times = {}
    for step, status in enumerate(["accepted", "assigned", "in_progress", "resolved",
                                   "reopened", "in_progress", "resolved", "closed"]):
        at = NOW + dt.timedelta(hours=step)
        assert transition(conn, report_id, status, "staff:lan", f"step {step}", at=at).at == at
        times[status] = at
        row = conn.execute(select(report).where(report.c.id == report_id)).one()
        if status == "reopened":
            assert row.resolved_at is None
    row = conn.execute(select(report).where(report.c.id == report_id)).one()
    assert row.first_response_at == NOW  # the first move, never overwritten
    assert row.resolved_at == times["resolved"] == NOW + dt.timedelta(hours=6)
    assert row.closed_at == times["closed"]
    assert [e[2] for e in events(conn, report_id)] == [
        "accepted", "assigned", "in_progress", "resolved", "reopened", "in_progress",
        "resolved", "closed"]
    notes = conn.execute(select(report_event.c.note, report_event.c.at)
                         .where(report_event.c.report_id == report_id)
                         .order_by(report_event.c.id)).all()
    assert notes[0] == ("step 0", NOW)


def test_rejection_closes_and_counts_as_a_response(conn: Connection) -> None:
    report_id = add_report(conn)
    transition(conn, report_id, "rejected", "staff:lan", "not in the city", at=NOW)
    row = conn.execute(select(report).where(report.c.id == report_id)).one()
    assert (row.status, row.first_response_at, row.closed_at) == ("rejected", NOW, NOW)


def test_without_at_the_transaction_time_is_used(conn: Connection) -> None:
    report_id = add_report(conn)
    moved = transition(conn, report_id, "accepted", "staff:lan")
    assert moved.at == conn.execute(select(func.now())).scalar_one()


def test_duplicates_link_to_their_original(conn: Connection) -> None:
    original = add_report(conn, public_id="ORIGINAL-1")
    copy = add_report(conn, status="assigned")
    moved = transition(conn, copy, "duplicate", "staff:lan", "same pothole", duplicate_of=original,
                       at=NOW)
    assert moved.to_status == "duplicate"
    row = conn.execute(select(report).where(report.c.id == copy)).one()
    assert (row.status, row.duplicate_of, row.closed_at) == ("duplicate", original, NOW)
    kind, note = conn.execute(select(report_event.c.kind, report_event.c.note)
                              .where(report_event.c.report_id == copy)).one()
    assert (kind, note) == ("duplicate", "duplicate of ORIGINAL-1 same pothole")


def test_duplicate_errors(conn: Connection) -> None:
    original = add_report(conn)
    copy = add_report(conn)
    with pytest.raises(InvalidInput, match="duplicate_of goes with status 'duplicate'"):
        transition(conn, copy, "duplicate", "staff:lan")
    with pytest.raises(InvalidInput, match="duplicate_of goes with status 'duplicate'"):
        transition(conn, copy, "accepted", "staff:lan", duplicate_of=original)
    with pytest.raises(Conflict, match="cannot be a duplicate of itself"):
        transition(conn, copy, "duplicate", "staff:lan", duplicate_of=copy)
    with pytest.raises(NotFound):
        transition(conn, copy, "duplicate", "staff:lan", duplicate_of=original + 10**9)
    transition(conn, copy, "duplicate", "staff:lan", duplicate_of=original)
    third = add_report(conn)
    with pytest.raises(Conflict, match="is itself a duplicate"):
        transition(conn, third, "duplicate", "staff:lan", duplicate_of=copy)
    assert events(conn, third) == []


def test_unknown_reports_and_statuses(conn: Connection) -> None:
    with pytest.raises(NotFound):
        transition(conn, 10**12, "accepted", "staff:lan")
    with pytest.raises(InvalidInput, match="unknown status 'done'"):
        transition(conn, add_report(conn), "done", "staff:lan")


# --- the row lock, with committed rows in a second connection ----------------------------------


@pytest.fixture
def committed_report(engine: Engine) -> Iterator[int]:
    """A report committed for real (no events, so it can be deleted again afterwards)."""
    code = f"lock-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        place = report_place(conn)
        gid = conn.execute(select(generation.c.id).where(generation.c.code == "report-factory")
                           ).scalar_one()
        report_id = add_report(conn, place=place, public_id=code)
    yield report_id
    with engine.begin() as conn:
        conn.execute(delete(report).where(report.c.id == report_id))
        if not conn.execute(select(func.count()).select_from(report)
                            .where(report.c.snap_generation_id == gid)).scalar_one():
            conn.execute(delete(agency).where(agency.c.id == place.agency_id))
            # Children before their parent (the parent key is a foreign key).
            for level in ("commune", "province"):
                conn.execute(delete(admin_unit).where(admin_unit.c.generation_id == gid,
                                                      admin_unit.c.level == level))
            conn.execute(delete(generation).where(generation.c.id == gid))


def test_a_transition_locks_the_report_row(engine: Engine, committed_report: int) -> None:
    report_id = committed_report
    with engine.connect() as first, engine.connect() as second:
        first_tx = first.begin()
        transition(first, report_id, "accepted", "staff:a")
        second_tx = second.begin()
        second.execute(text("SET LOCAL lock_timeout = '200ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            transition(second, report_id, "rejected", "staff:b")
        second_tx.rollback()
        first_tx.rollback()
    # Once the first is gone, the second move goes through (and is rolled back again).
    with engine.connect() as again:
        tx = again.begin()
        assert transition(again, report_id, "rejected", "staff:b").from_status == "received"
        tx.rollback()


# --- escalation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    city: int
    district: int
    commune: int
    lone: int


@pytest.fixture
def chain(conn: Connection) -> Chain:
    """commune committee -> district committee -> city committee; and an agency without one."""
    place = report_place(conn)
    city = add_agency(conn, "esc-city", kind="city_committee")
    district = add_agency(conn, "esc-district", kind="district_committee", supervisor_id=city)
    commune = add_agency(conn, "esc-commune", unit_id=place.commune_id, supervisor_id=district)
    return Chain(city, district, commune, add_agency(conn, "esc-lone", kind="city_committee"))


def overdue_report(conn: Connection, agency_id: int, days: float, status: str = "received") -> int:
    due = NOW - dt.timedelta(days=days)
    return add_report(conn, agency_id=agency_id, status=status,
                      created_at=due - dt.timedelta(days=14), due_at=due)


def escalations(conn: Connection, report_id: int) -> list[str]:
    return list(conn.execute(
        select(agency.c.code).join(report_event, report_event.c.agency_id == agency.c.id)
        .where(report_event.c.report_id == report_id, report_event.c.kind == "escalated")
        .order_by(report_event.c.id)
    ).scalars())


def test_overdue_reports_escalate_one_level_per_week(conn: Connection, chain: Chain) -> None:
    late = overdue_report(conn, chain.commune, days=1)
    later = overdue_report(conn, chain.commune, days=8)
    on_time = overdue_report(conn, chain.commune, days=-1)
    resolved = overdue_report(conn, chain.commune, days=30, status="resolved")
    department = overdue_report(conn, chain.district, days=2)
    top = overdue_report(conn, chain.lone, days=40)

    done = escalate_overdue(conn, NOW)
    assert sorted((e.public_id and e.report_id, e.escalated_to_code, e.level) for e in done) == sorted([
        (late, "esc-district", 1), (later, "esc-district", 1), (later, "esc-city", 2),
        (department, "esc-city", 1),
    ])
    assert escalations(conn, later) == ["esc-district", "esc-city"]
    assert escalations(conn, on_time) == escalations(conn, resolved) == escalations(conn, top) == []
    stamped = dict(conn.execute(select(report.c.id, report.c.escalated_at)
                                .where(report.c.id.in_([late, on_time]))).all())
    assert stamped == {late: NOW, on_time: None}
    # The reports stay with their agencies; the escalation is an event.
    assert conn.execute(select(report.c.agency_id).where(report.c.id == late)).scalar_one() == chain.commune
    note = conn.execute(select(report_event.c.note).where(report_event.c.report_id == late,
                                                          report_event.c.kind == "escalated")).scalar_one()
    assert "escalated from esc-commune to esc-district (level 1)" in note

    # Idempotent: nothing new at the same time; a week later the first one goes up again.
    assert escalate_overdue(conn, NOW) == []
    week_later = escalate_overdue(conn, NOW + dt.timedelta(days=7))
    assert sorted((e.report_id, e.escalated_to_code, e.level) for e in week_later) == sorted([
        (late, "esc-city", 2), (on_time, "esc-district", 1)])
    assert escalate_overdue(conn, NOW + dt.timedelta(days=7)) == []


def test_overdue_by_agency(conn: Connection, chain: Chain) -> None:
    overdue_report(conn, chain.commune, days=1)
    oldest = overdue_report(conn, chain.commune, days=5)
    overdue_report(conn, chain.commune, days=-1)
    overdue_report(conn, chain.district, days=2, status="closed")
    overdue_report(conn, chain.lone, days=3, status="reopened")
    escalate_overdue(conn, NOW)
    found = {a.agency_code: a for a in overdue_by_agency(conn, NOW) if a.agency_code.startswith("esc-")}
    assert {code: (a.overdue, a.escalated) for code, a in found.items()} == {
        "esc-commune": (2, 2), "esc-lone": (1, 0)}
    due = conn.execute(select(report.c.due_at).where(report.c.id == oldest)).scalar_one()
    assert found["esc-commune"].oldest_due_at == due


def test_a_supervisor_loop_stops(conn: Connection, chain: Chain) -> None:
    conn.execute(update(agency).where(agency.c.id == chain.city).values(supervisor_id=chain.commune))
    report_id = overdue_report(conn, chain.commune, days=100)
    escalate_overdue(conn, NOW)
    assert escalations(conn, report_id) == ["esc-district", "esc-city"]


def test_cli_escalate_dry_run(engine: Engine, settings: Settings, database: str) -> None:
    app = AppContext(replace(settings, database_url=database))
    result = CliRunner().invoke(reports_cli, ["escalate", "--dry-run", "--now", "2025-03-10T09:00"],
                                obj=app)
    app.close()
    assert result.exit_code == 0, result.output
    assert result.output.startswith("as of 2025-03-10T09:00:00+07:00: ")
    assert result.output.rstrip().endswith("dry run: nothing escalated")
    bad = CliRunner().invoke(reports_cli, ["escalate", "--now", "tomorrow"], obj=app)
    assert bad.exit_code == 2 and "not an ISO-8601 time" in bad.output
