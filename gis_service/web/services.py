"""What the views share: settings and the engine, built once in the app factory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import Connection, Engine

from gis_service.config import Settings
from gis_service.geocode import IndexCache
from gis_service.health import HealthCache
from gis_service.spatial.revision_watch import RevisionWatch
from gis_service.web.read_routing import ReadRouter, is_anonymous_read

EXTENSION_KEY = "gis_service"


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    #: The forward geocoder's in-memory index, rebuilt when the boundaries change.
    geocode_index: IndexCache
    #: Where reads go: the replica for anonymous ones while it keeps up, else the primary.
    reads: ReadRouter
    #: /healthz's last answer, at most a second old.
    health: HealthCache = field(default_factory=HealthCache)
    #: The primary's boundary revision followed by LISTEN/NOTIFY (None: every answer asks SQL).
    revision_watch: RevisionWatch | None = None

    @property
    def boundary_revision(self) -> uuid.UUID | None:
        """The revision answers from memory may rest on, None when nobody vouches for one."""
        return None if self.revision_watch is None else self.revision_watch.revision


def services() -> Services:
    found: Services = current_app.extensions[EXTENSION_KEY]
    return found


@contextmanager
def connection() -> Iterator[Connection]:
    """One connection per read-only request, in autocommit: each statement sees committed
    data, and no BEGIN/ROLLBACK round trips are spent on the hot reverse-geocoding path.

    An anonymous read may be answered by the read replica (web/read_routing.py decides)."""
    with services().reads.connect(anonymous_read=is_anonymous_read()) as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def primary_connection() -> Iterator[Connection]:
    """A read-only connection to the primary, whoever asks (the health check's)."""
    with services().engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def transaction() -> Iterator[Connection]:
    """One transaction per writing request: committed on success, rolled back on any error."""
    with services().engine.begin() as conn:
        yield conn
