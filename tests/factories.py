"""Small factories for test data: a generation, a unit from WKT, a grid of square units."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, func, insert, select

from gis_service.db.schema import admin_unit, generation

_TYPE_BY_LEVEL = {"province": "Tỉnh", "district": "Huyện", "commune": "Phường"}


def add_generation(
    conn: Connection,
    code: str = "test",
    *,
    status: str = "draft",
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
) -> int:
    return int(
        conn.execute(
            insert(generation)
            .values(code=code, status=status, valid_from=valid_from, valid_to=valid_to,
                    description=f"test generation {code}")
            .returning(generation.c.id)
        ).scalar_one()
    )


def add_unit(
    conn: Connection,
    generation_id: int,
    code: str,
    polygon: str,
    *,
    level: str = "commune",
    name: str | None = None,
    unit_type: str | None = None,
    parent_id: int | None = None,
    population: int | None = None,
    approximate: bool = False,
) -> int:
    """Insert one unit; ``polygon`` is WKT in lon/lat (POLYGON or MULTIPOLYGON)."""
    name = name or f"Unit {code}"
    return int(
        conn.execute(
            insert(admin_unit)
            .values(
                generation_id=generation_id,
                level=level,
                code=code,
                name=name,
                name_ascii=name,
                unit_type=unit_type or _TYPE_BY_LEVEL[level],
                parent_id=parent_id,
                population=population,
                geom=func.ST_Multi(func.ST_GeomFromText(polygon, 4326)),
                source="test factory",
                licence="test",
                approximate=approximate,
            )
            .returning(admin_unit.c.id)
        ).scalar_one()
    )


def square(lon: float, lat: float, size: float) -> str:
    """WKT of an axis-aligned square with its south-west corner at (lon, lat)."""
    x1, y1 = lon + size, lat + size
    return f"POLYGON(({lon} {lat},{x1} {lat},{x1} {y1},{lon} {y1},{lon} {lat}))"


def unit_ids_by_code(conn: Connection, generation_id: int) -> dict[str, int]:
    rows = conn.execute(
        select(admin_unit.c.code, admin_unit.c.id).where(admin_unit.c.generation_id == generation_id)
    )
    return {code: unit_id for code, unit_id in rows}
