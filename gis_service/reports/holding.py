"""Placing a report held for a location (``needs_location``): then, and only then, it is routed.

Staff of the operations centre (or an admin) place it with a point or with a ward (one of the
candidates the geocoder offered, by its code in the current generation). Placing does what
intake does for a report with a location: snaps it, routes it, computes its H3 cells and
deadline, and it becomes ``received``. Two events record it: ``placed`` (who placed it, and
where) and ``routed``.

The deadline runs from the placing, not from the call: the ward's working days start when
it receives the report (the time the operations centre took is in the events).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select, update

from gis_service.boundaries import generations
from gis_service.coords import LonLat
from gis_service.db.schema import admin_unit, report, report_event
from gis_service.errors import Conflict, InvalidInput, NotFound
from gis_service.notify.outbox import enqueue
from gis_service.reports.intake import routed_values
from gis_service.reports.placement import Placement

HELD = "needs_location"


@dataclass(frozen=True)
class Placed:
    """A held report placed: its id and the event that says so."""

    report_id: int
    public_id: str
    agency_id: int
    event_id: int


def place_held(conn: Connection, report_id: int, *, actor: str, point: LonLat | None = None,
               commune: str | None = None, note: str = "", tolerance_m: float,
               now: dt.datetime | None = None) -> Placed:
    """Place a ``needs_location`` report at ``point`` or in the current ward ``commune``.

    Raises :class:`InvalidInput` unless exactly one of them is given, :class:`NotFound` for an
    unknown ward, :class:`Conflict` (409) when the report is not held (already placed), and
    :class:`~gis_service.errors.Unprocessable` for a point outside the service area.

    >>> place_held(conn, 42, actor="staff:ioc-lan", commune="19789", tolerance_m=2000)  # doctest: +SKIP
    Placed(report_id=42, public_id='PA-...', agency_id=17, event_id=311)
    """
    if (point is None) == (commune is None):
        raise InvalidInput("give either location (lat, lon) or commune", field="location")
    now = now or dt.datetime.now(dt.UTC)
    public_id, category, created_at = _lock_held(conn, report_id)
    placement, where = (_at_point(point) if point is not None
                        else _in_ward(conn, commune or ""))
    routed = routed_values(conn, category_code=category, placement=placement,
                           created_at=created_at, start=now, tolerance_m=tolerance_m,
                           location_field="location" if point is not None else "commune")
    conn.execute(update(report).where(report.c.id == report_id)
                 .values(**routed.values, status="received"))
    text = " ".join(p for p in (f"placed {where} by {actor}", note) if p)
    event_id = conn.execute(insert(report_event).values(
        report_id=report_id, at=now, actor=actor, kind="placed", from_status=HELD,
        to_status="received", note=text).returning(report_event.c.id)).scalar_one()
    routed_event = conn.execute(insert(report_event).values(
        report_id=report_id, at=now, actor="system:routing", kind="routed",
        agency_id=routed.decision.agency_id, note=routed.decision.reason)
        .returning(report_event.c.id)).scalar_one()
    enqueue(conn, [routed_event])  # the ward's agency hears of it once it is placed
    return Placed(report_id, public_id, routed.decision.agency_id, event_id)


def _lock_held(conn: Connection, report_id: int) -> tuple[str, str, dt.datetime]:
    row = conn.execute(
        select(report.c.public_id, report.c.status, report.c.category, report.c.created_at)
        .where(report.c.id == report_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFound(f"no report {report_id}", field="report")
    if row.status != HELD:
        raise Conflict(f"report {row.public_id} is {row.status}, not {HELD}: it already has "
                       "a location", field="location")
    return row.public_id, row.category, row.created_at


def _at_point(point: LonLat) -> tuple[Placement, str]:
    return (Placement(point, "manual", None, None),
            f"at lat {point.lat:.6f}, lon {point.lon:.6f}")


def _in_ward(conn: Connection, code: str) -> tuple[Placement, str]:
    """The ward's representative point (precision commune), in the current generation."""
    current = generations.active(conn)
    row = conn.execute(
        select(admin_unit.c.name, func.ST_X(admin_unit.c.label_point),
               func.ST_Y(admin_unit.c.label_point))
        .where(admin_unit.c.generation_id == current.id, admin_unit.c.level == "commune",
               admin_unit.c.code == code)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no ward {code[:40]!r} in generation {current.code}", field="commune")
    name, lon, lat = row
    return (Placement(LonLat(float(lon), float(lat)), "geocoded", "commune", None),
            f"in {name} ({code}, its representative point)")
