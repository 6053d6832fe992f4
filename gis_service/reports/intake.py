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

from sqlalchemy import Connection, func, insert, select

from gis_service.boundaries import generations
from gis_service.cells import lonlat_to_cells
from gis_service.coords import LonLat
from gis_service.db.schema import CHANNELS, category, report, report_contact, report_event
from gis_service.errors import InvalidInput, NotFound, OutsideServiceArea, Unprocessable
from gis_service.geocode import GeocodeIndex, geocode
from gis_service.reports.calendar import TZ, due_at
from gis_service.reports.routing import route
from gis_service.spatial.proximity import neighbours_within
from gis_service.spatial.single import snap_point
from gis_service.spatial.types import Snap

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


@dataclass(frozen=True)
class Placement:
    point: LonLat
    source: str
    precision: str | None
    confidence: float | None


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


def place(new: NewReport, index: GeocodeIndex) -> Placement:
    """Where the report is: its own coordinates, else the geocoder's best answer for the address.

    An address resolving only to a ward is stored at the ward's representative point with
    ``precision = commune``.
    """
    if new.point is not None:
        return Placement(new.point, new.location_source, None, None)
    found = geocode(index, new.address or "", limit=1)
    if not found:
        raise Unprocessable("the address could not be geocoded; give lat and lon", field="address")
    best = found[0]
    return Placement(LonLat(best.lon, best.lat), "geocoded", best.precision, best.confidence)


@dataclass(frozen=True)
class _Located:
    """A snap and the generation it was made in."""

    generation_id: int
    snap: Snap
    commune_id: int
    district_id: int | None
    province_id: int


def outside_detail(snap: Snap) -> str:
    """Vietnamese first: the province (and ward) of a point outside the service area."""
    province, ward = snap.outside_province, snap.outside_ward
    if province is None:
        return ("vị trí nằm ngoài địa bàn Thành phố Huế / the location is outside the service "
                "area (Thành phố Huế)")
    where = f"{ward.name} ({ward.code}), " if ward is not None else ""
    return (f"vị trí thuộc {where}{province.name} ({province.code}), ngoài địa bàn Thành phố "
            f"Huế / the location lies in {where}{province.name} (code {province.code}), "
            "outside the service area (Thành phố Huế)")


def _located(generation_id: int, snap: Snap, location_field: str) -> _Located:
    if snap.match == "outside_service_area":
        raise OutsideServiceArea(outside_detail(snap), field=location_field)
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


def submit(conn: Connection, new: NewReport, *, index: GeocodeIndex, actor: str,
           tolerance_m: float, now: dt.datetime | None = None) -> int:
    """Store a new report with its contact, routing and events; return its id.

    Raises :class:`Unprocessable` (422) naming the field for an unknown category, an over-long
    description, an address the geocoder cannot place, or a location outside the service area.
    """
    check(conn, new)
    now = now or dt.datetime.now(dt.UTC)
    placement = place(new, index)
    location_field = "lat" if new.point is not None else "address"
    then, current = _locate(conn, placement.point, now, tolerance_m, location_field)
    neighbour = neighbours_within(conn, [(placement.point, current.commune_id)],
                                  current.generation_id)[0]
    decision = route(
        conn, lon=placement.point.lon, lat=placement.point.lat, category=new.category,
        current_commune_id=current.commune_id, current_district_id=current.district_id,
        current_province_id=current.province_id,
    )
    amount, unit = conn.execute(
        select(category.c.deadline_amount, category.c.deadline_unit)
        .where(category.c.code == new.category)
    ).one()
    cells = lonlat_to_cells(placement.point)
    report_id: int = conn.execute(
        insert(report).values(
            public_id=new_public_id(),
            category=new.category,
            description=new.description,
            channel=new.channel,
            geom=func.ST_SetSRID(func.ST_MakePoint(placement.point.lon, placement.point.lat), 4326),
            location_source=placement.source,
            geocode_precision=placement.precision,
            geocode_confidence=placement.confidence,
            address=new.address,
            **{f"h3_r{res}": cell for res, cell in cells.items()},
            snap_generation_id=then.generation_id,
            commune_id=then.commune_id,
            district_id=then.district_id,
            province_id=then.province_id,
            current_generation_id=current.generation_id,
            current_commune_id=current.commune_id,
            current_district_id=current.district_id,
            current_province_id=current.province_id,
            snap_match=then.snap.match,
            snap_distance_m=then.snap.distance_m or 0.0,
            near_boundary=neighbour is not None,
            neighbour_commune_id=neighbour.unit_id if neighbour else None,
            media_urls=list(new.media_urls),
            status="received",
            agency_id=decision.agency_id,
            routing_rule_id=decision.rule_id,
            created_at=now,
            due_at=due_at(now, amount, unit),
        ).returning(report.c.id)
    ).scalar_one()
    if not new.reporter.empty:
        conn.execute(insert(report_contact).values(
            report_id=report_id, name=new.reporter.name, phone=new.reporter.phone,
            email=new.reporter.email))
    conn.execute(insert(report_event), [
        {"report_id": report_id, "at": now, "actor": actor, "kind": "created",
         "to_status": "received", "agency_id": None, "note": f"via {new.channel}"},
        {"report_id": report_id, "at": now, "actor": "system:routing", "kind": "routed",
         "to_status": None, "agency_id": decision.agency_id, "note": decision.reason},
    ])
    return report_id
