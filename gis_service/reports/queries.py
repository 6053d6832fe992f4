"""Reading reports: one report, or a filtered page of them, with their units and agency.

Contacts are read only when the caller may see them (:func:`contact_of`); everything else
here is public data, but coordinates are rounded by the serialiser before they leave.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Connection, Select, Text, and_, bindparam, func, or_, select, true

from gis_service.db.schema import (
    admin_unit,
    agency,
    generation,
    jurisdiction_rule,
    report,
    report_contact,
)
from gis_service.errors import NotFound

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class UnitName:
    code: str
    name: str
    unit_type: str


@dataclass(frozen=True)
class ReportRecord:
    """A stored report as the API and exports show it (without its contact)."""

    id: int
    public_id: str
    category: str
    description: str
    channel: str
    lon: float
    lat: float
    location_source: str
    geocode_precision: str | None
    geocode_confidence: float | None
    address: str | None
    status: str
    created_at: dt.datetime
    due_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    satisfaction: int | None
    duplicate_of: str | None
    media_urls: tuple[str, ...]
    agency_id: int
    agency_code: str
    agency_name: str
    routing_rule: str | None
    snap_match: str
    snap_distance_m: float
    near_boundary: bool
    generation: str
    current_generation: str
    units: dict[str, UnitName] = field(default_factory=dict)
    current_units: dict[str, UnitName] = field(default_factory=dict)
    neighbour: UnitName | None = None


@dataclass(frozen=True)
class ReportFilter:
    category: str | None = None
    status: str | None = None
    agency: str | None = None
    unit: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    #: Any of these (Open311 filters take comma lists); empty means no filter.
    public_ids: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contact:
    name: str | None
    phone: str | None
    email: str | None


_UNIT_ROLES = (
    ("commune", report.c.commune_id), ("district", report.c.district_id),
    ("province", report.c.province_id),
    ("current_commune", report.c.current_commune_id),
    ("current_district", report.c.current_district_id),
    ("current_province", report.c.current_province_id),
    ("neighbour", report.c.neighbour_commune_id),
)


def _base() -> Select[Any]:
    """Reports with their agency, rule, generations and every unit they name."""
    original = report.alias("original")
    snap_gen = generation.alias("snap_gen")
    current_gen = generation.alias("current_gen")
    units = {role: admin_unit.alias(f"u_{role}") for role, _ in _UNIT_ROLES}
    columns: list[Any] = [
        report.c.id, report.c.public_id, report.c.category, report.c.description,
        report.c.channel, func.ST_X(report.c.geom).label("lon"),
        func.ST_Y(report.c.geom).label("lat"), report.c.location_source,
        report.c.geocode_precision, report.c.geocode_confidence, report.c.address,
        report.c.status, report.c.created_at, report.c.due_at, report.c.first_response_at,
        report.c.resolved_at, report.c.closed_at, report.c.satisfaction,
        original.c.public_id.label("duplicate_of"), report.c.media_urls, report.c.agency_id,
        agency.c.code.label("agency_code"), agency.c.name.label("agency_name"),
        jurisdiction_rule.c.code.label("routing_rule"), report.c.snap_match,
        report.c.snap_distance_m, report.c.near_boundary,
        snap_gen.c.code.label("generation"), current_gen.c.code.label("current_generation"),
    ]
    for role, unit in units.items():
        columns += [unit.c.code.label(f"{role}_code"), unit.c.name.label(f"{role}_name"),
                    unit.c.unit_type.label(f"{role}_type")]
    joined = (
        report.join(agency, agency.c.id == report.c.agency_id)
        .join(snap_gen, snap_gen.c.id == report.c.snap_generation_id)
        .join(current_gen, current_gen.c.id == report.c.current_generation_id)
        .outerjoin(jurisdiction_rule, jurisdiction_rule.c.id == report.c.routing_rule_id)
        .outerjoin(original, original.c.id == report.c.duplicate_of)
    )
    for role, column in _UNIT_ROLES:
        joined = joined.outerjoin(units[role], units[role].c.id == column)
    return select(*columns).select_from(joined)


def _unit(row: Any, role: str) -> UnitName | None:
    code = getattr(row, f"{role}_code")
    if code is None:
        return None
    return UnitName(code, getattr(row, f"{role}_name"), getattr(row, f"{role}_type"))


def _record(row: Any) -> ReportRecord:
    def levels(prefix: str) -> dict[str, UnitName]:
        found = {level: _unit(row, f"{prefix}{level}") for level in ("province", "district", "commune")}
        return {level: unit for level, unit in found.items() if unit is not None}

    return ReportRecord(
        row.id, row.public_id, row.category, row.description, row.channel, row.lon, row.lat,
        row.location_source, row.geocode_precision, row.geocode_confidence, row.address,
        row.status, row.created_at, row.due_at, row.first_response_at, row.resolved_at,
        row.closed_at, row.satisfaction, row.duplicate_of, tuple(row.media_urls), row.agency_id,
        row.agency_code, row.agency_name, row.routing_rule, row.snap_match, row.snap_distance_m,
        row.near_boundary, row.generation, row.current_generation,
        units=levels(""), current_units=levels("current_"), neighbour=_unit(row, "neighbour"),
    )


# Built once: constructing _base()'s dozen joins cost ~10 ms of Python per request, a third
# of a whole submission (measured with cProfile on POST /v1/reports).
@functools.cache
def _by_public_id() -> Select[Any]:
    return _base().where(report.c.public_id == bindparam("public_id", type_=Text))


@functools.cache
def _by_id() -> Select[Any]:
    return _base().where(report.c.id == bindparam("report_id", type_=BigInteger))


def get_report(conn: Connection, public_id: str) -> ReportRecord:
    row = conn.execute(_by_public_id(), {"public_id": public_id}).one_or_none()
    if row is None:
        raise NotFound(f"no report {public_id!r}", field="id")
    return _record(row)


def get_report_by_id(conn: Connection, report_id: int) -> ReportRecord:
    return _record(conn.execute(_by_id(), {"report_id": report_id}).one())


def _conditions(filters: ReportFilter) -> list[Any]:
    found: list[Any] = []
    if filters.category:
        found.append(report.c.category == filters.category)
    if filters.status:
        found.append(report.c.status == filters.status)
    if filters.agency:
        found.append(report.c.agency_id == select(agency.c.id)
                     .where(agency.c.code == filters.agency).scalar_subquery())
    if filters.unit:
        units = select(admin_unit.c.id).where(admin_unit.c.code == filters.unit)
        found.append(or_(*(column.in_(units) for role, column in _UNIT_ROLES if role != "neighbour")))
    if filters.bbox:
        west, south, east, north = filters.bbox
        found.append(report.c.geom.op("&&")(func.ST_MakeEnvelope(west, south, east, north, 4326)))
    if filters.created_from:
        found.append(report.c.created_at >= filters.created_from)
    if filters.created_to:
        found.append(report.c.created_at < filters.created_to)
    any_of = ((report.c.public_id, filters.public_ids), (report.c.category, filters.categories),
              (report.c.status, filters.statuses))
    found += [column.in_(values) for column, values in any_of if values]
    return found


def list_reports(conn: Connection, filters: ReportFilter, *, page: int = 1,
                 page_size: int = 100) -> tuple[list[ReportRecord], bool]:
    """One page of reports, newest first, and whether another page follows."""
    query = (_base().where(and_(true(), *_conditions(filters)))
             .order_by(report.c.created_at.desc(), report.c.id.desc())
             .limit(page_size + 1).offset((page - 1) * page_size))
    rows = conn.execute(query).all()
    return [_record(row) for row in rows[:page_size]], len(rows) > page_size


def contact_of(conn: Connection, report_id: int) -> Contact | None:
    row = conn.execute(select(report_contact.c.name, report_contact.c.phone, report_contact.c.email)
                       .where(report_contact.c.report_id == report_id)).one_or_none()
    return None if row is None else Contact(*row)
