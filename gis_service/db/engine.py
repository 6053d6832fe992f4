"""Engines: where the database is, and how every connection is set up."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from gis_service.config import Settings
from gis_service.db.cluster import Cluster


def database_url(settings: Settings, *, start: bool = False) -> str:
    """The libpq URL to use: ``DATABASE_URL`` when set, else the project's own cluster.

    With ``start=True`` the embedded cluster is started (created on first use) if needed.
    """
    if settings.database_url:
        return settings.database_url
    cluster = Cluster.from_settings(settings)
    if start:
        cluster.start()
    return cluster.url()


def shown_url(url: str) -> str:
    """The URL as printed for people: the password masked, the host or socket kept."""
    return make_url(url).render_as_string(hide_password=True)


def sqlalchemy_url(url: str) -> str:
    """Force the psycopg 3 driver whatever scheme the URL was written with."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def with_database(url: str, name: str) -> str:
    """The same server, another database (used for throw-away test databases)."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def make_engine(url: str, settings: Settings, *, pool_size: int = 5) -> Engine:
    """An engine whose connections all carry a statement timeout and an application name.

    Pooled connections are tested before use (``pool_pre_ping``), so after a database restart
    each stale one is replaced on its next checkout and the server recovers by itself.
    """
    options = f"-c statement_timeout={settings.statement_timeout_ms} -c application_name=gis-service"
    return create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # A failed statement's message would otherwise carry its parameters into the logs:
        # a reporter's name, phone and e-mail when the database drops mid-intake.
        hide_parameters=True,
        connect_args={"options": options, "connect_timeout": 5},
    )
