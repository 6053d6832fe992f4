"""GET /healthz: is the database reachable and is a boundary generation active?"""

from __future__ import annotations

from flask import Response, jsonify
from flask_smorest import Blueprint

from gis_service.web.problems import PROBLEM_JSON, RETRY_AFTER_S
from gis_service.web.schemas import HealthSchema, LivenessSchema, ProblemSchema
from gis_service.web.services import connection, services

blp = Blueprint("health", __name__, description="Service health")


@blp.route("/healthz")
@blp.alt_response(200, schema=HealthSchema, success=True, description="healthy")
@blp.alt_response(503, schema=HealthSchema, description="no active generation (as JSON), or the "
                  "database is unreachable (a problem); both with Retry-After")
@blp.doc(responses={503: {"content": {PROBLEM_JSON: {"schema": ProblemSchema}}}})
def healthz() -> Response:
    report = services().health.get(connection)
    response = jsonify(report.to_dict())
    if not report.healthy:
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


@blp.route("/livez")
@blp.alt_response(200, schema=LivenessSchema, success=True, description="the process serves")
def livez() -> Response:
    """Liveness: the process answers HTTP; no database (for a supervisor's restart check, and the
    no-database baseline the benchmarks compare /v1/reverse with)."""
    return jsonify({"status": "ok"})
