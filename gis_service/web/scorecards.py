"""GET /v1/scorecards: agencies', communes', categories' and settings' scorecards as JSON, CSV
(one row per cell, nested figures flattened) or, by commune, GeoJSON. No reporter contact is
read, so none can appear here."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Response
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from gis_service.analysis import scorecards as library
from gis_service.analysis.selection import as_instant
from gis_service.web.apidoc import ApiBlueprint, problem_doc
from gis_service.web.frames import GEOJSON
from gis_service.web.schemas import DayOrTime
from gis_service.web.scorecard_output import card_json, csv_text, feature_collection
from gis_service.web.services import connection

blp = ApiBlueprint("scorecards", __name__, url_prefix="/v1",
                   description="Agency and ward scorecards")

FORMATS = ("json", "csv", "geojson")


class ScorecardArgs(Schema):
    by = fields.String(load_default="agency", validate=validate.OneOf(library.GROUPINGS),
                       metadata={"description": "agency (default), commune, category or setting "
                                                "(urban wards against rural communes)"})
    from_ = DayOrTime(data_key="from", metadata={
        "description": "created at or after (YYYY-MM-DD is midnight in Huế)", "type": "string"})
    to = DayOrTime(metadata={"description": "created before", "type": "string"})
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS),
                           metadata={"description": "json (default), csv, or geojson "
                                                    "(by=commune only)"})
    lang = fields.String(validate=validate.OneOf(["vi", "en"]),
                         metadata={"description": "language of error messages (vi or en)"})

    @validates_schema
    def _consistent(self, data: dict[str, Any], **kwargs: object) -> None:
        start, end = as_instant(data.get("from_")), as_instant(data.get("to"))
        if start is not None and end is not None and start >= end:
            raise ValidationError("from must be before to", field_name="from")
        if data.get("format") == "geojson" and data.get("by") != "commune":
            raise ValidationError("geojson needs by=commune", field_name="format")


def compute(args: dict[str, Any], now: dt.datetime | None = None) -> library.Scorecards:
    """The scorecards the parsed arguments ask for (the API and the page share it)."""
    with connection() as conn:
        return library.scorecards(conn, by=args["by"], start=args.get("from_"),
                                  end=args.get("to"), now=now)


def _description() -> str:
    doc = library.__doc__ or ""
    return doc.split("\n>>>")[0].strip()


@blp.route("/scorecards")
# Unknown parameters are refused (webargs ignores them in query strings by default): a
# misspelt "form=" must not silently give the whole history.
@blp.arguments(ScorecardArgs, location="query", unknown=RAISE)
@blp.alt_response(200, success=True, description="the cells, best first, and the province")
@blp.doc(description=_description(), responses={200: {"content": {
    "application/json": {"schema": {"type": "object"}},
    "text/csv": {"schema": {"type": "string"}},
    GEOJSON: {"schema": {"type": "object"}}}}})
@blp.alt_response(400, **problem_doc("unknown by or format, bad dates, from not before to, "
                                     "geojson not by commune, unknown parameter"))
def get_scorecards(args: dict[str, Any]) -> Response:
    """Scorecards by agency, commune, category or setting over a time range."""
    card = compute(args)
    if args["format"] == "csv":
        response = Response(csv_text(card), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="scorecards_{card.by}.csv"'
        return response
    if args["format"] == "geojson":
        with connection() as conn:
            return Response(feature_collection(conn, card), mimetype=GEOJSON)
    return Response(json.dumps(card_json(card), ensure_ascii=False, default=str),
                    mimetype="application/json")


__all__ = ["ScorecardArgs", "blp", "compute"]
