"""The notification tables as schema.py declares them are what migration 0007 builds."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from gis_service.db.schema import metadata

OURS = {"agency_channel", "notification", "overdue_notice"}


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    del reflected, compare_to
    if type_ == "table":
        return name in OURS
    table = getattr(obj, "table", None)
    return (table is not None and table.name in OURS) or name == "ix_report_open_due"


def test_the_migration_builds_the_declared_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _ours,
                                                         "compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_overdue_is_an_event_kind(engine: Engine) -> None:
    with engine.connect() as conn:
        definition = conn.execute(text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conname = 'ck_report_event_kind'")).scalar_one()
    assert "'overdue'" in definition
