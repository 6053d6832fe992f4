"""Values derived from the boundaries, kept in memory while the boundaries stay unchanged.

``boundary_revision.revision`` (migration 0005) takes a fresh random value on every write to
``generation`` or ``admin_unit``, committed or not. A value computed from the boundaries as one
statement saw them is stored under the revision that same statement read; a later statement
that reads the same revision sees the same boundaries, so the value still holds. Revisions are
random per write, hence per database as well: one cache serves every database a process talks
to (the tests use several).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any, Generic, TypeVar

from sqlalchemy import ScalarSelect, select

from gis_service.db.schema import boundary_revision


def current_revision() -> ScalarSelect[Any]:
    """The boundary revision as a scalar subquery, to be read in the same statement as the
    boundaries it vouches for."""
    return select(boundary_revision.c.revision).scalar_subquery()


Key = TypeVar("Key")
Value = TypeVar("Value")


class RevisionCache(Generic[Key, Value]):
    """Values by (boundary revision, key), for the ``revisions`` most recently stored revisions.

    Readers take no lock (a dict read is atomic under the GIL); writers take one, so evicting an
    old revision never races another writer.
    """

    def __init__(self, revisions: int = 8) -> None:
        self._revisions = revisions
        self._by_revision: dict[uuid.UUID, dict[Key, Value]] = {}
        self._lock = threading.Lock()

    def get(self, revision: uuid.UUID, key: Key) -> Value | None:
        values = self._by_revision.get(revision)
        return None if values is None else values.get(key)

    def put(self, revision: uuid.UUID, key: Key, value: Value) -> None:
        with self._lock:
            values = self._by_revision.get(revision)
            if values is None:
                while len(self._by_revision) >= self._revisions:
                    del self._by_revision[next(iter(self._by_revision))]  # the oldest stored
                values = self._by_revision[revision] = {}
            values[key] = value
