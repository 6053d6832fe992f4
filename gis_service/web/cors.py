"""Cross-origin requests: public reads for any page, writes only for the configured origins.

Public data (GET, HEAD) is public: any origin may read it, without credentials. Writes carry an
API key, so only the pages of origins listed in ``Settings.cors_write_origins`` may send them
from a browser; a preflight (OPTIONS) for a write from another origin gets no CORS headers,
which the browser takes as a refusal. Non-browser clients are unaffected (CORS binds browsers).
"""

from __future__ import annotations

from flask import Flask, Response, request

from gis_service.web.services import services

READ_METHODS = frozenset({"GET", "HEAD"})
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
ALLOWED_HEADERS = "Content-Type, X-API-Key, Idempotency-Key, Accept-Language"
EXPOSED_HEADERS = "Location, Retry-After, Idempotent-Replayed, ETag, Content-Crs"
PREFLIGHT_MAX_AGE_S = "600"


def _may(origin: str, method: str) -> bool:
    if method in READ_METHODS:
        return True
    return method in WRITE_METHODS and origin in services().settings.cors_write_origins


def _preflight() -> Response | None:
    """Answer an OPTIONS preflight before routing (the views know no OPTIONS)."""
    origin = request.headers.get("Origin")
    method = request.headers.get("Access-Control-Request-Method", "").upper()
    if request.method != "OPTIONS" or origin is None or not method:
        return None
    response = Response(status=204)
    if _may(origin, method):
        response.headers["Access-Control-Allow-Origin"] = "*" if method in READ_METHODS else origin
        response.headers["Access-Control-Allow-Methods"] = method
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE_S
        response.headers["Vary"] = "Origin"
    return response


def _annotate(response: Response) -> Response:
    origin = request.headers.get("Origin")
    if origin is None or request.method == "OPTIONS" or not _may(origin, request.method):
        return response
    if request.method in READ_METHODS:
        response.headers["Access-Control-Allow-Origin"] = "*"
    else:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


def register(app: Flask) -> None:
    app.before_request(_preflight)
    app.after_request(_annotate)
