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

from sqlalchemy import Engine

from gis_service.config import NotifySettings
from gis_service.errors import DeliveryFailed
from gis_service.notify import mail, outbox, webhook
from gis_service.notify.overdue import mark_overdue
from gis_service.notify.retry import retry_delay

log = logging.getLogger(__name__)


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

    def run(self, *, once: bool = False) -> Tally:
        """Deliver until stopped; ``once``: check overdue once, deliver what is due, return."""
        next_check = 0.0
        with ThreadPoolExecutor(self.settings.concurrency, "notify") as pool:
            while not self.stop.is_set():
                if time.monotonic() >= next_check:
                    self.check_overdue()
                    next_check = time.monotonic() + self.settings.overdue_every_s
                busy = self.deliver_batch(pool)
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
        """Claim up to ``concurrency`` due rows and deliver them in parallel; return how many."""
        with self.engine.begin() as conn:
            claimed = outbox.claim(conn, limit=self.settings.concurrency,
                                   lease=dt.timedelta(seconds=self.settings.lease_s),
                                   max_attempts=self.settings.max_attempts)
        list(pool.map(self.deliver, claimed))
        return len(claimed)

    def deliver(self, claimed: outbox.Claimed) -> None:
        """Send one row and record the outcome (never raises: a bug is a failed attempt)."""
        try:
            self._send(claimed)
        except DeliveryFailed as exc:
            self._failed(claimed, exc.detail)
            return
        except Exception as exc:  # a bug must not stop the other deliveries
            log.exception("delivery %s: unexpected error", claimed.delivery_id)
            self._failed(claimed, f"unexpected error in the worker: {type(exc).__name__}")
            return
        with self.engine.begin() as conn:
            outbox.delivered(conn, claimed)
        self._count("delivered")

    def _send(self, claimed: outbox.Claimed) -> None:
        if claimed.channel == "webhook":
            webhook.post(claimed, env=self.env, timeout_s=self.settings.timeout_s)
        else:
            mail.send(claimed, self.settings)

    def _failed(self, claimed: outbox.Claimed, error: str) -> None:
        delay = retry_delay(claimed.attempts, base_s=self.settings.backoff_s,
                            cap_s=self.settings.backoff_max_s, rng=self.rng)
        with self.engine.begin() as conn:
            status = outbox.failed(conn, claimed, error, retry_in=delay,
                                   max_attempts=self.settings.max_attempts)
        log.warning("delivery %s attempt %d failed (%s): %s", claimed.delivery_id,
                    claimed.attempts, status or "lease lost", error)
        if status is not None:
            self._count(status)

    def _count(self, outcome: str) -> None:
        with self._lock:
            setattr(self.tally, outcome, getattr(self.tally, outcome) + 1)
