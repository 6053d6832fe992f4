"""Administrative units as snap results name them, read by id."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    Connection,
    select,
)

from gis_service.db.schema import admin_unit
from gis_service.unit_ref import UnitRef

UNIT_COLUMNS = (
    admin_unit.c.id, admin_unit.c.code, admin_unit.c.name, admin_unit.c.unit_type,
    admin_unit.c.level, admin_unit.c.setting, admin_unit.c.approximate,
)


def unit_refs(conn: Connection, unit_ids: Iterable[int]) -> dict[int, UnitRef]:
    """The units with these ids, by id (unknown ids are left out)."""
    ids = sorted({int(i) for i in unit_ids})
    if not ids:
        return {}
    rows = conn.execute(select(*UNIT_COLUMNS).where(admin_unit.c.id.in_(ids)))
    return {row.id: UnitRef(*row) for row in rows}


