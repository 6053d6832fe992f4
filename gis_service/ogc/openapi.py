"""The OpenAPI 3.0 definition of ``/ogc`` (the OAS30 conformance class): the standard's paths
and parameters, with the limits this server declares (``limit`` 1 to 10,000, default 100)."""

from __future__ import annotations

from typing import Any

from gis_service.ogc.crs import CRS84_URI, crs_uris
from gis_service.ogc.params import DEFAULT_LIMIT, MAX_LIMIT

_PROBLEM = {"description": "a problem (RFC 9457) naming the parameter",
            "content": {"application/problem+json": {"schema": {"type": "object"}}}}


def _parameter(name: str, schema: dict[str, Any], description: str, *, where: str = "query",
               required: bool = False, explode: bool | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "in": where, "required": required, "schema": schema,
                             "description": description}
    if explode is not None:
        found["style"], found["explode"] = "form", explode
    return found


PARAMETERS: dict[str, dict[str, Any]] = {
    "f": _parameter("f", {"type": "string", "enum": ["json", "html"]}, "the format"),
    "collectionId": _parameter("collectionId", {"type": "string"}, "a collection's id",
                               where="path", required=True),
    "featureId": _parameter("featureId", {"type": "string"}, "a feature's id", where="path",
                            required=True),
    "limit": _parameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                  "default": DEFAULT_LIMIT},
                        "the most features in the page", explode=False),
    "offset": _parameter("offset", {"type": "integer", "minimum": 0, "default": 0},
                         "features skipped (the next links carry it)"),
    "bbox": _parameter("bbox", {"type": "array", "minItems": 4, "maxItems": 6,
                                "items": {"type": "number"}},
                       "lower and upper corner, in bbox-crs (CRS84 by default)", explode=False),
    "bbox-crs": _parameter("bbox-crs", {"type": "string", "format": "uri",
                                        "enum": crs_uris(), "default": CRS84_URI},
                           "the CRS of bbox"),
    "crs": _parameter("crs", {"type": "string", "format": "uri", "enum": crs_uris(),
                              "default": CRS84_URI}, "the CRS of the response's geometries"),
    "datetime": _parameter("datetime", {"type": "string"},
                           "an RFC 3339 instant or interval (open ends as '..'); a date is a "
                           "day in Huế (UTC+7)", explode=False),
}


def _inline(name: str) -> dict[str, Any]:
    """The parameter itself, not a $ref: GDAL 3.6 reads the page size (limit's maximum) only
    from a parameter written out in the items path."""
    return PARAMETERS[name]


def _get(summary: str, operation: str, parameters: list[str], media: str,
         errors: tuple[int, ...] = (400,)) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": summary, "content": {
        media: {"schema": {"type": "object"}}, "text/html": {"schema": {"type": "string"}}}}}
    responses.update({str(status): _PROBLEM for status in errors})
    return {"get": {"summary": summary, "operationId": operation, "tags": ["OGC API – Features"],
                    "parameters": [_inline(name) for name in parameters], "responses": responses}}


def openapi_document(base: str) -> dict[str, Any]:
    """The definition, with ``base`` (the API's absolute URL) as its server."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "gis-service OGC API – Features", "version": "1.0.0",
                 "description": "Huế's communes, public field reports and hot spot cells."},
        "servers": [{"url": base}],
        "paths": {
            "/": _get("the landing page", "getLandingPage", ["f"], "application/json"),
            "/api": _get("this definition", "getApi", ["f"],
                         "application/vnd.oai.openapi+json;version=3.0"),
            "/conformance": _get("the conformance classes", "getConformance", ["f"],
                                 "application/json"),
            "/collections": _get("the collections", "getCollections", ["f"], "application/json"),
            "/collections/{collectionId}": _get(
                "one collection", "describeCollection", ["collectionId", "f"],
                "application/json", (400, 404)),
            "/collections/{collectionId}/items": _get(
                "a page of features", "getFeatures",
                ["collectionId", "f", "limit", "offset", "bbox", "bbox-crs", "datetime", "crs"],
                "application/geo+json", (400, 404)),
            "/collections/{collectionId}/items/{featureId}": _get(
                "one feature", "getFeature", ["collectionId", "featureId", "f", "crs"],
                "application/geo+json", (400, 404)),
        },
        "components": {"parameters": PARAMETERS},
    }
