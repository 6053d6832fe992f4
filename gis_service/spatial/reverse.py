"""Reverse geocoding: a point's units, and the neighbouring commune when it is near a boundary.

This is what the routing engine asks thousands of times a minute; the batch form answers many
points with the same two set-based queries as one.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from gis_service.coords import LonLat
from gis_service.db.schema import admin_unit
from gis_service.spatial.bulk import snap_points
from gis_service.spatial.proximity import NEAR_BOUNDARY_M, neighbours_within
from gis_service.spatial.single import (
    clear_in_memory,
    clear_of_neighbours,
    snap_from_memory,
    snap_point,
)
from gis_service.spatial.types import DEFAULT_TOLERANCE_M, Snap
from gis_service.unit_ref import UnitRef


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
    snaps = snap_points(conn, points, generation=generation, at=at, tolerance_m=tolerance_m)
    return _with_neighbours(conn, points, snaps, near_boundary_m)


def reverse_point(
    conn: Connection,
    point: LonLat,
    *,
    generation: str | None = None,
    at: dt.date | None = None,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    near_boundary_m: float = NEAR_BOUNDARY_M,
) -> ReverseResult:
    """Reverse-geocode one point: the same rules as :func:`reverse_points`, two round trips."""
    snap = snap_point(conn, point, generation=generation, at=at, tolerance_m=tolerance_m)
    # Most points lie deep inside their commune: the cores prove it without a second query.
    if near_boundary_m == NEAR_BOUNDARY_M and clear_of_neighbours(conn, snap, point):
        return ReverseResult(point, snap, None)
    return _with_neighbours(conn, [point], [snap], near_boundary_m)[0]


def reverse_from_memory(revision: uuid.UUID | None, point: LonLat, *, generation: str | None = None,
                        at: dt.date | None = None, tolerance_m: float = DEFAULT_TOLERANCE_M
                        ) -> ReverseResult | None:
    """:func:`reverse_point`'s answer without the database, when this process's memory holds it
    under ``revision`` (the primary's, as spatial/revision_watch.py last heard): a point deep
    inside its commune and farther than 50 m from every other. None: ask :func:`reverse_point`.
    """
    snap = snap_from_memory(revision, point, generation=generation, at=at,
                            tolerance_m=tolerance_m)
    if snap is None or not clear_in_memory(revision, snap, point):
        return None
    return ReverseResult(point, snap, None)


def _with_neighbours(conn: Connection, points: Sequence[LonLat], snaps: Sequence[Snap],
                     near_boundary_m: float) -> list[ReverseResult]:
    # Points outside every commune have no boundary to be near.
    located = [(point, snap.commune.id) for point, snap in zip(points, snaps, strict=True)
               if snap.commune is not None]
    found = iter(neighbours_within(conn, located, within_m=near_boundary_m))
    results = []
    for point, snap in zip(points, snaps, strict=True):
        neighbour = next(found) if snap.commune is not None else None
        near = None if neighbour is None else NearBoundary(neighbour.distance_m, neighbour.unit)
        results.append(ReverseResult(point, snap, near))
    return results


def commune_geojson(conn: Connection, unit: UnitRef) -> dict[str, Any]:
    """The unit's polygon as a GeoJSON geometry (6 decimals: about 10 cm)."""
    text = conn.execute(
        select(func.ST_AsGeoJSON(admin_unit.c.geom, 6)).where(admin_unit.c.id == unit.id)
    ).scalar_one()
    geometry: dict[str, Any] = json.loads(text)
    return geometry
