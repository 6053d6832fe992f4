"""Reverse geocoding: a point's units, and the neighbouring commune when it is near a boundary.

This is what the routing engine asks thousands of times a minute; the batch form answers many
points with the same two set-based queries as one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from gis_service.boundaries import generations
from gis_service.coords import LonLat
from gis_service.db.schema import admin_unit
from gis_service.proximity import NEAR_BOUNDARY_M, neighbours_within
from gis_service.snapping import DEFAULT_TOLERANCE_M, Snap, UnitRef, snap_points, unit_refs


@dataclass(frozen=True)
class NearBoundary:
    """Another commune within 50 m of the point: residents here are the usual misroutes."""

    distance_m: float
    unit: UnitRef


@dataclass(frozen=True)
class ReverseResult:
    query: LonLat
    snap: Snap
    near_boundary: NearBoundary | None


def reverse_points(
    conn: Connection,
    points: Sequence[LonLat],
    *,
    generation: str | None = None,
    at: dt.date | None = None,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    near_boundary_m: float = NEAR_BOUNDARY_M,
) -> list[ReverseResult]:
    """Reverse-geocode many points: one snapping query and one neighbour query for all.

    >>> [r.snap.commune.name for r in reverse_points(conn, [LonLat(107.611, 16.4779)])]  # doctest: +SKIP
    ['Phường Vỹ Dạ']
    """
    chosen = generations.resolve(conn, code=generation, at=at)
    snaps = snap_points(conn, points, generation=chosen.code, tolerance_m=tolerance_m)
    located = [(point, snap.commune.id if snap.commune else None)
               for point, snap in zip(points, snaps, strict=True)]
    # Points outside every commune have no boundary to be near.
    neighbours = neighbours_within(
        conn, [(p, own) for p, own in located if own is not None], chosen.id, within_m=near_boundary_m
    )
    by_point = iter(neighbours)
    found = [next(by_point) if own is not None else None for _, own in located]
    refs = unit_refs(conn, {n.unit_id for n in found if n is not None})
    return [
        ReverseResult(point, snap, None if n is None else NearBoundary(n.distance_m, refs[n.unit_id]))
        for point, snap, n in zip(points, snaps, found, strict=True)
    ]


def reverse_point(conn: Connection, point: LonLat, **options: Any) -> ReverseResult:
    """Reverse-geocode one point (the same queries as :func:`reverse_points`)."""
    return reverse_points(conn, [point], **options)[0]


def commune_geojson(conn: Connection, unit: UnitRef) -> dict[str, Any]:
    """The unit's polygon as a GeoJSON geometry (6 decimals: about 10 cm)."""
    text = conn.execute(
        select(func.ST_AsGeoJSON(admin_unit.c.geom, 6)).where(admin_unit.c.id == unit.id)
    ).scalar_one()
    geometry: dict[str, Any] = json.loads(text)
    return geometry
