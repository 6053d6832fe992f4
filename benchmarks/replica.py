"""The read replica: reverse req/s against the primary alone and with the replica serving the
anonymous reads, and the replay lag under a load of report submissions.

Starts the embedded primary and its replica (``gis-service db start --replica``), a scratch
database with Huế and the report config (replicated like everything else), then, with wrk:

1. /v1/reverse on random points of the province, served by gunicorn on the primary alone;
2. the same with ``DATABASE_READ_URL`` the replica: ``reads_served`` is the replica's committed
   (read-only) transactions in that database during the run, from its pg_stat_database;
3. ``POST /v1/reports`` at full speed for the same time while the primary's
   ``pg_stat_replication.replay_lag`` is sampled every 50 ms: median and p99.

``reads_served`` counts transactions, not requests (a reverse lookup is ~2 plus the pool's ping).

Both servers and both PostgreSQL clusters share this machine's 2 cores (and other engineers'
work): the replica adds no hardware here, so the ratio measures its overhead, not a gain.
The last line of output is one JSON object.

    ./manage bench replica [--seconds 8] [--connections 8]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import threading
import time
import urllib.request
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from gis_service.auth import issue_key
from gis_service.config import Settings
from gis_service.db.engine import make_engine, with_database
from gis_service.db.replica import StandbyCluster
from gis_service.reports.setup import load_config

from support import gunicorn_server, hue_database, province_points, wrk

REPORT = {"category": "sanitation", "channel": "app", "description": "Rác thải ùn ứ đầu kiệt",
          "reporter": {"name": "Nguyễn Văn A", "phone": "0900000001"}}


def client_key(url: str, settings: Settings) -> str:
    engine = make_engine(url, settings)
    try:
        with engine.begin() as conn:
            load_config(conn, settings)
            return issue_key(conn, name="bench-replica", role="client", rate_limit_per_minute=10**9).key
    finally:
        engine.dispose()


def replica_xacts(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT xact_commit FROM pg_stat_database "
                           "WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def wait_replica(base: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with urllib.request.urlopen(base + "/healthz", timeout=5) as answer:
            replica: dict[str, Any] = json.loads(answer.read())["replica"]
        if replica["state"] == "streaming":
            return replica
        time.sleep(0.2)
    raise RuntimeError(f"the replica never streamed: {replica}")


def sample_lag(primary_url: str, stop: threading.Event, samples: list[float]) -> None:
    with psycopg.connect(primary_url, autocommit=True) as conn:
        while not stop.is_set():
            row = conn.execute("SELECT extract(epoch FROM replay_lag) * 1000 FROM "
                               "pg_stat_replication WHERE application_name = 'gis-replica'"
                               ).fetchone()
            if row and row[0] is not None:
                samples.append(float(row[0]))
            time.sleep(0.05)


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    settings = Settings.from_env()
    standby = StandbyCluster.from_settings(settings)
    was_running = standby.exists and standby.status().running
    standby.start()
    try:
        result = measure(dataclasses.replace(settings), standby, args.seconds, args.connections)
    finally:
        if not was_running:
            standby.stop()
    print(json.dumps(result))


def measure(settings: Settings, standby: StandbyCluster, seconds: int,
            connections: int) -> dict[str, Any]:
    with hue_database(settings, "bench_replica") as url:
        read_url = with_database(standby.url(), make_url(url).database or "")
        key = client_key(url, settings)
        points = province_points(url, settings, 2000, seed=17)
        paths = [f"/v1/reverse?lat={lat:.6f}&lon={lon:.6f}" for lon, lat in points]
        with gunicorn_server(url) as base:
            alone = wrk(base, paths, seconds=seconds, connections=connections)
        with gunicorn_server(url, env_extra={"DATABASE_READ_URL": read_url}) as base:
            wait_replica(base)
            before = replica_xacts(read_url)
            served = wrk(base, paths, seconds=seconds, connections=connections)
            reads_served = replica_xacts(read_url) - before
            lag, stop = [], threading.Event()  # type: ignore[var-annotated]
            sampler = threading.Thread(target=sample_lag, args=(url, stop, lag))
            sampler.start()
            bodies = [json.dumps({**REPORT, "lat": lat, "lon": lon}) for lon, lat in points[:200]]
            posts = wrk(base, ["/v1/reports"], seconds=seconds, connections=4, bodies=bodies,
                        headers={"X-API-Key": key})
            stop.set()
            sampler.join()
            health = wait_replica(base)
    return {
        "machine": "2 cores shared by primary, replica, gunicorn and wrk (and other sessions)",
        "reverse_rps_primary_alone": alone["rps"],
        "reverse_rps_with_replica": served["rps"],
        "ratio_with_replica": round(served["rps"] / alone["rps"], 2),
        "reverse_non_2xx": alone["non_2xx"] + served["non_2xx"],
        "reads_served": reads_served,
        "reverse_requests_with_replica": served["requests"],
        "post_rps": posts["rps"], "post_non_2xx": posts["non_2xx"],
        "lag_ms": {"samples": len(lag), "median": percentile(lag, 0.5),
                   "p99": percentile(lag, 0.99), "max": percentile(lag, 1.0)},
        "healthz_replica_after": health,
    }


if __name__ == "__main__":
    main()
