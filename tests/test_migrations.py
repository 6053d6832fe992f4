"""The schema comes only from Alembic: up to head, down to base, and up again."""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from gis_service.config import Settings
from gis_service.db import migrate
from gis_service.db.engine import make_engine
from gis_service.db.schema import metadata

TABLES = {
    "api_key_usage",
    "generation", "admin_unit", "admin_unit_part", "unit_crosswalk", "boundary_load",
    "category", "agency", "jurisdiction_rule", "report", "report_contact", "report_event",
    "calendar_day", "api_key", "idempotency_key",
}


def test_upgrade_downgrade_upgrade(empty_database: str, settings: Settings) -> None:
    engine = make_engine(empty_database, settings)
    try:
        migrate.upgrade(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
        head = migrate.current_revision(engine)
        assert head is not None

        migrate.downgrade(engine, "base")
        assert migrate.current_revision(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())

        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == head
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


# PostGIS's own table, created by the extension, not by us.
_EXTENSION_TABLES = {"spatial_ref_sys"}


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # The reports' partitions are made at run time (db/partitions.py), not declared: their
    # columns, keys and indexes are the partitioned table's by construction.
    made = name is not None and re.fullmatch(r"report_(y\d{4}|default)", name) is not None
    return not (type_ == "table" and (name in _EXTENSION_TABLES or made))


def test_the_migrated_database_matches_the_declared_schema(database: str,
                                                           settings: Settings) -> None:
    """db/schema.py declares exactly what the migrations build: tables, columns and their
    types, nullability, indexes (partial and expression ones included), keys."""
    engine = make_engine(database, settings)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _ours})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []
