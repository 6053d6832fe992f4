"""The read replica on two real PostgreSQL instances: replication of a new report, a write
refused on the standby, routing (keyed and writes on the primary, anonymous reads on the
replica), and a killed standby under read traffic: no 5xx, reads fall back, then return."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import func, insert, select
from sqlalchemy.exc import InternalError

from gis_service.db.cluster import ClusterError
from gis_service.db.schema import report
from gis_service.web import create_app
from gis_service.web.services import EXTENSION_KEY, Services, connection
from tests.replica_pair import ReplicaPair, until

VY_DA = {"lat": 16.4779, "lon": 107.611}
NEW = {"category": "sanitation", "channel": "app", "description": "Rác thải ùn ứ đầu kiệt",
       **VY_DA, "reporter": {"name": "Nguyễn Văn A", "phone": "0900000001"}}
BATCH = {"items": [{"id": i, "lat": 16.46 + i * 0.001, "lon": 107.59} for i in range(20)]}


@pytest.fixture(scope="module")
def app(replica: ReplicaPair) -> Iterator[Flask]:
    app = create_app(replica.settings, engine=replica.engine, read_engine=replica.read_engine)
    yield app
    services(app).reads.dispose_monitor()


def services(app: Flask) -> Services:
    found: Services = app.extensions[EXTENSION_KEY]
    return found


def streaming(app: Flask) -> bool:
    return services(app).reads.replica_status().serves_reads


def test_a_new_report_is_on_the_replica_within_a_bound(app: Flask, replica: ReplicaPair) -> None:
    posted = app.test_client().post("/v1/reports", json=NEW,
                                    headers={"X-API-Key": replica.keys["client"]})
    assert posted.status_code == 201, posted.get_data(as_text=True)
    report_id = posted.get_json()["report"]["id"]

    def replicated() -> bool:
        with replica.read_engine.connect() as conn:
            return conn.scalar(select(report.c.id).where(report.c.public_id == report_id)) is not None

    took = until(replicated, within_s=10, what="the new report on the replica")
    print(f"report replicated in {took * 1000:.0f} ms")


def test_the_standby_refuses_writes(replica: ReplicaPair) -> None:
    with replica.read_engine.begin() as conn:
        assert conn.scalar(select(func.pg_is_in_recovery())) is True
    with pytest.raises(InternalError, match="read-only transaction"), \
            replica.read_engine.begin() as conn:
        conn.execute(insert(report).values(category="sanitation"))


def served_by_standby(app: Flask, **request: object) -> bool:
    """Which server the request's read connection reaches: asked of the server itself."""
    with app.test_request_context("/v1/reverse", **request), connection() as conn:  # type: ignore[arg-type]
        return bool(conn.scalar(select(func.pg_is_in_recovery())))


def test_anonymous_reads_go_to_the_replica_keyed_ones_and_writes_to_the_primary(
        app: Flask, replica: ReplicaPair) -> None:
    until(lambda: streaming(app), within_s=15, what="the replica streaming")
    assert served_by_standby(app)
    assert not served_by_standby(app, headers={"X-API-Key": replica.keys["client"]})
    assert not served_by_standby(app, method="POST")  # a write: the primary
    assert not served_by_standby(app, headers={"Authorization": "Bearer x"})

    client = app.test_client()
    before = services(app).reads.reads_served
    assert client.get("/v1/reverse", query_string=VY_DA).status_code == 200
    batch = client.post("/v1/geocode/batch", json=BATCH)  # a read, despite POST, on the standby
    assert batch.status_code == 200, batch.get_data(as_text=True)
    assert services(app).reads.reads_served == before + 2
    keyed = client.get("/v1/reverse", query_string=VY_DA,
                       headers={"X-API-Key": replica.keys["client"]})
    assert keyed.status_code == 200 and services(app).reads.reads_served == before + 2


def test_a_batch_on_the_standby_answers_as_the_primary_does(app: Flask,
                                                            replica: ReplicaPair) -> None:
    until(lambda: streaming(app), within_s=15, what="the replica streaming")
    client = app.test_client()
    anonymous = client.post("/v1/geocode/batch", json=BATCH).get_json()
    keyed = client.post("/v1/geocode/batch", json=BATCH,
                        headers={"X-API-Key": replica.keys["client"]}).get_json()
    assert anonymous == keyed
    assert {item["result"]["match"] for item in anonymous["results"]} <= {"inside", "nearest"}


def read_traffic(app: Flask, stop: threading.Event, statuses: list[int]) -> None:
    client = app.test_client()
    while not stop.is_set():
        statuses.append(client.get("/v1/reverse", query_string=VY_DA).status_code)
        statuses.append(client.post("/v1/geocode/batch", json=BATCH).status_code)


def test_a_killed_standby_costs_readers_nothing_and_its_return_takes_reads_back(
        app: Flask, replica: ReplicaPair) -> None:
    until(lambda: streaming(app), within_s=15, what="the replica streaming")
    router = services(app).reads
    stop, statuses = threading.Event(), []  # type: ignore[var-annotated]
    readers = [threading.Thread(target=read_traffic, args=(app, stop, statuses))
               for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        until(lambda: router.reads_served > 20, within_s=30, what="reads on the replica")
        pid = replica.standby.status().pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        fallbacks = router.fallbacks
        until(lambda: router.fallbacks > fallbacks + 20, within_s=30,
              what="reads falling back to the primary")
        assert services(app).reads.replica_status().state == "down"
        until(lambda: _restarted(replica), within_s=60, what="the standby restarted")
        served = router.reads_served
        until(lambda: router.reads_served > served + 20, within_s=30,
              what="reads back on the replica")
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert statuses and set(statuses) == {200}, sorted(set(statuses))


def _restarted(pair: ReplicaPair) -> bool:
    """Start the killed standby; its orphaned backends may hold its shared memory a moment."""
    try:
        return pair.standby.start().running
    except ClusterError:  # while the old backends exit: try again
        return False


def test_without_a_replica_every_read_is_the_primarys(replica: ReplicaPair) -> None:
    alone = create_app(replace(replica.settings), engine=replica.engine)
    assert services(alone).reads.replica_status().state == "none"
    assert not served_by_standby(alone)
