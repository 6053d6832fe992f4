"""Field reports: submit, read, list, move through their lifecycle, rate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Response, jsonify, request
from marshmallow import RAISE
from sqlalchemy import Connection

from gis_service.auth import Principal
from gis_service.errors import Forbidden, NotFound
from gis_service.reports import queries
from gis_service.reports.duplicates import candidates_for
from gis_service.reports.holding import place_held
from gis_service.reports.idempotency import request_fingerprint
from gis_service.reports.lifecycle import Answer, transition
from gis_service.reports.public_record import TimelineEvent, edit_public_text, timelines
from gis_service.reports.rating import rate
from gis_service.reports.reporter_credentials import (
    TOKEN_HEADER,
    check_reporter,
    issue_token,
    require_rater,
)
from gis_service.reports.submission import submit_once
from gis_service.web import report_input, report_list
from gis_service.web.access import optional_principal, required_principal
from gis_service.web.apidoc import ApiBlueprint, problem_doc
from gis_service.web.inbound import json_body
from gis_service.web.report_json import duplicate_json, event_json, location_warnings, report_json
from gis_service.web.report_list import report_list_formats
from gis_service.web.report_schemas import (
    NewReportSchema,
    PublicTextSchema,
    RatingSchema,
    ReportChangedSchema,
    ReportCreatedSchema,
    ReportPageSchema,
    ReportSchema,
    StatusChangeSchema,
    TimelineSchema,
)
from gis_service.web.schemas import ReportListArgs
from gis_service.web.services import connection, services, transaction

blp = ApiBlueprint("reports", __name__, url_prefix="/v1", description="Field reports")
API_KEY: list[dict[str, list[str]]] = [{"ApiKey": []}]
BAD_KEY = problem_doc("a key was given but is not valid (reading needs no key)")
RATE_LIMITED = problem_doc("the key is over its rate limit (Retry-After)")
NOT_JSON = problem_doc("not a JSON object, a field of the wrong type (named), NUL characters")


def _body(schema: type, example: Mapping[str, object]) -> dict[str, object]:
    """A JSON request body and a valid example of it (tests/test_openapi_examples.py sends it)."""
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": schema, "example": example}}}}


NEW_REPORT_EXAMPLE = {
    "category": "sanitation", "channel": "app",
    "description": "Rác thải tràn ra lề đường trước chợ Đông Ba",
    "lat": 16.4716, "lon": 107.5883, "location_source": "gps",
    "media_urls": ["https://example.org/photos/1.jpg"],
    "reporter": {"name": "Nguyễn Văn A", "phone": "0905 123 456"},
}
STATUS_CHANGE_EXAMPLE = {"status": "accepted", "public_note": "Đã tiếp nhận, giao tổ vệ sinh",
                         "internal_note": "gọi lại người báo sau 14h"}
RATING_EXAMPLE = {"satisfaction": 5, "reporter_token": "the token the submission returned"}
PUBLIC_TEXT_EXAMPLE = {"reason": "tên người khác trong mô tả",
                       "description": "Rác thải tràn ra lề đường trước chợ"}


def _may_see_contact(principal: Principal | None, record: queries.ReportRecord) -> bool:
    return principal is not None and (
        principal.role == "admin"
        or (principal.role == "agency" and principal.agency_id == record.agency_id))


def _visible(conn: Connection, record: queries.ReportRecord, principal: Principal | None,
             events: list[TimelineEvent] | None = None) -> dict[str, Any]:
    internal = _may_see_contact(principal, record)
    contact = queries.contact_of(conn, record.id) if internal else None
    if events is None:
        events = timelines(conn, [record.id])[record.id]
    return report_json(record, contact, events=events, internal=internal)


def _created(conn: Connection, report_id: int) -> dict[str, Any]:
    record = queries.get_report_by_id(conn, report_id)
    return {"report": report_json(record),
            "duplicates": [duplicate_json(c) for c in candidates_for(conn, record)],
            "warnings": location_warnings(record)}


def _original(conn: Connection, public_id: str) -> int:
    """The id of the report a duplicate points at; a 404 names ``duplicate_of``."""
    try:
        return queries.get_report(conn, public_id).id
    except NotFound:
        raise NotFound(f"no report {public_id[:80]!r} to be the original",
                       field="duplicate_of") from None


def _own(principal: Principal, record: queries.ReportRecord) -> None:
    if principal.role == "agency" and principal.agency_id != record.agency_id:
        raise Forbidden("this report belongs to another agency", field="id")


@blp.route("/reports", methods=["POST"])
@blp.doc(security=API_KEY, **_body(NewReportSchema, NEW_REPORT_EXAMPLE))
@blp.alt_response(201, schema=ReportCreatedSchema, success=True,
                  description="stored: the report, its units, agency, due date, duplicates "
                              "(a retry with the same Idempotency-Key replays it)")
@blp.alt_response(400, **NOT_JSON)
@blp.alt_response(401, **problem_doc("missing or invalid API key"))
@blp.alt_response(403, **problem_doc("the key may not submit reports"))
@blp.alt_response(409, **problem_doc("the Idempotency-Key was used for another request"))
@blp.alt_response(413, **problem_doc("the body is larger than the limit"))
@blp.alt_response(422, **problem_doc("unknown category, outside the area, too long, ..."))
@blp.alt_response(429, **RATE_LIMITED)
def submit_report() -> Response:
    """Submit a report: a category and a location (lat/lon, or an address to geocode)."""
    body = json_body()
    new = report_input.new_report(body)
    with transaction() as conn:
        principal = required_principal(conn, "client")
        outcome = submit_once(
            conn, new, principal=principal,
            idempotency_key=request.headers.get("Idempotency-Key"),
            fingerprint=request_fingerprint(body),
            index=services().geocode_index.get(conn),
            tolerance_m=services().settings.snap_tolerance_m,
            min_confidence=services().settings.min_routing_confidence, render=_created,
            created_status=HTTPStatus.CREATED)
        # Never part of the stored answer: a replay gets a new token, the old one lapses.
        token = issue_token(conn, queries.get_report(conn, outcome.body["report"]["id"]).id)
    response = jsonify({**outcome.body, "reporter_token": token})
    response.status_code = outcome.status_code
    response.headers["Location"] = f"/v1/reports/{outcome.body['report']['id']}"
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@blp.route("/reports/<string:public_id>")
@blp.alt_response(200, schema=ReportSchema, success=True, description="the report")
@blp.alt_response(401, **BAD_KEY)
@blp.alt_response(404, **problem_doc("no such report"))
@blp.alt_response(429, **RATE_LIMITED)
def get_report(public_id: str) -> Response:
    """One report; its reporter's contact only for its own agency's key or an admin key."""
    with connection() as conn:
        principal = optional_principal(conn)
        return jsonify(_visible(conn, queries.get_report(conn, public_id), principal))


@blp.route("/reports/<string:public_id>/events")
@blp.alt_response(200, schema=TimelineSchema, success=True,
                  description="the report's timeline, oldest first")
@blp.alt_response(401, **BAD_KEY)
@blp.alt_response(404, **problem_doc("no such report"))
@blp.alt_response(429, **RATE_LIMITED)
def report_events(public_id: str) -> Response:
    """A report's timeline: each change, its time, the acting agency and its public note
    (internal notes and actors only for the report's own agency's key or an admin key)."""
    with connection() as conn:
        principal = optional_principal(conn)
        record = queries.get_report(conn, public_id)
        events = timelines(conn, [record.id])[record.id]
    internal = _may_see_contact(principal, record)
    return jsonify({"id": record.public_id,
                    "events": [event_json(event, internal=internal) for event in events]})


@blp.route("/reports")
# Unknown parameters are refused: a misspelt filter must not silently list every report.
@blp.arguments(ReportListArgs, location="query", unknown=RAISE)
@blp.alt_response(200, success=True, description="a page of reports (json), or every matching "
                  "report (csv, geojson: public fields, redacted text, streamed)")
@blp.doc(**report_list_formats(ReportPageSchema))
@blp.alt_response(400, **problem_doc("a parameter out of range, malformed or unknown (named)"))
@blp.alt_response(401, **BAD_KEY)
@blp.alt_response(429, **RATE_LIMITED)
def list_reports(args: dict[str, Any]) -> Response:
    """Reports filtered by category, status(es), channel, agency, unit or commune code, bbox,
    time range, overdue and words (``q``); sorted, paged with a total, or exported whole as
    CSV or GeoJSON (``format``, streamed)."""
    filters = report_list.filters_from(args)
    if args["format"] != "json":
        return report_list.export(services().engine, filters, args)
    with connection() as conn:
        principal = optional_principal(conn)
        records, more = queries.list_reports(conn, filters, page=args["page"],
                                             page_size=args["page_size"], sort=args["sort"])
        total = queries.count_reports(conn, filters)
        events = timelines(conn, [record.id for record in records])
        items = [_visible(conn, record, principal, events[record.id]) for record in records]
    return jsonify(report_list.page_json(args, items, total=total, more=more))


@blp.route("/reports/<string:public_id>", methods=["PATCH"])
@blp.doc(security=API_KEY, **_body(StatusChangeSchema, STATUS_CHANGE_EXAMPLE))
@blp.alt_response(200, schema=ReportChangedSchema, success=True,
                  description="the report, moved or placed (placed: with its possible duplicates)")
@blp.alt_response(400, **NOT_JSON)
@blp.alt_response(401, **problem_doc("missing or invalid API key"))
@blp.alt_response(403, **problem_doc("not an agency or admin key, or another agency's report"))
@blp.alt_response(404, **problem_doc("no such report (or no such original)"))
@blp.alt_response(409, **problem_doc("a move the lifecycle does not allow, or placing a report "
                                      "that is not needs_location"))
@blp.alt_response(422, **problem_doc("a placement outside the service area"))
@blp.alt_response(413, **problem_doc("the body is larger than the limit"))
@blp.alt_response(429, **RATE_LIMITED)
def change_status(public_id: str) -> Response:
    """Move a report to another status, or place a held (needs_location) report with a point
    or a ward (its own agency's key, or an admin key)."""
    body = json_body()
    placement = report_input.placing(body)
    if placement is not None:
        return _place(public_id, placement)
    change = report_input.status_change(body)
    with transaction() as conn:
        principal = required_principal(conn, "agency")
        record = queries.get_report(conn, public_id)
        _own(principal, record)
        duplicate_of = _original(conn, change.duplicate_of) if change.duplicate_of else None
        answer = Answer(change.public_note, change.team, principal.agency_id or record.agency_id)
        transition(conn, record.id, change.status, principal.actor, change.internal_note,
                   duplicate_of=duplicate_of, answer=answer)
        return jsonify(_visible(conn, queries.get_report(conn, public_id), principal))


@blp.route("/reports/<string:public_id>/public-text", methods=["POST"])
@blp.doc(security=API_KEY, **_body(PublicTextSchema, PUBLIC_TEXT_EXAMPLE))
@blp.alt_response(200, schema=ReportSchema, success=True, description="the report, its public "
                  "text changed (the original is kept)")
@blp.alt_response(400, **problem_doc("no reason, nothing to change, a field too long (named)"))
@blp.alt_response(401, **problem_doc("missing or invalid API key"))
@blp.alt_response(403, **problem_doc("not an agency or admin key, or another agency's report"))
@blp.alt_response(404, **problem_doc("no such report"))
@blp.alt_response(413, **problem_doc("the body is larger than the limit"))
@blp.alt_response(429, **RATE_LIMITED)
def change_public_text(public_id: str) -> Response:
    """Hide, show or edit a report's public description and address (its own agency's key, or
    an admin key); an event records who, when and why, and the original is kept."""
    edit = report_input.public_text_edit(json_body())
    with transaction() as conn:
        principal = required_principal(conn, "agency")
        record = queries.get_report(conn, public_id)
        _own(principal, record)
        edit_public_text(conn, record.id, edit, actor=principal.actor,
                         agency_id=principal.agency_id or record.agency_id)
        return jsonify(_visible(conn, queries.get_report(conn, public_id), principal))


def _place(public_id: str, placement: report_input.PlaceHeld) -> Response:
    with transaction() as conn:
        principal = required_principal(conn, "agency")
        record = queries.get_report(conn, public_id)
        _own(principal, record)
        place_held(conn, record.id, actor=principal.actor, point=placement.point,
                   commune=placement.commune, note=placement.note,
                   tolerance_m=services().settings.snap_tolerance_m)
        placed = queries.get_report(conn, public_id)
        body = _visible(conn, placed, principal)
        body["duplicates"] = [duplicate_json(c) for c in candidates_for(conn, placed)]
        return jsonify(body)


@blp.route("/reports/<string:public_id>/rating", methods=["POST"])
@blp.doc(security=API_KEY, **_body(RatingSchema, RATING_EXAMPLE))
@blp.alt_response(200, schema=ReportSchema, success=True, description="the report, rated")
@blp.alt_response(400, **NOT_JSON)
@blp.alt_response(401, **problem_doc("missing or invalid API key, or no reporter credential"))
@blp.alt_response(403, **problem_doc("not a client key, or not the reporter's credential"))
@blp.alt_response(404, **problem_doc("no such report"))
@blp.alt_response(409, **problem_doc("not resolved or closed, or this resolution is rated"))
@blp.alt_response(413, **problem_doc("the body is larger than the limit"))
@blp.alt_response(429, **RATE_LIMITED)
def rate_report(public_id: str) -> Response:
    """The reporter's satisfaction (1-5) with a resolved report, once per resolution; 1-2
    reopens it with a new deadline. Needs a client key and the reporter token returned at
    submission (``X-Reporter-Token`` or ``reporter_token``), or the Open311 ``device_id`` /
    ``account_id`` the report was filed with by the same key."""
    given = report_input.rating(json_body(), request.headers.get(TOKEN_HEADER))
    with transaction() as conn:
        principal = required_principal(conn, "client")
        require_rater(principal)
        record = queries.get_report(conn, public_id)
        check_reporter(conn, record.id, principal, token=given.reporter_token,
                       device=given.device_id)
        rate(conn, record.id, given.satisfaction, principal.actor, dt.datetime.now(dt.UTC))
        return jsonify(_visible(conn, queries.get_report(conn, public_id), None))
