"""Schema behaviour the rest of the system relies on: derived columns, parts, constraints."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import IntegrityError

from gis_service.db.schema import admin_unit, admin_unit_part, generation
from tests.factories import add_generation, add_unit, square


def _parts(conn: Connection, unit_id: int) -> int:
    return int(conn.execute(
        select(func.count()).where(admin_unit_part.c.unit_id == unit_id)
    ).scalar_one())


def test_parts_follow_their_unit(conn: Connection) -> None:
    gen = add_generation(conn)
    # A many-vertex polygon (a 400-gon) must be cut into several parts.
    circle = conn.execute(
        select(func.ST_AsText(func.ST_Buffer(func.ST_MakePoint(107.6, 16.4), 0.05, 100)))
    ).scalar_one()
    unit = add_unit(conn, gen, "1", circle)
    assert _parts(conn, unit) > 1
    covered = conn.execute(
        select(func.ST_Equals(func.ST_Union(admin_unit_part.c.geom), admin_unit.c.geom))
        .join(admin_unit, admin_unit.c.id == admin_unit_part.c.unit_id)
        .where(admin_unit.c.id == unit)
        .group_by(admin_unit.c.geom)
    ).scalar_one()
    assert covered

    conn.execute(update(admin_unit).where(admin_unit.c.id == unit)
                 .values(geom=func.ST_Multi(func.ST_GeomFromText(square(107, 16, 0.01), 4326))))
    assert _parts(conn, unit) == 1
    conn.execute(admin_unit.delete().where(admin_unit.c.id == unit))
    assert _parts(conn, unit) == 0


def test_derived_columns(conn: Connection) -> None:
    gen = add_generation(conn)
    ward = add_unit(conn, gen, "1", square(107.5, 16.4, 0.01), unit_type="Phường")
    commune = add_unit(conn, gen, "2", square(107.6, 16.4, 0.01), unit_type="Xã")
    rows = dict(conn.execute(select(admin_unit.c.id, admin_unit.c.setting)).all())
    assert rows[ward] == "urban" and rows[commune] == "rural"
    area = conn.execute(select(admin_unit.c.area_km2).where(admin_unit.c.id == ward)).scalar_one()
    # 0.01° squares at 16.4°N: about 1.11 km by 1.07 km.
    assert area == pytest.approx(1.18, rel=0.02)


def test_parent_must_be_in_the_same_generation(conn: Connection) -> None:
    old = add_generation(conn, "old")
    new = add_generation(conn, "new")
    province = add_unit(conn, old, "46", square(107, 16, 1), level="province")
    with pytest.raises(IntegrityError):
        add_unit(conn, new, "1", square(107.5, 16.4, 0.01), parent_id=province)


def test_published_generations_cannot_overlap(conn: Connection) -> None:
    # The session database may already hold Huế's real generations (committed by the hue_db
    # fixture): unpublish them in this rolled-back transaction so only this test's periods count.
    conn.execute(update(generation).values(status="draft"))
    add_generation(conn, "a", status="retired", valid_from=dt.date(2019, 1, 1),
                   valid_to=dt.date(2025, 6, 30))
    add_generation(conn, "b", status="active", valid_from=dt.date(2025, 7, 1))
    with pytest.raises(IntegrityError):
        add_generation(conn, "c", status="retired", valid_from=dt.date(2024, 1, 1),
                       valid_to=dt.date(2024, 12, 31))
