"""The report endpoints' bodies and answers in the OpenAPI document.

Documentation only: bodies are parsed by web.report_input (400 naming the field) and checked
by the intake (422), answers are built by web.report_json; the API fuzz test checks that
what the app sends matches these.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gis_service.db.schema import CHANNELS, REPORT_STATUSES
from gis_service.reports.intake import MAX_DESCRIPTION_CHARS, MAX_MEDIA_URLS
from gis_service.reports.placement import ON_VAGUE
from gis_service.reports.public_record import MAX_PUBLIC_TEXT_CHARS, MAX_REASON_CHARS
from gis_service.reports.reporter_credentials import MAX_DEVICE_CHARS
from gis_service.web.report_input import MAX_TEAM_CHARS, MAX_TEXT_CHARS, MAX_URL_CHARS
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
    on_vague = fields.String(validate=validate.OneOf(ON_VAGUE), metadata={
        "description": "an address too vague to route (a district, a street without a ward, an "
                       "uncertain ward): hold it for the operations centre (status "
                       "needs_location) or refuse it (422 with candidates). Default by "
                       "channel: hotline hold, app and web refuse"})


class PointInSchema(Schema):
    lat = fields.Float(required=True, metadata=LAT_DOC)
    lon = fields.Float(required=True, metadata=LON_DOC)


class StatusChangeSchema(Schema):
    status = fields.String(validate=validate.OneOf(REPORT_STATUSES),
                           metadata={"description": "required unless placing a held report"})
    public_note = fields.String(validate=_TEXT, metadata={
        "description": "the answer residents read (published redacted)",
        "example": "Đã thu gom rác tại kiệt 58."})
    internal_note = fields.String(validate=_TEXT, metadata={
        "description": "staff only: the report's agency and admins"})
    note = fields.String(validate=_TEXT, metadata={"description": "the same as internal_note"})
    team = fields.String(validate=validate.Length(min=1, max=MAX_TEAM_CHARS), metadata={
        "description": "with status assigned: the team inside the agency",
        "example": "Tổ vệ sinh số 2"})
    duplicate_of = fields.String(validate=_TEXT,
                                 metadata={"description": "the original's id (status duplicate)"})
    location = fields.Nested(PointInSchema, metadata={
        "description": "place a needs_location report at this point"})
    commune = fields.String(validate=_TEXT, metadata={
        "description": "place a needs_location report in this ward (its code in the current "
                       "generation, e.g. a candidate's), at the ward's representative point"})


class RatingSchema(Schema):
    satisfaction = fields.Integer(required=True, validate=validate.Range(1, 5))
    reporter_token = fields.String(validate=_TEXT, metadata={
        "description": "the token POST /v1/reports returned (or the X-Reporter-Token header)"})
    device_id = fields.String(validate=validate.Length(max=MAX_DEVICE_CHARS), metadata={
        "description": "or: the Open311 device_id the report was filed with (same key)"})
    account_id = fields.String(validate=validate.Length(max=MAX_DEVICE_CHARS), metadata={
        "description": "or: the Open311 account_id the report was filed with (same key)"})


class PublicTextSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REASON_CHARS),
                           metadata={"description": "why (kept in the event)",
                                     "example": "tên người khác trong mô tả"})
    description = fields.String(validate=validate.Length(max=MAX_PUBLIC_TEXT_CHARS),
                                metadata={"description": "the public description instead"})
    address = fields.String(validate=validate.Length(max=MAX_PUBLIC_TEXT_CHARS),
                            metadata={"description": "the public address instead"})
    hidden = fields.Boolean(metadata={"description": "hide (true) or show again (false)"})


class AgencyNameSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class EventSchema(Schema):
    at = fields.DateTime(required=True)
    kind = fields.String(required=True)
    from_status = fields.String(required=True, allow_none=True)
    to_status = fields.String(required=True, allow_none=True)
    agency = fields.Nested(AgencyNameSchema, required=True, allow_none=True,
                           metadata={"description": "the acting agency, when recorded"})
    team = fields.String(required=True, allow_none=True)
    public_note = fields.String(required=True, metadata={"description": "redacted"})
    internal_note = fields.String(metadata={"description": "own agency and admins only"})
    actor = fields.String(metadata={"description": "own agency and admins only"})


class TimelineSchema(Schema):
    id = fields.String(required=True)
    events = fields.List(fields.Nested(EventSchema), required=True)


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
    lat = fields.Float(required=True, allow_none=True,
                       metadata={"description": "rounded to 4 decimals (~10 m); null while held"})
    lon = fields.Float(required=True, allow_none=True,
                       metadata={"description": "rounded to 4 decimals (~10 m); null while held"})
    conflict = fields.Boolean(required=True, metadata={
        "description": "the point is not in the ward the address names: the point was kept"})
    source = fields.String(required=True)
    precision = fields.String(required=True, allow_none=True)
    confidence = fields.Float(required=True, allow_none=True)
    address = fields.String(required=True, allow_none=True)


class SnapSchema(Schema):
    match = fields.String(required=True, allow_none=True)
    distance_m = fields.Float(required=True, allow_none=True)
    near_boundary = fields.Boolean(required=True)
    neighbour = fields.Nested(UnitNameSchema, required=True, allow_none=True)


class AgencyRefSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class ReporterSchema(Schema):
    name = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)


class PublicTextStateSchema(Schema):
    hidden = fields.Boolean(required=True)
    edited = fields.Boolean(required=True)


class OriginalTextSchema(Schema):
    description = fields.String(required=True)
    address = fields.String(required=True, allow_none=True)


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
    due_at = fields.DateTime(required=True, allow_none=True,
                             metadata={"description": "null while held for a location"})
    first_response_at = fields.DateTime(required=True, allow_none=True)
    resolved_at = fields.DateTime(required=True, allow_none=True)
    closed_at = fields.DateTime(required=True, allow_none=True)
    satisfaction = fields.Integer(required=True, allow_none=True)
    duplicate_of = fields.String(required=True, allow_none=True)
    media_urls = fields.List(fields.String(), required=True)
    team = fields.String(required=True, allow_none=True)
    public_text = fields.Nested(PublicTextStateSchema, required=True)
    events = fields.List(fields.Nested(EventSchema), metadata={"description": "the timeline"})
    reporter = fields.Nested(ReporterSchema, metadata={
        "description": "only for the report's own agency's key or an admin key"})
    original = fields.Nested(OriginalTextSchema, metadata={
        "description": "the stored text: only for the report's own agency's key or an admin key"})


class DuplicateSchema(Schema):
    id = fields.String(required=True)
    category = fields.String(required=True)
    status = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    distance_m = fields.Float(required=True)


class ReportChangedSchema(ReportSchema):
    duplicates = fields.List(fields.Nested(DuplicateSchema), metadata={
        "description": "after placing a held report: its possible duplicates, nearest first"})


class WarningSchema(Schema):
    code = fields.String(required=True)
    detail = fields.String(required=True)


class ReportCreatedSchema(Schema):
    report = fields.Nested(ReportSchema, required=True)
    duplicates = fields.List(fields.Nested(DuplicateSchema), required=True,
                             metadata={"description": "possible duplicates nearby, nearest first"})
    reporter_token = fields.String(required=True, metadata={
        "description": "shown once: the reporter's credential to rate the report (a retry "
                       "with the same Idempotency-Key gets a new one; the old one lapses)"})
    warnings = fields.List(fields.Nested(WarningSchema), required=True, metadata={
        "description": "location_conflict: the point is not in the ward the address names; "
                       "needs_location: held for the operations centre to place"})


class ReportPageSchema(Schema):
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "reports matching"})
    next_page = fields.Integer(required=True, allow_none=True)
    next = fields.String(required=True, allow_none=True, metadata={"description": "next page URL"})
    reports = fields.List(fields.Nested(ReportSchema), required=True)
