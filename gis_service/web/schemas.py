"""Marshmallow schemas: they parse query strings and bodies, and document the API (OpenAPI 3).

Hot endpoints serialise their answers with plain functions (serialise.py) for speed; these
schemas still document those answers, and the schema tests check the two agree.
"""

from __future__ import annotations

import datetime as dt

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from gis_service.analysis.selection import as_instant
from gis_service.analysis.statistics.emerging import CATEGORIES as EMERGING_CATEGORIES
from gis_service.analysis.statistics.hotspots import CLASSES as HOTSPOT_CLASSES
from gis_service.analysis.statistics.inference import (
    DEFAULT_MIN_COUNT,
    DEFAULT_PERMUTATIONS,
    DEFAULT_SEED,
    INFERENCES,
    MAX_PERMUTATIONS,
    MIN_PERMUTATIONS,
)
from gis_service.db.schema import CHANNELS, REPORT_STATUSES
from gis_service.reports.queries import SORTS as REPORT_SORTS
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


class ReverseSchema(Schema):
    query = fields.Nested(QuerySchema, required=True)
    generation = fields.String(required=True)
    match = fields.String(required=True, validate=validate.OneOf(MATCHES))
    distance_m = fields.Float(allow_none=True, required=True)
    near_boundary = fields.Nested(NearBoundarySchema, allow_none=True, required=True)
    units = fields.Nested(UnitsSchema, required=True)


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
    status = fields.String(required=True, metadata={"description": "ok or degraded"})
    database = fields.String(required=True, metadata={"description": "ok when it answered"})
    active_generation = fields.String(allow_none=True, metadata={
        "description": "the active boundary generation's code, if it has units"})
    checked_s_ago = fields.Float(required=True, metadata={
        "description": "seconds since the database was asked (answers are cached up to 1 s)"})


class LivenessSchema(Schema):
    status = fields.String(required=True, metadata={"description": "always ok"})


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String()
    field = fields.String()
    instance = fields.String(allow_none=True)
    invalid_params = fields.List(fields.Dict())
    candidates = fields.List(fields.Dict(), metadata={
        "description": "location_too_vague: the places the address may mean (as GET "
                       "/v1/geocode results); ask the resident for a pin or the ward"})


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
                              validate=validate.OneOf(["point", "commune", "district", "province"]),
                              metadata={"description": "point: coordinates typed as text; never "
                                        "street (there is no street geometry)"})
    confidence = fields.Float(required=True, validate=validate.Range(0, 1))
    generation = fields.String(required=True)
    unit = fields.Nested(GeocodeUnitSchema, required=True)
    units = fields.Dict(keys=fields.String(), values=fields.Nested(GeocodeUnitSchema), required=True)
    current = fields.Dict(keys=fields.String(), values=fields.Nested(GeocodeUnitSchema), required=True)
    predecessors = fields.List(fields.Nested(GeocodeUnitSchema), required=True)
    matched = fields.String(required=True)
    matched_parts = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    street = fields.String(allow_none=True, required=True)
    street_name = fields.String(allow_none=True, required=True, metadata={
        "description": "the street recognised in the address, as the street list spells it"})
    ambiguous = fields.Boolean(required=True, metadata={
        "description": "another result names another place and is exactly as good"})


class GeocodeResponseSchema(Schema):
    results = fields.List(fields.Nested(GeocodeResultSchema), required=True)
    ambiguous = fields.Boolean(required=True, metadata={
        "description": "the best results are tied: ask which one is meant"})


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


class StatusList(fields.Field):
    """Statuses given once with commas (``received,accepted``), repeated, or both."""

    is_multiple = True

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object
                     ) -> tuple[str, ...]:
        values = value if isinstance(value, list) else [value]
        found = tuple(part.strip() for item in values for part in str(item).split(","))
        unknown = [status for status in found if status not in REPORT_STATUSES]
        if unknown or not found:
            raise ValidationError(f"statuses are {', '.join(REPORT_STATUSES)}")
        return found


class ReportListArgs(Schema):
    """GET /v1/reports. Unknown parameters are refused (a 400 naming them): a misspelt
    filter must not silently return every report."""

    category = fields.String(validate=validate.Length(max=64))
    status = StatusList(metadata={
        "description": "one or several statuses (comma-separated or repeated)", "type": "string",
        "example": "received,accepted"})
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    overdue = fields.Boolean(metadata={
        "description": "true: open reports past their deadline; false: all others"})
    commune = fields.String(validate=validate.Length(max=16), metadata={
        "description": "GSO code of a commune (of the report's generation or the current one)"})
    q = fields.String(validate=validate.Length(min=2, max=200), metadata={
        "description": "words in the public (redacted) description and address; diacritics and "
                       "case ignored", "example": "kiet 58"})
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(REPORT_SORTS),
                         metadata={"description": "created_at or due_at, - for descending"})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "geojson"]),
                           metadata={"description": "json (a page), csv or geojson (every "
                                                    "matching report, streamed; page ignored)"})
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
    class Meta:
        # A misspelt parameter (resolution= for res=) is refused, not silently ignored.
        unknown = RAISE

    res = fields.Integer(load_default=None, validate=validate.Range(min=7, max=10), metadata={
        "description": "H3 resolution, 7 (5 km²) to 10 (0.015 km²); omitted: chosen from the "
                       "data (the finest whose occupied cells hold 5 reports on average)"})
    k = fields.Integer(load_default=None, validate=validate.Range(min=1, max=5), metadata={
        "description": "rings of neighbouring cells, 1 to 5; omitted: where Moran's I z peaks "
                       "(1 to 3)"})
    measure = fields.String(load_default="excess", validate=validate.OneOf(["excess", "count"]),
                            metadata={"description": "excess (default): reports against the "
                                      "residents per cell (2019 census, areal weighting); "
                                      "count: reports against area"})
    inference = fields.String(load_default="auto", validate=validate.OneOf(INFERENCES), metadata={
        "description": "auto (default: exact with binary weights, permutation with decay), "
                       "exact (binomial / compound Poisson test of the neighbourhood count), "
                       "permutation (esda's conditional permutation of Gi*), analytic "
                       "(normal z)"})
    min_count = fields.Integer(load_default=DEFAULT_MIN_COUNT,
                               validate=validate.Range(min=1, max=1000), metadata={
        "description": "a hot call needs this many reports in the neighbourhood, a cold call "
                       "this many expected there"})
    permutations = fields.Integer(load_default=DEFAULT_PERMUTATIONS, validate=validate.Range(
        min=MIN_PERMUTATIONS, max=MAX_PERMUTATIONS), metadata={
        "description": "permutations of inference=permutation"})
    seed = fields.Integer(load_default=DEFAULT_SEED, validate=validate.Range(min=0, max=2**32 - 1),
                          metadata={"description": "seed of the permutations (repeatable)"})
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
    count = fields.Integer(required=True, metadata={"description": "reports in the cell"})
    expected = fields.Float(required=True, allow_none=True, metadata={
        "description": "reports the background predicts for the cell (residents' share for "
                       "measure=excess, area's for count)"})
    nbhd_count = fields.Float(required=True, allow_none=True, metadata={
        "description": "reports in the cell and its k rings"})
    nbhd_expected = fields.Float(required=True, allow_none=True, metadata={
        "description": "reports expected there"})
    ratio = fields.Float(required=True, allow_none=True, metadata={
        "description": "nbhd_count / nbhd_expected (null where nothing is expected)"})
    z = fields.Float(required=True, allow_none=True, metadata={
        "description": "Gi* z of the analysed values (counts, or Pearson residuals for excess)"})
    p = fields.Float(required=True, allow_none=True, metadata={
        "description": "two-sided p from the inference in parameters.inference"})
    p_fdr = fields.Float(required=True, allow_none=True, metadata={
        "description": "Benjamini-Hochberg adjusted p; null where the cell was not tested"})
    tested = fields.Boolean(required=True, metadata={
        "description": "enough reports (hot) or expected reports (cold) in the neighbourhood "
                       "for a call: min_count"})
    cls = fields.String(data_key="class", required=True, validate=validate.OneOf(HOTSPOT_CLASSES),
                        metadata={"description": "from p_fdr; never hot or cold when not tested"})


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


class HotspotParametersSchema(Schema):
    """The query as understood, and what the analysis chose."""

    class Meta:
        unknown = RAISE

    resolution = fields.Integer(required=True, metadata={"description": "H3 resolution used"})
    k = fields.Integer(required=True, metadata={"description": "rings used"})
    chosen_by = fields.String(required=True, metadata={
        "description": "given, or how resolution and k were chosen from the data"})
    scale_figures = fields.Dict(required=True, metadata={
        "description": "the figures behind a chosen scale: mean reports per occupied cell by "
                       "resolution, Moran's I z by k"})
    weights = fields.String(required=True)
    measure = fields.String(required=True, metadata={"description": "excess or count"})
    inference = fields.String(required=True, metadata={
        "description": "the inference run: exact, permutation or analytic"})
    inference_reason = fields.String(required=True, metadata={
        "description": "why (given, or auto's reason)"})
    dispersion = fields.Float(required=True, metadata={
        "description": "variance over mean of the counts, read from the data (1: independent "
                       "reports; more: residents reporting one incident together); the exact "
                       "test allows for it"})
    min_count = fields.Integer(required=True)
    permutations = fields.Integer(required=True)
    seed = fields.Integer(required=True)
    categories = fields.List(fields.String(), required=True)
    channel = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, allow_none=True)
    start = fields.String(required=True, allow_none=True)
    end = fields.String(required=True, allow_none=True)
    reports = fields.Integer(required=True, metadata={"description": "reports counted"})
    area_cells = fields.Integer(required=True, metadata={
        "description": "cells of the service area at this resolution"})
    study_cells = fields.Integer(required=True, metadata={
        "description": "cells tested: the service area, or where the categories occur"})


class EmergingParametersSchema(HotspotParametersSchema):
    period = fields.String(required=True)
    periods = fields.List(fields.String(), required=True, metadata={
        "description": "each period's first day"})
    alpha = fields.Float(required=True)


class HotspotFeatureSchema(_Feature):
    properties = fields.Nested(HotspotPropertiesSchema, required=True)


class HotspotCollectionSchema(_FeatureCollection):
    parameters = fields.Nested(HotspotParametersSchema, required=True)  # type: ignore[assignment]  # described in full here
    features = fields.List(fields.Nested(HotspotFeatureSchema), required=True)


class EmergingFeatureSchema(_Feature):
    properties = fields.Nested(EmergingPropertiesSchema, required=True)


class EmergingCollectionSchema(_FeatureCollection):
    parameters = fields.Nested(EmergingParametersSchema, required=True)  # type: ignore[assignment]  # described in full here
    features = fields.List(fields.Nested(EmergingFeatureSchema), required=True)


def _number(description: str) -> fields.Float:
    return fields.Float(required=True, allow_none=True, metadata={"description": description})


class CoveragePropertiesSchema(Schema):
    """The documented columns of a commune (``/v1/coverage``); the service levels, rates and
    channel shares of the endpoint's description come beside them."""

    code = fields.String(required=True, metadata={"description": "GSO code"})
    name = fields.String(required=True)
    setting = fields.String(required=True, validate=validate.OneOf(["urban", "rural"]))
    population = _number("residents (2019 census, or derived for 2025 wards)")
    area_km2 = _number("area on the spheroid")
    reports = _number("reports in the period")
    rate_per_1000 = _number("reports per 1,000 residents")
    rate_eb = _number("per 1,000, global Empirical Bayes")
    rate_eb_local = _number("per 1,000, local Empirical Bayes (neighbours)")
    rate_class = fields.Integer(required=True, metadata={
        "description": "quintile of rate_eb, 1 (fewest) to 5; 0 without residents"})
    response_median_h = _number("median hours to a first response (originals)")
    response_p90_h = _number("90th percentile hours to a first response")
    resolution_median_h = _number("median hours to resolution")
    resolution_p90_h = _number("90th percentile hours to resolution")
    share_within_deadline = _number("share resolved by the deadline")
    satisfaction = _number("mean rating, 1 to 5")
    response_index = _number("per-category medians against the province's (1 = as fast)")
    resolution_index = _number("the same for resolution")
    share_app = _number("share of reports by app")
    share_web = _number("share of reports by web")
    share_hotline = _number("share of reports by hotline")
    p_under = _number("lower-tail probability of so few reports under the flag model")
    expected = _number("expected reports under the flag model")
    observed_to_expected = _number("reports / expected")
    q_under = _number("Benjamini-Hochberg adjusted lower-tail probability")
    under_reporting = fields.Boolean(required=True, metadata={
        "description": "significantly fewer reports than expected (FDR 5%)"})
    flag_model = fields.String(required=True, validate=validate.OneOf(
        ["population_only", "with_setting"]), metadata={
        "description": "the expected-reports model that made the flag (query `model`)"})
    incidents = _number("reported incidents (original reports)")
    further_reports = _number("reports after an incident's first, made while it was open")
    exposure_days = _number("days the reported incidents were open (first report to "
                            "resolution, the answer of a rejected report, or the end of data)")
    reporting_rate_per_day = _number(
        "reports per day of an open incident (Liu, Bhandaram & Garg: Poisson regression of "
        "further reports with open days as exposure); calibrated")
    reporting_rate_per_day_low = _number("95% profile likelihood-ratio interval, low end")
    reporting_rate_per_day_high = _number("95% profile likelihood-ratio interval, high end")
    reporting_delay_days = _number("expected days before an incident's first report (1 / rate; "
                                   "null when no further report was seen: unbounded)")
    reporting_delay_days_low = _number("95% interval, low end (1 / rate high)")
    reporting_delay_days_high = _number("95% interval, high end (1 / rate low; null = "
                                        "unbounded: no further report seen)")
    reporting_rate = _number("reports per incident, zero-truncated Poisson: NOT calibrated")
    reporting_rate_low = _number("its likelihood-ratio interval, low end")
    reporting_rate_high = _number("its likelihood-ratio interval, high end")
    unreported_share = _number("exp(-reporting_rate): zero-truncated, NOT calibrated")
    reporting_rate_calibrated = fields.Boolean(required=True, metadata={
        "description": "false: the zero-truncated intervals failed the calibration study"})


class CoverageParametersSchema(Schema):
    generation = fields.String(required=True)
    attribution = fields.String(required=True)
    model = fields.String(required=True, metadata={"description": "the flag model used"})
    methods = fields.Dict(required=True, metadata={
        "description": "per figure: method, interval, calibrated (true/false) and a note"})


class CoverageFeatureSchema(_Feature):
    properties = fields.Nested(CoveragePropertiesSchema, required=True)


class CoverageCollectionSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["FeatureCollection"]))
    parameters = fields.Nested(CoverageParametersSchema, required=True)
    features = fields.List(fields.Nested(CoverageFeatureSchema), required=True)


class SummaryRowSchema(Schema):
    metric = fields.String(required=True, metadata={
        "description": "e.g. rate_per_1000, reporting_rate_per_day, reporting_delay_days, "
                       "reporting_rate (zero-truncated), under_reporting_communes"})
    setting = fields.String(required=True)
    estimate = fields.Float(required=True, allow_none=True)
    low = fields.Float(required=True, allow_none=True)
    high = fields.Float(required=True, allow_none=True)
    interval = fields.String(required=True)
    calibrated = fields.Boolean(required=True, allow_none=True, metadata={
        "description": "reporting rates: whether the intervals held a known truth in the "
                       "calibration study; null for other metrics"})


class SummarySchema(Schema):
    parameters = fields.Dict(required=True)
    methods = fields.Dict(required=True, metadata={"description": "as in /v1/coverage"})
    rows = fields.List(fields.Nested(SummaryRowSchema), required=True)


def table_or(content_type: str, schema: type[Schema]) -> dict[str, object]:
    """A 200 answer documented as ``content_type`` (``schema``) or CSV (``format=csv``)."""
    return {"responses": {200: {"content": {content_type: {"schema": schema},
                                            "text/csv": {"schema": {"type": "string"}}}}}}
