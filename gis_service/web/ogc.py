"""/ogc: OGC API – Features. Each view is a one-line call into :mod:`gis_service.ogc.api`.

Its OpenAPI definition is its own document (/ogc/api), not a part of /openapi.json: the
standard fixes its paths, parameters and responses, and GIS clients read it there.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from gis_service.ogc import api
from gis_service.ogc.params import Args
from gis_service.web.services import connection

blp = Blueprint("ogc", __name__, url_prefix="/ogc")


def _args() -> Args:
    return Args(request.args, request.args.to_dict(flat=False),
                accept_html=api.accepts_html(list(request.accept_mimetypes)))


def _base() -> str:
    return request.url_root.rstrip("/") + "/ogc"


def _send(found: api.OgcResponse) -> Response:
    charset = "; charset=utf-8" if found.media_type == api.HTML else ""
    return Response(found.body, content_type=found.media_type + charset, headers=found.headers)


@blp.get("")
@blp.get("/")
def landing() -> Response:
    return _send(api.landing_page(_base(), _args()))


@blp.get("/api")
def definition() -> Response:
    return _send(api.api_document(_base(), _args()))


@blp.get("/conformance")
def conformance() -> Response:
    return _send(api.conformance(_base(), _args()))


@blp.get("/collections")
def collections() -> Response:
    with connection() as conn:
        return _send(api.collections(conn, _base(), _args()))


@blp.get("/collections/<collection_id>")
def collection(collection_id: str) -> Response:
    with connection() as conn:
        return _send(api.collection(conn, _base(), collection_id, _args()))


@blp.get("/collections/<collection_id>/items")
def items(collection_id: str) -> Response:
    with connection() as conn:
        return _send(api.items(conn, _base(), collection_id, _args()))


@blp.get("/collections/<collection_id>/items/<path:feature_id>")
def item(collection_id: str, feature_id: str) -> Response:
    with connection() as conn:
        return _send(api.item(conn, _base(), collection_id, feature_id, _args()))
