"""Marshmallow schemas: they parse query strings and bodies, and document the API (OpenAPI 3).

Hot endpoints serialise their answers with plain functions (serialise.py) for speed; these
schemas still document those answers, and the schema tests check the two agree.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gis_service.db.schema import REPORT_STATUSES

LAT_DOC = {"description": "WGS84 latitude", "minimum": -90, "maximum": 90, "example": 16.4779}
LON_DOC = {"description": "WGS84 longitude", "minimum": -180, "maximum": 180, "example": 107.611}
MATCHES = ("inside", "nearest", "outside")


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


class ReverseSchema(Schema):
    query = fields.Nested(QuerySchema, required=True)
    generation = fields.String(required=True)
    match = fields.String(required=True, validate=validate.OneOf(MATCHES))
    distance_m = fields.Float(allow_none=True, required=True)
    near_boundary = fields.Nested(NearBoundarySchema, allow_none=True, required=True)
    units = fields.Nested(UnitsSchema, required=True)


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
    id = fields.Raw(required=True, metadata={"description": "caller's id (string or integer), echoed back"})
    q = fields.String(metadata={"description": "free-text address (forward)"})
    lat = fields.Float(metadata=LAT_DOC)
    lon = fields.Float(metadata=LON_DOC)


class BatchRequestSchema(Schema):
    items = fields.List(fields.Nested(BatchItemSchema), required=True,
                        metadata={"description": "up to 10,000 items, each either q or lat+lon"})
    generation = fields.String(metadata={"description": "generation for reverse items"})
    at = fields.Date(metadata={"description": "date choosing the generation for reverse items"})


class BatchOutcomeSchema(Schema):
    id = fields.Raw(required=True)
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
