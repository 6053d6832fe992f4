"""Delivery to real receivers on loopback, no mocks: an HTTP receiver that is down, slow,
failing and then recovers, an SMTP server, a worker process killed with SIGKILL mid-delivery.

The outbox is committed here (workers see only committed rows), in a database of this
module's own; each test starts with an empty outbox.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select

from gis_service.config import NotifySettings, Settings
from gis_service.db.engine import make_engine
from gis_service.db.schema import agency_channel, notification
from gis_service.db.scratch import scratch_database
from gis_service.notify import signing
from gis_service.notify.channel_config import ChannelSpec
from gis_service.notify.channels import store_channels
from gis_service.notify.log import retry_dead
from gis_service.notify.worker import Worker
from gis_service.reports.lifecycle import transition
from tests.factories import add_report, report_place
from tests.notify_receivers import Received, Script, free_port, http_receiver, smtp_receiver, wait_for

ROOT = Path(__file__).resolve().parent.parent
SECRET_ENV = "TEST_NOTIFY_HOOK_SECRET"
SECRET = "s3cret-for-tests-only"
AGENCY = "report-factory-committee"
FAST = NotifySettings(timeout_s=0.5, lease_s=1.5, max_attempts=10, backoff_s=0.05,
                      backoff_max_s=0.2, poll_s=0.05, overdue_every_s=3600, concurrency=4)


@dataclass(frozen=True)
class OutboxDB:
    url: str
    engine: Engine
    agency_id: int


@pytest.fixture(scope="module")
def outbox_db(server_url: str, settings: Settings) -> Iterator[OutboxDB]:
    with scratch_database(server_url, settings, "test_notify") as url:
        engine = make_engine(url, settings)
        with engine.begin() as conn:
            agency_id = report_place(conn).agency_id
        yield OutboxDB(url, engine, agency_id)
        engine.dispose()


@pytest.fixture
def db(outbox_db: OutboxDB) -> Iterator[OutboxDB]:
    yield outbox_db
    with outbox_db.engine.begin() as conn:
        conn.execute(delete(notification))
        conn.execute(delete(agency_channel))


def _channels(db: OutboxDB, *channels: ChannelSpec) -> None:
    with db.engine.begin() as conn:
        store_channels(conn, {AGENCY: list(channels)}, {AGENCY: db.agency_id})


def _hook(port: int) -> ChannelSpec:
    return ChannelSpec("webhook", f"http://127.0.0.1:{port}/paht?source=gis", SECRET_ENV)


def _assign(db: OutboxDB, count: int) -> None:
    """``count`` reports moved to assigned, each in its own committed transaction."""
    for _ in range(count):
        with db.engine.begin() as conn:
            transition(conn, add_report(conn, status="accepted"), "assigned", "test:staff")


def _outbox(db: OutboxDB) -> list[tuple[str, str, int, str | None]]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(notification.c.delivery_id, notification.c.status,
                                   notification.c.attempts, notification.c.last_error)
                            .order_by(notification.c.id)).all()
    return [(str(d), s, a, e) for d, s, a, e in rows]


def _all(db: OutboxDB, status: str) -> bool:
    rows = _outbox(db)
    return bool(rows) and all(row[1] == status for row in rows)


def _worker(db: OutboxDB, settings: NotifySettings = FAST) -> Worker:
    return Worker(db.engine, settings, {SECRET_ENV: SECRET})


def _drain(worker: Worker, db: OutboxDB, status: str) -> None:
    def settled() -> bool:
        worker.run(once=True)
        return _all(db, status)

    wait_for(settled, timeout_s=60)


def _check_signed(received: list[Received]) -> None:
    """Every request verifies; repeats of a delivery are byte for byte the first."""
    first: dict[str, bytes] = {}
    for request in received:
        assert signing.verify(SECRET, request.body, request.headers["X-Gis-Signature-256"])
        assert json.loads(request.body)["delivery_id"] == request.delivery_id
        assert first.setdefault(request.delivery_id, request.body) == request.body


def test_every_event_is_delivered_through_a_receiver_down_slow_failing_then_back(
        db: OutboxDB) -> None:
    port = free_port()
    _channels(db, _hook(port))
    _assign(db, 4)
    worker = _worker(db)
    worker.run(once=True)  # nobody listens yet
    down = _outbox(db)
    assert {row[1] for row in down} == {"retrying"}
    assert all("Connection" in (row[3] or "") for row in down), down

    script = Script(answers=["slow", "500", "500"])
    with http_receiver(script, port):
        _drain(worker, db, "delivered")
    rows = _outbox(db)
    assert set(script.ids()) == {row[0] for row in rows}  # every event arrived
    _check_signed(script.received)
    by_answer = {r.answer: r.delivery_id for r in script.received}
    slow, failing = by_answer["slow"], by_answer["500"]
    assert script.ids().count(slow) >= 2 and script.ids().count(failing) >= 2  # repeated, same id
    errors = {row[0]: row[3] or "" for row in rows}
    assert "no answer within 0.5 s" in errors[slow]
    assert errors[failing].startswith("HTTP 500") and "on purpose" in errors[failing]
    hook = script.received[0]
    assert (hook.headers["X-Gis-Event"], hook.headers["Content-Type"]) == (
        "status", "application/json; charset=utf-8")
    assert hook.headers["Idempotency-Key"] == hook.delivery_id


def test_a_dead_letter_after_n_failures_is_retried_with_the_same_id(db: OutboxDB) -> None:
    script = Script(answers=["500"] * 3)
    with http_receiver(script) as port:
        _channels(db, _hook(port))
        _assign(db, 1)
        worker = _worker(db, replace(FAST, max_attempts=3))
        _drain(worker, db, "dead")
        [(delivery_id, _, attempts, error)] = _outbox(db)
        assert attempts == 3 and error is not None and error.startswith("HTTP 500")
        assert script.ids() == [delivery_id] * 3
        assert [r.headers["X-Gis-Attempt"] for r in script.received] == ["1", "2", "3"]
        with db.engine.begin() as conn:
            assert retry_dead(conn, agency_code=AGENCY) == 1
        _drain(worker, db, "delivered")
    assert script.ids() == [delivery_id] * 4
    _check_signed(script.received)


def test_a_missing_secret_is_a_failure_naming_the_variable(db: OutboxDB) -> None:
    script = Script()
    with http_receiver(script) as port:
        _channels(db, _hook(port))
        _assign(db, 1)
        Worker(db.engine, FAST, {}).run(once=True)
    [(_, status, _, error)] = _outbox(db)
    assert status == "retrying" and f"{SECRET_ENV} is not set" in (error or "")
    assert script.received == []  # nothing unsigned ever leaves


def test_two_workers_never_deliver_the_same_row_twice(db: OutboxDB) -> None:
    script = Script()
    with http_receiver(script) as port:
        _channels(db, _hook(port))
        _assign(db, 24)
        workers = [_worker(db, replace(FAST, concurrency=2)) for _ in range(2)]
        threads = [threading.Thread(target=w.run, kwargs={"once": True}) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert _all(db, "delivered")
    assert sorted(script.ids()) == sorted(row[0] for row in _outbox(db))  # each exactly once
    assert all(w.tally.delivered > 0 for w in workers), [w.tally for w in workers]


def test_e_mail_in_vietnamese_then_english_over_smtp(db: OutboxDB) -> None:
    port = free_port()
    _channels(db, ChannelSpec("email", "tiepnhan@example.vn"))
    _assign(db, 1)
    settings = replace(FAST, smtp_host="127.0.0.1", smtp_port=port, smtp_sender="paht@hue.example.vn")
    worker = _worker(db, settings)
    worker.run(once=True)  # the SMTP server is down
    [(delivery_id, status, _, error)] = _outbox(db)
    assert status == "retrying" and (error or "").startswith("SMTP:")
    with smtp_receiver(port) as messages:
        _drain(worker, db, "delivered")
    [message] = messages
    assert message["To"] == "tiepnhan@example.vn" and message["From"] == "paht@hue.example.vn"
    assert message["Subject"].startswith("[PAHT] Phản ánh ") and "/ Report " in message["Subject"]
    assert message["X-Gis-Delivery"] == delivery_id and delivery_id in message["Message-ID"]
    text = message.get_content()
    assert text.index("Đơn vị chịu trách nhiệm") < text.index("---") < text.index("Responsible agency")
    assert "trạng thái: assigned".lower() in text.lower() and delivery_id in text


def _worker_process(db: OutboxDB) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": db.url, SECRET_ENV: SECRET,
           "GIS_NOTIFY_CONCURRENCY": "1", "GIS_NOTIFY_TIMEOUT_S": "1", "GIS_NOTIFY_LEASE_S": "3",
           "GIS_NOTIFY_POLL_S": "0.1", "GIS_NOTIFY_BACKOFF_S": "0.1", "GIS_NOTIFY_BACKOFF_MAX_S": "0.5"}
    return subprocess.Popen([sys.executable, "-m", "gis_service.cli", "notify", "run"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_no_event_is_lost_when_the_worker_is_killed_mid_delivery(db: OutboxDB) -> None:
    script = Script(answers=["hold"])
    with http_receiver(script) as port:
        _channels(db, _hook(port))
        _assign(db, 5)
        first = _worker_process(db)
        try:
            wait_for(script.holding.is_set, timeout_s=60)  # the receiver holds the request
            first.send_signal(signal.SIGKILL)
            assert first.wait(30) == -signal.SIGKILL
        finally:
            first.kill()
        script.release.set()
        held = script.ids()[0]
        states = {row[0]: row[1:3] for row in _outbox(db)}
        assert states[held] == ("pending", 1)  # claimed, never settled: its lease will run out
        second = _worker_process(db)
        try:
            wait_for(lambda: _all(db, "delivered"), timeout_s=60)
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0, second.stderr.read() if second.stderr else ""
        finally:
            second.kill()
    rows = _outbox(db)
    assert len(rows) == 5 and set(script.ids()) == {row[0] for row in rows}
    assert script.ids().count(held) == 2  # sent again, with the same delivery id
    _check_signed(script.received)


def test_the_outbox_row_exists_iff_the_events_transaction_committed(db: OutboxDB) -> None:
    _channels(db, ChannelSpec("email", "a@example.vn"))
    with db.engine.connect() as conn, conn.begin() as tx:
        transition(conn, add_report(conn, status="accepted"), "assigned", "test:staff")
        assert _outbox(db) == []  # not visible to a worker before it commits
        tx.rollback()
    assert _outbox(db) == []
    _assign(db, 1)
    assert [row[1] for row in _outbox(db)] == ["pending"]


def test_the_cli_delivers_lists_and_retries_dead_letters(
        db: OutboxDB, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner  # noqa: PLC0415

    from gis_service.cli import main  # noqa: PLC0415

    for name, value in {"DATABASE_URL": db.url, "GIS_NOTIFY_MAX_ATTEMPTS": "1",
                        "GIS_NOTIFY_TIMEOUT_S": "0.5", "GIS_NOTIFY_LEASE_S": "2"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(SECRET_ENV, raising=False)
    _channels(db, _hook(free_port()))
    _assign(db, 1)
    runner = CliRunner()
    ran = runner.invoke(main, ["notify", "run", "--once"])
    assert ran.exit_code == 0, ran.output
    assert "0 delivered, 0 to retry, 1 dead" in ran.output
    listed = runner.invoke(main, ["notify", "deliveries", AGENCY, "--status", "dead"])
    assert listed.exit_code == 0 and f"{SECRET_ENV} is not set" in listed.output, listed.output
    unknown = runner.invoke(main, ["notify", "deliveries", "no-such-agency"])
    assert unknown.exit_code == 1 and "no agency 'no-such-agency'" in unknown.output
    retried = runner.invoke(main, ["notify", "retry", "--agency", AGENCY])
    assert retried.exit_code == 0 and "1 dead letters queued again" in retried.output
    assert [row[1:3] for row in _outbox(db)] == [("pending", 0)]


def test_the_demo_runs_a_worker_beside_the_server_and_stops_it(db: OutboxDB) -> None:
    from gis_service.notify.process import worker_beside  # noqa: PLC0415

    script = Script()
    with http_receiver(script) as port:
        _channels(db, _hook(port))
        _assign(db, 2)
        env = {**os.environ, "DATABASE_URL": db.url, SECRET_ENV: SECRET, "GIS_NOTIFY_POLL_S": "0.1"}
        with worker_beside(env) as child:
            wait_for(lambda: _all(db, "delivered"), timeout_s=60)
            assert child.poll() is None  # still serving
        assert child.returncode == 0  # stopped by SIGTERM, cleanly
    _check_signed(script.received)


def test_a_worker_outlives_an_unreachable_database(settings: Settings) -> None:
    from sqlalchemy.exc import OperationalError  # noqa: PLC0415

    nowhere = make_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none", settings)
    worker = Worker(nowhere, FAST, {})
    with pytest.raises(OperationalError):
        worker.run(once=True)  # --once reports it (exit 1)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        wait_for(lambda: True)
        thread.join(1.0)
        assert thread.is_alive()  # waiting for the database, not dead
    finally:
        worker.stop.set()
        thread.join(10)
        nowhere.dispose()
    assert not thread.is_alive()
