"""Throw-away databases on the same server, for tests and benchmarks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from gis_service.config import Settings
from gis_service.db import migrate
from gis_service.db.engine import make_engine, with_database


def create_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``server_url``; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def scratch_database(server_url: str, settings: Settings, prefix: str, *,
                     migrated: bool = True) -> Iterator[str]:
    """A new database (at the migrations' head unless ``migrated=False``), dropped afterwards.

    >>> with scratch_database(url, settings, "bench") as scratch_url:  # doctest: +SKIP
    ...     engine = make_engine(scratch_url, settings)
    """
    name = f"gis_{prefix}_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)
    try:
        if migrated:
            engine = make_engine(url, settings)
            try:
                migrate.upgrade(engine)
            finally:
                engine.dispose()
        yield url
    finally:
        drop_database(server_url, name)
