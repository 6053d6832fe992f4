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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from flask import g, request
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from gis_service.db.lag import NO_REPLICA, ReplicaMonitor, ReplicaStatus

#: Methods that read. POST /v1/geocode/batch reads too (a body of points, nothing stored).
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READ_POST_ENDPOINTS = frozenset({"geocode.batch"})
_KEY_HEADERS = ("X-API-Key", "Authorization")
#: The replica engine's connections in pg_stat_activity.
READ_APPLICATION_NAME = "gis-service-read"


#: Set on ``flask.g``: the router that gave this request a replica connection; and, once that
#: connection broke, that the request is being answered again by the primary.
_SERVED_BY = "gis_replica_router"
_PRIMARY_ONLY = "gis_primary_only"
T = TypeVar("T")


def is_anonymous_read() -> bool:
    """This request reads only, and without a key (whose holder must see its own writes)."""
    if g.get(_PRIMARY_ONLY) or any(request.headers.get(header) for header in _KEY_HEADERS):
        return False
    return request.method in _READ_METHODS or request.endpoint in _READ_POST_ENDPOINTS


def with_primary_fallback(dispatch: Callable[[], T]) -> T:
    """Run the view; if its replica connection broke mid-read (a killed or restarting standby,
    a query cancelled by recovery), run it once more on the primary. Only anonymous reads ever
    get a replica connection, so running the view twice writes nothing twice."""
    try:
        return dispatch()
    except DBAPIError as exc:
        router: ReadRouter | None = g.pop(_SERVED_BY, None)
        if router is None or not (isinstance(exc, OperationalError)
                                  or exc.connection_invalidated):
            raise
        router.replica_failed()
        setattr(g, _PRIMARY_ONLY, True)
        return dispatch()


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
            self.replica_failed()
            return None
        self._count(fallback=False)
        setattr(g, _SERVED_BY, self)
        return conn

    def replica_failed(self) -> None:
        """A replica connection failed: reads go to the primary until a check finds it back."""
        if self.monitor is not None:
            self.monitor.mark_down()
        self._count(fallback=True)

    def _count(self, *, fallback: bool) -> None:
        with self._count_lock:
            if fallback:
                self.fallbacks += 1
            else:
                self.reads_served += 1

    def dispose_monitor(self) -> None:
        """Stop the monitor's thread (tests and benchmarks that build several apps)."""
        if self.monitor is not None:
            self.monitor.stop()
