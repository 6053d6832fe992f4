"""Which database serves a request: the one place that decides between primary and replica.

Anonymous reads (reverse, geocode, batch, hot spots, coverage, tiles, OGC, the maps, public GETs
of reports, Open311 reads) go to the read replica while it streams within
``GIS_REPLICA_MAX_LAG_MS``. Everything else goes to the primary: every write, and every request
carrying an API key, so that an agency (or a client) reads what it has just written. A replica
that is down, lagging, or refuses a connection sends the read to the primary, with no error to
the caller.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import request
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from gis_service.db.lag import NO_REPLICA, ReplicaMonitor, ReplicaStatus

#: Methods that read. POST /v1/geocode/batch reads too (a body of points, nothing stored).
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READ_POST_ENDPOINTS = frozenset({"geocode.batch"})
_KEY_HEADERS = ("X-API-Key", "Authorization")
#: The replica engine's connections in pg_stat_activity.
READ_APPLICATION_NAME = "gis-service-read"


def is_anonymous_read() -> bool:
    """This request reads only, and without a key (whose holder must see its own writes)."""
    if any(request.headers.get(header) for header in _KEY_HEADERS):
        return False
    return request.method in _READ_METHODS or request.endpoint in _READ_POST_ENDPOINTS


class ReadRouter:
    """The primary engine, and the replica's with its monitor when one is configured."""

    def __init__(self, primary: Engine, replica: Engine | None = None,
                 monitor: ReplicaMonitor | None = None) -> None:
        self.primary = primary
        self.replica = replica
        self.monitor = monitor
        self._count_lock = threading.Lock()
        #: Reads answered by the replica, and reads it should have taken but the primary did.
        self.reads_served = 0
        self.fallbacks = 0

    def replica_status(self) -> ReplicaStatus:
        return self.monitor.status() if self.monitor is not None else NO_REPLICA

    @contextmanager
    def connect(self, *, anonymous_read: bool) -> Iterator[Connection]:
        """A connection to the database this read should use."""
        replica = self._replica_connection() if anonymous_read else None
        if replica is not None:
            with replica:
                yield replica
            return
        with self.primary.connect() as conn:
            yield conn

    def _replica_connection(self) -> Connection | None:
        if self.replica is None or self.monitor is None:
            return None
        if not self.monitor.status().serves_reads:
            self._count(fallback=True)
            return None
        try:
            conn = self.replica.connect()
        except OperationalError:
            # Killed or restarting since the last check: tell the monitor, read from the primary.
            self.monitor.mark_down()
            self._count(fallback=True)
            return None
        self._count(fallback=False)
        return conn

    def _count(self, *, fallback: bool) -> None:
        with self._count_lock:
            if fallback:
                self.fallbacks += 1
            else:
                self.reads_served += 1

    def dispose(self) -> None:
        if self.monitor is not None:
            self.monitor.stop()
        if self.replica is not None:
            self.replica.dispose()
