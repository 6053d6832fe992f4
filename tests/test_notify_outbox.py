"""The outbox: rows written in the event's transaction for the events that notify, to the
right agencies; the overdue check once per deadline; claims, leases and outcomes."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest
from sqlalchemy import Connection, func, select, update

from gis_service.db.schema import agency, notification, report
from gis_service.notify import signing
from gis_service.notify.channel_config import ChannelSpec
from gis_service.notify.channels import store_channels
from gis_service.notify.outbox import claim, delivered, enqueue, failed
from gis_service.notify.overdue import mark_overdue
from gis_service.notify.retry import retry_delay
from gis_service.reports.lifecycle import escalate_overdue, transition
from tests.factories import add_agency, add_report, report_place

HOOK = ChannelSpec("webhook", "http://127.0.0.1:9/hook", "TEST_SECRET")
MAIL = ChannelSpec("email", "ubnd@example.vn")
NOW = dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC)


def _rows(conn: Connection) -> list[tuple[int, int, str, str, dict[str, object]]]:
    return [tuple(row) for row in conn.execute(  # type: ignore[misc]
        select(notification.c.report_id, notification.c.agency_id, notification.c.channel,
               notification.c.status, notification.c.payload).order_by(notification.c.id))]


@pytest.fixture
def agency_id(conn: Connection) -> int:
    place = report_place(conn)
    store_channels(conn, {"report-factory-committee": [HOOK, MAIL]},
                   {"report-factory-committee": place.agency_id})
    return place.agency_id


def test_moves_onto_an_agencys_desk_notify_each_channel(conn: Connection, agency_id: int) -> None:
    report_id = add_report(conn)
    for status in ("accepted", "assigned", "in_progress", "resolved", "reopened"):
        transition(conn, report_id, status, "staff:lan", f"to {status}")
    rows = _rows(conn)
    # assigned and reopened, by webhook and by e-mail; accepted, in_progress, resolved are not.
    assert [(r[2], r[4]["event"]["to_status"]) for r in rows] == [  # type: ignore[index]
        ("webhook", "assigned"), ("email", "assigned"), ("webhook", "reopened"),
        ("email", "reopened")]
    assert {(r[0], r[1], r[3]) for r in rows} == {(report_id, agency_id, "pending")}
    payload = rows[0][4]
    assert payload["report"]["status"] == "assigned"  # type: ignore[index]
    assert payload["recipient"]["code"] == "report-factory-committee"  # type: ignore[index]
    # Public coordinates only, and never the reporter's contact.
    assert payload["report"]["lat"] == 16.475 and "reporter" not in payload["report"]  # type: ignore[index]


def test_enqueueing_an_event_twice_writes_it_once(conn: Connection, agency_id: int) -> None:
    report_id = add_report(conn, status="accepted")
    event_id = transition(conn, report_id, "assigned", "staff:lan").event_id
    assert enqueue(conn, [event_id]) == 0 and len(_rows(conn)) == 2


def test_an_agency_without_channels_gets_no_rows(conn: Connection) -> None:
    report_id = add_report(conn, status="accepted")
    transition(conn, report_id, "assigned", "staff:lan")
    assert _rows(conn) == []


def test_escalation_notifies_the_agency_and_its_supervisor(conn: Connection, agency_id: int) -> None:
    supervisor = add_agency(conn, "notify-supervisor", kind="district_committee")
    conn.execute(update(agency).where(agency.c.id == agency_id).values(supervisor_id=supervisor))
    store_channels(conn, {"notify-supervisor": [MAIL]}, {"notify-supervisor": supervisor})
    report_id = add_report(conn, created_at=NOW - dt.timedelta(days=20),
                           due_at=NOW - dt.timedelta(days=1))
    done = escalate_overdue(conn, NOW)
    assert [(e.report_id, e.escalated_to_id) for e in done] == [(report_id, supervisor)]
    rows = _rows(conn)
    assert sorted((r[1], r[2]) for r in rows) == sorted(
        [(agency_id, "webhook"), (agency_id, "email"), (supervisor, "email")])
    assert {r[4]["event"]["kind"] for r in rows} == {"escalated"}  # type: ignore[index]
    assert escalate_overdue(conn, NOW) == [] and len(_rows(conn)) == 3


def test_the_overdue_check_writes_one_event_per_deadline(conn: Connection, agency_id: int) -> None:
    late = add_report(conn, created_at=NOW - dt.timedelta(days=20), due_at=NOW - dt.timedelta(hours=1))
    add_report(conn, created_at=NOW, due_at=NOW + dt.timedelta(days=1))  # not yet
    add_report(conn, status="resolved", created_at=NOW - dt.timedelta(days=20),
               due_at=NOW - dt.timedelta(days=1))  # done: not overdue
    imported = add_report(conn, created_at=NOW - dt.timedelta(days=20),
                          due_at=NOW - dt.timedelta(days=1))
    conn.execute(update(report).where(report.c.id == imported).values(import_batch="history.csv"))
    assert mark_overdue(conn, NOW) == [late]
    assert mark_overdue(conn, NOW + dt.timedelta(hours=1)) == []
    assert [(r[0], r[4]["event"]["kind"]) for r in _rows(conn)] == [  # type: ignore[index]
        (late, "overdue"), (late, "overdue")]  # webhook and e-mail
    # A new deadline (say, reopened) can pass again.
    conn.execute(update(report).where(report.c.id == late).values(due_at=NOW + dt.timedelta(hours=2)))
    assert mark_overdue(conn, NOW + dt.timedelta(hours=3)) == [late]
    assert len(_rows(conn)) == 4


def test_claims_lease_and_settle(conn: Connection, agency_id: int) -> None:
    report_id = add_report(conn, status="accepted")
    transition(conn, report_id, "assigned", "staff:lan")
    lease = dt.timedelta(minutes=1)
    first = claim(conn, limit=10, lease=lease, max_attempts=3)
    assert [c.channel for c in first] == ["webhook", "email"] and {c.attempts for c in first} == {1}
    # Leased: nobody else gets them until the lease runs out.
    assert claim(conn, limit=10, lease=lease, max_attempts=3) == []
    hook, mail = first
    assert delivered(conn, [hook]) == 1
    assert failed(conn, mail, "HTTP 500", retry_in=dt.timedelta(0), max_attempts=3) == "retrying"
    # A stale claim (a worker whose lease was taken over) cannot overwrite the new holder's.
    again = claim(conn, limit=10, lease=lease, max_attempts=3)
    assert [(c.id, c.attempts, c.delivery_id) for c in again] == [(mail.id, 2, mail.delivery_id)]
    assert failed(conn, mail, "late", retry_in=dt.timedelta(0), max_attempts=3) is None
    assert failed(conn, again[0], "HTTP 500", retry_in=dt.timedelta(0), max_attempts=3) == "retrying"
    third = claim(conn, limit=10, lease=lease, max_attempts=3)
    assert failed(conn, third[0], "HTTP 503", retry_in=dt.timedelta(0), max_attempts=3) == "dead"
    statuses = dict(conn.execute(select(notification.c.channel, notification.c.status)).all())
    assert statuses == {"webhook": "delivered", "email": "dead"}


def test_a_last_attempt_whose_worker_died_becomes_dead(conn: Connection, agency_id: int) -> None:
    report_id = add_report(conn, status="accepted")
    transition(conn, report_id, "assigned", "staff:lan")
    claimed = claim(conn, limit=10, lease=dt.timedelta(minutes=1), max_attempts=1)
    assert len(claimed) == 2
    conn.execute(update(notification).values(next_attempt_at=func.now() - dt.timedelta(seconds=1)))
    assert claim(conn, limit=10, lease=dt.timedelta(minutes=1), max_attempts=1) == []
    errors = conn.execute(select(notification.c.status, notification.c.last_error)).all()
    assert {status for status, _ in errors} == {"dead"}
    assert all("stopped before it finished" in (error or "") for _, error in errors)


def test_retry_delays_double_up_to_the_cap_with_jitter() -> None:
    rng = random.Random(7)
    for attempt, ceiling in ((1, 30), (2, 60), (3, 120), (8, 3600), (30, 3600)):
        delays = [retry_delay(attempt, base_s=30, cap_s=3600, rng=rng).total_seconds()
                  for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, min(delays), max(delays))
        assert len(set(delays)) > 100  # jittered


def test_the_body_and_its_signature_are_the_same_on_every_attempt() -> None:
    delivery = uuid.uuid4()
    payload = {"event": {"kind": "routed", "note": "Phường Vỹ Dạ"}, "report": {"id": "PA-1"}}
    first, again = signing.body_bytes(payload, delivery), signing.body_bytes(dict(payload), delivery)
    assert first == again and "Vỹ Dạ".encode() in first
    assert signing.verify("k", first, signing.signature("k", again))
    assert not signing.verify("other", first, signing.signature("k", first))
    assert not signing.verify("k", first + b" ", signing.signature("k", first))


def test_the_overdue_check_uses_its_partial_index(conn: Connection) -> None:
    from sqlalchemy import text  # noqa: PLC0415

    from gis_service.notify.overdue import due_reports  # noqa: PLC0415

    conn.execute(text("SET LOCAL enable_seqscan = off"))
    query = due_reports(NOW)
    compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
    plan = "\n".join(conn.execute(text(f"EXPLAIN {compiled}")).scalars())
    assert "ix_report_open_due" in plan, plan
