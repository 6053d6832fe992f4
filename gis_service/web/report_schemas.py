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
    name = fields.String(validate=_TEXT, metadata={"description": "the resident's name (private)"})
    phone = fields.String(validate=_TEXT, metadata={
        "description": "the resident's phone (private)"})
    email = fields.String(validate=_TEXT, metadata={
        "description": "the resident's e-mail (private)"})


class NewReportSchema(Schema):
    category = fields.String(required=True, validate=_TEXT,
                             metadata={"description": "a category code", "example": "sanitation"})
    channel = fields.String(validate=validate.OneOf(CHANNELS), metadata={"description": "default app"})
    description = fields.String(validate=validate.Length(max=MAX_DESCRIPTION_CHARS), metadata={
        "description": "what the resident saw, in their words (published redacted)"})
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
    satisfaction = fields.Integer(required=True, validate=validate.Range(1, 5), metadata={
        "description": "the resident's rating, 1 (very unsatisfied) to 5 (very satisfied)"})
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
    code = fields.String(required=True, metadata={"description": "the agency's code"})
    name = fields.String(required=True, metadata={"description": "the agency's name"})


class EventSchema(Schema):
    at = fields.DateTime(required=True, metadata={
        "description": "when it happened (RFC 3339, Huế time)"})
    kind = fields.String(required=True, metadata={
        "description": "what happened: created, routed, status (from_status to to_status), "
                       "duplicate, placed, escalated, rating, public_text..."})
    from_status = fields.String(required=True, allow_none=True, metadata={
        "description": "the status before, for a status change; else null"})
    to_status = fields.String(required=True, allow_none=True, metadata={
        "description": "the status after, for a status change; else null"})
    agency = fields.Nested(AgencyNameSchema, required=True, allow_none=True,
                           metadata={"description": "the acting agency, when recorded"})
    team = fields.String(required=True, allow_none=True, metadata={
        "description": "the team inside the agency, for an assignment; else null"})
    public_note = fields.String(required=True, metadata={"description": "redacted"})
    internal_note = fields.String(metadata={"description": "own agency and admins only"})
    actor = fields.String(metadata={"description": "own agency and admins only"})


class TimelineSchema(Schema):
    id = fields.String(required=True, metadata={"description": "the report's public id"})
    events = fields.List(fields.Nested(EventSchema), required=True, metadata={
        "description": "the report's public events, oldest first"})


class UnitNameSchema(Schema):
    code = fields.String(required=True, metadata={"description": "official GSO code"})
    name = fields.String(required=True, metadata={"description": "full Vietnamese name"})
    type = fields.String(required=True, metadata={"description": "unit type as named officially"})


class ReportUnitsSchema(Schema):
    generation = fields.String(required=True, metadata={
        "description": "the boundary generation of these units"})
    province = fields.Nested(UnitNameSchema, metadata={"description": "the province"})
    district = fields.Nested(UnitNameSchema, metadata={
        "description": "the district (absent in a generation without districts)"})
    commune = fields.Nested(UnitNameSchema, metadata={"description": "the ward or commune"})


class LocationSchema(Schema):
    lat = fields.Float(required=True, allow_none=True,
                       metadata={"description": "rounded to 4 decimals (~10 m); null while held"})
    lon = fields.Float(required=True, allow_none=True,
                       metadata={"description": "rounded to 4 decimals (~10 m); null while held"})
    conflict = fields.Boolean(required=True, metadata={
        "description": "the point is not in the ward the address names: the point was kept"})
    source = fields.String(required=True, metadata={
        "description": "gps or manual (a point sent) or geocoded (from the address)"})
    precision = fields.String(required=True, allow_none=True, metadata={
        "description": "for a geocoded location: commune, district or province; null for a point "
                       "sent"})
    confidence = fields.Float(required=True, allow_none=True, metadata={
        "description": "for a geocoded location: the geocoder's confidence, 0 to 1; else null"})
    address = fields.String(required=True, allow_none=True, metadata={
        "description": "the address as published (redacted), or null"})


class SnapSchema(Schema):
    match = fields.String(required=True, allow_none=True, metadata={
        "description": "inside, nearest or outside (see /v1/reverse); null while held"})
    distance_m = fields.Float(required=True, allow_none=True, metadata={
        "description": "metres to the commune: 0 inside"})
    near_boundary = fields.Boolean(required=True, metadata={
        "description": "the point lies within a few metres of another commune"})
    neighbour = fields.Nested(UnitNameSchema, required=True, allow_none=True, metadata={
        "description": "that other commune, when near_boundary"})


class AgencyRefSchema(Schema):
    code = fields.String(required=True, metadata={"description": "the responsible agency's code"})
    name = fields.String(required=True, metadata={"description": "the responsible agency's name"})


class ReporterSchema(Schema):
    name = fields.String(required=True, allow_none=True, metadata={
        "description": "the resident's name, or null"})
    phone = fields.String(required=True, allow_none=True, metadata={
        "description": "the resident's phone, or null"})
    email = fields.String(required=True, allow_none=True, metadata={
        "description": "the resident's e-mail, or null"})


class PublicTextStateSchema(Schema):
    hidden = fields.Boolean(required=True, metadata={
        "description": "the description is hidden from the public by staff"})
    edited = fields.Boolean(required=True, metadata={
        "description": "staff replaced the public description or address"})


class OriginalTextSchema(Schema):
    description = fields.String(required=True, metadata={
        "description": "the description as submitted"})
    address = fields.String(required=True, allow_none=True, metadata={
        "description": "the address as submitted, or null"})


class ReportSchema(Schema):
    id = fields.String(required=True, metadata={"description": "the report's public id"})
    category = fields.String(required=True, metadata={"description": "the category code"})
    description = fields.String(required=True, metadata={
        "description": "the public description (redacted: no phone numbers, e-mails or names)"})
    channel = fields.String(required=True, metadata={"description": "app, web or hotline"})
    status = fields.String(required=True, validate=validate.OneOf(REPORT_STATUSES), metadata={
        "description": "where the report is in its lifecycle"})
    location = fields.Nested(LocationSchema, required=True, metadata={
        "description": "the report's point and how it was found"})
    units = fields.Nested(ReportUnitsSchema, required=True,
                          metadata={"description": "the units of the generation it was filed in"})
    current_units = fields.Nested(ReportUnitsSchema, required=True,
                                  metadata={"description": "the units of the active generation"})
    snap = fields.Nested(SnapSchema, required=True, metadata={
        "description": "how the point met the boundaries"})
    agency = fields.Nested(AgencyRefSchema, required=True, metadata={
        "description": "the agency the report is routed to"})
    routing_rule = fields.String(required=True, allow_none=True, metadata={
        "description": "the jurisdiction rule that routed it; null when the commune's People's "
                       "Committee took it by default"})
    created_at = fields.DateTime(required=True, metadata={
        "description": "when it was filed (RFC 3339, Huế time)"})
    due_at = fields.DateTime(required=True, allow_none=True,
                             metadata={"description": "null while held for a location"})
    first_response_at = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "the agency's first answer, or null"})
    resolved_at = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "when it was marked resolved, or null"})
    closed_at = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "when it was closed, or null"})
    satisfaction = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the resident's rating, 1 to 5, or null"})
    duplicate_of = fields.String(required=True, allow_none=True, metadata={
        "description": "the original's id when marked a duplicate, or null"})
    media_urls = fields.List(fields.String(), required=True, metadata={
        "description": "http(s) URLs of the photos"})
    team = fields.String(required=True, allow_none=True, metadata={
        "description": "the team assigned inside the agency, or null"})
    public_text = fields.Nested(PublicTextStateSchema, required=True, metadata={
        "description": "whether staff hid or edited the public text"})
    events = fields.List(fields.Nested(EventSchema), metadata={"description": "the timeline"})
    reporter = fields.Nested(ReporterSchema, metadata={
        "description": "only for the report's own agency's key or an admin key"})
    original = fields.Nested(OriginalTextSchema, metadata={
        "description": "the stored text: only for the report's own agency's key or an admin key"})


class DuplicateSchema(Schema):
    id = fields.String(required=True, metadata={"description": "the candidate's public id"})
    category = fields.String(required=True, metadata={"description": "its category code"})
    status = fields.String(required=True, metadata={"description": "its status"})
    created_at = fields.DateTime(required=True, metadata={"description": "when it was filed"})
    distance_m = fields.Float(required=True, metadata={"description": "metres from this report"})


class NoQueryArgs(Schema):
    """An operation that takes no query parameter: any is refused (a 400 naming it)."""


class MarkedDuplicateSchema(Schema):
    id = fields.String(required=True, metadata={"description": "the duplicate's public id"})
    category = fields.String(required=True, metadata={"description": "its category code"})
    status = fields.String(required=True, metadata={"description": "its status"})
    created_at = fields.DateTime(required=True, metadata={"description": "when it was filed"})


class DuplicatesSchema(Schema):
    id = fields.String(required=True, metadata={"description": "the report's public id"})
    duplicate_of = fields.String(allow_none=True, required=True, metadata={
        "description": "the original, when this report is marked a duplicate"})
    marked = fields.List(fields.Nested(MarkedDuplicateSchema), required=True, metadata={
        "description": "reports marked duplicates of this one, oldest first"})
    candidates = fields.List(fields.Nested(DuplicateSchema), required=True, metadata={
        "description": "open reports of the same category within 150 m and the 30 days "
                       "before it, nearest first (none for a report without a point of its own)"})


class ReportChangedSchema(ReportSchema):
    duplicates = fields.List(fields.Nested(DuplicateSchema), metadata={
        "description": "after placing a held report: its possible duplicates, nearest first"})


class WarningSchema(Schema):
    code = fields.String(required=True, metadata={
        "description": "location_conflict or needs_location"})
    detail = fields.String(required=True, metadata={"description": "what it means for this report"})


class ReportCreatedSchema(Schema):
    report = fields.Nested(ReportSchema, required=True, metadata={
        "description": "the stored report"})
    duplicates = fields.List(fields.Nested(DuplicateSchema), required=True,
                             metadata={"description": "possible duplicates nearby, nearest first"})
    reporter_token = fields.String(required=True, metadata={
        "description": "shown once: the reporter's credential to rate the report (a retry "
                       "with the same Idempotency-Key gets a new one; the old one lapses)"})
    warnings = fields.List(fields.Nested(WarningSchema), required=True, metadata={
        "description": "location_conflict: the point is not in the ward the address names; "
                       "needs_location: held for the operations centre to place"})


class ReportPageSchema(Schema):
    page = fields.Integer(required=True, metadata={"description": "this page's number, from 1"})
    page_size = fields.Integer(required=True, metadata={"description": "reports per page"})
    total = fields.Integer(required=True, metadata={"description": "reports matching"})
    next_page = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the next page's number, or null on the last"})
    next = fields.String(required=True, allow_none=True, metadata={"description": "next page URL"})
    reports = fields.List(fields.Nested(ReportSchema), required=True, metadata={
        "description": "this page's reports"})
