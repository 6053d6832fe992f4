"""A bounded soak on loopback: concurrent clients for a fixed time, with one database crash.

Builds a throw-away PostgreSQL cluster of its own in a temporary folder (so restarting it
disturbs no other database), loads Huế's boundaries, the report configuration and a synthetic
history (so hot spot queries have reports to count), and serves it with ``gis-service serve``
(gunicorn, 2 workers) as in production. Then ``--clients`` threads, for ``--seconds``, mix:

- report submissions (``POST /v1/reports``, each with its own ``Idempotency-Key``, retried with
  the same key after errors, timeouts and 503s until acknowledged);
- reverse geocoding (``GET /v1/reverse``) of random points in the province;
- hot spot queries (``GET /v1/hotspots``) at a random resolution and category.

Halfway through, PostgreSQL is stopped with an immediate shutdown (a crash), kept down for
``--down-seconds`` and started again; the server is not touched. Latency is per HTTP attempt;
*before* is up to the stop, *during* from the stop until ``/healthz`` answers 200 again,
*after* the rest. At the end every acknowledged report (201) must be stored exactly once.

The last line of output is one JSON object: requests served, answers by status, errors
(non-2xx statuses and connection failures), reports acknowledged versus stored, and p99
latency before, during and after the restart. The machine is shared: compare ratios.

    ./manage bench soak [--seconds 60] [--clients 16] [--think-ms 500] [--down-seconds 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import itertools
import json
import random
import shutil
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, func, select, text

from gis_service.auth import issue_key
from gis_service.boundaries.manifest import load_manifest, manifests_dir
from gis_service.config import Settings
from gis_service.db import migrate
from gis_service.db.cluster import Cluster, _port_is_free
from gis_service.db.engine import make_engine
from gis_service.db.schema import category, idempotency_key, report
from gis_service.reports.importing.importer import import_reports
from gis_service.reports.setup import load_config
from gis_service.synthetic.generator import category_codes, generate, load_communes

from support import gunicorn_server  # benchmarks/support.py, beside this script

#: How the clients' requests are shared out (weights).
MIX = {"submit": 4, "reverse": 5, "hotspots": 1}
#: A submission still unacknowledged this long after the soak ends counts as lost.
GRACE_S = 60.0
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Soaked:
    """The database the soak runs against, and what the clients need to know of it."""

    cluster: Cluster
    engine: Engine
    api_key: str
    points: tuple[tuple[float, float], ...]
    categories: tuple[str, ...]
    preloaded: int


@contextmanager
def own_cluster(first_port: int) -> Iterator[Cluster]:
    """A new cluster in a temporary folder, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="gis-soak-"))
    cluster = Cluster(root=folder / "postgres",
                      first_port=next(p for p in range(first_port, first_port + 500)
                                      if _port_is_free(p)))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop(mode="immediate")
        # The data may live outside the folder (see Cluster._prepare_root).
        shutil.rmtree(cluster.root.resolve(), ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


def prepare(cluster: Cluster, settings: Settings, history: int) -> Soaked:
    """Migrate, load Huế, the report configuration, a client key and a synthetic history."""
    engine = make_engine(cluster.url(), settings)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        load_manifest(conn, dataclasses.replace(settings, boundaries_dir=manifests_dir(settings)))
    with engine.begin() as conn:
        load_config(conn, settings)
        key = issue_key(conn, name="soak", role="client", rate_limit_per_minute=10_000_000).key
        categories = tuple(conn.execute(select(category.c.code)).scalars())
    if history and settings.has_data_root:
        with tempfile.TemporaryDirectory() as folder, engine.begin() as conn:
            made = generate(load_communes(conn), out=Path(folder) / "history.csv", count=history,
                            seed=3, categories=category_codes(settings))
            import_reports(conn, made.reports_path)
    with engine.connect() as conn:
        preloaded = conn.execute(select(func.count()).select_from(report)).scalar_one()
        # Raw SQL: ST_GeneratePoints with a seed draws repeatable points in the real polygon.
        points = tuple((float(x), float(y)) for x, y in conn.execute(text(
            "SELECT ST_X(d.geom), ST_Y(d.geom) FROM admin_unit u "
            "JOIN generation g ON g.id = u.generation_id, "
            "LATERAL ST_Dump(ST_GeneratePoints(ST_Buffer(u.geom, -0.005), 5000, 5)) d "
            "WHERE g.status = 'active' AND u.level = 'province'")))
    return Soaked(cluster, engine, key, points, categories, preloaded)


# -- what the clients saw ---------------------------------------------------------------------


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: (started, seconds, operation, status or exception name) per HTTP attempt.
    attempts: list[tuple[float, float, str, str]] = field(default_factory=list)
    acknowledged: dict[str, str] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    missing_retry_after: int = 0

    def add(self, started: float, seconds: float, operation: str, outcome: str) -> None:
        with self.lock:
            self.attempts.append((started, seconds, operation, outcome))


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    api_key: str


class Client:
    """One client thread's kept-alive connection; any failure closes it and reconnects."""

    def __init__(self, target: Target, tally: Tally) -> None:
        self.target, self.tally = target, tally
        self.connection: http.client.HTTPConnection | None = None

    def call(self, operation: str, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes] | None:
        """One attempt; None after a connection failure (recorded under its exception name)."""
        started = time.monotonic()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.target.host, self.target.port,
                                                             timeout=TIMEOUT_S)
            self.connection.request(method, path, body=body, headers=headers or {})
            response = self.connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.tally.add(started, time.monotonic() - started, operation, type(exc).__name__)
            self.close()
            return None
        self.tally.add(started, time.monotonic() - started, operation, str(response.status))
        if response.status == 503 and not response.getheader("Retry-After"):
            with self.tally.lock:
                self.tally.missing_retry_after += 1
        return response.status, payload

    def submit(self, key: str, body: bytes, give_up_at: float) -> None:
        headers = {"Content-Type": "application/json", "X-API-Key": self.target.api_key,
                   "Idempotency-Key": key}
        while time.monotonic() < give_up_at:
            answer = self.call("submit", "POST", "/v1/reports", body, headers)
            if answer is not None and answer[0] == 201:
                with self.tally.lock:
                    self.tally.acknowledged[key] = json.loads(answer[1])["report"]["id"]
                return
            if answer is not None and answer[0] < 500 and answer[0] != 429:
                break  # a 4xx will not change on retry
            time.sleep(0.2)
        with self.tally.lock:
            self.tally.lost.append(key)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def run_client(target: Target, soaked: Soaked, tally: Tally, *, numbers: Iterator[int],
               seed: int, ends_at: float, think_s: float) -> None:
    rng = random.Random(seed)
    client = Client(target, tally)
    operations, weights = list(MIX), list(MIX.values())
    while time.monotonic() < ends_at:
        # A resident's pause between requests (exponential: arrivals close to Poisson).
        time.sleep(rng.expovariate(1 / think_s) if think_s > 0 else 0)
        lon, lat = rng.choice(soaked.points)
        operation = rng.choices(operations, weights)[0]
        if operation == "submit":
            n = next(numbers)
            body = json.dumps({"category": rng.choice(soaked.categories), "channel": "app",
                               "description": f"soak {n}", "lat": lat, "lon": lon,
                               "reporter": {"phone": f"+84 8{n:08d}"}}).encode()
            client.submit(f"soak-{n}", body, ends_at + GRACE_S)
        elif operation == "reverse":
            client.call("reverse", "GET", f"/v1/reverse?lat={lat:.6f}&lon={lon:.6f}")
        else:
            query = urllib.parse.urlencode({"res": rng.choice((7, 8)),
                                            "category": rng.choice(soaked.categories)})
            client.call("hotspots", "GET", f"/v1/hotspots?{query}")
    client.close()


# -- the crash, and the figures -----------------------------------------------------------------


@dataclass
class Restart:
    down_at: float = 0.0
    up_at: float = 0.0
    healthy_at: float = 0.0


def crash_and_restart(cluster: Cluster, target: Target, at: float, down_s: float,
                      restart: Restart) -> None:
    time.sleep(max(0.0, at - time.monotonic()))
    port = cluster.status().port
    restart.down_at = time.monotonic()
    cluster.stop(mode="immediate")
    time.sleep(down_s)
    if cluster.start().port != port:
        raise RuntimeError("the cluster came back on another port; the server cannot follow")
    restart.up_at = time.monotonic()
    probe = Client(target, Tally())
    while (answer := probe.call("health", "GET", "/healthz")) is None or answer[0] != 200:
        time.sleep(0.05)
    probe.close()
    restart.healthy_at = time.monotonic()


def percentile_ms(seconds: list[float], q: float) -> float | None:
    return round(float(np.percentile(seconds, q)) * 1000, 1) if seconds else None


def figures(tally: Tally, restart: Restart, started: float) -> dict[str, object]:
    phases: dict[str, list[float]] = {"before": [], "during": [], "after": []}
    for began, seconds, _, _ in tally.attempts:
        phase = ("before" if began < restart.down_at
                 else "during" if began < restart.healthy_at else "after")
        phases[phase].append(seconds)
    answered: dict[str, list[float]] = {operation: [] for operation in MIX}
    for _, seconds, operation, outcome in tally.attempts:
        if outcome.startswith("2"):
            answered[operation].append(seconds)
    outcomes = Counter(outcome for _, _, _, outcome in tally.attempts)
    by_operation = Counter((operation, outcome) for _, _, operation, outcome in tally.attempts)
    return {
        "requests": len(tally.attempts),
        "served": sum(n for outcome, n in outcomes.items() if outcome.isdigit()),
        "by_status": dict(sorted(outcomes.items())),
        "errors": {o: n for o, n in sorted(outcomes.items()) if not o.startswith("2")},
        "by_operation": {f"{op} {o}": n for (op, o), n in sorted(by_operation.items())},
        "p99_ms": {phase: percentile_ms(values, 99) for phase, values in phases.items()},
        "requests_by_phase": {phase: len(values) for phase, values in phases.items()},
        # Successful answers only, over the whole soak: what each operation costs.
        "ms_by_operation": {operation: {"p50": percentile_ms(values, 50),
                                        "p99": percentile_ms(values, 99), "n": len(values)}
                            for operation, values in answered.items()},
        "restart": {"down_at_s": round(restart.down_at - started, 1),
                    "database_down_s": round(restart.up_at - restart.down_at, 1),
                    "unhealthy_s": round(restart.healthy_at - restart.down_at, 1)},
        "missing_retry_after": tally.missing_retry_after,
    }


def stored(soaked: Soaked, tally: Tally) -> dict[str, object]:
    """Acknowledged against stored: counts, and whether the public ids are the same set."""
    with soaked.engine.connect() as conn:
        rows = conn.execute(
            select(idempotency_key.c.key, report.c.public_id)
            .join(report, report.c.id == idempotency_key.c.report_id)
            .where(idempotency_key.c.key.startswith("soak-"))).all()
        total = conn.execute(select(func.count()).select_from(report)).scalar_one()
    keyed = {key: public_id for key, public_id in rows}
    return {
        "reports_acknowledged": len(tally.acknowledged),
        "reports_stored": total - soaked.preloaded,
        "acknowledged_equal_stored": keyed == tally.acknowledged
        and total - soaked.preloaded == len(tally.acknowledged),
        "reports_lost": len(tally.lost),
    }


def soak(soaked: Soaked, target: Target, *, seconds: float, clients: int, think_s: float,
         down_s: float) -> dict[str, object]:
    tally, restart, numbers = Tally(), Restart(), itertools.count()
    started = time.monotonic()
    ends_at = started + seconds
    threads = [threading.Thread(target=run_client, args=(target, soaked, tally),
                                kwargs={"numbers": numbers, "seed": seed, "ends_at": ends_at,
                                        "think_s": think_s})
               for seed in range(clients)]
    crasher = threading.Thread(target=crash_and_restart,
                               args=(soaked.cluster, target, started + seconds / 2, down_s, restart))
    for thread in (*threads, crasher):
        thread.start()
    for thread in (*threads, crasher):
        thread.join()
    return {**figures(tally, restart, started), **stored(soaked, tally)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--think-ms", type=float, default=500.0,
                        help="mean pause of each client between requests (0: flat out)")
    parser.add_argument("--down-seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--history", type=int, default=20_000,
                        help="synthetic reports loaded first (hot spots need reports to count)")
    args = parser.parse_args()
    settings = Settings.from_env()
    with own_cluster(57500) as cluster:
        soaked = prepare(cluster, settings, args.history)
        try:
            with gunicorn_server(cluster.url(), workers=args.workers) as base:
                parsed = urllib.parse.urlsplit(base)
                target = Target(parsed.hostname or "127.0.0.1", parsed.port or 80, soaked.api_key)
                result = soak(soaked, target, seconds=args.seconds, clients=args.clients,
                              think_s=args.think_ms / 1000, down_s=args.down_seconds)
        finally:
            soaked.engine.dispose()
    print(json.dumps({"benchmark": "soak", "seconds": args.seconds, "clients": args.clients,
                      "think_ms": args.think_ms, "workers": args.workers,
                      "preloaded_reports": soaked.preloaded, **result}))


if __name__ == "__main__":
    main()
