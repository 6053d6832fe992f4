"""How far behind the read replica is: replay lag in milliseconds and bytes, checked at most once
a second, in a background thread so that no request waits for it.

The lag in bytes is the primary's current WAL position less the replica's replayed one. The lag
in milliseconds is the primary's own measure (``pg_stat_replication.replay_lag``: from a WAL
record's flush on the primary to its replay on the standby), taken as at least the time the
replica's replay position has stood still while WAL was waiting: ``replay_lag`` only moves when
replay does, so a stuck standby would otherwise look as fresh as its last replayed record.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

#: What /healthz says of the replica: none configured, streaming within the bound, connected but
#: further behind than the bound (or not streaming), unreachable (or no longer a standby).
STATES = ("none", "streaming", "lagging", "down")
#: At most one check a second (each costs a query on both servers).
CHECK_INTERVAL_S = 1.0

_ON_REPLICA = text("""
    SELECT pg_is_in_recovery() AS standby,
           pg_last_wal_replay_lsn()::text AS replayed,
           (SELECT slot_name FROM pg_stat_wal_receiver) AS slot
""")
# The standby's walsender on the primary: by the replica's slot, else the only one there is.
_ON_PRIMARY = text("""
    SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), CAST(:replayed AS pg_lsn))::bigint AS behind,
           (SELECT json_build_object('state', r.state,
                                     'ms', extract(epoch FROM r.replay_lag) * 1000)
              FROM pg_stat_replication r
              LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid
             WHERE s.slot_name = :slot
                OR (:slot IS NULL AND (SELECT count(*) FROM pg_stat_replication) = 1)
             LIMIT 1) AS sender
""")


@dataclass(frozen=True)
class ReplicaStatus:
    """One observation of the replica; ``lag_ms`` is None when nobody measured it."""

    state: str
    lag_ms: float | None = None
    lag_bytes: int | None = None

    @property
    def serves_reads(self) -> bool:
        return self.state == "streaming"

    def to_dict(self) -> dict[str, object]:
        lag_ms = None if self.lag_ms is None else round(self.lag_ms, 1)
        return {"state": self.state, "lag_ms": lag_ms, "lag_bytes": self.lag_bytes}


NO_REPLICA = ReplicaStatus("none")
DOWN = ReplicaStatus("down")


@dataclass(frozen=True)
class _Replay:
    """The replica's replay position, and since when it has stood still with WAL waiting."""

    lsn: str
    since: float


class ReplicaMonitor:
    """The replica's latest :class:`ReplicaStatus`, refreshed by a daemon thread.

    The thread starts on the first :meth:`status` call in each process (gunicorn forks after
    the app may be built). Until its first check the replica counts as down: reads go to the
    primary. :meth:`mark_down` lets a caller that failed to connect say so at once.
    """

    def __init__(self, primary: Engine, replica: Engine, *, max_lag_ms: float,
                 interval_s: float = CHECK_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._primary = primary
        self._replica = replica
        self._max_lag_ms = max_lag_ms
        self._interval_s = interval_s
        self._clock = clock
        self._status = DOWN
        self._replay: _Replay | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_pid = 0
        #: How many checks ran (tests show there is at most one a second).
        self.checks = 0

    def status(self) -> ReplicaStatus:
        """The last observation; never queries (the thread does)."""
        self._ensure_thread()
        return self._status

    def mark_down(self) -> None:
        """A connection to the replica failed: no reads go there until a check finds it up."""
        self._status = DOWN

    def refresh(self) -> ReplicaStatus:
        """Check now (the thread's job; tests and benchmarks call it to wait for a state)."""
        with self._lock:
            self.checks += 1
            self._status = self._measure()
            return self._status

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- the thread ---------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread_pid == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._thread_pid == os.getpid():
                return
            self._thread_pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="replica-monitor",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            started = self._clock()
            try:
                self.refresh()
            except Exception:  # the monitor must outlive any surprise; logged
                log.exception("replica check failed")
                self._status = DOWN
            self._stopping.wait(max(0.0, self._interval_s - (self._clock() - started)))

    # -- one check ----------------------------------------------------------------------
    def _measure(self) -> ReplicaStatus:
        try:
            with self._replica.connect() as conn:
                standby = conn.execute(_ON_REPLICA).one()
        except SQLAlchemyError:
            return DOWN
        if not standby.standby or standby.replayed is None:
            return DOWN  # promoted, or not a replica at all: its data is not the primary's
        try:
            with self._primary.connect() as conn:
                primary = conn.execute(_ON_PRIMARY, {"replayed": standby.replayed,
                                                     "slot": standby.slot}).one()
        except SQLAlchemyError:
            return DOWN  # the primary is away: nobody can say how stale the replica is
        behind = max(0, int(primary.behind))
        return self._classify(behind, primary.sender, str(standby.replayed))

    def _classify(self, behind: int, sender: dict[str, object] | None,
                  replayed: str) -> ReplicaStatus:
        stalled_ms = self._stalled_ms(replayed, behind)
        if sender is None:
            return ReplicaStatus("lagging", stalled_ms or None, behind)  # not streaming
        measured = sender.get("ms")
        lag_ms = max(float(measured) if isinstance(measured, int | float) else 0.0, stalled_ms)
        if measured is None and behind > 0 and stalled_ms == 0.0:
            lag_ms_known: float | None = None  # WAL in flight, no measure yet: say nothing
        else:
            lag_ms_known = lag_ms
        lagging = sender.get("state") != "streaming" or lag_ms > self._max_lag_ms
        return ReplicaStatus("lagging" if lagging else "streaming", lag_ms_known, behind)

    def _stalled_ms(self, replayed: str, behind: int) -> float:
        """How long replay has stood at ``replayed`` while the primary was ahead of it."""
        now = self._clock()
        previous = self._replay
        if behind == 0 or previous is None or previous.lsn != replayed:
            self._replay = _Replay(replayed, now)
            return 0.0
        return (now - previous.since) * 1000.0
