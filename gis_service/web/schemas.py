"""Marshmallow schemas: they parse query strings and bodies, and document the API (OpenAPI 3).

Hot endpoints serialise their answers with plain functions (serialise.py) for speed; these
schemas still document those answers, and the schema tests check the two agree.
"""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gis_service.analysis.selection import as_instant
from gis_service.analysis.statistics.emerging import CATEGORIES as EMERGING_CATEGORIES
from gis_service.analysis.statistics.hotspots import CLASSES as HOTSPOT_CLASSES
from gis_service.db.schema import CHANNELS, REPORT_STATUSES
from gis_service.spatial.types import MATCHES

LAT_DOC = {"description": "WGS84 latitude", "minimum": -90, "maximum": 90, "example": 16.4779}
LON_DOC = {"description": "WGS84 longitude", "minimum": -180, "maximum": 180, "example": 107.611}


class ReverseArgs(Schema):
    # Range and swap checks happen in gis_service.coords, which explains swapped pairs.
    lat = fields.Float(required=True, allow_nan=False, metadata=LAT_DOC)
    lon = fields.Float(required=True, allow_nan=False, metadata=LON_DOC)
    generation = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "boundary generation code, e.g. 2019 or 2025"},
    )
    at = fields.Date(metadata={"description": "use the generation valid on this date (YYYY-MM-DD)"})
    format = fields.String(
        load_default="json", validate=validate.OneOf(["json", "geojson"]),
        metadata={"description": "json (default) or geojson (a FeatureCollection)"},
    )


class UnitSchema(Schema):
    id = fields.Integer()
    code = fields.String(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    level = fields.String(validate=validate.OneOf(["province", "district", "commune"]))
    setting = fields.String(allow_none=True)
    approximate = fields.Boolean()


class UnitsSchema(Schema):
    province = fields.Nested(UnitSchema)
    district = fields.Nested(UnitSchema)
    commune = fields.Nested(UnitSchema)


class QuerySchema(Schema):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)


class NearBoundarySchema(Schema):
    distance_m = fields.Float(required=True)
    unit = fields.Nested(UnitSchema, required=True)


class OutsideServiceAreaSchema(Schema):
    province = fields.Nested(UnitSchema, required=True,
                             metadata={"description": "the other province (reference boundaries)"})
    ward = fields.Nested(UnitSchema, required=True, allow_none=True,
                         metadata={"description": "its ward or commune, when known"})


MATCH_DESCRIPTION = (
    "inside: in a commune of the generation; nearest: in none (the sea, a gap) but within the "
    "snap tolerance of one, over Huế's own land or water; outside: beyond the tolerance, or on "
    "land outside Vietnam (the tolerance never crosses the land border): no units; "
    "outside_service_area: in another province of Vietnam (named in outside_service_area), "
    "never a Huế commune however near")


class ReverseSchema(Schema):
    query = fields.Nested(QuerySchema, required=True)
    generation = fields.String(required=True)
    match = fields.String(required=True, validate=validate.OneOf(MATCHES),
                          metadata={"description": MATCH_DESCRIPTION})
    distance_m = fields.Float(allow_none=True, required=True)
    near_boundary = fields.Nested(NearBoundarySchema, allow_none=True, required=True)
    units = fields.Nested(UnitsSchema, required=True)
    outside_service_area = fields.Nested(
        OutsideServiceAreaSchema, allow_none=True, required=True,
        metadata={"description": "for match outside_service_area: the province (and ward) the "
                                 "point lies in, from the reference boundaries; else null"})


class ReverseFeatureSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["Feature"]))
    geometry = fields.Dict(required=True, allow_none=True,
                           metadata={"description": "the matched commune's polygon, or null"})
    properties = fields.Nested(ReverseSchema, required=True)


class ReverseCollectionSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["FeatureCollection"]))
    features = fields.List(fields.Nested(ReverseFeatureSchema), required=True,
                           validate=validate.Length(equal=1))


class HealthSchema(Schema):
    status = fields.String(required=True)
    database = fields.String(required=True)
    active_generation = fields.String(allow_none=True)


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String()
    field = fields.String()
    instance = fields.String(allow_none=True)
    invalid_params = fields.List(fields.Dict())


class GeocodeArgs(Schema):
    q = fields.String(metadata={"description": "free-text address (max 500 characters)",
                                "example": "12 Lê Lợi, P. Vĩnh Ninh, TP Huế"})
    commune = fields.String(metadata={"description": "structured form: ward or commune name"})
    district = fields.String(metadata={"description": "structured form: district name"})
    province = fields.String(metadata={"description": "structured form: province or city name"})
    limit = fields.Integer(load_default=5, metadata={"minimum": 1, "maximum": 50})


class GeocodeUnitSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    level = fields.String(required=True)
    generation = fields.String(required=True)
    approximate = fields.Boolean(required=True)


class GeocodeResultSchema(Schema):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    precision = fields.String(required=True,
                              validate=validate.OneOf(["commune", "district", "province", "street"]))
    confidence = fields.Float(required=True, validate=validate.Range(0, 1))
    generation = fields.String(required=True)
    unit = fields.Nested(GeocodeUnitSchema, required=True)
    units = fields.Dict(keys=fields.String(), values=fields.Nested(GeocodeUnitSchema), required=True)
    current = fields.Dict(keys=fields.String(), values=fields.Nested(GeocodeUnitSchema), required=True)
    predecessors = fields.List(fields.Nested(GeocodeUnitSchema), required=True)
    matched = fields.String(required=True)
    matched_parts = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    street = fields.String(allow_none=True, required=True)


class GeocodeResponseSchema(Schema):
    results = fields.List(fields.Nested(GeocodeResultSchema), required=True)


class BatchItemSchema(Schema):
    id = fields.Raw(metadata={"description": "caller's id (string or integer), echoed back; "
                                             "optional: answers also carry the item's position"})
    q = fields.String(metadata={"description": "free-text address (forward)"})
    lat = fields.Float(metadata=LAT_DOC)
    lon = fields.Float(metadata=LON_DOC)


class BatchRequestSchema(Schema):
    items = fields.List(fields.Nested(BatchItemSchema), required=True,
                        metadata={"description": "up to 10,000 items, each either q or lat+lon"})
    generation = fields.String(metadata={"description": "generation for reverse items"})
    at = fields.Date(metadata={"description": "date choosing the generation for reverse items"})


class BatchOutcomeSchema(Schema):
    position = fields.Integer(required=True,
                              metadata={"description": "the item's index in the request (from 0)"})
    id = fields.Raw(required=True, allow_none=True,
                    metadata={"description": "the item's id as sent, null when it had none"})
    kind = fields.String(required=True, validate=validate.OneOf(["forward", "reverse"]),
                         allow_none=True)
    result = fields.Nested(ReverseSchema, allow_none=True,
                           metadata={"description": "reverse items: as GET /v1/reverse"})
    results = fields.List(fields.Nested(GeocodeResultSchema), allow_none=True,
                          metadata={"description": "forward items: as GET /v1/geocode"})
    error = fields.Nested(ProblemSchema, allow_none=True)


class BatchResponseSchema(Schema):
    results = fields.List(fields.Nested(BatchOutcomeSchema), required=True)


class BBox(fields.Field):
    """``west,south,east,north`` in degrees."""

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object
                     ) -> tuple[float, float, float, float]:
        try:
            west, south, east, north = (float(part) for part in str(value).split(","))
        except ValueError:
            raise ValidationError("bbox must be west,south,east,north") from None
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise ValidationError("bbox must be west,south,east,north with west<east, south<north")
        return west, south, east, north


class ReportListArgs(Schema):
    category = fields.String(validate=validate.Length(max=64))
    status = fields.String(validate=validate.OneOf(REPORT_STATUSES))
    agency = fields.String(validate=validate.Length(max=64), metadata={"description": "agency code"})
    unit = fields.String(validate=validate.Length(max=16),
                         metadata={"description": "GSO code of a commune, district or province"})
    bbox = BBox(metadata={"description": "west,south,east,north", "type": "string"})
    from_ = fields.AwareDateTime(data_key="from", metadata={"description": "created at or after"})
    to = fields.AwareDateTime(metadata={"description": "created before"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))

    @validates_schema
    def _ordered(self, data: dict[str, object], **kwargs: object) -> None:
        start, end = data.get("from_"), data.get("to")
        if start is not None and end is not None and start >= end:  # type: ignore[operator]
            raise ValidationError("from must be before to", field_name="from")


# -- hot spots (issue 5) ---------------------------------------------------------------------
class CommaList(fields.Field):
    """A query parameter given once with commas (``a,b``), repeated (``x=a&x=b``), or both."""

    is_multiple = True

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object
                     ) -> list[str]:
        values = value if isinstance(value, list) else [value]
        codes = [part.strip() for item in values for part in str(item).split(",")]
        if not all(codes) or any(len(code) > 64 for code in codes):
            raise ValidationError("give category codes, separated by commas")
        return codes


class DayOrTime(fields.Field):
    """``YYYY-MM-DD`` (midnight in Huế) or an ISO 8601 date-time (without an offset: Huế's clock)."""

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object
                     ) -> dt.date | dt.datetime:
        text = str(value)
        try:
            return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError("use YYYY-MM-DD or an ISO 8601 date-time") from None


class HotspotArgs(Schema):
    res = fields.Integer(load_default=9, validate=validate.Range(min=7, max=10),
                         metadata={"description": "H3 resolution, 7 (5 km²) to 10 (0.015 km²)"})
    k = fields.Integer(load_default=1, validate=validate.Range(min=1, max=5),
                       metadata={"description": "rings of neighbouring cells, 1 to 5"})
    weights = fields.String(load_default="binary", validate=validate.OneOf(["binary", "decay"]),
                            metadata={"description": "binary, or decay: 1/(1 + rings away)"})
    category = CommaList(metadata={"description": "category codes (comma-separated or repeated)",
                                   "type": "string"})
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    status = fields.String(validate=validate.OneOf(REPORT_STATUSES))
    from_ = DayOrTime(data_key="from", metadata={
        "description": "created at or after (YYYY-MM-DD is midnight in Huế)", "type": "string"})
    to = DayOrTime(metadata={"description": "created before", "type": "string"})
    format = fields.String(load_default="geojson", validate=validate.OneOf(["geojson", "csv"]),
                           metadata={"description": "geojson (default) or csv (no geometry)"})

    @validates_schema
    def _ordered(self, data: dict[str, object], **kwargs: object) -> None:
        start, end = data.get("from_"), data.get("to")
        if isinstance(start, dt.date) and isinstance(end, dt.date):
            begin, finish = as_instant(start), as_instant(end)
            if begin is not None and finish is not None and begin >= finish:
                raise ValidationError("from must be before to", field_name="from")


class EmergingArgs(HotspotArgs):
    period = fields.String(load_default="month", validate=validate.OneOf(["week", "month"]),
                           metadata={"description": "week (from Monday) or month; 10 at least"})


# -- answers of the hot spot and coverage endpoints (built as text by web.frames) -------------
class HotspotPropertiesSchema(Schema):
    id = fields.String(required=True, metadata={"description": "the H3 cell"})
    count = fields.Integer(required=True)
    z = fields.Float(required=True, allow_none=True)
    p = fields.Float(required=True, allow_none=True)
    p_fdr = fields.Float(required=True, allow_none=True)
    cls = fields.String(data_key="class", required=True, validate=validate.OneOf(HOTSPOT_CLASSES))


class EmergingPropertiesSchema(Schema):
    id = fields.String(required=True, metadata={"description": "the H3 cell"})
    count = fields.Integer(required=True)
    cls = fields.String(data_key="class", required=True,
                        validate=validate.OneOf(EMERGING_CATEGORIES))
    trend_tau = fields.Float(required=True, allow_none=True)
    trend_z = fields.Float(required=True, allow_none=True)
    trend_p = fields.Float(required=True, allow_none=True)
    hot_periods = fields.Integer(required=True)
    cold_periods = fields.Integer(required=True)
    z = fields.Float(required=True, allow_none=True)
    p = fields.Float(required=True, allow_none=True)
    p_fdr = fields.Float(required=True, allow_none=True)


class _Feature(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["Feature"]))
    id = fields.String(required=True)
    geometry = fields.Dict(required=True, allow_none=True,
                           metadata={"description": "GeoJSON geometry, 6 decimals"})


class _FeatureCollection(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["FeatureCollection"]))
    parameters = fields.Dict(required=True, metadata={"description": "the query as understood"})


class HotspotFeatureSchema(_Feature):
    properties = fields.Nested(HotspotPropertiesSchema, required=True)


class HotspotCollectionSchema(_FeatureCollection):
    features = fields.List(fields.Nested(HotspotFeatureSchema), required=True)


class EmergingFeatureSchema(_Feature):
    properties = fields.Nested(EmergingPropertiesSchema, required=True)


class EmergingCollectionSchema(_FeatureCollection):
    features = fields.List(fields.Nested(EmergingFeatureSchema), required=True)


class CoverageFeatureSchema(_Feature):
    properties = fields.Dict(required=True, metadata={
        "description": "the commune's metrics (see the endpoint); null where undefined"})


class CoverageCollectionSchema(_FeatureCollection):
    features = fields.List(fields.Nested(CoverageFeatureSchema), required=True)


class SummaryRowSchema(Schema):
    metric = fields.String(required=True)
    setting = fields.String(required=True)
    estimate = fields.Float(required=True, allow_none=True)
    low = fields.Float(required=True, allow_none=True)
    high = fields.Float(required=True, allow_none=True)
    interval = fields.String(required=True)


class SummarySchema(Schema):
    parameters = fields.Dict(required=True)
    rows = fields.List(fields.Nested(SummaryRowSchema), required=True)


def table_or(content_type: str, schema: type[Schema]) -> dict[str, object]:
    """A 200 answer documented as ``content_type`` (``schema``) or CSV (``format=csv``)."""
    return {"responses": {200: {"content": {content_type: {"schema": schema},
                                            "text/csv": {"schema": {"type": "string"}}}}}}
