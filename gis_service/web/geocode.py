"""GET /v1/geocode (free text or structured) and POST /v1/geocode/batch."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from gis_service.batch import run_batch
from gis_service.errors import InvalidInput
from gis_service.geocode import geocode, geocode_structured
from gis_service.web.apidoc import ApiBlueprint, problem_doc
from gis_service.web.inbound import json_body
from gis_service.web.schemas import (
    BatchRequestSchema,
    BatchResponseSchema,
    GeocodeArgs,
    GeocodeResponseSchema,
)
from gis_service.web.serialise import batch_outcome_json
from gis_service.web.services import connection, services

blp = ApiBlueprint("geocode", __name__, url_prefix="/v1", description="Forward and batch geocoding")
STRUCTURED = ("commune", "district", "province")


@blp.route("/geocode")
@blp.arguments(GeocodeArgs, location="query")
@blp.alt_response(200, schema=GeocodeResponseSchema, success=True,
                  description="ranked candidates; an empty list when nothing matched")
@blp.alt_response(400, **problem_doc("empty or over-long query, or q with structured parts"))
def forward(args: dict[str, Any]) -> Response:
    """Geocode a Vietnamese address written as people write it, or its structured parts."""
    structured = {key: args[key] for key in STRUCTURED if key in args}
    if "q" in args and structured:
        raise InvalidInput("give either q or commune/district/province, not both", field="q")
    with connection() as conn:
        index = services().geocode_index.get(conn)
    if structured:
        found = geocode_structured(index, limit=args["limit"], **structured)
    else:
        found = geocode(index, args.get("q", ""), limit=args["limit"])
    return jsonify({"results": [result.to_dict() for result in found]})


@blp.route("/geocode/batch", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {
    "schema": BatchRequestSchema,
    "example": {"items": [{"id": "a", "q": "Phường Vỹ Dạ, Thành phố Huế"},
                          {"id": "b", "lat": 16.4637, "lon": 107.5905}]}}}})
@blp.alt_response(200, schema=BatchResponseSchema, success=True,
                  description="one outcome per item, in order; bad items carry an error")
@blp.alt_response(400, **problem_doc("malformed JSON or body"))
@blp.alt_response(413, **problem_doc("more than 10,000 items or too large"))
def batch() -> Response:
    """Geocode up to 10,000 items; reverse items are answered by one set-based query."""
    body = json_body()
    settings = services().settings
    with connection() as conn:
        index = services().geocode_index.get(conn)
        outcomes = run_batch(conn, index, body, tolerance_m=settings.snap_tolerance_m)
    return jsonify({"results": [batch_outcome_json(outcome) for outcome in outcomes]})
