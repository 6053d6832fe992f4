"""Points close to a commune boundary: the neighbouring commune and how far it is.

Residents near a boundary are the usual misroutes, so reverse geocoding and report intake flag
any point within 50 m of a commune other than its own. One query answers for many points:
:func:`neighbours_within` for a list of points, :func:`neighbour_select` (the same answer, as a
query over a table) for a bulk import's million.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    Connection,
    Float,
    FromClause,
    Integer,
    Select,
    SmallInteger,
    Subquery,
    and_,
    bindparam,
    cast,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on

from gis_service.coords import LonLat
from gis_service.db.schema import admin_unit, admin_unit_part
from gis_service.spatial.grid import cell_key, cell_of, piece_cells, prefilter_radius_deg
from gis_service.spatial.predicates import piece_near
from gis_service.unit_ref import UnitRef

NEAR_BOUNDARY_M = 50.0


@dataclass(frozen=True)
class Neighbour:
    """The nearest other commune and how far it is; ``unit`` names it."""

    unit_id: int
    distance_m: float
    unit: UnitRef


def _one_point() -> Subquery:
    """One point as scalar parameters: its generic plan is as good as a custom one, so the
    server stops planning it after a few calls (arrays of unknown length keep it planning)."""
    return select(
        bindparam("lon", type_=Float).label("lon"), bindparam("lat", type_=Float).label("lat"),
        bindparam("own_id", type_=Integer).label("own_id"), literal(1, BigInteger).label("idx"),
    ).subquery("points")


def _many_points() -> FromClause:
    return (
        func.unnest(
            bindparam("lons", type_=ARRAY(Float)),
            bindparam("lats", type_=ARRAY(Float)),
            bindparam("own_ids", type_=ARRAY(Integer)),
        )
        .table_valued("lon", "lat", "own_id", with_ordinality="idx")
        .render_derived("points")
    )


@functools.cache
def _neighbours_statement(in_own_generation: bool, single: bool) -> Select[Any]:
    """The neighbour query (built once: composing it costs more than running it).

    Parameters: lon, lat, own_id for one point, or lons, lats, own_ids (arrays) for many;
    within_m; and generation_id unless each point's own commune's generation is meant.
    """
    points = _one_point() if single else _many_points()
    within_m = bindparam("within_m", type_=Float)
    here = cast(func.ST_SetSRID(func.ST_MakePoint(points.c.lon, points.c.lat), 4326), Geography)
    part = admin_unit_part
    distance = func.ST_Distance(part.c.geog, here)
    own_generation = (select(admin_unit.c.generation_id)
                      .where(admin_unit.c.id == points.c.own_id)
                      .correlate_except(admin_unit).scalar_subquery())
    generation = own_generation if in_own_generation else bindparam("generation_id",
                                                                       type_=SmallInteger)
    planar = func.ST_SetSRID(func.ST_MakePoint(points.c.lon, points.c.lat), 4326)
    nearest = (
        select(part.c.unit_id, distance.label("distance_m"))
        .where(
            # Index-sensitive: a planar search of the lookup GiST index, widened so it never
            # drops a piece within ``within_m``, finds the few candidates; metres on the
            # spheroid (costly, ~1 ms a piece) are measured for those alone.
            piece_near(part, generation, planar, prefilter_radius_deg(points.c.lat, within_m)),
            part.c.unit_id.is_distinct_from(points.c.own_id),
            func.ST_DWithin(part.c.geog, here, within_m),
        )
        .order_by(distance, part.c.unit_id)
        .limit(1)
        .lateral("nearest")
    )
    unit = admin_unit.alias("neighbour")
    return (
        select(points.c.idx, nearest.c.distance_m, unit.c.id, unit.c.code, unit.c.name,
               unit.c.unit_type, unit.c.level, unit.c.setting, unit.c.approximate)
        .select_from(points.join(nearest, true()).join(unit, unit.c.id == nearest.c.unit_id))
    )


def neighbours_within(
    conn: Connection,
    located: Sequence[tuple[LonLat, int | None]],
    generation_id: int | None = None,
    *,
    within_m: float = NEAR_BOUNDARY_M,
) -> list[Neighbour | None]:
    """For each (point, its own commune id), the nearest *other* commune within ``within_m``.

    In ``generation_id``, or (None) in each point's own commune's generation. Distances are
    metres on the spheroid (geography), never degrees. One query, whatever the number of points.
    """
    if not located:
        return []
    single = len(located) == 1
    params: dict[str, Any] = {"within_m": within_m}
    if single:
        (point, own_id), = located
        params |= {"lon": point.lon, "lat": point.lat, "own_id": own_id}
    else:
        params |= {"lons": [p.lon for p, _ in located], "lats": [p.lat for p, _ in located],
                   "own_ids": [u for _, u in located]}
    if generation_id is not None:
        params["generation_id"] = generation_id
    rows = conn.execute(_neighbours_statement(generation_id is None, single), params)
    found = {int(row[0]): Neighbour(int(row[2]), float(row[1]), UnitRef(*row[2:])) for row in rows}
    return [found.get(i + 1) for i in range(len(located))]


# --- Many points at once, set-based (bulk imports).

# The grid of gis_service.spatial.grid is a planner device here as in snapping: each commune
# piece is listed under every cell its bounding box, grown by the search radius, touches; each
# point meets only the pieces listed under its own cell. The equality lets the planner
# hash-join a million points with a few thousand (piece, cell) rows instead of probing the
# GiST index once per point. The answer is decided by the same ST_DWithin on geography as
# neighbours_within; the grid and the planar radius only drop pieces that cannot pass it.


def neighbour_select(points: FromClause, generation_id: int, *,
                     within_m: float = NEAR_BOUNDARY_M) -> Select[Any]:
    """For every row of ``points`` (columns ``idx``, ``lon``, ``lat``, ``own_id``), the nearest
    commune of the generation other than ``own_id`` within ``within_m`` metres, as
    :func:`neighbours_within` finds it; rows with none are left out.

    Yields ``(idx, unit_id, distance_m)``; ``idx`` must be unique. Pass a table: it is read
    twice (its extent, then the rows).

    >>> from sqlalchemy import column, table
    >>> staged = table("report_place", column("idx"), column("lon"), column("lat"), column("own_id"))
    >>> [c.name for c in neighbour_select(staged, 2).selected_columns]
    ['idx', 'unit_id', 'distance_m']
    """
    within = literal(within_m, Float)
    generation = literal(generation_id, SmallInteger)
    extent = select(
        func.min(points.c.lon).label("x0"), func.min(points.c.lat).label("y0"),
        func.max(points.c.lon).label("x1"), func.max(points.c.lat).label("y1"),
        prefilter_radius_deg(func.max(func.abs(points.c.lat)), within).label("radius"),
    ).subquery("extent")
    part = admin_unit_part.alias("near_part")
    keys, cells = piece_cells(part, extent, extent.c.radius)
    box = func.ST_Expand(
        func.ST_MakeEnvelope(extent.c.x0, extent.c.y0, extent.c.x1, extent.c.y1, 4326),
        extent.c.radius)
    # MATERIALIZED: a few thousand (piece, cell) rows computed once and hashed; inlined, the
    # planner misjudged the pieces as one row and scanned every point once per piece.
    pieces = (
        select(part.c.unit_id, part.c.geom, part.c.geog, cells.c.cell, extent.c.radius)
        .select_from(
            extent.join(part, and_(part.c.generation_id == generation, part.c.level == "commune",
                                   part.c.geom.op("&&")(box)))
            .join(keys, true())
            .join(cells, true())
        )
        .cte("near_piece")
        .prefix_with("MATERIALIZED")
    )
    point = func.ST_SetSRID(func.ST_MakePoint(points.c.lon, points.c.lat), 4326)
    here = cast(point, Geography)
    distance = func.ST_Distance(pieces.c.geog, here)
    return (
        select(points.c.idx, pieces.c.unit_id, distance.label("distance_m"))
        .select_from(points.join(pieces, pieces.c.cell == cell_key(cell_of(points.c.lon),
                                                                     cell_of(points.c.lat))))
        .where(
            pieces.c.unit_id.is_distinct_from(points.c.own_id),
            # Planar prefilter (cheap), then the metres on the spheroid that decide.
            func.ST_DWithin(pieces.c.geom, point, pieces.c.radius),
            func.ST_DWithin(pieces.c.geog, here, within),
        )
        .order_by(points.c.idx, distance, pieces.c.unit_id)
        .ext(distinct_on(points.c.idx))
    )
