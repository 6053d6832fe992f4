"""GET /v1/coverage and /v1/coverage/summary: each commune's coverage metrics as GeoJSON (or
CSV), and the urban–rural comparison with intervals (JSON or CSV). No reporter contact is read
by the analysis, so none can appear here."""

from __future__ import annotations

import json
import math
from typing import Any

import geopandas as gpd
import pandas as pd
from flask import Response
from marshmallow import Schema, fields, validate

from gis_service.analysis import coverage, coverage_summary
from gis_service.analysis.coverage import DEFAULT_FLAG_MODEL, FLAG_MODELS
from gis_service.web.apidoc import ApiBlueprint, problem_doc
from gis_service.web.frames import GEOJSON, frame_response
from gis_service.web.schemas import (
    CommaList,
    CoverageCollectionSchema,
    DayOrTime,
    SummarySchema,
    table_or,
)
from gis_service.web.services import connection

blp = ApiBlueprint("coverage", __name__, url_prefix="/v1",
                description="Coverage of urban wards and rural communes")


class CoverageArgs(Schema):
    generation = fields.String(load_default="2025", validate=validate.Length(min=1, max=32),
                               metadata={"description": "boundary generation code (2019, 2025)"})
    category = CommaList(metadata={"description": "category codes (comma-separated or repeated)",
                                   "type": "string"})
    from_ = DayOrTime(data_key="from", metadata={
        "description": "created at or after (YYYY-MM-DD is midnight in Huế)", "type": "string"})
    to = DayOrTime(metadata={"description": "created before", "type": "string"})
    attribution = fields.String(
        load_default="point", validate=validate.OneOf(["point", "crosswalk"]),
        metadata={"description": "point (each report's own point, exact) or crosswalk (counts "
                                 "filed under another generation spread by population shares)"})
    model = fields.String(
        load_default=DEFAULT_FLAG_MODEL, validate=validate.OneOf(list(FLAG_MODELS)),
        metadata={"description": "the expected-reports model behind the under-reporting flag: "
                                 "population_only (default: residents alone, so the "
                                 "urban-rural gap shows) or with_setting (adds the urban/rural "
                                 "term: flags only communes unusual within their setting)"})
    format = fields.String(load_default="geojson", validate=validate.OneOf(["geojson", "csv"]),
                           metadata={"description": "geojson (default) or csv (no geometry)"})


class SummaryArgs(CoverageArgs):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]),
                           metadata={"description": "json (default) or csv"})


def _options(args: dict[str, Any]) -> dict[str, Any]:
    return {"generation": args["generation"], "start": args.get("from_"), "end": args.get("to"),
            "categories": args.get("category"), "attribution": args["attribution"],
            "model": args["model"]}


def _json_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """NaN (no reports, no ratings) and infinity (a delay no duplicate bounds) as null: JSON
    has neither."""
    finite = frame.replace([math.inf, -math.inf], math.nan)
    return finite.astype(object).where(finite.notna(), None)


@blp.route("/coverage")
@blp.arguments(CoverageArgs, location="query")
@blp.alt_response(200, success=True, description="a FeatureCollection of communes with reports, "
                  "rates (raw, Empirical Bayes), service levels, channel shares, expected "
                  "reports and the under-reporting flag with the model that made it "
                  "(flag_model), the reporting rate per day and the delay before a first "
                  "report with intervals (Liu, Bhandaram & Garg; calibrated), and the "
                  "zero-truncated reports per incident (marked not calibrated)")
@blp.doc(**table_or(GEOJSON, CoverageCollectionSchema))
@blp.alt_response(400, **problem_doc("from not before to, unknown category"))
@blp.alt_response(404, **problem_doc("unknown generation"))
def get_coverage(args: dict[str, Any]) -> Response:
    """Coverage metrics per commune of a boundary generation over a time range."""
    with connection() as conn:
        frame = coverage(conn, **_options(args))
    safe = gpd.GeoDataFrame(_json_safe(frame.drop(columns="geometry")), geometry=frame.geometry)
    safe.attrs.update(frame.attrs)
    return frame_response(safe, args["format"], name="coverage", id_column="code")


@blp.route("/coverage/summary")
@blp.arguments(SummaryArgs, location="query")
@blp.alt_response(200, success=True, description="rows of metric, setting (urban, rural, "
                  "urban/rural), estimate, low, high, interval (how it was made)")
@blp.doc(**table_or("application/json", SummarySchema))
@blp.alt_response(400, **problem_doc("from not before to, unknown category"))
@blp.alt_response(404, **problem_doc("unknown generation"))
def get_summary(args: dict[str, Any]) -> Response:
    """Urban wards against rural communes, with intervals (95%)."""
    with connection() as conn:
        table = coverage_summary(conn, **_options(args))
    if args["format"] == "csv":
        response = Response(table.to_csv(index=False), mimetype="text/csv")
        response.headers["Content-Disposition"] = 'attachment; filename="coverage_summary.csv"'
        return response
    rows = [{key: None if isinstance(value, float) and not math.isfinite(value) else value
             for key, value in row.items()} for row in table.to_dict("records")]
    body = {"parameters": _options(args), "methods": table.attrs["methods"], "rows": rows}
    return Response(json.dumps(body, ensure_ascii=False, default=str), mimetype="application/json")
