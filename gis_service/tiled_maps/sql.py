"""The map pages' own SQL: ward label points and the province outline for the base layer."""

from __future__ import annotations

from dataclasses import dataclass

from geoalchemy2 import Geometry
from sqlalchemy import Connection, Float, Integer, bindparam, func, select

from gis_service.db.schema import admin_unit

#: The outline is simplified to about 100 m: a base layer, not a boundary to measure on.
OUTLINE_TOLERANCE_DEG = 1e-3


@dataclass(frozen=True)
class Label:
    code: str
    name: str
    lon: float
    lat: float


def ward_labels(conn: Connection, generation_id: int) -> list[Label]:
    """Each commune's name at a point inside it (ST_PointOnSurface: a centroid can fall
    outside a crescent-shaped ward)."""
    point = func.ST_PointOnSurface(admin_unit.c.geom, type_=Geometry)
    rows = conn.execute(
        select(admin_unit.c.code, admin_unit.c.name, func.ST_X(point), func.ST_Y(point))
        .where(admin_unit.c.generation_id == bindparam("generation_id", generation_id, Integer),
               admin_unit.c.level == "commune")
        .order_by(admin_unit.c.code))
    return [Label(str(code), str(name), round(float(x), 5), round(float(y), 5))
            for code, name, x, y in rows]


def outline_geojson(conn: Connection, generation_id: int) -> str | None:
    """The generation's territory (its communes dissolved), simplified, as GeoJSON text."""
    union = func.ST_Union(admin_unit.c.geom, type_=Geometry)
    simple = func.ST_SimplifyPreserveTopology(
        union, bindparam("tolerance", OUTLINE_TOLERANCE_DEG, Float), type_=Geometry)
    found = conn.execute(
        select(func.ST_AsGeoJSON(func.ST_Boundary(simple, type_=Geometry), 4))
        .where(admin_unit.c.generation_id == bindparam("generation_id", generation_id, Integer),
               admin_unit.c.level == "commune")).scalar_one_or_none()
    return None if found is None else str(found)
