"""Report intake: a new report is stored completely (row, contact, events, routing) or not at all.

The caller owns the transaction. Intake places the report (its coordinates, or the geocoder's
answer for its address), snaps it to the generation valid now and to the current one, flags a
neighbouring commune within 50 m, routes it, sets its deadline and H3 cells, and writes the
report, its private contact and its first two events. The same builders serve the bulk
importer, so a report stores the same whether it came one by one or in a file.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select

from gis_service.boundaries import generations
from gis_service.cells import lonlat_to_cells
from gis_service.coords import LonLat
from gis_service.db.schema import CHANNELS, category, report, report_contact, report_event
from gis_service.errors import InvalidInput, NotFound, Unprocessable
from gis_service.geocode import GeocodeIndex
from gis_service.notify.outbox import enqueue
from gis_service.redaction import search_text
from gis_service.reports.calendar import TZ, due_at
from gis_service.reports.operations_centre import operations_centre_id
from gis_service.reports.placement import (
    Placement,
    Vague,
    address_conflict,
    check_on_vague,
    place_address,
    refusal,
)
from gis_service.reports.routing import RoutingDecision, route
from gis_service.reports.row import Units, content_columns, location_columns, routing_columns
from gis_service.spatial.proximity import neighbours_within
from gis_service.spatial.single import snap_point
from gis_service.spatial.types import Snap

DEFAULT_MIN_CONFIDENCE = 0.5

MAX_DESCRIPTION_CHARS = 4000
MAX_MEDIA_URLS = 10
MANUAL_SOURCES = ("gps", "manual")
# Crockford's base32 without I, L, O, U: public ids read aloud over the hotline without confusion.
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Reporter:
    """Who reported it: private, never in a public response, export, map or feed."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.name or self.phone or self.email)


@dataclass(frozen=True)
class NewReport:
    """A report as submitted: a location (``point``) or an ``address`` to geocode, or both."""

    category: str
    channel: str
    description: str = ""
    point: LonLat | None = None
    location_source: str = "gps"
    address: str | None = None
    media_urls: tuple[str, ...] = ()
    reporter: Reporter = field(default_factory=Reporter)
    #: What a vague address does: ``hold`` or ``refuse``; None: the channel's default.
    on_vague: str | None = None


def new_public_id() -> str:
    """A public id such as ``PA-7K3M9Q2XHD``: random, so ids reveal nothing about volumes."""
    return "PA-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


def check(conn: Connection, new: NewReport) -> None:
    """Refuse what cannot be stored, naming the field.

    The project's rule (README, "Errors"): a request wrong as written, whatever the service
    holds, is 400 (:class:`InvalidInput`): a value outside its documented range, a missing
    location. A well-formed request the service's own data cannot act on is 422
    (:class:`Unprocessable`): a category it does not know, an address it cannot place, a
    point outside its area.
    """
    if new.channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    if len(new.description) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput(
            f"description is {len(new.description)} characters; the limit is {MAX_DESCRIPTION_CHARS}",
            field="description",
        )
    if len(new.media_urls) > MAX_MEDIA_URLS:
        raise InvalidInput(f"at most {MAX_MEDIA_URLS} media URLs", field="media_urls")
    if new.point is None and not (new.address and new.address.strip()):
        raise InvalidInput("a report needs lat and lon, or an address", field="lat")
    if new.point is not None and new.location_source not in MANUAL_SOURCES:
        raise InvalidInput("location_source must be gps or manual", field="location_source")
    known = conn.execute(select(category.c.code).where(category.c.code == new.category)).first()
    if known is None:
        raise Unprocessable(f"unknown category {new.category!r}", field="category")


def place(conn: Connection, new: NewReport, index: GeocodeIndex, *, min_confidence: float,
          tolerance_m: float) -> Placement | Vague:
    """Where the report is: its own coordinates, else its address when that names a ward
    surely enough to route (see :mod:`gis_service.reports.placement`), else :class:`Vague`.

    An address resolving only to a ward is stored at the ward's representative point with
    ``precision = commune``.
    """
    if new.point is not None:
        return Placement(new.point, new.location_source, None, None)
    return place_address(conn, new.address or "", index, min_confidence=min_confidence,
                         tolerance_m=tolerance_m)


@dataclass(frozen=True)
class _Located:
    """A snap and the generation it was made in."""

    generation_id: int
    snap: Snap
    commune_id: int
    district_id: int | None
    province_id: int


def _located(generation_id: int, snap: Snap, location_field: str) -> _Located:
    if snap.match == "outside" or snap.commune is None or snap.province is None:
        raise Unprocessable("the location is outside the service area (Thành phố Huế)",
                            field=location_field)
    return _Located(generation_id, snap, snap.commune.id,
                    snap.district.id if snap.district else None, snap.province.id)


def _locate(conn: Connection, point: LonLat, now: dt.datetime, tolerance_m: float,
            location_field: str) -> tuple[_Located, _Located]:
    """The report's units in the generation valid now, and in the current (active) one."""
    current = generations.active(conn)
    try:
        # Huế's calendar date, as the importer uses: a report at 01:00 on 1 July 2025 (Huế
        # time) is filed under the 2025 wards even though it is still 30 June in UTC.
        then = generations.valid_on(conn, now.astimezone(TZ).date())
    except NotFound:
        then = current
    at_creation = _located(then.id, snap_point(conn, point, generation=then.code,
                                               tolerance_m=tolerance_m), location_field)
    if then.id == current.id:
        return at_creation, at_creation
    return at_creation, _located(current.id, snap_point(conn, point, generation=current.code,
                                                        tolerance_m=tolerance_m), location_field)


@dataclass(frozen=True)
class Routed:
    """A placed report's location columns and its routing decision."""

    values: dict[str, Any]
    decision: RoutingDecision


def routed_values(conn: Connection, *, category_code: str, placement: Placement,
                  created_at: dt.datetime, start: dt.datetime, tolerance_m: float,
                  location_field: str) -> Routed:
    """Snap, route and time a placed report: its point, cells, units in the generation valid on
    ``created_at`` and in the current one, neighbour, agency and deadline (counted from
    ``start``). Shared by intake and by placing a held report later."""
    point = placement.point
    then, current = _locate(conn, point, created_at, tolerance_m, location_field)
    neighbour = neighbours_within(conn, [(point, current.commune_id)], current.generation_id)[0]
    decision = route(
        conn, lon=point.lon, lat=point.lat, category=category_code,
        current_commune_id=current.commune_id, current_district_id=current.district_id,
        current_province_id=current.province_id,
    )
    amount, unit = conn.execute(
        select(category.c.deadline_amount, category.c.deadline_unit)
        .where(category.c.code == category_code)
    ).one()
    values = {
        **location_columns(
            lon=point.lon, lat=point.lat, source=placement.source,
            cells=lonlat_to_cells(point), then=_units(then), current=_units(current),
            match=then.snap.match, distance_m=then.snap.distance_m,
            neighbour_id=neighbour.unit_id if neighbour else None),
        "geocode_precision": placement.precision,
        "geocode_confidence": placement.confidence,
        **routing_columns(agency_id=decision.agency_id, rule_id=decision.rule_id,
                          due_at=due_at(start, amount, unit)),
    }
    return Routed(values, decision)


def _units(located: _Located) -> Units:
    return Units(located.generation_id, located.commune_id, located.district_id,
                 located.province_id)


def submit(conn: Connection, new: NewReport, *, index: GeocodeIndex, actor: str,
           tolerance_m: float, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
           now: dt.datetime | None = None) -> int:
    """Store a new report with its contact, routing and events; return its id.

    A vague address (see :mod:`gis_service.reports.placement`) is refused with its candidates
    (:class:`~gis_service.errors.LocationTooVague`, 422) or held as ``needs_location`` with
    the operations centre, as ``new.on_vague`` or the channel's default says.

    Raises :class:`Unprocessable` (422) naming the field for an unknown category, an over-long
    description, an address the geocoder cannot place, or a location outside the service area.
    """
    check(conn, new)
    policy = check_on_vague(new.on_vague, new.channel)
    now = now or dt.datetime.now(dt.UTC)
    placement = place(conn, new, index, min_confidence=min_confidence, tolerance_m=tolerance_m)
    if isinstance(placement, Vague):
        if policy == "refuse":
            raise refusal(placement)
        return hold(conn, new, placement, actor=actor, now=now)
    routed = routed_values(conn, category_code=new.category, placement=placement, created_at=now,
                           start=now, tolerance_m=tolerance_m,
                           location_field="lat" if new.point is not None else "address")
    conflict = _conflict(conn, new, index, min_confidence=min_confidence, tolerance_m=tolerance_m)
    report_id: int = conn.execute(
        insert(report).values(
            **_common_values(new, now), **routed.values, status="received",
            location_conflict=conflict is not None,
        ).returning(report.c.id)
    ).scalar_one()
    _store_contact(conn, report_id, new.reporter)
    created_note = "; ".join(p for p in (f"via {new.channel}", conflict) if p)
    events = conn.execute(insert(report_event).returning(report_event.c.id), [
        {"report_id": report_id, "at": now, "actor": actor, "kind": "created",
         "to_status": "received", "agency_id": None, "note": created_note},
        {"report_id": report_id, "at": now, "actor": "system:routing", "kind": "routed",
         "to_status": None, "agency_id": routed.decision.agency_id,
         "note": routed.decision.reason},
    ]).scalars().all()
    # The routed agency's notifications, committed with the report or not at all.
    enqueue(conn, events)
    return report_id


def hold(conn: Connection, new: NewReport, vague: Vague, *, actor: str, now: dt.datetime) -> int:
    """Store a report whose location is too vague to route: ``needs_location``, with the
    operations centre, no point, no units, no cells, no deadline, until it is placed."""
    centre = operations_centre_id(conn)
    then, current = _generations_on(conn, now)
    best = vague.best
    report_id: int = conn.execute(
        insert(report).values(
            **_common_values(new, now), status="needs_location", location_source="geocoded",
            geocode_precision=best.precision if best else None,
            geocode_confidence=best.confidence if best else None,
            snap_generation_id=then, current_generation_id=current, agency_id=centre,
        ).returning(report.c.id)
    ).scalar_one()
    _store_contact(conn, report_id, new.reporter)
    candidates = "; ".join(f"{c.unit.name} ({c.precision}, {c.confidence:.2f})"
                           for c in vague.candidates) or "none"
    events = conn.execute(insert(report_event).returning(report_event.c.id), [
        {"report_id": report_id, "at": now, "actor": actor, "kind": "created",
         "to_status": "needs_location", "agency_id": None,
         "note": f"via {new.channel}; location needed: {vague.reason}"},
        {"report_id": report_id, "at": now, "actor": "system:routing", "kind": "routed",
         "to_status": None, "agency_id": centre,
         "note": f"held for the operations centre until placed: {vague.reason}; "
                 f"candidates: {candidates}"},
    ]).scalars().all()
    enqueue(conn, events)  # the operations centre is told it has a report to place
    return report_id


def _generations_on(conn: Connection, now: dt.datetime) -> tuple[int, int]:
    """The ids of the generation valid on ``now``'s date in Huế, and of the current one."""
    current = generations.active(conn)
    try:
        then = generations.valid_on(conn, now.astimezone(TZ).date())
    except NotFound:
        then = current
    return then.id, current.id


def _conflict(conn: Connection, new: NewReport, index: GeocodeIndex, *,
              min_confidence: float, tolerance_m: float) -> str | None:
    """For a report with both a point and an address: why they disagree, or None."""
    if new.point is None or not (new.address and new.address.strip()):
        return None
    current = snap_point(conn, new.point, generation=generations.active(conn).code,
                         tolerance_m=tolerance_m)
    return address_conflict(conn, index, new.point, new.address, current=current,
                            min_confidence=min_confidence, tolerance_m=tolerance_m)


def _common_values(new: NewReport, now: dt.datetime) -> dict[str, Any]:
    """The columns every new report has, placed or held."""
    return content_columns(
        public_id=new_public_id(), category=new.category, description=new.description,
        channel=new.channel, address=new.address, media_urls=list(new.media_urls),
        search_text=search_text(new.description, new.address), created_at=now)


def _store_contact(conn: Connection, report_id: int, reporter: Reporter) -> None:
    if not reporter.empty:
        conn.execute(insert(report_contact).values(
            report_id=report_id, name=reporter.name, phone=reporter.phone, email=reporter.email))
