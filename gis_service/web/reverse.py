"""GET /v1/reverse: which commune, district and province a point lies in."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_smorest import Blueprint

from gis_service.coords import lonlat
from gis_service.reverse import commune_geojson, reverse_point
from gis_service.web.schemas import ProblemSchema, ReverseArgs, ReverseSchema
from gis_service.web.serialise import reverse_geojson, reverse_json
from gis_service.web.services import connection, services

blp = Blueprint("reverse", __name__, url_prefix="/v1", description="Reverse geocoding")


@blp.route("/reverse")
@blp.arguments(ReverseArgs, location="query")
@blp.alt_response(200, schema=ReverseSchema, success=True,
                  description="the units at the point; match=outside (200) with no units beyond "
                              "the snapping tolerance")
@blp.alt_response(400, schema=ProblemSchema, description="bad coordinates or parameters")
@blp.alt_response(404, schema=ProblemSchema, description="unknown generation, or none valid `at`")
def reverse(args: dict[str, Any]) -> Response:
    """Snap a point to the commune, district and province of a boundary generation."""
    point = lonlat(args["lon"], args["lat"])
    with connection() as conn:
        result = reverse_point(conn, point, generation=args.get("generation"), at=args.get("at"),
                               tolerance_m=services().settings.snap_tolerance_m)
        if args["format"] == "geojson":
            geometry = commune_geojson(conn, result.snap.commune) if result.snap.commune else None
            return jsonify(reverse_geojson(result, geometry))
    return jsonify(reverse_json(result))
