"""The schema comes only from Alembic: up to head, down to base, and up again."""

from __future__ import annotations

from sqlalchemy import inspect

from gis_service.config import Settings
from gis_service.db import migrate
from gis_service.db.engine import make_engine

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
