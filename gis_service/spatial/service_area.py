"""The service area: what the reference boundaries say about a point in no service commune.

Reports are filed under Huế's communes only, but a point outside them may still lie in Vietnam:
the reference generation (kind ``reference``: Vietnam's 34 provinces and 3,321 wards, see
:mod:`gis_service.boundaries.reference`) says where. It speaks only for the service generations
it surrounds: those whose ``surrounded_by`` names it (the reference manifest's ``surrounds``,
2019 and 2025). Any other generation (a drawn test grid near 107°E 16°N, which lies inside
Vietnam too) keeps the plain rules: nearest within the tolerance, else outside.

For a point covered by no commune of a surrounded generation (the only points these rules see:
a covered point is inside, whatever the reference says, so the commune cores stay exact):

- in a reference unit of **another province** (its ward, else the province): the match is
  ``outside_service_area``, with that ward and province; never a Huế commune, however near;
- in a reference unit of the **home province** (the snapped generation's province code; a gap
  between two sources' lines): the nearest rule as before;
- in no province, on **foreign land** (``surrounding_area``: Laos, west of A Lưới): outside, no
  units; the tolerance never reaches across the land border;
- in no province, on **water** (the sea; the lagoon lies inside Huế's wards): the nearest
  reference unit within the tolerance decides whose water it is; another province's is
  ``outside_service_area`` (its nearest ward), Huế's (or none within reach) the nearest rule;
- in no province and in neither kind of surroundings (beyond the window around Huế where they
  are known; the window reaches farther than the tolerance): nothing is known there, so the
  nearest rule as before (which finds no Huế commune so far out: outside).

All the SQL of this concern is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    FromClause,
    Text,
    and_,
    case,
    func,
    or_,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.sql.elements import ColumnElement

from gis_service.db.schema import admin_unit, admin_unit_part, generation, surrounding_area
from gis_service.spatial.grid import (
    COMMUNE,
    GEOGRAPHY,
    ONE,
    PROVINCE,
    TRUE,
    const,
    millimetres,
    point_of,
    prefilter_radius_deg,
)

OUTSIDE_SERVICE_AREA = "outside_service_area"
_WATER = const("water", Text)
_FOREIGN_LAND = const("foreign_land", Text)


def reference_id(generation_id: ColumnElement[Any]) -> ColumnElement[Any]:
    """The id of the reference generation surrounding generation_id, NULL when none does."""
    return (select(generation.c.surrounded_by).where(generation.c.id == generation_id)
            .scalar_subquery())


def home_province_code(generation_id: ColumnElement[Any]) -> ColumnElement[Any]:
    """The code of the snapped generation's province (46 for Huế), NULL when it has none."""
    return (select(admin_unit.c.code)
            .where(admin_unit.c.generation_id == generation_id, admin_unit.c.level == PROVINCE)
            .order_by(admin_unit.c.code).limit(ONE).scalar_subquery())


@dataclass(frozen=True)
class Context:
    """The reference context of each point: joins to add after the points, and the verdicts."""

    joined: FromClause
    #: The reference unit of another province the point is in or nearest to (ward or province).
    other_unit_id: ColumnElement[Any]
    #: True: that unit exists (covering the point, or the nearest on water).
    other: ColumnElement[bool]
    #: True: no service commune may be given, however near (another country's land).
    barred: ColumnElement[bool]
    #: True: a reference unit covers the point (it is on land).
    covered: ColumnElement[bool]
    #: On water: the distance to the other province's nearest unit.
    other_distance_m: ColumnElement[Any]
    #: On water, with that unit within the tolerance: the distance to the home province's
    #: nearest reference unit (NULL when none is within the tolerance).
    home_distance_m: ColumnElement[Any]


def _covering(ref: ColumnElement[Any], point: ColumnElement[Any]) -> tuple[FromClause, FromClause]:
    """The reference ward covering the point, and (only when none does: the wards are not
    loaded, or a sliver between the two simplified files) the province covering it.

    Two lookups rather than one over both levels: a point then meets the few small pieces of
    the wards' partial GiST index (ix_admin_unit_part_commune), not also its province's.
    """
    ward, province = admin_unit_part.alias("ref_ward"), admin_unit_part.alias("ref_province")
    in_ward = (select(ward.c.unit_id)
               .where(ward.c.generation_id == ref, ward.c.level == COMMUNE,
                      func.ST_Covers(ward.c.geom, point))
               .order_by(ward.c.unit_id).limit(ONE).lateral("ref_ward_cover"))
    in_province = (select(province.c.unit_id)
                   .where(in_ward.c.unit_id.is_(None), province.c.generation_id == ref,
                          province.c.level == PROVINCE, func.ST_Covers(province.c.geom, point))
                   .order_by(province.c.unit_id).limit(ONE).lateral("ref_province_cover"))
    return in_ward, in_province


def _surrounding(ref: ColumnElement[Any], point: ColumnElement[Any],
                 covering: ColumnElement[Any]) -> FromClause:
    """Foreign land or water, for a point no reference unit covers (foreign land first)."""
    area = surrounding_area.alias("around")
    return (select(area.c.kind)
            .where(covering.is_(None), area.c.generation_id == ref,
                   func.ST_Covers(area.c.geom, point))
            .order_by(area.c.kind).limit(ONE).lateral("around"))


def _home_reference_id(ref: ColumnElement[Any], home: ColumnElement[Any]) -> ColumnElement[Any]:
    """The id of the home province among the reference units."""
    return (select(admin_unit.c.id)
            .where(admin_unit.c.generation_id == ref, admin_unit.c.level == PROVINCE,
                   admin_unit.c.code == home).limit(ONE).scalar_subquery())


def _near_pieces(ref: ColumnElement[Any], point: ColumnElement[Any], *,
                 lat: ColumnElement[Any], tolerance_m: ColumnElement[Any], name: str
                 ) -> tuple[FromClause, FromClause, ColumnElement[Any], ColumnElement[bool]]:
    """The reference pieces (and their units) the index finds within the tolerance of point,
    with the geography distance to each (left to the ORDER BY: it is the costly step)."""
    part, unit = admin_unit_part.alias(f"{name}_part"), admin_unit.alias(f"{name}_unit")
    distance = func.ST_Distance(part.c.geog, sql_cast(point, GEOGRAPHY))
    near = and_(part.c.generation_id == ref,
                func.ST_DWithin(part.c.geom, point, prefilter_radius_deg(lat, tolerance_m)))
    return part, unit, distance, near


def _nearest_other(ref: ColumnElement[Any], home: ColumnElement[Any], point: ColumnElement[Any],
                   *, lat: ColumnElement[Any], tolerance_m: ColumnElement[Any],
                   around: FromClause) -> FromClause:
    """On water: the nearest unit of *another* province within the tolerance (wards first).

    Only other provinces' pieces are measured here (after the join has dropped Huế's pieces):
    water off Huế's own coast, far from any other province, costs an index probe. The tolerance
    is applied to the one nearest; whether it is nearer than Huế's own nearest reference unit is
    decided after (see :func:`_nearest_home` and :func:`elsewhere`).
    """
    part, unit, distance, near = _near_pieces(ref, point, lat=lat, tolerance_m=tolerance_m,
                                              name="ref_near")
    home_id = _home_reference_id(ref, home)
    return (select(part.c.unit_id, distance.label("distance_m"))
            .join(unit, unit.c.id == part.c.unit_id)
            .where(around.c.kind == _WATER, near,
                   unit.c.id != home_id, unit.c.parent_id.is_distinct_from(home_id))
            .order_by(millimetres(distance), (part.c.level == COMMUNE).desc(), part.c.unit_id)
            .limit(ONE).lateral("ref_nearest"))


def _nearest_home(ref: ColumnElement[Any], home: ColumnElement[Any], point: ColumnElement[Any],
                  *, lat: ColumnElement[Any], tolerance_m: ColumnElement[Any],
                  other: FromClause) -> FromClause:
    """On water with another province's unit within the tolerance: the distance to the home
    province's nearest reference unit (its ward or its outline), to say whose water it is.

    The same reference boundaries on both sides: the service generation's communes (2019 in
    particular) may stop short of the coast the reference draws, and measuring Huế by them
    would hand Huế's own coastal water to a neighbour whose outline is merely nearer than a
    2019 commune. Measured only for the few points the gate lets through (the condition on
    ``other`` is a one-time filter of the lateral).
    """
    part, unit, distance, near = _near_pieces(ref, point, lat=lat, tolerance_m=tolerance_m,
                                              name="ref_home")
    home_id = _home_reference_id(ref, home)
    return (select(distance.label("distance_m"))
            .join(unit, unit.c.id == part.c.unit_id)
            .where(other.c.distance_m <= tolerance_m, near,
                   or_(unit.c.id == home_id, unit.c.parent_id == home_id))
            .order_by(millimetres(distance)).limit(ONE).lateral("ref_home_nearest"))


def context(points: FromClause, generation_id: ColumnElement[Any],
            tolerance_m: ColumnElement[Any]) -> Context:
    """The reference context of ``points`` (columns ``lon``, ``lat``) for generation_id.

    On water, another province's unit counts only when it is nearer than the home province's
    nearest reference unit (see :func:`elsewhere`).
    """
    ref, home = reference_id(generation_id), home_province_code(generation_id)
    point = point_of(points.c.lon, points.c.lat)
    in_ward, in_province = _covering(ref, point)
    covering = func.coalesce(in_ward.c.unit_id, in_province.c.unit_id)
    around = _surrounding(ref, point, covering)
    nearest = _nearest_other(ref, home, point, lat=points.c.lat, tolerance_m=tolerance_m,
                             around=around)
    own = _nearest_home(ref, home, point, lat=points.c.lat, tolerance_m=tolerance_m,
                        other=nearest)
    near = case((nearest.c.distance_m <= tolerance_m, nearest.c.unit_id))
    unit, parent = admin_unit.alias("ref_unit"), admin_unit.alias("ref_parent")
    province_code = case((unit.c.level == PROVINCE, unit.c.code), else_=parent.c.code)
    joined = (points.outerjoin(in_ward, TRUE).outerjoin(in_province, TRUE)
              .outerjoin(around, TRUE).outerjoin(nearest, TRUE).outerjoin(own, TRUE)
              .outerjoin(unit, unit.c.id == func.coalesce(covering, near))
              .outerjoin(parent, parent.c.id == unit.c.parent_id))
    known = and_(ref.is_not(None), home.is_not(None))
    other = and_(known, unit.c.id.is_not(None), province_code.is_distinct_from(home))
    # Only land known to be another country's bars the tolerance; where nothing is known (past
    # the window) the nearest rule stands.
    foreign = and_(covering.is_(None), around.c.kind == _FOREIGN_LAND)
    return Context(joined, unit.c.id, other, and_(known, foreign), covering.is_not(None),
                   nearest.c.distance_m, own.c.distance_m)


def elsewhere(where: Context) -> ColumnElement[bool]:
    """In another province: on its land, or on water nearer to its nearest reference unit than
    to Huế's (both measured on the reference boundaries, both within the tolerance)."""
    on_land = and_(where.other, where.covered)
    at_sea = and_(where.other, ~where.covered,
                  or_(where.home_distance_m.is_(None),
                      where.other_distance_m < where.home_distance_m))
    return or_(on_land, at_sea)


def with_outside_units(joined: FromClause, outside_unit_id: ColumnElement[Any], name: str
                       ) -> tuple[FromClause, ColumnElement[Any], ColumnElement[Any]]:
    """``joined`` with the outside reference unit (a ward, or a province alone) and its parent:
    returns the join and the outside ward's and province's id columns (NULL when inside)."""
    unit, parent = admin_unit.alias(f"{name}_unit"), admin_unit.alias(f"{name}_parent")
    joined = (joined.outerjoin(unit, unit.c.id == outside_unit_id)
              .outerjoin(parent, parent.c.id == unit.c.parent_id))
    ward_id = case((unit.c.level == COMMUNE, unit.c.id))
    province_id = case((unit.c.level == PROVINCE, unit.c.id), else_=parent.c.id)
    return joined, ward_id, province_id
