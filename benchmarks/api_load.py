"""HTTP throughput and latency of /v1/reverse against /healthz, under gunicorn, driven by wrk.

Starts the server as `gis-service serve` would (gunicorn, 2 workers) on a scratch database with
Huế loaded, and from a separate process (wrk, from apt) measures for a fixed time:

1. /livez at full load: the ceiling of our HTTP stack (no database);
2. /healthz at full load (a database check cached for at most a second);
3. /v1/reverse on random points of the province at full load: its peak rate;
4. /v1/reverse throttled to about 80% of that peak (wrk's per-request delay): p99 latency;
5. a 10,000-item reverse batch (POST /v1/geocode/batch), timed end to end;
6. ``POST /v1/reports`` from the same connections, each a new report with its own
   Idempotency-Key, over a generated history (``--history``, 20,000 by default: every
   submission is checked for duplicates against it), against /healthz;
7. with ``--peer mapit``: mySociety MapIt's /point on the same machine and database server,
   set up and measured by ../shared/peers/mapit/ (setup.sh, bench.sh), same wrk settings.

Before measuring, the server answers reverse lookups for a few seconds: the steady state is
measured, after each worker has cut its commune cores (spatial/cores.py, ~0.3 s once).

Targets (issues 3, 18): reverse >= 0.8x /livez and >= 10x MapIt; /healthz not slower than
reverse; p99 < 25 ms at 80% of the reverse peak; the 10,000-item batch in under 1 s;
POST /v1/reports >= 0.25x /healthz with p99 < 150 ms. The last line of output is one JSON
object.

    ./manage bench api_load [--seconds 10] [--connections 16] [--history 20000] [--peer mapit]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from gis_service.auth import issue_key
from gis_service.config import Settings
from gis_service.db.engine import make_engine
from gis_service.synthetic.generator import category_codes

from support import gunicorn_server, history_database, province_points, wrk


def time_batch(base: str, points: list[tuple[float, float]], repeats: int) -> list[float]:
    body = json.dumps({"items": [{"id": i, "lat": lat, "lon": lon}
                                 for i, (lon, lat) in enumerate(points)]}).encode()
    timings = []
    for _ in range(repeats):
        request = urllib.request.Request(base + "/v1/geocode/batch", data=body,
                                         headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            answered = len(json.loads(response.read())["results"])
        timings.append(time.perf_counter() - started)
        assert answered == len(points)
    return timings


def warm_up(base: str, paths: list[str], connections: int) -> list[float]:
    """Reverse lookups until their rate stops rising: each worker has cut its commune cores
    (after 200 lookups, 1-3 s on a loaded 2-core VM) and the clear cores (on first use)."""
    rates: list[float] = []
    for _ in range(8):
        rates.append(wrk(base, paths, seconds=3, connections=connections)["rps"])
        if len(rates) >= 3 and rates[-1] < 1.15 * rates[-2]:
            break
    print(f"warm-up reverse rates {rates}", file=sys.stderr)
    return rates


def report_bodies(url: str, settings: Settings) -> tuple[str, list[str]]:
    """A client key without a useful rate limit, and 2,000 submissions on the province."""
    engine = make_engine(url, settings)
    try:
        with engine.begin() as conn:
            key = issue_key(conn, name="api-load-benchmark", role="client",
                            rate_limit_per_minute=1_000_000_000).key
    finally:
        engine.dispose()
    categories = category_codes(settings)
    bodies = [json.dumps({"category": categories[i % len(categories)], "channel": "app",
                          "description": f"benchmark report {i}", "lat": lat, "lon": lon})
              for i, (lon, lat) in enumerate(province_points(url, settings, 2_000, seed=3))]
    return key, bodies


PEERS = Path(__file__).resolve().parent.parent.parent / "shared" / "peers"


def mapit_peer(url: str, seconds: int, connections: int, workers: int) -> dict[str, Any]:
    """MapIt set up on the benchmark's own PostgreSQL server and measured by its scripts."""
    parsed = make_url(url)
    host = str(parsed.query.get("host") or parsed.host or "127.0.0.1")
    port = str(parsed.query.get("port") or parsed.port or 5432)
    env = {**os.environ, "PG_PASSWORD": parsed.password or ""}
    subprocess.run(["bash", str(PEERS / "mapit" / "setup.sh"), "--pg-host", host,
                    "--pg-port", port, "--pg-user", parsed.username or "postgres"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    out = subprocess.run(["bash", str(PEERS / "mapit" / "bench.sh"), "--duration", str(seconds),
                          "--connections", str(connections), "--workers", str(workers)],
                         check=True, env=env, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return {"point": result["point"], "trivial": result["trivial"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--history", type=int, default=20_000,
                        help="generated reports stored before the POST phase")
    parser.add_argument("--peer", choices=["mapit"], default=None,
                        help="also measure this peer side by side")
    args = parser.parse_args()
    settings = Settings.from_env()

    with history_database(settings, "bench_api", args.history, seed=11) as url:
        points = province_points(url, settings, 10_000, seed=7)
        reverse_paths = [f"/v1/reverse?lat={lat:.6f}&lon={lon:.6f}" for lon, lat in points]
        key, bodies = report_bodies(url, settings)
        with gunicorn_server(url, workers=args.workers) as base:
            wrk(base, ["/healthz"], seconds=2, connections=args.connections)  # warm-up
            warm_up(base, reverse_paths, args.connections)
            live = wrk(base, ["/livez"], seconds=args.seconds, connections=args.connections)
            health = wrk(base, ["/healthz"], seconds=args.seconds, connections=args.connections)
            reverse = wrk(base, reverse_paths, seconds=args.seconds, connections=args.connections)
            print(f"livez {live}\nhealthz {health}\nreverse {reverse}", file=sys.stderr)
            # Throttled run: each of C connections waits about C / target between requests.
            target = 0.8 * reverse["rps"]
            connections = args.connections
            delay_ms = connections * 1000 / target
            # Short calibration runs correct the delay for the time requests take (a
            # connection's cycle is its delay plus the request), until the achieved rate is
            # within 5% of the target (at most four tries).
            for _ in range(4):
                probe = wrk(base, reverse_paths, seconds=3, connections=connections,
                            delay_ms=delay_ms)
                if abs(probe["rps"] / target - 1) < 0.05:
                    break
                request_ms = connections * 1000 / max(probe["rps"], 1.0) - delay_ms
                delay_ms = max(0.1, connections * 1000 / target - request_ms)
            throttled = wrk(base, reverse_paths, seconds=args.seconds, connections=connections,
                            delay_ms=delay_ms)
            batch = time_batch(base, points, repeats=5)
            posted = wrk(base, ["/v1/reports"], seconds=args.seconds,
                         connections=args.connections, bodies=bodies, headers={"X-API-Key": key})
        peer = (mapit_peer(url, args.seconds, args.connections, args.workers)
                if args.peer == "mapit" else None)

    ratio = reverse["rps"] / health["rps"]
    to_live = reverse["rps"] / live["rps"]
    to_mapit = reverse["rps"] / peer["point"]["rps"] if peer else None
    p99_ms = throttled["p99_us"] / 1000
    batch_s = statistics.median(batch)
    post_ratio = posted["rps"] / health["rps"]
    print(json.dumps({
        "benchmark": "api_load",
        "seconds": args.seconds, "connections": args.connections, "workers": args.workers,
        "livez": live, "healthz": health, "reverse": reverse, "mapit": peer,
        "reverse_at_80pct": {**throttled, "target_rps": round(target, 1), "delay_ms": round(delay_ms, 2),
                             "share_of_peak": round(throttled["rps"] / reverse["rps"], 3)},
        "reverse_to_healthz_ratio": round(ratio, 3),
        "reverse_to_livez_ratio": round(to_live, 3),
        "reverse_to_mapit_ratio": round(to_mapit, 2) if to_mapit else None,
        "batch_10000_reverse_s": {"median": round(batch_s, 3), "all": [round(t, 3) for t in batch]},
        "post_reports": {**posted, "history": args.history},
        "post_to_healthz_ratio": round(post_ratio, 3),
        "healthz_to_reverse_ratio": round(health["rps"] / reverse["rps"], 3),
        "targets": {
            "reverse_ge_0.8x_livez": to_live >= 0.8,
            "reverse_ge_10x_mapit": None if to_mapit is None else to_mapit >= 10,
            "healthz_not_slower_than_reverse": health["rps"] >= reverse["rps"],
            "p99_ms_lt_25_at_80pct": p99_ms < 25,
            "batch_10000_lt_1s": batch_s < 1.0,
            "post_ge_0.25x_healthz": post_ratio >= 0.25,
            "post_p99_ms_lt_150": posted["p99_us"] / 1000 < 150,
            "post_no_errors": posted["non_2xx"] == 0 and posted["socket_errors"] == 0,
        },
    }))


if __name__ == "__main__":
    main()
