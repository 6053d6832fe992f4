"""Possible duplicates: open reports of the same category nearby and recent, nearest first.

Only reports with a point of their own are compared by distance. A report placed at a ward's
representative point (an address naming only the ward: precision ``commune``) shares that
point with every other such report of the ward, so "0 m apart" would say nothing: those are
neither searched for nor offered as candidates (staff still link duplicates by hand). Reports
held for a location have no point at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import Connection, func, literal, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.sql.elements import ColumnElement

from gis_service.coords import LonLat
from gis_service.db.schema import report
from gis_service.reports.lifecycle import OPEN_STATUSES
from gis_service.reports.queries import ReportRecord

# 150 m, not 250: scored against the generator's incidents (benchmarks/duplicate_grouping.py),
# 250 m merged distinct incidents in dense wards (pairwise precision 0.80 in urban wards against
# 0.91 at 150 m) for no more recall (0.85 both; rural precision 1.00 either way).
RADIUS_M = 150.0
#: Geocoder precisions that stand for a unit's representative point, not the report's place.
REPRESENTATIVE = ("commune", "district", "province")
WINDOW = dt.timedelta(days=30)
LIMIT = 5
# Render a plain ``::geography`` so the expression index ix_report_geog ((geom::geography)) matches.
_GEOGRAPHY = Geography(geometry_type=None)


@dataclass(frozen=True)
class DuplicateCandidate:
    public_id: str
    category: str
    status: str
    created_at: dt.datetime
    distance_m: float


def report_within(point: ColumnElement[Any], radius_m: float) -> ColumnElement[bool]:
    """Reports within ``radius_m`` metres of ``point`` (geography): uses ix_report_geog."""
    return func.ST_DWithin(sql_cast(report.c.geom, _GEOGRAPHY), sql_cast(point, _GEOGRAPHY), radius_m)


def has_own_point() -> ColumnElement[bool]:
    """Reports whose point is their own (GPS, a pin, typed coordinates), not a unit's."""
    return or_(report.c.geocode_precision.is_(None),
               report.c.geocode_precision.not_in(REPRESENTATIVE))


def candidates_for(conn: Connection, record: ReportRecord) -> list[DuplicateCandidate]:
    """Possible duplicates of a stored report; none unless its point is its own."""
    if record.lon is None or record.lat is None or record.geocode_precision in REPRESENTATIVE:
        return []
    return duplicate_candidates(conn, LonLat(record.lon, record.lat), record.category,
                                record.created_at, exclude_report_id=record.id)


def duplicate_candidates(
    conn: Connection,
    point: LonLat,
    category: str,
    at: dt.datetime,
    *,
    exclude_report_id: int | None = None,
    limit: int = LIMIT,
) -> list[DuplicateCandidate]:
    """Open reports of ``category`` within ``RADIUS_M`` (150 m) and the 30 days before ``at``,
    nearest first."""
    here = func.ST_SetSRID(func.ST_MakePoint(literal(point.lon), literal(point.lat)), 4326)
    distance = func.ST_Distance(sql_cast(report.c.geom, _GEOGRAPHY), sql_cast(here, _GEOGRAPHY))
    query = (
        select(report.c.public_id, report.c.category, report.c.status, report.c.created_at,
               distance.label("distance_m"))
        .where(
            report_within(here, RADIUS_M),
            report.c.category == category,
            report.c.status.in_(OPEN_STATUSES),
            report.c.created_at.between(at - WINDOW, at),
            has_own_point(),
        )
        .order_by(distance, report.c.id)
        .limit(limit)
    )
    if exclude_report_id is not None:
        query = query.where(report.c.id != exclude_report_id)
    return [DuplicateCandidate(*row) for row in conn.execute(query)]
