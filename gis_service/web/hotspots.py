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
            "measure": args["measure"], "inference": args["inference"],
            "min_count": args["min_count"], "permutations": args["permutations"],
            "seed": args["seed"], "categories": args.get("category"),
            "channel": args.get("channel"), "status": args.get("status"),
            "start": args.get("from_"), "end": args.get("to")}


@blp.route("/hotspots")
# unknown=None: the schema's own RAISE applies (webargs' default ignores unknown query keys).
@blp.arguments(HotspotArgs, location="query", unknown=None)
@blp.alt_response(200, success=True, description="a FeatureCollection of H3 cells: id, count, "
                  "expected, nbhd_count, nbhd_expected, ratio, z, p, p_fdr (Benjamini-Hochberg), "
                  "tested, class (hot_99 ... cold_90, not_significant); parameters say which "
                  "scale, measure and inference were used and why")
@blp.doc(**table_or(GEOJSON, HotspotCollectionSchema))
@blp.alt_response(400, **problem_doc("a parameter out of range or unknown, or an unknown "
                                     "category"))
@blp.alt_response(404, **problem_doc("measure=excess without census population loaded"))
def get_hotspots(args: dict[str, Any]) -> Response:
    """Hot and cold spots of reports on the H3 cells of the study area (zeros included):
    excess over residents by default, tested so that sparse counts do not pass for clusters."""
    with connection() as conn:
        frame = hotspots(conn, **_options(args))
    return frame_response(frame, args["format"], name="hotspots", id_column="cell",
                          renames=RENAMES)


@blp.route("/hotspots/emerging")
@blp.arguments(EmergingArgs, location="query", unknown=None)
@blp.alt_response(200, success=True, description="a FeatureCollection of H3 cells: id, count, "
                  "class (new_hot ... historical_cold, no_pattern), the Mann-Kendall trend, "
                  "hot and cold periods, the final period's z and p_fdr")
@blp.doc(**table_or(GEOJSON, EmergingCollectionSchema))
@blp.alt_response(400, **problem_doc("bad or unknown parameters, or fewer than 10 periods"))
@blp.alt_response(404, **problem_doc("measure=excess without census population loaded"))
def get_emerging(args: dict[str, Any]) -> Response:
    """ESRI's emerging hot spot categories: each week or month tested as /v1/hotspots tests
    the range, then a Mann-Kendall trend per cell."""
    with connection() as conn:
        frame = emerging_hotspots(conn, period=args["period"], **_options(args))
    return frame_response(frame, args["format"], name="emerging_hotspots", id_column="cell",
                          renames=RENAMES)
