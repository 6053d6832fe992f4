"""Field reports: submit, read, list, move through their lifecycle, rate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy import Connection

from gis_service.auth import Principal
from gis_service.coords import LonLat
from gis_service.errors import Forbidden, NotFound
from gis_service.reports import queries
from gis_service.reports.duplicates import duplicate_candidates
from gis_service.reports.idempotency import request_fingerprint
from gis_service.reports.lifecycle import transition
from gis_service.reports.rating import rate
from gis_service.reports.submission import submit_once
from gis_service.web import report_input
from gis_service.web.access import optional_principal, required_principal
from gis_service.web.apidoc import ApiBlueprint, problem_doc
from gis_service.web.inbound import json_body
from gis_service.web.report_json import duplicate_json, report_json
from gis_service.web.report_schemas import (
    NewReportSchema,
    RatingSchema,
    ReportCreatedSchema,
    ReportPageSchema,
    ReportSchema,
    StatusChangeSchema,
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
STATUS_CHANGE_EXAMPLE = {"status": "accepted", "note": "Đã tiếp nhận, giao tổ vệ sinh"}
RATING_EXAMPLE = {"satisfaction": 5}


def _may_see_contact(principal: Principal | None, record: queries.ReportRecord) -> bool:
    return principal is not None and (
        principal.role == "admin"
        or (principal.role == "agency" and principal.agency_id == record.agency_id))


def _visible(conn: Connection, record: queries.ReportRecord,
             principal: Principal | None) -> dict[str, Any]:
    contact = queries.contact_of(conn, record.id) if _may_see_contact(principal, record) else None
    return report_json(record, contact)


def _created(conn: Connection, report_id: int) -> dict[str, Any]:
    record = queries.get_report_by_id(conn, report_id)
    candidates = duplicate_candidates(
        conn, _point(record), record.category, record.created_at, exclude_report_id=report_id)
    return {"report": report_json(record), "duplicates": [duplicate_json(c) for c in candidates]}


def _point(record: queries.ReportRecord) -> LonLat:
    return LonLat(record.lon, record.lat)


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
            tolerance_m=services().settings.snap_tolerance_m, render=_created,
            created_status=HTTPStatus.CREATED)
    response = jsonify(outcome.body)
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


@blp.route("/reports")
@blp.arguments(ReportListArgs, location="query")
@blp.alt_response(200, schema=ReportPageSchema, success=True, description="a page of reports")
@blp.alt_response(400, **problem_doc("a parameter out of range or malformed (named)"))
@blp.alt_response(401, **BAD_KEY)
@blp.alt_response(429, **RATE_LIMITED)
def list_reports(args: dict[str, Any]) -> Response:
    """Reports filtered by category, status, agency, unit code, bbox and time range; paged."""
    filters = queries.ReportFilter(
        category=args.get("category"), status=args.get("status"), agency=args.get("agency"),
        unit=args.get("unit"), bbox=args.get("bbox"), created_from=args.get("from_"),
        created_to=args.get("to"))
    with connection() as conn:
        principal = optional_principal(conn)
        records, more = queries.list_reports(conn, filters, page=args["page"],
                                             page_size=args["page_size"])
        items = [_visible(conn, record, principal) for record in records]
    return jsonify({"page": args["page"], "page_size": args["page_size"],
                    "next_page": args["page"] + 1 if more else None, "reports": items})


@blp.route("/reports/<string:public_id>", methods=["PATCH"])
@blp.doc(security=API_KEY, **_body(StatusChangeSchema, STATUS_CHANGE_EXAMPLE))
@blp.alt_response(200, schema=ReportSchema, success=True, description="the report, moved")
@blp.alt_response(400, **NOT_JSON)
@blp.alt_response(401, **problem_doc("missing or invalid API key"))
@blp.alt_response(403, **problem_doc("not an agency or admin key, or another agency's report"))
@blp.alt_response(404, **problem_doc("no such report (or no such original)"))
@blp.alt_response(409, **problem_doc("a move the lifecycle does not allow"))
@blp.alt_response(413, **problem_doc("the body is larger than the limit"))
@blp.alt_response(429, **RATE_LIMITED)
def change_status(public_id: str) -> Response:
    """Move a report to another status (its own agency's key, or an admin key)."""
    status, note, original = report_input.status_change(json_body())
    with transaction() as conn:
        principal = required_principal(conn, "agency")
        record = queries.get_report(conn, public_id)
        _own(principal, record)
        duplicate_of = _original(conn, original) if original else None
        transition(conn, record.id, status, principal.actor, note, duplicate_of=duplicate_of)
        return jsonify(_visible(conn, queries.get_report(conn, public_id), principal))


@blp.route("/reports/<string:public_id>/rating", methods=["POST"])
@blp.doc(security=API_KEY, **_body(RatingSchema, RATING_EXAMPLE))
@blp.alt_response(200, schema=ReportSchema, success=True, description="the report, rated")
@blp.alt_response(400, **NOT_JSON)
@blp.alt_response(401, **problem_doc("missing or invalid API key"))
@blp.alt_response(403, **problem_doc("the key may not rate reports"))
@blp.alt_response(404, **problem_doc("no such report"))
@blp.alt_response(409, **problem_doc("only a resolved or closed report can be rated"))
@blp.alt_response(413, **problem_doc("the body is larger than the limit"))
@blp.alt_response(429, **RATE_LIMITED)
def rate_report(public_id: str) -> Response:
    """The resident's satisfaction (1-5) with a resolved report; 1-2 reopens it."""
    satisfaction = report_input.rating(json_body())
    with transaction() as conn:
        principal = required_principal(conn, "client")
        record = queries.get_report(conn, public_id)
        rate(conn, record.id, satisfaction, principal.actor, dt.datetime.now(dt.UTC))
        return jsonify(report_json(queries.get_report(conn, public_id)))
