"""The OGC API's spatial SQL: the communes of a generation and the public reports as GeoJSON
features, built by PostgreSQL (``json_build_object``), one page per statement.

Building the features in the database spares Python a parse and a dump of every row: a page of
1,000 reports leaves PostgreSQL as one JSON text that the response splices in as it is.
Reports are public here: no contact, no free text (see :func:`public_text`), points rounded
to 4 decimals (about 10 m) before any transformation, like ``/v1/reports``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Integer,
    Numeric,
    Select,
    Text,
    bindparam,
    cast,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSON, aggregate_order_by

from gis_service.db.schema import admin_unit, category, generation, report
from gis_service.ogc.crs import Crs
from gis_service.ogc.params import Interval, ItemsQuery

#: About 10 m: the precision of every public report location (web.report_json's 4 decimals).
PUBLIC_GRID_DEG = 1e-4
HUE_ZONE = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class Page:
    """A page of features as one JSON array text, and how many it holds."""

    features: str
    returned: int


def public_text(_description: ColumnElement[Any]) -> ColumnElement[Any]:
    """The report's description as the public may read it.

    The redaction module (names, phone numbers and addresses removed) is not on main yet;
    until it is, no free text leaves through the OGC API. Hook it in here.
    """
    return null()


def output_geometry(geom: ColumnElement[Any], crs: Crs) -> ColumnElement[Any]:
    """``geom`` (SRID 4326, lon/lat) in ``crs``, in that CRS's axis order."""
    out = geom if crs.srid == 4326 else func.ST_Transform(geom, crs.srid, type_=Geometry)
    return func.ST_FlipCoordinates(out, type_=Geometry) if crs.lat_first else out


def bbox_envelope(query: ItemsQuery) -> ColumnElement[Any] | None:
    """The query's bbox as a polygon in SRID 4326 (lon/lat), or None."""
    if query.bbox is None:
        return None
    a1, b1, a2, b2 = query.bbox
    x1, y1, x2, y2 = (b1, a1, b2, a2) if query.bbox_crs.lat_first else (a1, b1, a2, b2)
    envelope = func.ST_MakeEnvelope(
        bindparam("x1", x1, Float), bindparam("y1", y1, Float),
        bindparam("x2", x2, Float), bindparam("y2", y2, Float),
        bindparam("bbox_srid", query.bbox_crs.srid, Integer), type_=Geometry)
    if query.bbox_crs.srid == 4326:
        return envelope
    # Sides densified first (every 100 m): a straight side in metres is a curve in degrees.
    return func.ST_Transform(func.ST_Segmentize(envelope, 100.0), 4326, type_=Geometry)


def feature_json(feature_id: ColumnElement[Any], geometry: ColumnElement[Any], crs: Crs,
                 properties: Sequence[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
    """A GeoJSON Feature built by PostgreSQL."""
    pairs: list[Any] = []
    for name, value in properties:
        pairs.extend((literal(name, Text), value))
    as_json = cast(func.ST_AsGeoJSON(output_geometry(geometry, crs), crs.decimals), JSON)
    return func.json_build_object(
        literal("type", Text), literal("Feature", Text), literal("id", Text), feature_id,
        literal("geometry", Text), as_json,
        literal("properties", Text), func.json_build_object(*pairs))


def page_of(conn: Connection, features: Select[Any]) -> Page:
    """One JSON array of a select of ``(feature, ord)`` rows, in ``ord`` order."""
    rows = features.subquery("f")
    array = cast(func.json_agg(aggregate_order_by(rows.c.feature, rows.c.ord)), Text)
    found, returned = conn.execute(
        select(func.coalesce(array, literal("[]", Text)), func.count())).one()
    return Page(str(found), int(returned))


def _paged(features: Select[Any], query: ItemsQuery) -> Select[Any]:
    return features.limit(bindparam("limit", query.limit, Integer)).offset(
        bindparam("offset", query.offset, Integer))


def _hue_day(value: Any, name: str) -> ColumnElement[Any]:
    return func.date(func.timezone(HUE_ZONE, bindparam(name, value)))


# -- communes of a generation ---------------------------------------------------------------------
def _valid_during(interval: Interval | None) -> list[ColumnElement[bool]]:
    """The generation's validity overlaps the interval (its units existed then)."""
    if interval is None:
        return []
    clauses: list[ColumnElement[bool]] = []
    if interval.end is not None:
        clauses.append(or_(generation.c.valid_from.is_(None),
                           generation.c.valid_from <= _hue_day(interval.end, "t_end")))
    if interval.start is not None:
        clauses.append(or_(generation.c.valid_to.is_(None),
                           generation.c.valid_to >= _hue_day(interval.start, "t_start")))
    return clauses


def _commune_conditions(code: str, query: ItemsQuery) -> list[ColumnElement[bool]]:
    conditions = [admin_unit.c.level == "commune",
                  generation.c.code == bindparam("generation", code, Text),
                  *_valid_during(query.datetime)]
    envelope = bbox_envelope(query)
    if envelope is not None:
        conditions.append(func.ST_Intersects(admin_unit.c.geom, envelope))
    if "code" in query.properties:
        conditions.append(admin_unit.c.code.in_(query.properties["code"]))
    return conditions


def _commune_feature(crs: Crs) -> ColumnElement[Any]:
    return feature_json(admin_unit.c.code, admin_unit.c.geom, crs, [
        ("code", admin_unit.c.code), ("name", admin_unit.c.name),
        ("name_ascii", admin_unit.c.name_ascii), ("unit_type", admin_unit.c.unit_type),
        ("setting", admin_unit.c.setting), ("population", admin_unit.c.population),
        ("population_year", admin_unit.c.population_year),
        ("area_km2", func.round(cast(admin_unit.c.area_km2, Numeric), 3)),
        ("approximate", admin_unit.c.approximate), ("source", admin_unit.c.source),
        ("licence", admin_unit.c.licence), ("generation", generation.c.code),
    ]).label("feature")


def _communes_from() -> Any:
    return admin_unit.join(generation, generation.c.id == admin_unit.c.generation_id)


def commune_page(conn: Connection, code: str, query: ItemsQuery) -> Page:
    features = (select(_commune_feature(query.crs), admin_unit.c.code.label("ord"))
                .select_from(_communes_from()).where(*_commune_conditions(code, query))
                .order_by(admin_unit.c.code))
    return page_of(conn, _paged(features, query))


def commune_count(conn: Connection, code: str, query: ItemsQuery) -> int:
    return int(conn.execute(select(func.count()).select_from(_communes_from())
                            .where(*_commune_conditions(code, query))).scalar_one())


def commune_feature(conn: Connection, code: str, unit_code: str, crs: Crs) -> str | None:
    found = conn.execute(
        select(cast(_commune_feature(crs), Text)).select_from(_communes_from())
        .where(*_commune_conditions(code, ItemsQuery()),
               admin_unit.c.code == bindparam("unit_code", unit_code, Text))).scalar_one_or_none()
    return None if found is None else str(found)


# -- public reports -------------------------------------------------------------------------------
def _report_conditions(query: ItemsQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    envelope = bbox_envelope(query)
    if envelope is not None:
        # The stored point, not the rounded one: a point is in the box or not, to the metre.
        conditions.append(func.ST_Intersects(report.c.geom, envelope))
    if query.datetime is not None and query.datetime.start is not None:
        conditions.append(report.c.created_at >= bindparam("t_start", query.datetime.start))
    if query.datetime is not None and query.datetime.end is not None:
        conditions.append(report.c.created_at <= bindparam("t_end", query.datetime.end))
    for name in ("category", "status"):
        if name in query.properties:
            conditions.append(report.c[name].in_(query.properties[name]))
    return conditions


def _report_feature(crs: Crs) -> ColumnElement[Any]:
    point = func.ST_SnapToGrid(report.c.geom, PUBLIC_GRID_DEG, type_=Geometry)
    return feature_json(report.c.public_id, point, crs, [
        ("category", report.c.category), ("status", report.c.status),
        ("channel", report.c.channel), ("created_at", report.c.created_at),
        ("resolved_at", report.c.resolved_at), ("closed_at", report.c.closed_at),
        ("commune_code", admin_unit.c.code), ("commune", admin_unit.c.name),
        ("description", public_text(report.c.description)),
    ]).label("feature")


def _reports_from() -> Any:
    return report.join(admin_unit, admin_unit.c.id == report.c.current_commune_id)


def report_page(conn: Connection, query: ItemsQuery) -> Page:
    # The page's ids first, features for them only: PostgreSQL computes the select list of
    # the rows OFFSET skips too, and a feature costs a join and ST_AsGeoJSON (a page at offset
    # 500,000 of a million would build 500,000 features to throw away).
    ids = _paged(select(report.c.id).where(*_report_conditions(query)).order_by(report.c.id),
                 query).subquery("page")
    features = (select(_report_feature(query.crs), report.c.id.label("ord"))
                .select_from(ids.join(report, report.c.id == ids.c.id)
                             .join(admin_unit, admin_unit.c.id == report.c.current_commune_id)))
    return page_of(conn, features)


def report_count(conn: Connection, query: ItemsQuery) -> int:
    return int(conn.execute(select(func.count()).select_from(report)
                            .where(*_report_conditions(query))).scalar_one())


def report_feature(conn: Connection, public_id: str, crs: Crs) -> str | None:
    found = conn.execute(
        select(cast(_report_feature(crs), Text)).select_from(_reports_from())
        .where(report.c.public_id == bindparam("public_id", public_id, Text))
    ).scalar_one_or_none()
    return None if found is None else str(found)


# -- extents --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Extent:
    """Lon/lat bounds (None when empty) and the time span (ISO texts, None when open)."""

    bbox: tuple[float, float, float, float] | None
    start: str | None
    end: str | None


def _bounds(box: Any) -> tuple[float, float, float, float] | None:
    if box is None:
        return None
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def _box_columns(geom: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    box = func.ST_Extent(geom)
    return [func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)]


def commune_extent(conn: Connection, code: str) -> Extent:
    row = conn.execute(
        select(*_box_columns(admin_unit.c.geom), func.min(generation.c.valid_from),
               func.max(generation.c.valid_to))
        .select_from(_communes_from()).where(*_commune_conditions(code, ItemsQuery()))).one()
    box = None if row[0] is None else row[:4]
    return Extent(_bounds(box), _iso(row[4]), _iso(row[5]))


def report_extent(conn: Connection) -> Extent:
    row = conn.execute(select(*_box_columns(report.c.geom), func.min(report.c.created_at),
                              func.max(report.c.created_at))).one()
    box = None if row[0] is None else row[:4]
    return Extent(_bounds(box), _iso(row[4]), _iso(row[5]))


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def published_generations(conn: Connection) -> list[tuple[str, str, str]]:
    """(code, status, description) of the active and retired generations, newest first."""
    rows = conn.execute(select(generation.c.code, generation.c.status, generation.c.description)
                        .where(generation.c.status != "draft")
                        .order_by(generation.c.valid_from.desc().nulls_last(), generation.c.code))
    return [(str(code), str(status), str(description)) for code, status, description in rows]


def category_codes(conn: Connection) -> list[str]:
    return [str(code) for code in conn.execute(select(category.c.code).order_by(category.c.code))]
