"""Faults caused for real, on loopback (issue 7), while concurrent clients submit reports.

The server runs as in production: ``gis-service serve`` (gunicorn, 2 gthread workers) against a
throw-away PostgreSQL cluster of its own in a temporary folder, so restarting that cluster never
disturbs the suite's. Clients send every report with its own ``Idempotency-Key`` and retry errors
and timeouts with the same key, as a phone app on a bad network does. After each fault the
database is checked row by row against what the clients were told.

- PostgreSQL restarted with an immediate shutdown (a crash) while requests flow;
- a gunicorn worker killed with SIGKILL in the middle of requests;
- the active boundary generation switched back and forth while reports come in.

The issue's fourth fault, a bulk import killed halfway, is tested beside the importer's other
tests: ``tests/test_importer.py::test_a_killed_import_leaves_nothing_and_running_it_again_completes_it``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, and_, func, insert, literal, or_, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import aliased

from gis_service.auth import issue_key
from gis_service.boundaries.generations import by_code, set_status
from gis_service.boundaries.manifest import load_manifest, manifests_dir
from gis_service.config import Settings
from gis_service.db import migrate
from gis_service.db.cluster import Cluster, ClusterError, _port_is_free, pg_bindir
from gis_service.db.engine import make_engine
from gis_service.db.schema import (
    admin_unit,
    agency,
    category,
    idempotency_key,
    report,
    report_contact,
    report_event,
)
from gis_service.reports.setup import load_config
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 12
#: Reports acknowledged before a fault is caused, and again after it, before the clients stop.
BEFORE, AFTER = 30, 30
#: A bound on every wait, so a hung server fails the test instead of hanging the suite.
WAIT_S = 60.0


# -- the lab: a cluster, a database with Huế, and gunicorn, all of the module's own -------------


@dataclass(frozen=True)
class Lab:
    cluster: Cluster
    url: str
    engine: Engine
    api_key: str
    points: tuple[tuple[float, float], ...]
    categories: tuple[str, ...]


def _first_free_port(start: int) -> int:
    return next(port for port in range(start, start + 1000) if _port_is_free(port))


def _load_hue(engine: Engine, settings: Settings) -> None:
    """Boundaries (2019 and 2025), the report configuration and a People's Committee agency for
    every 2019 commune, so reports route whichever of the two generations is active."""
    with engine.begin() as conn:
        load_manifest(conn, dataclasses.replace(settings, boundaries_dir=manifests_dir(settings)))
    with engine.begin() as conn:
        load_config(conn, settings)
        communes_2019 = select(
            literal("fault-2019-") + admin_unit.c.code, literal("UBND ") + admin_unit.c.name,
            literal("commune_committee"), admin_unit.c.id,
        ).where(admin_unit.c.generation_id == by_code(conn, "2019").id,
                admin_unit.c.level == "commune")
        conn.execute(insert(agency).from_select(["code", "name", "kind", "unit_id"], communes_2019))


def _points(engine: Engine, count: int) -> tuple[tuple[float, float], ...]:
    """Random points inside the province in both generations (a repeatable PostGIS draw)."""
    # Raw SQL: ST_GeneratePoints with a seed over the two provinces' common area.
    query = text(
        "SELECT ST_X(d.geom), ST_Y(d.geom) FROM (SELECT ST_Intersection("
        " (SELECT u.geom FROM admin_unit u JOIN generation g ON g.id = u.generation_id"
        "  WHERE g.code = '2019' AND u.level = 'province'),"
        " (SELECT u.geom FROM admin_unit u JOIN generation g ON g.id = u.generation_id"
        "  WHERE g.code = '2025' AND u.level = 'province')) AS area) common,"
        " LATERAL ST_Dump(ST_GeneratePoints(ST_Buffer(common.area, -0.005), :count, 11)) d")
    with engine.connect() as conn:
        return tuple((float(x), float(y)) for x, y in conn.execute(query, {"count": count}))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[Lab]:
    try:
        pg_bindir()
    except ClusterError as exc:
        if IN_CI:
            pytest.fail(f"CI must have the PostgreSQL server binaries: {exc}")
        pytest.skip(str(exc))
    root = tmp_path_factory.mktemp("faults") / "postgres"
    cluster = Cluster(root=root, first_port=_first_free_port(57300))
    try:
        cluster.start()
        engine = make_engine(cluster.url(), settings)
        try:
            yield _prepare(cluster, engine, settings)
        finally:
            engine.dispose()
    finally:
        cluster.stop(mode="immediate")
        # The data may live outside the temporary folder (see Cluster._prepare_root).
        shutil.rmtree(root.resolve(), ignore_errors=True)


def _prepare(cluster: Cluster, engine: Engine, settings: Settings) -> Lab:
    migrate.upgrade(engine)
    _load_hue(engine, settings)
    with engine.begin() as conn:
        # A generous limit: the rate limiter is not what these tests are about.
        key = issue_key(conn, name="fault-client", role="client",
                        rate_limit_per_minute=1_000_000).key
        categories = tuple(conn.execute(select(category.c.code).order_by(category.c.code))
                           .scalars())
    # Over TCP: the kill test finds a worker's database sessions by its client ports.
    return Lab(cluster, cluster.url(tcp=True), engine, key, _points(engine, 2000), categories)


@dataclass(frozen=True)
class Server:
    """``gis-service serve`` in a subprocess: gunicorn's master is that process."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    log: Path

    def workers(self) -> frozenset[int]:
        """The pids of the master's live children (its workers)."""
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                found.add(int(stat.parent.name))
        return frozenset(found)

    def busiest_worker(self) -> int:
        """The worker holding the most client connections (idle workers have nothing to cut)."""
        return max(self.workers(), key=lambda pid: len(_connections(pid, local_port=self.port)))

    def get(self, path: str) -> int:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()


def _tcp_table() -> list[tuple[int, int, int]]:
    """(local port, remote port, socket inode) of every established TCP socket."""
    rows = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01":  # ESTABLISHED
                rows.append((int(fields[1].rsplit(":", 1)[1], 16),
                             int(fields[2].rsplit(":", 1)[1], 16), int(fields[9])))
    return rows


def _connections(pid: int, *, local_port: int | None = None,
                 remote_port: int | None = None) -> list[int]:
    """Local ports of process ``pid``'s established TCP connections, filtered by port."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    return [local for local, remote, inode in _tcp_table()
            if inode in inodes and local_port in (None, local)
            and remote_port in (None, remote)]


def _wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def server(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = _first_free_port(58300)
    log = tmp_path_factory.mktemp("gunicorn") / "server.log"
    env = {**os.environ, "DATABASE_URL": lab.url, "GIS_WORKERS": "2", "GIS_THREADS": "4"}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", "from gis_service.cli import main; main()",
             "serve", "--port", str(port)],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    running = Server(process, "127.0.0.1", port, log)
    try:
        def healthy() -> bool:
            assert process.poll() is None, log.read_text()
            try:
                return running.get("/healthz") == 200 and len(running.workers()) == 2
            except OSError:
                return False

        _wait_until(healthy, "the server to start")
        yield running
    finally:
        process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        process.wait(timeout=30)


# -- the clients: many at once, each report with its own key, retried until acknowledged --------


@dataclass
class Ledger:
    """Everything the clients saw: each attempt's status (or error) and each key's answer."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: Counter[str] = field(default_factory=Counter)
    #: 503 answers without a Retry-After header.
    bare_503: int = 0
    #: key -> public ids of every 201 it got (first answer and replays).
    answers: dict[str, list[str]] = field(default_factory=dict)
    #: key -> the body sent with it, and the phone number in that body (unique per key).
    bodies: dict[str, bytes] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)
    #: key -> how many times it was sent.
    attempts: Counter[str] = field(default_factory=Counter)
    #: keys that got a final 4xx, or no 201 within WAIT_S.
    failed: dict[str, str] = field(default_factory=dict)

    def record(self, key: str, outcome: str, *, retry_after: str | None = None) -> None:
        with self.lock:
            self.attempts[key] += 1
            self.seen[outcome] += 1
            if outcome == "503" and not retry_after:
                self.bare_503 += 1

    def acknowledged(self) -> int:
        with self.lock:
            return len(self.answers)


class Client:
    """One resident's app: a kept-alive connection, reconnecting after any error."""

    def __init__(self, server: Server, lab: Lab, ledger: Ledger) -> None:
        self.server, self.lab, self.ledger = server, lab, ledger
        self.connection: http.client.HTTPConnection | None = None

    def post(self, body: bytes, key: str) -> tuple[int, str | None, bytes]:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.server.host, self.server.port,
                                                         timeout=15)
        self.connection.request("POST", "/v1/reports", body=body, headers={
            "Content-Type": "application/json", "X-API-Key": self.lab.api_key,
            "Idempotency-Key": key})
        response = self.connection.getresponse()
        return response.status, response.getheader("Retry-After"), response.read()

    def submit(self, key: str, body: bytes) -> None:
        """POST until a 201 (or a final 4xx); every attempt goes into the ledger."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                status, retry_after, payload = self.post(body, key)
            except (OSError, http.client.HTTPException) as exc:
                self.ledger.record(key, type(exc).__name__)
                self.close()
                time.sleep(0.1)
                continue
            self.ledger.record(key, str(status), retry_after=retry_after)
            if status == 201:
                with self.ledger.lock:
                    self.ledger.answers.setdefault(key, []).append(
                        json.loads(payload)["report"]["id"])
                return
            if status < 500 and status != 429:
                self.ledger.failed[key] = f"{status}: {payload[:300]!r}"
                return
            # Not the 5 s of Retry-After: these clients are impatient on purpose.
            time.sleep(0.1)
        self.ledger.failed[key] = "no 201 in time"

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _body(lab: Lab, n: int, phone: str) -> bytes:
    lon, lat = lab.points[n % len(lab.points)]
    return json.dumps({
        "category": lab.categories[n % len(lab.categories)], "channel": "app",
        "description": f"fault test report {n}", "lat": lat, "lon": lon,
        "reporter": {"name": f"Resident {n}", "phone": phone},
    }).encode()


@dataclass
class Traffic:
    """CLIENTS threads submitting new reports until :meth:`stop`; keys are ``tag-n``."""

    server: Server
    lab: Lab
    tag: str
    ledger: Ledger = field(default_factory=Ledger)
    done: threading.Event = field(default_factory=threading.Event)
    numbers: Iterator[int] = field(default_factory=itertools.count)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Traffic:
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]
        for thread in self.threads:
            thread.start()
        return self

    def _run(self) -> None:
        client = Client(self.server, self.lab, self.ledger)
        try:
            while not self.done.is_set():
                n = next(self.numbers)
                key, phone = f"{self.tag}-{n}", f"+84 9{n:08d}"
                body = _body(self.lab, n, phone)
                with self.ledger.lock:
                    self.ledger.bodies[key], self.ledger.phones[key] = body, phone
                client.submit(key, body)
        finally:
            client.close()

    def until_acknowledged(self, count: int) -> None:
        _wait_until(lambda: self.ledger.acknowledged() >= count, f"{count} reports acknowledged")

    def stop(self) -> Ledger:
        """Stop taking new reports; each client finishes (retries) the one it has. Then every
        acknowledged request is sent once more, as a client that missed its answer would."""
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=WAIT_S + 15)
        assert not any(thread.is_alive() for thread in self.threads)
        client = Client(self.server, self.lab, self.ledger)
        for key in list(self.ledger.answers):
            client.submit(key, self.ledger.bodies[key])
        client.close()
        return self.ledger


# -- what must hold afterwards ----------------------------------------------------------------


def check_stored(lab: Lab, ledger: Ledger, tag: str) -> None:
    """Every acknowledged report is stored once, with its events, routing and contact as sent;
    every key converged to one report; no report or key exists that no client was told of."""
    assert not ledger.failed, dict(itertools.islice(ledger.failed.items(), 5))
    # Each key answered twice (its first 201 and the replay), with the same report both times.
    assert {len(ids) for ids in ledger.answers.values()} == {2}
    converged = {key: set(ids) for key, ids in ledger.answers.items()}
    assert all(len(ids) == 1 for ids in converged.values()), "a key got two different reports"
    expected = {key: (ids.pop(), ledger.phones[key]) for key, ids in converged.items()}

    created = select(report_event.c.report_id).where(report_event.c.kind == "created")
    routed = select(report_event.c.report_id).where(report_event.c.kind == "routed")
    with lab.engine.connect() as conn:
        stored = conn.execute(
            select(idempotency_key.c.key, report.c.public_id, report_contact.c.phone)
            .join_from(idempotency_key, report, report.c.id == idempotency_key.c.report_id,
                       isouter=True)
            .join(report_contact, report_contact.c.report_id == report.c.id, isouter=True)
            .where(idempotency_key.c.key.startswith(f"{tag}-"))
        ).all()
        # Across the whole database, whatever test made them:
        unkeyed = conn.execute(
            select(func.count()).select_from(report)
            .where(report.c.id.not_in(select(idempotency_key.c.report_id)
                                      .where(idempotency_key.c.report_id.is_not(None))))
        ).scalar_one()
        incomplete = conn.execute(
            select(report.c.public_id).where(or_(
                report.c.agency_id.is_(None), report.c.id.not_in(created),
                report.c.id.not_in(routed)))
        ).scalars().all()
        pending_keys = conn.execute(
            select(func.count()).select_from(idempotency_key)
            .where(or_(idempotency_key.c.report_id.is_(None), idempotency_key.c.status_code != 201))
        ).scalar_one()
        public_ids = conn.execute(
            select(func.count(), func.count(report.c.public_id.distinct()))).one()

    assert {key: (public_id, phone) for key, public_id, phone in stored} == expected
    assert len({public_id for _, public_id, _ in stored}) == len(expected)
    assert unkeyed == 0, "reports no client was told of"
    assert incomplete == [], "reports without their events or agency"
    assert pending_keys == 0
    assert public_ids[0] == public_ids[1]


def check_statuses(ledger: Ledger) -> None:
    """No 500s and no other 5xx than 503; every 503 said when to retry."""
    assert ledger.bare_503 == 0, "a 503 without Retry-After"
    unexpected = {status: n for status, n in ledger.seen.items()
                  if status.isdigit() and int(status) >= 500 and status != "503"}
    assert not unexpected, ledger.seen


# -- the faults ---------------------------------------------------------------------------------


def test_a_database_crash_mid_traffic_loses_and_duplicates_nothing(lab: Lab, server: Server) -> None:
    workers = server.workers()
    port = lab.cluster.status().port
    traffic = Traffic(server, lab, "restart").start()
    try:
        traffic.until_acknowledged(BEFORE)
        lab.cluster.stop(mode="immediate")
        try:
            _wait_until(lambda: traffic.ledger.seen["503"] > 0, "a 503 while the database is down")
        finally:
            assert lab.cluster.start().port == port
        down_at = traffic.ledger.acknowledged()
        traffic.until_acknowledged(down_at + AFTER)
    finally:
        ledger = traffic.stop()

    check_statuses(ledger)
    check_stored(lab, ledger, "restart")
    # Requests answered 503 were retried with their key and converged (checked above).
    assert sum(n > 2 for n in ledger.attempts.values()) > 0
    # It recovered by itself: the same workers serve, and health is green again.
    assert server.workers() == workers
    assert server.get("/healthz") == 200
    # The outage was logged, without what residents wrote in the failed statements.
    log = server.log.read_text(errors="replace")
    assert "database unavailable" in log
    assert not [phone for phone in ledger.phones.values() if phone in log]


def test_a_failed_statement_carries_no_parameters_into_logs(engine: Engine) -> None:
    # The engine's exceptions become log lines (problems.unexpected, database_unavailable).
    phone = "+84 900 111 222"
    with pytest.raises(DBAPIError) as failure, engine.connect() as conn:
        conn.execute(text("SELECT 1 / 0 WHERE CAST(:phone AS text) IS NOT NULL"), {"phone": phone})
    assert "division by zero" in str(failure.value)
    assert phone not in str(failure.value)


def test_a_worker_killed_mid_request_leaves_no_partial_rows(lab: Lab, server: Server) -> None:
    traffic = Traffic(server, lab, "kill").start()
    try:
        traffic.until_acknowledged(BEFORE)
        victim = server.busiest_worker()
        # Killed while one of its database connections is inside a transaction: mid-request.
        _wait_until(lambda: _in_transaction(lab, victim), "the worker to be inside a transaction")
        os.kill(victim, signal.SIGKILL)
        # gunicorn's master reaps it and forks a replacement.
        _wait_until(lambda: victim not in server.workers() and len(server.workers()) == 2,
                    "gunicorn to replace the killed worker")
        killed_at = traffic.ledger.acknowledged()
        traffic.until_acknowledged(killed_at + AFTER)
    finally:
        ledger = traffic.stop()

    # The kill cut requests in flight (their clients saw the connection drop, then retried).
    cut = sum(n for outcome, n in ledger.seen.items() if not outcome.isdigit())
    assert cut > 0, ledger.seen
    check_statuses(ledger)
    check_stored(lab, ledger, "kill")
    assert sum(n > 2 for n in ledger.attempts.values()) > 0
    assert server.process.poll() is None


def _in_transaction(lab: Lab, pid: int) -> bool:
    ports = _connections(pid, remote_port=lab.cluster.status().port)
    query = text("SELECT count(*) FROM pg_stat_activity "
                 "WHERE client_port = ANY(:ports) AND xact_start IS NOT NULL")
    with lab.engine.connect() as conn:
        return bool(conn.execute(query, {"ports": ports}).scalar_one())


def _toggle(lab: Lab, codes: tuple[str, str], done: threading.Event, switches: list[str]) -> None:
    for code in itertools.cycle(codes):
        if done.is_set():
            return
        with lab.engine.begin() as conn:
            set_status(conn, code, "active")
        switches.append(code)
        time.sleep(0.02)


def _mixed_generations(lab: Lab) -> list[str]:
    """Reports with a unit outside the generation it is recorded in (or a broken parent chain)."""
    wrong: list[str] = []
    for prefix, generation_id in (("current_", report.c.current_generation_id),
                                  ("", report.c.snap_generation_id)):
        commune, district, province = (aliased(admin_unit, name=n)
                                       for n in ("commune", "district", "province"))
        query = (
            select(report.c.public_id)
            .join(commune, commune.c.id == report.c[f"{prefix}commune_id"])
            .join(province, province.c.id == report.c[f"{prefix}province_id"])
            .outerjoin(district, district.c.id == report.c[f"{prefix}district_id"])
            .where(or_(
                commune.c.generation_id != generation_id,
                province.c.generation_id != generation_id,
                district.c.generation_id != generation_id,
                commune.c.parent_id != func.coalesce(district.c.id, province.c.id),
                and_(district.c.id.is_not(None), district.c.parent_id != province.c.id),
            ))
        )
        with lab.engine.connect() as conn:
            wrong += conn.execute(query).scalars().all()
    return wrong


def test_switching_the_active_generation_never_mixes_two_in_a_report(lab: Lab,
                                                                    server: Server) -> None:
    done, switches = threading.Event(), list[str]()
    toggler = threading.Thread(target=_toggle, args=(lab, ("2019", "2025"), done, switches))
    traffic = Traffic(server, lab, "switch").start()
    try:
        toggler.start()
        traffic.until_acknowledged(BEFORE + AFTER)
    finally:
        done.set()
        toggler.join(timeout=WAIT_S)
        ledger = traffic.stop()
        with lab.engine.begin() as conn:
            set_status(conn, "2025", "active")

    check_statuses(ledger)
    check_stored(lab, ledger, "switch")
    assert _mixed_generations(lab) == []
    with lab.engine.connect() as conn:
        current = Counter(conn.execute(
            select(report.c.current_generation_id)
            .join(idempotency_key, idempotency_key.c.report_id == report.c.id)
            .where(idempotency_key.c.key.startswith("switch-"))).scalars())
        generation_ids = {by_code(conn, code).id for code in ("2019", "2025")}
    # The switch really happened under the clients' feet: both were current for some reports.
    assert len(switches) > 2 and set(current) == generation_ids, (len(switches), current)
