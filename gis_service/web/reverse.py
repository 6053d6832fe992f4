"""GET /v1/reverse: which commune, district and province a point lies in."""

from __future__ import annotations

from typing import Any

from flask import Response, json, jsonify

from gis_service.coords import lonlat
from gis_service.spatial.reverse import commune_geojson, reverse_from_memory, reverse_point
from gis_service.web.apidoc import ApiBlueprint, problem_doc
from gis_service.web.frames import GEOJSON
from gis_service.web.schemas import ReverseArgs, ReverseCollectionSchema, ReverseSchema
from gis_service.web.serialise import reverse_geojson, reverse_json
from gis_service.web.services import connection, services

blp = ApiBlueprint("reverse", __name__, url_prefix="/v1", description="Reverse geocoding")


@blp.route("/reverse")
# One schema instance for every request: webargs would build (deep-copy) one per request
# from the class, a third of the parsing's cost on this, the hottest route.
@blp.arguments(ReverseArgs(), location="query")
@blp.alt_response(200, schema=ReverseSchema, success=True,
                  description="the units at the point; match=outside (200) with no units beyond "
                              "the snapping tolerance; format=geojson: a FeatureCollection")
@blp.doc(responses={200: {"content": {GEOJSON: {"schema": ReverseCollectionSchema}}}})
@blp.alt_response(400, **problem_doc("bad coordinates or parameters (named)"))
@blp.alt_response(404, **problem_doc("unknown generation, or none valid `at`"))
def reverse(args: dict[str, Any]) -> Response:
    """Snap a point to the commune, district and province of a boundary generation."""
    point = lonlat(args["lon"], args["lat"])
    found = services()
    options: dict[str, Any] = {"generation": args.get("generation"), "at": args.get("at"),
                               "tolerance_m": found.settings.snap_tolerance_m}
    if args["format"] != "geojson":  # most points: no connection, no round trip
        known = reverse_from_memory(found.boundary_revision, point, **options)
        if known is not None:
            return jsonify(reverse_json(known))
    with connection() as conn:
        result = reverse_point(conn, point, **options)
        if args["format"] == "geojson":
            geometry = commune_geojson(conn, result.snap.commune) if result.snap.commune else None
            return Response(json.dumps(reverse_geojson(result, geometry)), mimetype=GEOJSON)
    return jsonify(reverse_json(result))
