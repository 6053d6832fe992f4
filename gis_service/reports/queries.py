"""Reading reports: one report, or a filtered page of them, with their units and agency.

Contacts are read only when the caller may see them (:func:`contact_of`); everything else
here is public data, but coordinates are rounded by the serialiser before they leave.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Select,
    Text,
    and_,
    bindparam,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from gis_service.db.schema import (
    admin_unit,
    agency,
    generation,
    jurisdiction_rule,
    report,
    report_contact,
)
from gis_service.errors import NotFound
from gis_service.reports.lifecycle import OPEN_STATUSES
from gis_service.unit_ref import UnitRef

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class ReportRecord:
    """A stored report as the API and exports show it (without its contact)."""

    id: int
    public_id: str
    category: str
    description: str
    channel: str
    #: None (with the units, snap and due date) while the report is held: needs_location.
    lon: float | None
    lat: float | None
    location_source: str
    geocode_precision: str | None
    geocode_confidence: float | None
    address: str | None
    status: str
    created_at: dt.datetime
    due_at: dt.datetime | None
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
    snap_match: str | None
    snap_distance_m: float | None
    near_boundary: bool
    generation: str
    current_generation: str
    #: The public record (see gis_service.reports.public_record).
    public_description: str | None = None
    public_address: str | None = None
    public_text_hidden: bool = False
    team: str | None = None
    location_conflict: bool = False
    units: dict[str, UnitRef] = field(default_factory=dict)
    current_units: dict[str, UnitRef] = field(default_factory=dict)
    neighbour: UnitRef | None = None


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
    channel: str | None = None
    #: Open reports past their deadline at ``now`` (True), or all but those (False).
    overdue: bool | None = None
    now: dt.datetime | None = None
    commune: str | None = None
    #: Words to find in the public (redacted) description and address, diacritics ignored.
    q: str | None = None


#: Orders a list may take: the column, then the direction.
SORTS = ("created_at", "-created_at", "due_at", "-due_at")


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
        report.c.snap_distance_m, report.c.near_boundary, report.c.location_conflict,
        snap_gen.c.code.label("generation"), current_gen.c.code.label("current_generation"),
        report.c.public_description, report.c.public_address, report.c.public_text_hidden,
        report.c.team,
    ]
    for role, unit in units.items():
        columns += [unit.c.id.label(f"{role}_id"), unit.c.code.label(f"{role}_code"),
                    unit.c.name.label(f"{role}_name"), unit.c.unit_type.label(f"{role}_type"),
                    unit.c.level.label(f"{role}_level")]
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


def _unit(row: Any, role: str) -> UnitRef | None:
    unit_id = getattr(row, f"{role}_id")
    if unit_id is None:
        return None
    return UnitRef(unit_id, getattr(row, f"{role}_code"), getattr(row, f"{role}_name"),
                   getattr(row, f"{role}_type"), getattr(row, f"{role}_level"))


def _record(row: Any) -> ReportRecord:
    def levels(prefix: str) -> dict[str, UnitRef]:
        found = {level: _unit(row, f"{prefix}{level}") for level in ("province", "district", "commune")}
        return {level: unit for level, unit in found.items() if unit is not None}

    return ReportRecord(
        row.id, row.public_id, row.category, row.description, row.channel, row.lon, row.lat,
        row.location_source, row.geocode_precision, row.geocode_confidence, row.address,
        row.status, row.created_at, row.due_at, row.first_response_at, row.resolved_at,
        row.closed_at, row.satisfaction, row.duplicate_of, tuple(row.media_urls), row.agency_id,
        row.agency_code, row.agency_name, row.routing_rule, row.snap_match, row.snap_distance_m,
        row.near_boundary, row.generation, row.current_generation, row.public_description,
        row.public_address, row.public_text_hidden, row.team,
        location_conflict=row.location_conflict,
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
    return found + _record_conditions(filters)


def _record_conditions(filters: ReportFilter) -> list[Any]:
    """The filters of the public record (issue 14): channel, overdue, commune, words."""
    found: list[Any] = []
    if filters.channel:
        found.append(report.c.channel == filters.channel)
    if filters.overdue is not None:
        now = bindparam("now", filters.now or dt.datetime.now(dt.UTC), DateTime(timezone=True))
        late = and_(report.c.status.in_(OPEN_STATUSES), report.c.due_at < now)
        found.append(late if filters.overdue else ~late)
    if filters.commune:
        units = select(admin_unit.c.id).where(admin_unit.c.code == filters.commune,
                                              admin_unit.c.level == "commune")
        found.append(or_(report.c.commune_id.in_(units), report.c.current_commune_id.in_(units)))
    if filters.q:
        found.append(matches_words(filters.q))
    return found


def matches_words(words: str) -> ColumnElement[bool]:
    """The index-backed search: ``words`` anywhere in the folded public text.

    Both sides go through ``immutable_unaccent`` (lower case, no diacritics), so the trigram
    GIN index ``ix_report_search_text`` answers the ILIKE (tests/test_report_search.py shows
    the plan). LIKE's wildcards in ``words`` are escaped: they are searched as written.
    """
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = func.concat("%", func.immutable_unaccent(bindparam("q", escaped, Text)), "%")
    folded: ColumnElement[str] = func.immutable_unaccent(report.c.search_text)
    return folded.ilike(pattern, escape="\\")


def _order(sort: str) -> list[Any]:
    column = report.c.due_at if sort.lstrip("-") == "due_at" else report.c.created_at
    if sort.startswith("-"):
        return [column.desc(), report.c.id.desc()]
    return [column.asc(), report.c.id.asc()]


def list_reports(conn: Connection, filters: ReportFilter, *, page: int = 1,
                 page_size: int = 100, sort: str = "-created_at") -> tuple[list[ReportRecord], bool]:
    """One page of reports (newest first unless ``sort`` says otherwise), and whether another
    page follows."""
    query = (_base().where(and_(true(), *_conditions(filters))).order_by(*_order(sort))
             .limit(page_size + 1).offset((page - 1) * page_size))
    rows = conn.execute(query).all()
    return [_record(row) for row in rows[:page_size]], len(rows) > page_size


def count_reports(conn: Connection, filters: ReportFilter) -> int:
    """How many reports the filters match (the list's ``total``)."""
    query = select(func.count()).select_from(report).where(and_(true(), *_conditions(filters)))
    return int(conn.execute(query).scalar_one())


def stream_reports(conn: Connection, filters: ReportFilter, *, sort: str = "-created_at",
                   batch: int = 1_000) -> Iterator[ReportRecord]:
    """Every matching report, read through a server-side cursor ``batch`` rows at a time, so
    an export of any size holds one batch in memory."""
    query = _base().where(and_(true(), *_conditions(filters))).order_by(*_order(sort))
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
    for row in result:
        yield _record(row)


def contact_of(conn: Connection, report_id: int) -> Contact | None:
    row = conn.execute(select(report_contact.c.name, report_contact.c.phone, report_contact.c.email)
                       .where(report_contact.c.report_id == report_id)).one_or_none()
    return None if row is None else Contact(*row)
