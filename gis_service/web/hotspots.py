"""GET /v1/hotspots and /v1/hotspots/emerging: Gi* hot and cold spots of reports on H3 cells,
and their trends, as GeoJSON FeatureCollections (or CSV)."""

from __future__ import annotations

from typing import Any

from flask import Response

from gis_service.analysis import emerging_hotspots, hotspots
from gis_service.web.apidoc import ApiBlueprint, problem_doc
from gis_service.web.frames import GEOJSON, frame_response
from gis_service.web.schemas import (
    EmergingArgs,
    EmergingCollectionSchema,
    HotspotArgs,
    HotspotCollectionSchema,
    table_or,
)
from gis_service.web.services import connection

blp = ApiBlueprint("hotspots", __name__, url_prefix="/v1", description="Hot spots of reports")
# The frames' column names where the API's differ.
RENAMES = {"cell": "id", "cls": "class", "category": "class"}


def _options(args: dict[str, Any]) -> dict[str, Any]:
    return {"resolution": args["res"], "k": args["k"], "weights": args["weights"],
            "categories": args.get("category"), "channel": args.get("channel"),
            "status": args.get("status"), "start": args.get("from_"), "end": args.get("to")}


@blp.route("/hotspots")
@blp.arguments(HotspotArgs, location="query")
@blp.alt_response(200, success=True, description="a FeatureCollection of H3 cells: id, count, "
                  "z, p, p_fdr (Benjamini-Hochberg), class (hot_99 ... cold_90, not_significant)")
@blp.doc(**table_or(GEOJSON, HotspotCollectionSchema))
@blp.alt_response(400, **problem_doc("a parameter out of range, or an unknown category"))
def get_hotspots(args: dict[str, Any]) -> Response:
    """Getis-Ord Gi* of report counts on every H3 cell of the service area (zeros included)."""
    with connection() as conn:
        frame = hotspots(conn, **_options(args))
    return frame_response(frame, args["format"], name="hotspots", id_column="cell",
                          renames=RENAMES)


@blp.route("/hotspots/emerging")
@blp.arguments(EmergingArgs, location="query")
@blp.alt_response(200, success=True, description="a FeatureCollection of H3 cells: id, count, "
                  "class (new_hot ... historical_cold, no_pattern), the Mann-Kendall trend, "
                  "hot and cold periods, the final period's z and p_fdr")
@blp.doc(**table_or(GEOJSON, EmergingCollectionSchema))
@blp.alt_response(400, **problem_doc("bad parameters, or fewer than 10 periods"))
def get_emerging(args: dict[str, Any]) -> Response:
    """ESRI's emerging hot spot categories: Gi* per week or month, Mann-Kendall trend per cell."""
    with connection() as conn:
        frame = emerging_hotspots(conn, period=args["period"], **_options(args))
    return frame_response(frame, args["format"], name="emerging_hotspots", id_column="cell",
                          renames=RENAMES)
