"""The SQL of coverage: what each commune of a generation received over a time range.

Every query starts from :func:`report_units`: the reports in scope (time range, categories),
each with the commune of the chosen generation it belongs to. Reports carry their commune in
the generation valid when they were made (``commune_id``) and in the active one
(``current_commune_id``); for any other generation there are two ways, both offered:

- ``point`` (the default, exact): the report's own point is snapped to the generation with
  :func:`gis_service.spatial.query.snap_select`, as the importer snapped it; every report has one.
- ``crosswalk``: the report stays under the commune it was filed under, and counts are spread
  over the generation's communes by the crosswalk's population shares
  (:func:`gis_service.boundaries.crosswalk.reaggregate`). This is what analysts do with data
  that has only old ward codes. With it, only the *native* reports (filed in the chosen
  generation) are attributed directly, and only additive counts can be re-aggregated
  (:func:`category_channel_counts` returns the non-native ones keyed by their old commune).

Service times, satisfaction and duplicate groups always use ``point``: a report's response
time cannot be split between wards.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    Connection,
    Float,
    LargeBinary,
    Select,
    Subquery,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from gis_service.db.schema import admin_unit, admin_unit_part, generation, report
from gis_service.spatial.query import snap_select
from gis_service.spatial.types import DEFAULT_TOLERANCE_M

Attribution = Literal["point", "crosswalk"]
ATTRIBUTIONS: tuple[Attribution, ...] = ("point", "crosswalk")
#: Resolutions the areal weighting is offered at: a commune is tens to thousands of res-9
#: cells; res 10 would be 300,000 cells for the province.
CELL_RESOLUTIONS = (7, 8, 9)

#: The ``grouping`` numbers of :func:`service_levels` rows.
GROUPINGS = {1: "commune, category", 2: "commune", 3: "setting, category", 4: "setting",
             5: "category", 6: "all"}
# GROUPING(code, setting, category) of each set -> its number.
_GROUPING_MASKS = {0b010: 1, 0b011: 2, 0b100: 3, 0b101: 4, 0b110: 5, 0b111: 6}
_HOUR_S = 3600.0
# A bare ::geography cast (GeoAlchemy2's default type would render geography(GEOMETRY,-1)).
_GEOGRAPHY = Geography(geometry_type=None)
_DUPLICATE = "duplicate"
_REJECTED = "rejected"


@dataclass(frozen=True)
class Scope:
    """Which reports: the generation to attribute them to, ``[start, end)``, the categories."""

    generation_id: int
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    categories: tuple[str, ...] | None = None
    tolerance_m: float = DEFAULT_TOLERANCE_M


def _in_scope(scope: Scope, r: Any = report) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if scope.start is not None:
        conditions.append(r.c.created_at >= bindparam("start", scope.start))
    if scope.end is not None:
        conditions.append(r.c.created_at < bindparam("end", scope.end))
    if scope.categories is not None:
        conditions.append(r.c.category.in_(bindparam("categories", list(scope.categories),
                                                      expanding=True)))
    return and_(true(), *conditions)


def _generation(scope: Scope) -> ColumnElement[int]:
    return bindparam("generation_id", scope.generation_id)


def _native_unit(scope: Scope, attribution: Attribution) -> ColumnElement[Any]:
    """The report's commune in the chosen generation when it was snapped to it, else NULL."""
    if attribution == "crosswalk":
        # Filed-under units only: the current units would bypass the crosswalk.
        return case((report.c.snap_generation_id == _generation(scope), report.c.commune_id))
    return case((report.c.snap_generation_id == _generation(scope), report.c.commune_id),
                (report.c.current_generation_id == _generation(scope),
                 report.c.current_commune_id))


def report_units(scope: Scope, attribution: Attribution = "point") -> Subquery:
    """``(report_id, unit_id)`` for the reports in scope that belong to a commune of the generation.

    With ``crosswalk``, reports not filed in the generation are left out (see
    :func:`category_channel_counts`); with ``point`` they are snapped by their point.
    """
    unit = _native_unit(scope, attribution)
    native = select(report.c.id.label("report_id"), unit.label("unit_id")).where(
        _in_scope(scope), unit.is_not(None))
    if attribution == "crosswalk":
        return native.subquery("report_units")
    points = (
        select(report.c.id.label("idx"), func.ST_X(report.c.geom).label("lon"),
               func.ST_Y(report.c.geom).label("lat"))
        .where(_in_scope(scope), unit.is_(None))
        .subquery("foreign_points")
    )
    snapped = snap_select(points, scope.generation_id, scope.tolerance_m).subquery("snapped")
    foreign = select(snapped.c.idx, snapped.c.commune_id).where(snapped.c.commune_id.is_not(None))
    return union_all(native, foreign).subquery("report_units")


def category_channel_counts(conn: Connection, scope: Scope, attribution: Attribution = "point"
                            ) -> pd.DataFrame:
    """Reports and originals (non-duplicates) per commune, category and channel.

    Columns: ``source_generation`` (None for reports attributed to the chosen generation, else
    the code of the generation they were filed in), ``unit_code``, ``category``, ``channel``,
    ``reports``, ``originals``. Only ``crosswalk`` yields rows with a source generation.
    """
    units = report_units(scope, attribution)
    unit = admin_unit.alias("unit")
    originals = func.count().filter(report.c.status != _DUPLICATE)
    attributed = (
        select(literal(None, Text).label("source_generation"), unit.c.code.label("unit_code"),
               report.c.category, report.c.channel, func.count().label("reports"),
               originals.label("originals"))
        .select_from(units.join(report, report.c.id == units.c.report_id)
                     .join(unit, unit.c.id == units.c.unit_id))
        .group_by(unit.c.code, report.c.category, report.c.channel)
    )
    statement: Select[Any] = attributed
    if attribution == "crosswalk":
        filed = admin_unit.alias("filed")
        foreign = (
            select(generation.c.code.label("source_generation"), filed.c.code.label("unit_code"),
                   report.c.category, report.c.channel, func.count().label("reports"),
                   originals.label("originals"))
            .select_from(report.join(filed, filed.c.id == report.c.commune_id)
                         .join(generation, generation.c.id == report.c.snap_generation_id))
            .where(_in_scope(scope), _native_unit(scope, attribution).is_(None))
            .group_by(generation.c.code, filed.c.code, report.c.category, report.c.channel)
        )
        statement = attributed.union_all(foreign)  # type: ignore[assignment]
    return _frame(conn, statement)


def _frame(conn: Connection, statement: Any) -> pd.DataFrame:
    result = conn.execute(statement)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def _hours(later: ColumnElement[Any], earlier: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.extract("epoch", later - earlier) / _HOUR_S


def _percentile(fraction: float, value: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.percentile_cont(literal(fraction, Float)).within_group(value)


def service_levels(conn: Connection, scope: Scope) -> pd.DataFrame:
    """Response and resolution hours (median, p90), deadlines and satisfaction of the original
    reports (duplicates are not handled on their own), in four groupings at once.

    Rows come per commune and category, per commune, per setting and category, per setting,
    per category and overall (``GROUPING SETS``); ``unit_code``, ``setting`` and ``category``
    are NULL where a row aggregates over them, and ``grouping`` says which set a row is
    (:data:`GROUPINGS`).

    The deadline share counts, among originals not rejected, those resolved by ``due_at``,
    over those resolved or already past due when the data ends (the latest report's time), so
    reports still open within their deadline are not counted as late.
    """
    units = report_units(scope, "point")
    unit = admin_unit.alias("unit")
    as_of = select(func.max(report.c.created_at)).scalar_subquery()
    response = _hours(report.c.first_response_at, report.c.created_at)
    resolution = _hours(report.c.resolved_at, report.c.created_at)
    judged = and_(report.c.status != _REJECTED,
                  (report.c.resolved_at.is_not(None)) | (report.c.due_at < as_of))
    sets = func.grouping_sets(
        tuple_(unit.c.code, report.c.category), tuple_(unit.c.code),
        tuple_(unit.c.setting, report.c.category), tuple_(unit.c.setting),
        tuple_(report.c.category), tuple_())
    # GROUPING(code, setting, category) is a bitmask of the columns a row aggregates over
    # (4 code, 2 setting, 1 category); each set's mask is mapped to its number.
    which = func.grouping(unit.c.code, unit.c.setting, report.c.category)
    number = case(*((which == mask, n) for mask, n in _GROUPING_MASKS.items()))
    statement = (
        select(
            number.label("grouping"),
            unit.c.code.label("unit_code"), unit.c.setting, report.c.category,
            func.count().label("originals"),
            _percentile(0.5, response).label("response_median_h"),
            _percentile(0.9, response).label("response_p90_h"),
            func.count(report.c.first_response_at).label("responded"),
            _percentile(0.5, resolution).label("resolution_median_h"),
            _percentile(0.9, resolution).label("resolution_p90_h"),
            func.count(report.c.resolved_at).label("resolved"),
            func.count().filter(judged).label("due"),
            func.count().filter(and_(judged, report.c.resolved_at <= report.c.due_at))
            .label("within_deadline"),
            func.count(report.c.satisfaction).label("rated"),
            func.coalesce(func.sum(report.c.satisfaction), 0).label("satisfaction_sum"),
        )
        .select_from(units.join(report, report.c.id == units.c.report_id)
                     .join(unit, unit.c.id == units.c.unit_id))
        .where(report.c.status != _DUPLICATE)
        .group_by(sets)
    )
    return _frame(conn, statement)


def duplicate_groups(conn: Connection, scope: Scope) -> pd.DataFrame:
    """Per commune: reported incidents (original reports in scope) and the reports about them
    (each original plus the reports whose ``duplicate_of`` is it, whenever they were made).

    Columns ``unit_code``, ``incidents``, ``reports``, ``repeated`` (incidents reported more
    than once). An original belongs to its own commune; its duplicates follow it.
    """
    units = report_units(scope, "point")
    unit = admin_unit.alias("unit")
    dup = report.alias("dup")
    sizes = (
        select(dup.c.duplicate_of.label("original_id"), func.count().label("duplicates"))
        .where(dup.c.duplicate_of.is_not(None))
        .group_by(dup.c.duplicate_of)
        .subquery("sizes")
    )
    duplicates = func.coalesce(sizes.c.duplicates, 0)
    statement = (
        select(unit.c.code.label("unit_code"), func.count().label("incidents"),
               cast(func.count() + func.sum(duplicates), BigInteger).label("reports"),
               func.count().filter(duplicates > 0).label("repeated"))
        .select_from(units.join(report, report.c.id == units.c.report_id)
                     .join(unit, unit.c.id == units.c.unit_id)
                     .outerjoin(sizes, sizes.c.original_id == report.c.id))
        .where(report.c.status != _DUPLICATE)
        .group_by(unit.c.code)
    )
    return _frame(conn, statement)


def neighbour_pairs(conn: Connection, generation_id: int) -> list[tuple[str, str]]:
    """Pairs of communes of the generation that touch or overlap (each pair both ways)."""
    a, b = admin_unit_part.alias("a"), admin_unit_part.alias("b")
    ua, ub = admin_unit.alias("ua"), admin_unit.alias("ub")
    gen: ColumnElement[int] = bindparam("generation_id", generation_id)
    statement = (
        select(ua.c.code, ub.c.code)
        .select_from(a.join(b, and_(b.c.generation_id == gen, b.c.level == "commune",
                                    b.c.unit_id != a.c.unit_id,
                                    # Pieces are small: their GiST index finds the touching ones.
                                    func.ST_Intersects(a.c.geom, b.c.geom)))
                     .join(ua, ua.c.id == a.c.unit_id).join(ub, ub.c.id == b.c.unit_id))
        .where(a.c.generation_id == gen, a.c.level == "commune")
        .distinct()
    )
    return [(row[0], row[1]) for row in conn.execute(statement)]


# -- H3 cells with areal weights ---------------------------------------------------------------

def cell_pieces(conn: Connection, generation_id: int, cells: np.ndarray,
                polygons: npt.NDArray[np.object_]) -> pd.DataFrame:
    """Each (cell, commune) overlap: ``cell``, ``unit_code``, ``overlap_km2``, and the
    commune's ``area_km2`` and ``population``, measured on the spheroid.

    The cells travel as two arrays (ids and WKB polygons) unnested in SQL; each is intersected
    with the commune's subdivided pieces, which are disjoint, so their areas add up.
    """
    ids = bindparam("cell_ids", [int(c) for c in cells], type_=ARRAY(BigInteger))
    wkbs = bindparam("cell_wkbs", [bytes(w) for w in shapely.to_wkb(polygons)],
                     type_=ARRAY(LargeBinary))
    cell = select(func.unnest(ids).label("cell"),
                  func.ST_GeomFromWKB(func.unnest(wkbs), 4326).label("geom")).cte("cell")
    part, unit = admin_unit_part.alias("part"), admin_unit.alias("unit")
    overlap = func.ST_Area(cast(func.ST_Intersection(cell.c.geom, part.c.geom),
                                _GEOGRAPHY)) / 1e6
    pieces = (
        select(cell.c.cell, part.c.unit_id, func.sum(overlap).label("overlap_km2"))
        .select_from(cell.join(part, and_(part.c.generation_id == bindparam("generation_id",
                                                                             generation_id),
                                          part.c.level == "commune",
                                          func.ST_Intersects(part.c.geom, cell.c.geom))))
        .group_by(cell.c.cell, part.c.unit_id)
        .subquery("pieces")
    )
    statement = (
        select(pieces.c.cell, unit.c.code.label("unit_code"), pieces.c.overlap_km2,
               unit.c.area_km2, unit.c.population)
        .join(unit, unit.c.id == pieces.c.unit_id)
        .where(pieces.c.overlap_km2 > 0)
    )
    return _frame(conn, statement)


def cell_report_counts(conn: Connection, scope: Scope, resolution: int) -> pd.DataFrame:
    """Reports per (cell, commune): ``cell``, ``unit_code``, ``reports``, from the stored cell ids."""
    if resolution not in CELL_RESOLUTIONS:
        raise ValueError(f"resolution must be one of {CELL_RESOLUTIONS}")
    units = report_units(scope, "point")
    unit = admin_unit.alias("unit")
    cell = report.c[f"h3_r{resolution}"]
    statement = (
        select(cell.label("cell"), unit.c.code.label("unit_code"), func.count().label("reports"))
        .select_from(units.join(report, report.c.id == units.c.report_id)
                     .join(unit, unit.c.id == units.c.unit_id))
        .group_by(cell, unit.c.code)
    )
    return _frame(conn, statement)
