"""What the views share: settings and the engine, built once in the app factory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Connection, Engine

from gis_service.config import Settings
from gis_service.geocode import IndexCache

EXTENSION_KEY = "gis_service"


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    #: The forward geocoder's in-memory index, rebuilt when the boundaries change.
    geocode_index: IndexCache


def services() -> Services:
    found: Services = current_app.extensions[EXTENSION_KEY]
    return found


@contextmanager
def connection() -> Iterator[Connection]:
    """One connection per request: read-only work, nothing left open afterwards."""
    with services().engine.connect() as conn:
        yield conn


@contextmanager
def transaction() -> Iterator[Connection]:
    """One transaction per writing request: committed on success, rolled back on any error."""
    with services().engine.begin() as conn:
        yield conn
