"""/tiles: Mapbox Vector Tiles, their TileJSON documents and an index (gis_service.tiles).

A tile is sent gzipped when the client accepts it (its own strong ETag then, and ``Vary``),
with a short ``Cache-Control`` (the data change as reports come in) and a 304 when the
client's ``If-None-Match`` already names it.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from gis_service.tiles import service
from gis_service.tiles.cache import Tile
from gis_service.web.services import connection

blp = Blueprint("tiles", __name__, url_prefix="/tiles")
CACHE_CONTROL = "public, max-age=60"


def _base() -> str:
    return request.url_root.rstrip("/") + "/tiles"


def tile_response(tile: Tile) -> Response:
    """The tile, gzipped or not as the client accepts, or a 304 if it has it already."""
    gzipped = request.accept_encodings["gzip"] > 0
    body, etag = (tile.gzipped, tile.gzip_etag) if gzipped else (tile.raw, tile.etag)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    if request.if_none_match.contains(etag.strip('"')) or request.if_none_match.star_tag:
        return Response(status=304, headers=headers)
    return Response(body, mimetype=service.MVT, headers=headers)


@blp.get("/")
def index() -> Response:
    with connection() as conn:
        return jsonify(service.tile_index(conn, _base()))


@blp.get("/<layer>.json")
def tilejson(layer: str) -> Response:
    with connection() as conn:
        return jsonify(service.tilejson(conn, _base(), layer))


@blp.get("/<layer>/<int:z>/<int:x>/<int:y>.mvt")
def tile(layer: str, z: int, x: int, y: int) -> Response:
    with connection() as conn:
        return tile_response(service.get_tile(conn, layer, z, x, y))
