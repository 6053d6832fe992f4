"""Service requests: our reports as GET requests, requests/{id} and tokens/{id} show them.

Field by field (GeoReport v2, "GET Service Requests"):

=====================  ==================================================================
service_request_id     the report's public id (``PA-...``)
status                 ``open`` or ``closed``, from our lifecycle (:data:`OPEN311_STATUS`)
status_notes           the agency's latest public note (redacted), else our detailed
                       status in words (never the internal notes)
service_name / _code   the category's English name and code
description            the resident's description, redacted (or the agency's public edit)
agency_responsible     the agency the report was routed to
service_notice         the category's deadline in words
requested_datetime     ``created_at``
updated_datetime       the last change (the newest event in the audit trail)
expected_datetime      ``due_at``, the category's deadline from ``created_at``
address                the address given (redacted), else ward, district, province
address_id             the ward's code in the current boundary generation (our only
                       addressing system finer than a city; there are no address ids)
zipcode                none: Huế's postcodes are not in our data
lat / long             rounded to 4 decimals (about 10 m), as the JSON API rounds them
media_url              the first media URL
=====================  ==================================================================

Dates are ISO 8601 with the +07:00 offset (Huế time). The reporter's contact is never read.

Paging (our extension, documented in /openapi.json): ``page_size`` (1 to 1000, default 1000)
and ``page`` (from 1) reach the requests beyond the specification's first 1000.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, Connection, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from gis_service.db.schema import REPORT_STATUSES, report_event
from gis_service.errors import NotFound
from gis_service.open311.services import categories_by_code, service_notice
from gis_service.redaction import redact_text
from gis_service.reports import queries
from gis_service.reports.categories import Category
from gis_service.reports.lifecycle import OPEN_STATUSES
from gis_service.reports.public_record import (
    latest_public_notes,
    public_address,
    public_description,
)

# About 10 m: the JSON API's rounding (gis_service.web.report_json.PUBLIC_DECIMALS).
PUBLIC_DECIMALS = 4
#: "Default query limit is a span of 90 days or first 1000 requests returned."
MAX_REQUESTS = 1000
MAX_SPAN = dt.timedelta(days=90)

#: Our statuses in Open311's two: work still to be done is open. ``resolved`` is closed
#: ("closed: it has been resolved"); if the resident is not satisfied the report is
#: ``reopened``, which is open again. ``rejected`` and ``duplicate`` are closed too.
OPEN311_STATUS: dict[str, str] = {
    status: "open" if status in OPEN_STATUSES else "closed" for status in REPORT_STATUSES
}

_NOTES = {
    "received": "Received; waiting to be checked by the operations centre.",
    "accepted": "Accepted as a valid report; waiting to be assigned.",
    "assigned": "Assigned to {agency}.",
    "in_progress": "{agency} is working on it.",
    "resolved": "Resolved by {agency}; the resident may still reopen it.",
    "closed": "Closed.",
    "reopened": "Reopened: the resident was not satisfied with the resolution.",
    "rejected": "Rejected: not a valid report.",
    "duplicate": "Duplicate of {duplicate_of}.",
}


@dataclass(frozen=True)
class ServiceRequest:
    """One service request, fields in the specification's order."""

    service_request_id: str
    status: str
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: dt.datetime
    updated_datetime: dt.datetime
    expected_datetime: dt.datetime
    address: str
    address_id: str | None
    zipcode: str | None
    lat: float
    long: float
    media_url: str | None


@dataclass(frozen=True)
class RequestQuery:
    """GET requests' filters, parsed (see :func:`gis_service.open311.params.requests_query`).

    ``service_request_ids``, when given, overrides every other filter (as the spec says).
    ``statuses`` are Open311's (``open``, ``closed``); the window is ``start <= t <= end``.
    """

    start: dt.datetime
    end: dt.datetime
    service_request_ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    page: int = 1
    page_size: int = MAX_REQUESTS


def status_notes(record: queries.ReportRecord, public_note: str = "") -> str:
    """The agency's latest public note (redacted), else our detailed status in words.

    Never an internal note: those may name people.
    """
    if public_note.strip():
        return redact_text(public_note)
    return _NOTES[record.status].format(agency=record.agency_name,
                                        duplicate_of=record.duplicate_of or "another report")


def address_of(record: queries.ReportRecord) -> str:
    """The public address given (redacted), else the report's units, most specific first."""
    given = public_address(record)
    if given and given.strip():
        return given.strip()
    units = record.current_units
    return ", ".join(units[level].name for level in ("commune", "district", "province")
                     if level in units)


def to_service_request(record: queries.ReportRecord, category: Category,
                       updated: dt.datetime, public_note: str = "") -> ServiceRequest:
    """A report as a service request (see the module docstring for each field)."""
    commune = record.current_units.get("commune")
    return ServiceRequest(
        service_request_id=record.public_id,
        status=OPEN311_STATUS[record.status],
        status_notes=status_notes(record, public_note),
        service_name=category.name,
        service_code=record.category,
        description=public_description(record),
        agency_responsible=record.agency_name,
        service_notice=service_notice(category),
        requested_datetime=record.created_at,
        updated_datetime=max(updated, record.created_at),
        expected_datetime=record.due_at,
        address=address_of(record),
        address_id=commune.code if commune else None,
        zipcode=None,
        lat=round(record.lat, PUBLIC_DECIMALS),
        long=round(record.lon, PUBLIC_DECIMALS),
        media_url=record.media_urls[0] if record.media_urls else None,
    )


def last_changes(conn: Connection, report_ids: Sequence[int]) -> dict[int, dt.datetime]:
    """When each report last changed: its newest event (one indexed query for the page)."""
    if not report_ids:
        return {}
    ids = bindparam("ids", list(report_ids), type_=ARRAY(BigInteger))
    rows = conn.execute(
        select(report_event.c.report_id, func.max(report_event.c.at))
        .where(report_event.c.report_id == any_(ids))
        .group_by(report_event.c.report_id)
    )
    return {report_id: at for report_id, at in rows}


def _mapped(conn: Connection, records: Sequence[queries.ReportRecord]) -> list[ServiceRequest]:
    categories: Mapping[str, Category] = categories_by_code(conn)
    ids = [record.id for record in records]
    changed, notes = last_changes(conn, ids), latest_public_notes(conn, ids)
    return [to_service_request(record, categories[record.category],
                               changed.get(record.id, record.created_at),
                               notes.get(record.id, ""))
            for record in records]


def _filter(query: RequestQuery) -> queries.ReportFilter:
    if query.service_request_ids:
        return queries.ReportFilter(public_ids=query.service_request_ids)
    statuses = tuple(ours for ours, theirs in OPEN311_STATUS.items() if theirs in query.statuses)
    # The spec's end_date is the latest time included; ReportFilter's bound is exclusive.
    return queries.ReportFilter(
        categories=query.service_codes, statuses=statuses, created_from=query.start,
        created_to=query.end + dt.timedelta(microseconds=1))


def find_requests(conn: Connection, query: RequestQuery) -> list[ServiceRequest]:
    """GET requests: newest first, ``query.page_size`` (at most :data:`MAX_REQUESTS`) of
    them from page ``query.page``.

    >>> find_requests(conn, RequestQuery(start, end, statuses=("open",)))  # doctest: +SKIP
    [ServiceRequest(service_request_id='PA-7K3M9Q2XHD', status='open', ...)]
    """
    records, _ = queries.list_reports(conn, _filter(query), page=query.page,
                                      page_size=query.page_size)
    return _mapped(conn, records)


def get_request(conn: Connection, service_request_id: str) -> ServiceRequest:
    """GET requests/{id}; :class:`NotFound` (404) names the id otherwise."""
    try:
        record = queries.get_report(conn, service_request_id)
    except NotFound:
        raise NotFound(f"no service request {service_request_id[:80]!r}",
                       field="service_request_id") from None
    return _mapped(conn, [record])[0]


def request_for_token(conn: Connection, token: str) -> dict[str, str]:
    """GET tokens/{token}: our requests are stored while the client waits, so POST returns the
    ``service_request_id`` and no token; a token, if a client has one, is that id itself."""
    try:
        found = queries.get_report(conn, token).public_id
    except NotFound:
        raise NotFound(f"no token {token[:80]!r}", field="token") from None
    return {"service_request_id": found, "token": token}
