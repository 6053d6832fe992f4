"""The delivery worker (``gis-service notify run``): claims due outbox rows, delivers them,
records each outcome, and every so often writes the events of reports that became overdue.

Several workers may run at once (claims skip each other's rows). A worker killed at any
moment loses nothing: a row it held is claimed again when its lease runs out and sent again
with the same delivery id. SIGTERM and SIGINT stop it after the deliveries in flight.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from gis_service.config import NotifySettings
from gis_service.errors import DeliveryFailed
from gis_service.notify import mail, outbox, webhook
from gis_service.notify.overdue import mark_overdue
from gis_service.notify.retry import retry_delay

log = logging.getLogger(__name__)
#: At most this many rounds of ``concurrency`` requests per claim.
MAX_ROUNDS = 4
#: How long a worker waits for an unreachable database before trying again.
DB_RETRY_S = 2.0


@dataclass
class Tally:
    """What a worker did."""

    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    overdue_events: int = 0

    def describe(self) -> str:
        return (f"{self.delivered} delivered, {self.retrying} to retry, {self.dead} dead; "
                f"{self.overdue_events} reports newly overdue")


@dataclass
class Worker:
    """Delivers the outbox of ``engine``'s database; ``env`` holds the signing secrets."""

    engine: Engine
    settings: NotifySettings
    env: Mapping[str, str]
    stop: threading.Event = field(default_factory=threading.Event)
    rng: random.Random = field(default_factory=random.Random)
    tally: Tally = field(default_factory=Tally)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def batch_size(self) -> int:
        """Rows claimed at a time: ``concurrency`` per round of requests, as many rounds as fit
        in half the lease even if every request runs to its timeout (1 at the minimum lease,
        3 by default), so a batch's last row is sent well before its lease runs out."""
        rounds = int(self.settings.lease_s // (2 * self.settings.timeout_s))
        return self.settings.concurrency * min(max(rounds, 1), MAX_ROUNDS)

    def run(self, *, once: bool = False) -> Tally:
        """Deliver until stopped; ``once``: check overdue once, deliver what is due, return."""
        next_check = 0.0
        with ThreadPoolExecutor(self.settings.concurrency, "notify") as pool:
            while not self.stop.is_set():
                try:
                    if time.monotonic() >= next_check:
                        self.check_overdue()
                        next_check = time.monotonic() + self.settings.overdue_every_s
                    busy = self.deliver_batch(pool)
                except OperationalError:
                    if once:
                        raise
                    # The database is down or restarting: nothing is lost (rows in flight
                    # are retried when their lease runs out); wait and try again.
                    log.warning("database unreachable; retrying in %g s", DB_RETRY_S,
                                exc_info=True)
                    self.stop.wait(DB_RETRY_S)
                    continue
                if once and not busy:
                    break
                if not busy:
                    self.stop.wait(self.settings.poll_s)
        return self.tally

    def check_overdue(self, now: dt.datetime | None = None) -> int:
        with self.engine.begin() as conn:
            found = len(mark_overdue(conn, now or dt.datetime.now(dt.UTC)))
        self.tally.overdue_events += found
        return found

    def deliver_batch(self, pool: ThreadPoolExecutor) -> int:
        """Claim up to :attr:`batch_size` due rows, deliver them ``concurrency`` at a time,
        record the outcomes in one transaction; return how many rows were claimed."""
        with self.engine.begin() as conn:
            outbox.without_commit_wait(conn)
            claimed = outbox.claim(conn, limit=self.batch_size,
                                   lease=dt.timedelta(seconds=self.settings.lease_s),
                                   max_attempts=self.settings.max_attempts)
        if claimed:
            self._settle(list(zip(claimed, pool.map(self.attempt, claimed), strict=True)))
        return len(claimed)

    def attempt(self, claimed: outbox.Claimed) -> str | None:
        """Send one row; the error to record, or None when delivered (never raises: a bug in
        one delivery is a failed attempt, not a stopped worker)."""
        try:
            self._send(claimed)
        except DeliveryFailed as exc:
            return exc.detail
        except Exception as exc:  # a bug must not stop the other deliveries
            log.exception("delivery %s: unexpected error", claimed.delivery_id)
            return f"unexpected error in the worker: {type(exc).__name__}"
        return None

    def _settle(self, outcomes: list[tuple[outbox.Claimed, str | None]]) -> None:
        failures = [(claimed, error) for claimed, error in outcomes if error is not None]
        with self.engine.begin() as conn:
            outbox.without_commit_wait(conn)
            self._count("delivered", outbox.delivered(
                conn, [claimed for claimed, error in outcomes if error is None]))
            for claimed, error in failures:
                self._failed(conn, claimed, error)

    def _send(self, claimed: outbox.Claimed) -> None:
        if claimed.channel == "webhook":
            webhook.post(claimed, env=self.env, timeout_s=self.settings.timeout_s)
        else:
            mail.send(claimed, self.settings)

    def _failed(self, conn: Connection, claimed: outbox.Claimed, error: str) -> None:
        delay = retry_delay(claimed.attempts, base_s=self.settings.backoff_s,
                            cap_s=self.settings.backoff_max_s, rng=self.rng)
        status = outbox.failed(conn, claimed, error, retry_in=delay,
                               max_attempts=self.settings.max_attempts)
        log.warning("delivery %s attempt %d failed (%s): %s", claimed.delivery_id,
                    claimed.attempts, status or "lease lost", error)
        if status is not None:
            self._count(status)

    def _count(self, outcome: str, count: int = 1) -> None:
        with self._lock:
            setattr(self.tally, outcome, getattr(self.tally, outcome) + count)
