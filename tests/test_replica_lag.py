"""The replica's lag: reported in /healthz, checked at most once a second, and a replica whose
replay stands still is `lagging` (reads on the primary) until it catches up."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text

from gis_service.db.lag import ReplicaMonitor
from gis_service.web import create_app
from gis_service.web.services import EXTENSION_KEY, Services
from tests.replica_pair import ReplicaPair, until


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("behind", "sender", "state", "lag_ms"), [
    (0, {"state": "streaming", "ms": None}, "streaming", 0.0),   # idle, caught up
    (4096, {"state": "streaming", "ms": 1.8}, "streaming", 1.8),
    (4096, {"state": "streaming", "ms": 9000.0}, "lagging", 9000.0),  # past the bound
    (4096, {"state": "catchup", "ms": 1.0}, "lagging", 1.0),     # not streaming yet
    (4096, {"state": "streaming", "ms": None}, "streaming", None),  # in flight: not measured
    (4096, None, "lagging", None),                              # no WAL sender for it
])
def test_classify(behind: int, sender: dict[str, object] | None, state: str,
                  lag_ms: float | None) -> None:
    monitor = ReplicaMonitor(None, None, max_lag_ms=5000)  # type: ignore[arg-type]  # no query
    found = monitor._classify(behind, sender, "0/1000")
    assert (found.state, found.lag_ms, found.lag_bytes) == (state, lag_ms, behind)


def test_replay_standing_still_counts_as_lag() -> None:
    clock = Clock()
    monitor = ReplicaMonitor(None, None, max_lag_ms=5000, clock=clock)  # type: ignore[arg-type]
    sender = {"state": "streaming", "ms": 2.0}  # replay_lag only moves when replay does
    assert monitor._classify(800, sender, "0/1000").state == "streaming"
    clock.now += 6.0
    stuck = monitor._classify(900, sender, "0/1000")
    assert (stuck.state, stuck.lag_ms) == ("lagging", 6000.0)
    assert monitor._classify(0, sender, "0/2000").state == "streaming"  # caught up


@pytest.fixture(scope="module")
def app(replica: ReplicaPair) -> Iterator[Flask]:
    app = create_app(replica.settings, engine=replica.engine, read_engine=replica.read_engine)
    yield app
    services(app).reads.dispose_monitor()


def services(app: Flask) -> Services:
    found: Services = app.extensions[EXTENSION_KEY]
    return found


def test_healthz_reports_the_lag(app: Flask) -> None:
    until(lambda: services(app).reads.replica_status().serves_reads, within_s=15,
          what="the replica streaming")
    replica = app.test_client().get("/healthz").get_json()["replica"]
    assert replica["state"] == "streaming"
    assert replica["lag_bytes"] >= 0
    assert replica["lag_ms"] is None or 0 <= replica["lag_ms"] <= 5000


def test_at_most_one_check_a_second(app: Flask) -> None:
    monitor = services(app).reads.monitor
    assert monitor is not None
    client, before, started = app.test_client(), monitor.checks, time.monotonic()
    while time.monotonic() - started < 2.0:  # /healthz as fast as it answers, for 2 s
        assert client.get("/healthz").status_code == 200
    assert monitor.checks - before <= 2 + 1  # one a second (and one in progress)


def test_a_paused_replay_is_lagging_and_reads_fall_back(replica: ReplicaPair) -> None:
    monitor = ReplicaMonitor(replica.engine, replica.read_engine, max_lag_ms=1500,
                             interval_s=0.2)
    with replica.read_engine.connect() as standby:
        standby.execute(text("SELECT pg_wal_replay_pause()"))
        try:
            def behind() -> bool:
                with replica.engine.begin() as conn:
                    conn.execute(text("SELECT txid_current()"))  # WAL to replay
                return monitor.refresh().state == "lagging"

            until(behind, within_s=30, what="a paused replica lagging")
            assert not monitor.status().serves_reads
        finally:
            standby.execute(text("SELECT pg_wal_replay_resume()"))
    until(lambda: monitor.refresh().state == "streaming", within_s=30, what="caught up")
    monitor.stop()
