"""The map pages' own SQL: ward label points, the province outline and the neighbouring
provinces (from the national reference layer) for the base layer."""

from __future__ import annotations

from dataclasses import dataclass

from geoalchemy2 import Geometry
from sqlalchemy import (
    JSON,
    Connection,
    Float,
    Integer,
    Numeric,
    Text,
    bindparam,
    func,
    select,
)

from gis_service.db.schema import admin_unit, generation

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


#: Neighbours are clipped to the page's box widened by this much (degrees, ~55 km): the land
#: a planner sees around Huế when zoomed out, not whole provinces reaching to Laos or the sea.
NEIGHBOUR_MARGIN_DEG = 0.5
#: Coarser than the outline: they are context (where the land goes on), not our territory.
NEIGHBOUR_TOLERANCE_DEG = 2e-3


def neighbour_provinces_geojson(conn: Connection, generation_id: int,
                                bounds: tuple[float, float, float, float]) -> str | None:
    """The provinces of the reference generation surrounding ``generation_id`` (the national
    layer, ``surrounded_by``) near ``bounds``, less the one holding the generation's own wards,
    clipped and simplified, as a GeoJSON FeatureCollection (``name`` per feature); ``None``
    when the generation has no reference generation or nothing lies near."""
    province = admin_unit.alias("province")
    ward = admin_unit.alias("ward")
    reference = (select(generation.c.surrounded_by)
                 .where(generation.c.id == bindparam("generation_id", generation_id, Integer))
                 .scalar_subquery())
    west, south, east, north = bounds
    margin = NEIGHBOUR_MARGIN_DEG
    box = func.ST_MakeEnvelope(bindparam("west", west - margin, Float),
                               bindparam("south", south - margin, Float),
                               bindparam("east", east + margin, Float),
                               bindparam("north", north + margin, Float), 4326, type_=Geometry)
    # Our own province is the reference province holding our wards' label points.
    ours = (select(ward.c.id).where(
        ward.c.generation_id == bindparam("generation_id", generation_id, Integer),
        ward.c.level == "commune",
        func.ST_Intersects(province.c.geom, ward.c.label_point)).exists())
    shape = func.ST_SimplifyPreserveTopology(
        func.ST_ClipByBox2D(province.c.geom, box, type_=Geometry),
        bindparam("tolerance", NEIGHBOUR_TOLERANCE_DEG, Float), type_=Geometry)
    # The label inside the clipped part (a bounding box's centre can be at sea or in Huế).
    label = func.ST_PointOnSurface(shape, type_=Geometry)
    feature = func.json_build_object(
        "type", "Feature", "properties", func.json_build_object(
            "name", province.c.name, "lon", func.round(func.ST_X(label).cast(Numeric), 4),
            "lat", func.round(func.ST_Y(label).cast(Numeric), 4)),
        "geometry", func.ST_AsGeoJSON(shape, 4).cast(JSON))
    found = conn.execute(
        select(func.json_build_object("type", "FeatureCollection",
                                      "features", func.json_agg(feature)).cast(Text))
        .where(province.c.generation_id == reference, province.c.level == "province",
               func.ST_Intersects(province.c.geom, box), ~ours)
        .having(func.count() > 0)).scalar_one_or_none()
    return None if found is None else str(found)
