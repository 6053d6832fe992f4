"""What the views share: settings and the engine, built once in the app factory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import Connection, Engine

from gis_service.config import Settings
from gis_service.geocode import IndexCache
from gis_service.health import HealthCache

EXTENSION_KEY = "gis_service"


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    #: The forward geocoder's in-memory index, rebuilt when the boundaries change.
    geocode_index: IndexCache
    #: /healthz's last answer, at most a second old.
    health: HealthCache = field(default_factory=HealthCache)


def services() -> Services:
    found: Services = current_app.extensions[EXTENSION_KEY]
    return found


@contextmanager
def connection() -> Iterator[Connection]:
    """One connection per read-only request, in autocommit: each statement sees committed
    data, and no BEGIN/ROLLBACK round trips are spent on the hot reverse-geocoding path."""
    with services().engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def transaction() -> Iterator[Connection]:
    """One transaction per writing request: committed on success, rolled back on any error."""
    with services().engine.begin() as conn:
        yield conn
