"""The SQL pieces every spatial query here shares: constants written into the text, points,
the planner's grid of cells, the degree-space prefilter radius and millimetre rounding."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    Boolean,
    FromClause,
    Integer,
    Text,
    func,
    literal_column,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Float

# A grid of CELL_DEG-degree cells is a planner device, not part of the answer: each commune
# piece is listed under every cell its bounding box touches, and each point looks only at the
# pieces listed under its own cell. That equality gives the planner a key to hash on, so a
# million points join in one hash join instead of a million GiST probes (measured: ~16 µs per
# probe here, as GiST scans whole pages of a small index). ST_Covers decides; a point covered
# by a piece always shares a cell with it, so the cell size changes speed only (0.005° beat
# 0.01° and 0.02° by 7% and 25% on a million points; smaller cells gained nothing more).
CELL_DEG = 0.005
# A bare ``::geography`` cast (GeoAlchemy2's default type would render geography(GEOMETRY,-1)).
GEOGRAPHY = Geography(geometry_type=None)


def const(value: float | int | str, type_: Any) -> ColumnElement[Any]:
    """A constant of this module written into the SQL text, not sent as a bound parameter.

    Keeps the statement's parameters to the caller's values (four for one point), which
    psycopg binds on every call, and lets COPY (which takes no parameters) run the query.
    """
    if isinstance(value, str):
        if "'" in value:
            raise ValueError("constants are plain words")
        return literal_column(f"'{value}'", type_)
    return literal_column(repr(value), type_)


# Fewest metres in a degree of latitude (at the equator) on WGS84; a degree of longitude is
# at least that times cos(latitude). Used only to widen a degree-space prefilter, with a
# margin, so it never drops a candidate; the cap keeps cos() away from the pole.
_M_PER_DEG_LAT_MIN = const(110_574.0, Float)
_PREFILTER_MARGIN = const(1.02, Float)
_LAT_CAP = const(89.0, Float)
_CELL_KEY_ROW = const(1 << 24, BigInteger)
SRID = const(4326, Integer)
COMMUNE = const("commune", Text)
DISTRICT = const("district", Text)
PROVINCE = const("province", Text)
INSIDE = sql_cast(const("inside", Text), Text)
ZERO = sql_cast(const(0.0, Float), Float)
TRUE = literal_column("true", Boolean)
ONE = const(1, Integer)


def point_of(lon: ColumnElement[Any], lat: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), SRID)


def cell_of(coordinate: ColumnElement[Any]) -> ColumnElement[int]:
    return sql_cast(func.floor(coordinate / const(CELL_DEG, Float)), BigInteger)


def cell_key(cell_x: ColumnElement[Any], cell_y: ColumnElement[Any]) -> ColumnElement[int]:
    """One bigint per grid cell (|cell_y| < 2^23 for any cell larger than 0.00002°)."""
    return cell_x * _CELL_KEY_ROW + cell_y


def prefilter_radius_deg(lat: ColumnElement[Any], tolerance_m: ColumnElement[Any]) -> ColumnElement[Any]:
    """Degrees that are surely more than ``tolerance_m`` metres in every direction at ``lat``.

    A degree of longitude shrinks with cos(latitude); take the latitude farthest from the
    equator the tolerance can reach (capped short of the pole) and add a margin.
    """
    reach = func.least(func.abs(lat) + tolerance_m / _M_PER_DEG_LAT_MIN, _LAT_CAP)
    return tolerance_m * _PREFILTER_MARGIN / (_M_PER_DEG_LAT_MIN * func.cos(func.radians(reach)))


def millimetres(metres: ColumnElement[Any]) -> ColumnElement[Any]:
    """Distances compared at millimetre precision, so floating-point noise cannot break a tie.

    A point on a shared edge is 0 m deep in both communes, and one midway across a gap equally
    far from both, but the two distances are computed along different rings and can differ in
    the last bits; rounded, they tie and the lowest code decides, as documented.
    """
    return func.round(metres * const(1000.0, Float))



def piece_cells(part: FromClause, extent: FromClause, grow: ColumnElement[Any] | None = None
                ) -> tuple[FromClause, FromClause]:
    """Per commune piece, the grid cells its bounding box (grown by ``grow`` degrees) touches,
    clipped to ``extent`` (columns x0, y0, x1, y1), so one point meets one cell.

    Returns two LATERAL selectables to join after ``part``: the cells' keys as one array, and
    ``cell`` (one row per key). They are gathered with array_agg and unnested rather than taken
    straight from generate_series: the planner assumes 1,000 rows per generate_series (a
    million per piece for two of them) but 10 per unnest, close to the few dozen there are, so
    it hashes the pieces for a big batch instead of probing the GiST index once per point.
    """
    def span(low: ColumnElement[Any], high: ColumnElement[Any], start: ColumnElement[Any],
             stop: ColumnElement[Any], name: str) -> Any:
        if grow is not None:
            low, high = low - grow, high + grow
        first = func.greatest(cell_of(low), cell_of(start))
        last = func.least(cell_of(high), cell_of(stop))
        return func.generate_series(first, last).table_valued(name).render_derived()

    geom = part.c.geom
    xs = span(func.ST_XMin(geom), func.ST_XMax(geom), extent.c.x0, extent.c.x1, "cell_x")
    ys = span(func.ST_YMin(geom), func.ST_YMax(geom), extent.c.y0, extent.c.y1, "cell_y")
    keys = (
        select(func.array_agg(cell_key(xs.c.cell_x, ys.c.cell_y)).label("cell_keys"))
        .select_from(xs.join(ys, TRUE))
        .lateral("piece_cells")
    )
    cells = func.unnest(keys.c.cell_keys).table_valued("cell").render_derived().lateral("cell")
    return keys, cells
