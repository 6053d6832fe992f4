"""The Open311 documents as OpenAPI 3.0 schemas: what ``/openapi.json`` says and tests check.

Every field the specification lists is always present (null where we have nothing), so
clients need no "may not be returned" branches.
"""

from __future__ import annotations

from typing import Any

W3_DATETIME: dict[str, Any] = {
    "type": "string", "format": "date-time", "example": "2025-10-31T08:15:42+07:00",
    # The w3 note's subset of ISO 8601, with the time zone the spec requires.
    "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$",
}


def _text(description: str, *, nullable: bool = False, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "description": description, **extra}
    if nullable:
        schema["nullable"] = True
    return schema


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties,
            "additionalProperties": False}


SERVICE = _object({
    "service_code": _text("the category code", example="sanitation"),
    "service_name": _text("the category's English name"),
    "description": _text("what the category covers, and its deadline"),
    "metadata": {"type": "boolean", "enum": [False],
                 "description": "false: no service has extra attributes"},
    "type": _text("realtime: POST returns the service_request_id", enum=["realtime"]),
    "keywords": _text("comma list: the Vietnamese name, the group, the code"),
    "group": _text("the category's group"),
})

SERVICE_DEFINITION = _object({
    "service_code": _text("the service's code"),
    "attributes": {"type": "array", "maxItems": 0, "items": {"type": "object"},
                   "description": "always empty: no service has extra attributes"},
})

SERVICE_REQUEST = _object({
    "service_request_id": _text("the report's public id", example="PA-7K3M9Q2XHD"),
    "status": _text("open, or closed (resolved, closed, rejected, duplicate)",
                    enum=["open", "closed"]),
    "status_notes": _text("our detailed status in words"),
    "service_name": _text("the category's English name"),
    "service_code": _text("the category code"),
    "description": _text("the resident's description (up to 4,000 characters)"),
    "agency_responsible": _text("the agency the report was routed to"),
    "service_notice": _text("the category's deadline in words"),
    "requested_datetime": {**W3_DATETIME, "description": "when it was reported"},
    "updated_datetime": {**W3_DATETIME, "description": "its last change"},
    "expected_datetime": {**W3_DATETIME, "nullable": True,
                          "description": "its deadline (due_at); null while it is held for "
                                         "a location (no ward has it yet)"},
    "address": _text("the address given, else ward, district, province"),
    "address_id": _text("the ward's code (current boundary generation)", nullable=True),
    "zipcode": _text("always null: postcodes are not in our data", nullable=True),
    "lat": {"type": "number", "minimum": -90, "maximum": 90, "nullable": True,
            "description": "WGS84 latitude, rounded to about 10 m; null while the report is "
                           "held for a location"},
    "long": {"type": "number", "minimum": -180, "maximum": 180, "nullable": True,
             "description": "WGS84 longitude, rounded to about 10 m; null while held"},
    "media_url": _text("the first media URL", nullable=True),
})

CREATED = _object({
    "service_request_id": _text("the new report's public id"),
    "service_notice": _text("the category's deadline in words"),
})

TOKEN = _object({
    "service_request_id": _text("the request's id"),
    "token": _text("the token asked about (our tokens are the request ids themselves)"),
})

DISCOVERY = _object({
    "changeset": _text("when the service list last changed"),
    "contact": _text("who runs this endpoint"),
    "key_service": _text("how to get an API key"),
    "endpoints": {"type": "array", "description": "the GeoReport v2 endpoint this service offers",
                  "items": _object({
        "specification": _text("the specification's URL"),
        "url": _text("the endpoint's URL"),
        "changeset": _text("when it last changed"),
        "type": _text("production or test", enum=["production", "test"]),
        "formats": {"type": "array", "items": {"type": "string"},
                    "description": "the answers' media types: application/json, text/xml"},
    })},
})

ERRORS: dict[str, Any] = {"type": "array", "minItems": 1, "items": _object({
    "code": {"type": "integer", "description": "the HTTP status"},
    "description": _text("what went wrong, naming the parameter"),
})}

SERVICES: dict[str, Any] = {"type": "array", "items": SERVICE}
SERVICE_REQUESTS: dict[str, Any] = {"type": "array", "maxItems": 1000, "items": SERVICE_REQUEST}
ONE_REQUEST: dict[str, Any] = {"type": "array", "minItems": 1, "maxItems": 1,
                               "items": SERVICE_REQUEST}
CREATED_LIST: dict[str, Any] = {"type": "array", "minItems": 1, "maxItems": 1, "items": CREATED}
TOKENS: dict[str, Any] = {"type": "array", "minItems": 1, "maxItems": 1, "items": TOKEN}

#: POST requests' form (application/x-www-form-urlencoded; each parameter at most once).
REQUEST_FORM = {
    "type": "object",
    "required": ["api_key", "service_code"],
    "properties": {
        "api_key": _text("a client API key"),
        "service_code": _text("a code from services"),
        "lat": _text("WGS84 latitude (with long)", example="16.4779"),
        "long": _text("WGS84 longitude (with lat)", example="107.611"),
        "address_string": _text("an address to geocode when lat/long are not given"),
        "description": _text("the report, up to 4,000 characters"),
        "media_url": _text("an http(s) URL of a photo"),
        "email": _text("private: stored for staff, never published"),
        "first_name": _text("private: stored for staff, never published"),
        "last_name": _text("private: stored for staff, never published"),
        "phone": _text("private: stored for staff, never published"),
        "jurisdiction_id": _text("optional; if given, hue.gov.vn (any other is 404)"),
        "channel": _text("extension: app or web; default web for a browser's post "
                         "(Origin or Referer), else app"),
        "device_id": _text("identifies the reporter (with this key) for rating"),
        "account_id": _text("identifies the reporter (with this key) for rating"),
    },
}

#: A valid POST form (the api_key is a placeholder: a real one comes from ``gis-service keys``).
REQUEST_EXAMPLE = {"api_key": "gis_0123abcd_your-key", "service_code": "sanitation",
                   "lat": "16.4716", "long": "107.5883",
                   "description": "Rác thải tràn ra lề đường trước chợ Đông Ba"}
