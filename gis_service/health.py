"""Health of the service as data: database reachable, an active generation loaded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace

from sqlalchemy import Connection, select

from gis_service.db.schema import admin_unit, generation


@dataclass(frozen=True)
class Health:
    database: str
    active_generation: str | None
    #: How long ago the database said so (answers are cached for up to a second).
    age_s: float = 0.0

    @property
    def healthy(self) -> bool:
        return self.database == "ok" and self.active_generation is not None

    def to_dict(self) -> dict[str, object]:
        return {
            "status": "ok" if self.healthy else "degraded",
            "database": self.database,
            "active_generation": self.active_generation,
            "checked_s_ago": round(self.age_s, 3),
        }


def check(conn: Connection) -> Health:
    """One indexed query: the active generation, if it has any unit loaded."""
    code = conn.execute(
        select(generation.c.code)
        .where(generation.c.status == "active")
        .where(select(admin_unit.c.id).where(admin_unit.c.generation_id == generation.c.id)
               .exists())
    ).scalar_one_or_none()
    return Health(database="ok", active_generation=code)


#: How old a cached answer may be: a load balancer polling /healthz many times a second costs
#: the database one query a second per process, and an outage shows within that second.
MAX_AGE_S = 1.0


class HealthCache:
    """The last :func:`check` of this process, re-asked when older than :data:`MAX_AGE_S`.

    Only answers are cached: when the database cannot be reached the error propagates (503),
    and the next call asks again.
    """

    def __init__(self, max_age_s: float = MAX_AGE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: tuple[float, Health] | None = None

    def get(self, connect: Callable[[], AbstractContextManager[Connection]]) -> Health:
        now = self._clock()
        last = self._last
        if last is not None and now - last[0] <= self._max_age_s:
            return replace(last[1], age_s=now - last[0])
        with self._lock:
            last = self._last
            if last is not None and self._clock() - last[0] <= self._max_age_s:
                return replace(last[1], age_s=self._clock() - last[0])
            with connect() as conn:
                health = check(conn)
            self._last = (self._clock(), health)
            return health
