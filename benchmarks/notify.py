"""Notification delivery: the worker through the outbox against bare HTTP POSTs, on loopback.

A throw-away database (migrated; the test factories' drawn place) gets ``--events`` reports
moved to ``assigned``, each in its own transaction, once with no notification channel and
once with a webhook channel: the difference is what the outbox costs a status change. Then a
worker (``--concurrency`` deliveries in flight) delivers the outbox to a local receiver
(``http.server``, threaded, answering 204), against a baseline measured in the same run: the
same signed bodies POSTed to the same receiver by the same number of threads, with no
database at all. The machine is shared and noisy: compare the ratios.

The last line of output is one JSON object.

    ./manage bench notify [--events 2000] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import Engine, delete, func, select

from gis_service.config import NotifySettings, Settings
from gis_service.db.engine import database_url, make_engine
from gis_service.db.schema import agency_channel, notification
from gis_service.db.scratch import scratch_database
from gis_service.notify import signing
from gis_service.notify.channel_config import ChannelSpec
from gis_service.notify.channels import store_channels
from gis_service.notify.worker import Worker
from gis_service.reports.lifecycle import transition

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.factories import add_report, report_place  # the drawn place
from tests.notify_receivers import Script, http_receiver

SECRET_ENV, SECRET = "BENCH_NOTIFY_SECRET", "bench-secret"
AGENCY = "report-factory-committee"


def _moves(engine: Engine, count: int) -> float:
    """Seconds to create and assign ``count`` reports, one transaction each."""
    started = time.perf_counter()
    for _ in range(count):
        with engine.begin() as conn:
            transition(conn, add_report(conn, status="accepted"), "assigned", "bench")
    return time.perf_counter() - started


def _bare_posts(port: int, bodies: list[bytes], concurrency: int) -> float:
    def post(body: bytes) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Content-Type": "application/json",
                   signing.SIGNATURE_HEADER: signing.signature(SECRET, body)}
        connection.request("POST", "/hook", body=body, headers=headers)
        connection.getresponse().read()
        connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, bodies))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    settings = Settings.from_env()
    with scratch_database(database_url(settings, start=True), settings, "bench_notify") as url:
        engine = make_engine(url, settings)
        with engine.begin() as conn:
            agency_id = report_place(conn).agency_id
        without = _moves(engine, args.events)
        script = Script()
        with http_receiver(script) as port:
            with engine.begin() as conn:
                store_channels(conn, {AGENCY: [ChannelSpec(
                    "webhook", f"http://127.0.0.1:{port}/hook", SECRET_ENV)]}, {AGENCY: agency_id})
            with_outbox = _moves(engine, args.events)
            with engine.connect() as conn:
                queued = conn.execute(select(func.count()).select_from(notification)).scalar_one()
                payloads = [signing.body_bytes(p, d) for d, p in conn.execute(
                    select(notification.c.delivery_id, notification.c.payload))]
            worker = Worker(engine, dataclasses.replace(NotifySettings(), concurrency=args.concurrency,
                                                        poll_s=0.05, overdue_every_s=3600),
                            {SECRET_ENV: SECRET})
            started = time.perf_counter()
            tally = worker.run(once=True)
            worker_s = time.perf_counter() - started
            bare_s = _bare_posts(port, payloads, args.concurrency)
        with engine.begin() as conn:
            conn.execute(delete(notification))
            conn.execute(delete(agency_channel))
        engine.dispose()
    print(json.dumps({
        "events": args.events, "queued": queued, "delivered": tally.delivered,
        "received": len(script.received), "concurrency": args.concurrency,
        "assign_per_s_without_channels": round(args.events / without, 1),
        "assign_per_s_with_outbox": round(args.events / with_outbox, 1),
        "outbox_cost_ratio": round(with_outbox / without, 3),
        "worker_deliveries_per_s": round(tally.delivered / worker_s, 1),
        "bare_posts_per_s": round(len(payloads) / bare_s, 1),
        "worker_vs_bare_ratio": round((tally.delivered / worker_s) / (len(payloads) / bare_s), 3),
    }))


if __name__ == "__main__":
    main()
