"""The map pages' query parameters: the JSON endpoints' schemas, reused so a page and its
endpoint accept the same filters, turned into the map builders' frozen filter values."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import request
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict

from gis_service.analysis.selection import as_instant
from gis_service.maps.coverage import CoverageFilters
from gis_service.maps.hotspots import DEFAULT_RESOLUTION, HotspotFilters
from gis_service.web.coverage import CoverageArgs
from gis_service.web.schemas import HotspotArgs


class _FormParser(FlaskParser):
    """The pages' own forms send every field, empty ones too: an empty value is no value."""

    def load_querystring(self, req: Any, schema: ma.Schema) -> Any:
        given = MultiDict([(key, value) for key, value in req.args.items(multi=True) if value])
        return self._makeproxy(given, schema)


parser = _FormParser()


class BoundariesMapArgs(Schema):
    generation = fields.String(validate=validate.Length(min=1, max=32),
                               metadata={"description": "boundary generation code"})


class HotspotMapArgs(HotspotArgs):
    """/v1/hotspots' filters (the same checks, so the page and the API agree), a coarser
    default resolution for a province-wide page, and no output format."""

    class Meta(HotspotArgs.Meta):
        exclude = ("format",)

    res = fields.Integer(load_default=DEFAULT_RESOLUTION, validate=validate.Range(min=7, max=10))
    # The page draws no permutation-tuning controls: they keep their defaults.


class CoverageMapArgs(CoverageArgs):
    """/v1/coverage's parameters (the same checks), without an output format; a reversed
    period is refused before any query (coverage() would refuse it after finding the
    generation)."""

    class Meta:
        exclude = ("format",)

    @validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: object) -> None:
        start, end = as_instant(data.get("from_")), as_instant(data.get("to"))
        if start is not None and end is not None and start >= end:
            raise ValidationError("from must be before to", field_name="from")


def query_args(schema: type[Schema], *, strict: bool = False) -> dict[str, Any]:
    """The page's query parsed; ``strict``: unknown keys refused (the schema's RAISE), not
    ignored."""
    if strict:
        strict_parsed: dict[str, Any] = parser.parse(schema(), request, location="query",
                                                     unknown=None)
        return strict_parsed
    parsed: dict[str, Any] = parser.parse(schema(), request, location="query")
    return parsed


def hotspot_filters(args: dict[str, Any]) -> HotspotFilters:
    categories = args.get("category")
    return HotspotFilters(resolution=args["res"], k=args["k"], weights=args["weights"],
                          measure=args["measure"], inference=args["inference"],
                          min_count=args["min_count"],
                          categories=tuple(categories) if categories else None,
                          channel=args.get("channel"), status=args.get("status"),
                          start=args.get("from_"), end=args.get("to"))


def coverage_filters(args: dict[str, Any]) -> CoverageFilters:
    categories = args.get("category")
    return CoverageFilters(generation=args["generation"], start=args.get("from_"),
                           end=args.get("to"), attribution=args["attribution"],
                           categories=tuple(categories) if categories else None,
                           model=args["model"])
