"""The report endpoints' bodies and answers in the OpenAPI document.

Documentation only: bodies are parsed by web.report_input (400 naming the field) and checked
by the intake (422), answers are built by web.report_json; the API fuzz test checks that
what the app sends matches these.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gis_service.db.schema import CHANNELS, REPORT_STATUSES
from gis_service.reports.intake import MAX_DESCRIPTION_CHARS, MAX_MEDIA_URLS
from gis_service.web.report_input import MAX_TEXT_CHARS, MAX_URL_CHARS
from gis_service.web.schemas import LAT_DOC, LON_DOC

_TEXT = validate.Length(max=MAX_TEXT_CHARS)


class ReporterInSchema(Schema):
    name = fields.String(validate=_TEXT)
    phone = fields.String(validate=_TEXT)
    email = fields.String(validate=_TEXT)


class NewReportSchema(Schema):
    category = fields.String(required=True, validate=_TEXT,
                             metadata={"description": "a category code", "example": "sanitation"})
    channel = fields.String(validate=validate.OneOf(CHANNELS), metadata={"description": "default app"})
    description = fields.String(validate=validate.Length(max=MAX_DESCRIPTION_CHARS))
    lat = fields.Float(metadata={**LAT_DOC, "description": "with lon: a JSON number, not text"})
    lon = fields.Float(metadata={**LON_DOC, "description": "with lat: a JSON number, not text"})
    location_source = fields.String(validate=validate.OneOf(["gps", "manual"]),
                                    metadata={"description": "default gps"})
    address = fields.String(validate=_TEXT,
                            metadata={"description": "geocoded when lat/lon are not given"})
    media_urls = fields.List(fields.String(validate=validate.Length(max=MAX_URL_CHARS),
                                           metadata={"example": "https://example.org/1.jpg"}),
                             validate=validate.Length(max=MAX_MEDIA_URLS),
                             metadata={"description": "http(s) URLs of photos"})
    reporter = fields.Nested(ReporterInSchema,
                             metadata={"description": "private: only the report's agency sees it"})


class StatusChangeSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(REPORT_STATUSES))
    note = fields.String(validate=_TEXT)
    duplicate_of = fields.String(validate=_TEXT,
                                 metadata={"description": "the original's id (status duplicate)"})


class RatingSchema(Schema):
    satisfaction = fields.Integer(required=True, validate=validate.Range(1, 5))


class UnitNameSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)


class ReportUnitsSchema(Schema):
    generation = fields.String(required=True)
    province = fields.Nested(UnitNameSchema)
    district = fields.Nested(UnitNameSchema)
    commune = fields.Nested(UnitNameSchema)


class LocationSchema(Schema):
    lat = fields.Float(required=True, metadata={"description": "rounded to 4 decimals (~10 m)"})
    lon = fields.Float(required=True, metadata={"description": "rounded to 4 decimals (~10 m)"})
    source = fields.String(required=True)
    precision = fields.String(required=True, allow_none=True)
    confidence = fields.Float(required=True, allow_none=True)
    address = fields.String(required=True, allow_none=True)


class SnapSchema(Schema):
    match = fields.String(required=True)
    distance_m = fields.Float(required=True)
    near_boundary = fields.Boolean(required=True)
    neighbour = fields.Nested(UnitNameSchema, required=True, allow_none=True)


class AgencyRefSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class ReporterSchema(Schema):
    name = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)


class ReportSchema(Schema):
    id = fields.String(required=True)
    category = fields.String(required=True)
    description = fields.String(required=True)
    channel = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(REPORT_STATUSES))
    location = fields.Nested(LocationSchema, required=True)
    units = fields.Nested(ReportUnitsSchema, required=True,
                          metadata={"description": "the units of the generation it was filed in"})
    current_units = fields.Nested(ReportUnitsSchema, required=True,
                                  metadata={"description": "the units of the active generation"})
    snap = fields.Nested(SnapSchema, required=True)
    agency = fields.Nested(AgencyRefSchema, required=True)
    routing_rule = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(required=True)
    first_response_at = fields.DateTime(required=True, allow_none=True)
    resolved_at = fields.DateTime(required=True, allow_none=True)
    closed_at = fields.DateTime(required=True, allow_none=True)
    satisfaction = fields.Integer(required=True, allow_none=True)
    duplicate_of = fields.String(required=True, allow_none=True)
    media_urls = fields.List(fields.String(), required=True)
    reporter = fields.Nested(ReporterSchema, metadata={
        "description": "only for the report's own agency's key or an admin key"})


class DuplicateSchema(Schema):
    id = fields.String(required=True)
    category = fields.String(required=True)
    status = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    distance_m = fields.Float(required=True)


class ReportCreatedSchema(Schema):
    report = fields.Nested(ReportSchema, required=True)
    duplicates = fields.List(fields.Nested(DuplicateSchema), required=True,
                             metadata={"description": "possible duplicates nearby, nearest first"})


class ReportPageSchema(Schema):
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    next_page = fields.Integer(required=True, allow_none=True)
    reports = fields.List(fields.Nested(ReportSchema), required=True)
