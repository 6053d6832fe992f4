"""Alembic environment: runs against the connection gis-service hands over, or the configured DB."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import Connection

from gis_service.config import Settings
from gis_service.db.engine import database_url, make_engine
from gis_service.db.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=alembic_helpers.include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    settings = Settings.from_env()
    engine = make_engine(database_url(settings, start=True), settings)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


run_migrations_online()
