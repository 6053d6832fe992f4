"""Health of the service as data: database reachable, an active generation loaded."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from gis_service.db.schema import admin_unit, generation


@dataclass(frozen=True)
class Health:
    database: str
    active_generation: str | None

    @property
    def healthy(self) -> bool:
        return self.database == "ok" and self.active_generation is not None

    def to_dict(self) -> dict[str, object]:
        return {
            "status": "ok" if self.healthy else "degraded",
            "database": self.database,
            "active_generation": self.active_generation,
        }


def check(conn: Connection) -> Health:
    """One indexed query: the active generation, if it has any unit loaded."""
    code = conn.execute(
        select(generation.c.code)
        .where(generation.c.status == "active")
        .where(select(admin_unit.c.id).where(admin_unit.c.generation_id == generation.c.id)
               .exists())
    ).scalar_one_or_none()
    return Health(database="ok", active_generation=code)
