"""One geocoding index per process, rebuilt when the boundaries in the database change.

A web worker keeps an :class:`IndexCache` (built in the app factory) and asks it for the
index on each request: at most every ``recheck_seconds`` it runs one cheap query for the
boundaries' *version* (loads, units, crosswalk rows, generation statuses) and rebuilds the
index (tens of milliseconds) only when that changed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from gis_service.db.schema import admin_unit, boundary_load, generation, unit_crosswalk
from gis_service.geocode.index import GeocodeIndex, build_index
from gis_service.geocode.streets import StreetList

Version = tuple[Any, ...]


def boundaries_version(conn: Connection) -> Version:
    """What changes whenever units, crosswalks or generation statuses do (one round trip)."""
    statuses = func.string_agg(generation.c.code + ":" + generation.c.status,
                               aggregate_order_by(literal(","), generation.c.code))
    row = conn.execute(select(
        select(func.max(boundary_load.c.id)).scalar_subquery(),
        select(func.count()).select_from(admin_unit).scalar_subquery(),
        select(func.max(admin_unit.c.id)).scalar_subquery(),
        select(func.count()).select_from(unit_crosswalk).scalar_subquery(),
        select(statuses).scalar_subquery(),
    )).one()
    return tuple(row)


class IndexCache:
    """The current :class:`GeocodeIndex`, rebuilt when :func:`boundaries_version` changes.

    >>> cache = IndexCache()  # doctest: +SKIP
    >>> with engine.connect() as conn:  # doctest: +SKIP
    ...     results = geocode(cache.get(conn), "Phường Vỹ Dạ, TP Huế")
    """

    def __init__(self, *, recheck_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic,
                 streets: StreetList | None = None) -> None:
        self._recheck = recheck_seconds
        self._streets = streets
        self._clock = clock
        self._lock = threading.Lock()
        self._index: GeocodeIndex | None = None
        self._version: Version | None = None
        self._checked = float("-inf")

    def get(self, conn: Connection) -> GeocodeIndex:
        """The index, checking the version when the last check is older than the interval."""
        index = self._index
        if index is not None and self._clock() - self._checked < self._recheck:
            return index
        with self._lock:
            return self._refresh(conn)

    def _refresh(self, conn: Connection) -> GeocodeIndex:
        version = boundaries_version(conn)
        if self._index is None or version != self._version:
            self._index = build_index(conn, streets=self._streets)
            self._version = version
        self._checked = self._clock()
        return self._index
