"""GET /healthz: is the database reachable and is a boundary generation active?"""

from __future__ import annotations

from flask import Response, jsonify
from flask_smorest import Blueprint

from gis_service.health import check
from gis_service.web.problems import RETRY_AFTER_S
from gis_service.web.schemas import HealthSchema
from gis_service.web.services import connection

blp = Blueprint("health", __name__, description="Service health")


@blp.route("/healthz")
@blp.alt_response(200, schema=HealthSchema, success=True, description="healthy")
@blp.alt_response(503, schema=HealthSchema, description="database down or no active generation")
def healthz() -> Response:
    with connection() as conn:
        report = check(conn)
    response = jsonify(report.to_dict())
    if not report.healthy:
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response
