"""The SQL of residents per H3 cell: the 2019 census communes (population and subdivided
polygons), the areal-weighting source the coverage analysis uses too."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from gis_service.db.schema import admin_unit, admin_unit_part

#: The census the population figures come from (the 2019 communes carry it).
CENSUS_YEAR = 2019


@dataclass(frozen=True)
class CensusParts:
    """The census generation's commune pieces (WKB), each piece's commune and the communes'
    populations, and a key that changes whenever any of them does."""

    key: str
    unit_ids: tuple[int, ...]
    parts: tuple[bytes, ...]
    population: dict[int, float]


def _census_generation(conn: Connection) -> int | None:
    """The generation whose communes carry most census populations (the 2019 one)."""
    stmt = (select(admin_unit.c.generation_id)
            .where(admin_unit.c.level == "commune", admin_unit.c.population.is_not(None),
                   admin_unit.c.population_year == CENSUS_YEAR)
            .group_by(admin_unit.c.generation_id)
            .order_by(func.count().desc(), admin_unit.c.generation_id.desc()).limit(1))
    found: int | None = conn.execute(stmt).scalar()
    return found


def census_key(conn: Connection) -> str | None:
    """A digest of the census communes' pieces and populations, cheap to ask before each use."""
    generation_id = _census_generation(conn)
    if generation_id is None:
        return None
    piece = func.concat(func.md5(func.ST_AsBinary(admin_unit_part.c.geom)), ":",
                        admin_unit.c.population)
    digest = func.md5(func.string_agg(piece, aggregate_order_by(literal(","),
                                                                 admin_unit_part.c.id)))
    stmt = (select(digest).select_from(admin_unit_part.join(
        admin_unit, admin_unit.c.id == admin_unit_part.c.unit_id))
            .where(admin_unit_part.c.generation_id == generation_id,
                   admin_unit_part.c.level == "commune"))
    key: str | None = conn.execute(stmt).scalar()
    return f"{generation_id}:{key}"


def census_parts(conn: Connection) -> CensusParts | None:
    """The census communes' pieces, or None when no generation carries a census."""
    key = census_key(conn)
    if key is None:
        return None
    generation_id = int(key.split(":", 1)[0])
    stmt = (select(admin_unit.c.id, func.ST_AsBinary(admin_unit_part.c.geom),
                   admin_unit.c.population)
            .join(admin_unit, admin_unit.c.id == admin_unit_part.c.unit_id)
            .where(admin_unit_part.c.generation_id == generation_id,
                   admin_unit_part.c.level == "commune")
            .order_by(admin_unit_part.c.id))
    rows = conn.execute(stmt).all()
    return CensusParts(key=key, unit_ids=tuple(int(row[0]) for row in rows),
                       parts=tuple(bytes(row[1]) for row in rows),
                       population={int(row[0]): float(row[2] or 0) for row in rows})
