"""Points close to a commune boundary: the neighbouring commune and how far it is.

Residents near a boundary are the usual misroutes, so reverse geocoding and report intake flag
any point within 50 m of a commune other than its own. One query answers for many points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from geoalchemy2 import Geography
from sqlalchemy import Connection, Float, Integer, cast, func, literal, select, true
from sqlalchemy.dialects.postgresql import ARRAY

from gis_service.coords import LonLat
from gis_service.db.schema import admin_unit_part

NEAR_BOUNDARY_M = 50.0


@dataclass(frozen=True)
class Neighbour:
    unit_id: int
    distance_m: float


def neighbours_within(
    conn: Connection,
    located: Sequence[tuple[LonLat, int | None]],
    generation_id: int,
    *,
    within_m: float = NEAR_BOUNDARY_M,
) -> list[Neighbour | None]:
    """For each (point, its own commune id), the nearest *other* commune within ``within_m``.

    Distances are metres on the spheroid (geography), never degrees.
    """
    if not located:
        return []
    points = (
        func.unnest(
            literal([p.lon for p, _ in located], ARRAY(Float)),
            literal([p.lat for p, _ in located], ARRAY(Float)),
            literal([u for _, u in located], ARRAY(Integer)),
        )
        .table_valued("lon", "lat", "own_id", with_ordinality="idx")
        .render_derived("points")
    )
    here = cast(func.ST_SetSRID(func.ST_MakePoint(points.c.lon, points.c.lat), 4326), Geography)
    part = admin_unit_part
    distance = func.ST_Distance(part.c.geog, here)
    nearest = (
        select(part.c.unit_id, distance.label("distance_m"))
        .where(
            part.c.generation_id == generation_id,
            part.c.level == "commune",
            part.c.unit_id.is_distinct_from(points.c.own_id),
            # Index-sensitive: ST_DWithin on geography uses ix_admin_unit_part_geog.
            func.ST_DWithin(part.c.geog, here, within_m),
        )
        .order_by(distance, part.c.unit_id)
        .limit(1)
        .lateral("nearest")
    )
    rows = conn.execute(
        select(points.c.idx, nearest.c.unit_id, nearest.c.distance_m)
        .select_from(points.join(nearest, true()))
    )
    found = {int(idx): Neighbour(int(unit_id), float(d)) for idx, unit_id, d in rows}
    return [found.get(i + 1) for i in range(len(located))]
