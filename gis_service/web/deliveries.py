"""An agency's delivery log: its notifications, their status, attempts and last error."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, jsonify
from marshmallow import Schema, fields, validate

from gis_service.db.schema import CHANNEL_KINDS, DELIVERY_STATUSES
from gis_service.errors import Forbidden
from gis_service.notify import log
from gis_service.web.access import required_principal
from gis_service.web.apidoc import ApiBlueprint, problem_doc
from gis_service.web.services import connection

blp = ApiBlueprint("agencies", __name__, url_prefix="/v1", description="Agencies' notifications")


class DeliveryListArgs(Schema):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES), metadata={
        "description": "only deliveries in this status"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000), metadata={
        "description": "page number, from 1"})
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500), metadata={
        "description": "deliveries per page, 1 to 500 (default 50)"})


class DeliverySchema(Schema):
    delivery_id = fields.UUID(required=True, metadata={
        "description": "the same on every attempt (header X-Gis-Delivery): drop repeats by it"})
    event_id = fields.Integer(required=True, metadata={"description": "the report event delivered"})
    event = fields.String(required=True, metadata={
        "description": "routed, assigned, reopened, escalated or overdue"})
    report = fields.String(required=True, metadata={"description": "the report's public id"})
    channel = fields.String(required=True, validate=validate.OneOf(CHANNEL_KINDS), metadata={
        "description": "webhook or email"})
    target = fields.String(required=True, metadata={"description": "webhook URL or e-mail address"})
    status = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATUSES), metadata={
        "description": "pending, retrying, delivered or dead"})
    attempts = fields.Integer(required=True, metadata={"description": "attempts made so far"})
    last_error = fields.String(required=True, allow_none=True, metadata={
        "description": "why the last attempt failed, or null"})
    created_at = fields.DateTime(required=True, metadata={
        "description": "when the delivery was queued"})
    last_attempt_at = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "the last attempt, or null"})
    next_attempt_at = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "when it is tried (again); null once delivered or dead"})
    delivered_at = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "when it was delivered, or null"})


class DeliveryPageSchema(Schema):
    agency = fields.String(required=True, metadata={"description": "the agency's code"})
    page = fields.Integer(required=True, metadata={"description": "this page's number, from 1"})
    page_size = fields.Integer(required=True, metadata={"description": "deliveries per page"})
    next_page = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the next page's number, or null on the last"})
    deliveries = fields.List(fields.Nested(DeliverySchema), required=True, metadata={
        "description": "this page's deliveries, newest first"})


def _json(delivery: log.Delivery) -> dict[str, Any]:
    return {name: (value.isoformat() if isinstance(value, dt.datetime)
                   else str(value) if name == "delivery_id" else value)
            for name, value in vars(delivery).items()}


@blp.route("/agencies/<string:code>/deliveries")
@blp.doc(security=[{"ApiKey": []}])
@blp.arguments(DeliveryListArgs, location="query")
@blp.alt_response(200, schema=DeliveryPageSchema, success=True,
                  description="a page of the agency's deliveries, newest first")
@blp.alt_response(400, **problem_doc("a parameter out of range or malformed (named)"))
@blp.alt_response(401, **problem_doc("missing or invalid API key"))
@blp.alt_response(403, **problem_doc("not this agency's key nor an admin key"))
@blp.alt_response(404, **problem_doc("no such agency"))
@blp.alt_response(429, **problem_doc("the key is over its rate limit (Retry-After)"))
def list_deliveries(args: dict[str, Any], code: str) -> Response:
    """The agency's notifications: status (pending, retrying, delivered, dead), attempts,
    last error, times. For the agency's own key and admin keys."""
    with connection() as conn:
        principal = required_principal(conn, "agency")
        agency_id = log.agency_id_of(conn, code)
        if not log.may_read_log(principal.role, principal.agency_id, agency_id):
            raise Forbidden("this is another agency's delivery log", field="code")
        page = log.deliveries(conn, agency_id, status=args.get("status"), page=args["page"],
                              page_size=args["page_size"])
    return jsonify({"agency": code, "page": args["page"], "page_size": args["page_size"],
                    "next_page": args["page"] + 1 if page.more else None,
                    "deliveries": [_json(d) for d in page.deliveries]})
