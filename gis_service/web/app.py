"""The application factory: settings and engine are built here once, never at import time."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from sqlalchemy import Engine

from gis_service.config import Settings
from gis_service.db.engine import database_url, make_engine
from gis_service.geocode import IndexCache
from gis_service.geocode.streets import load_streets
from gis_service.web import cors, i18n, inbound, problems
from gis_service.web.apidoc import CommonErrors, status_responses
from gis_service.web.assets import swagger_assets
from gis_service.web.coverage import blp as coverage_blp
from gis_service.web.deliveries import blp as deliveries_blp
from gis_service.web.geocode import blp as geocode_blp
from gis_service.web.health import blp as health_blp
from gis_service.web.hotspots import blp as hotspots_blp
from gis_service.web.maps import blp as maps_blp
from gis_service.web.ogc import blp as ogc_blp
from gis_service.web.open311 import blp as open311_blp
from gis_service.web.reports import blp as reports_blp
from gis_service.web.reverse import blp as reverse_blp
from gis_service.web.schemas import ProblemSchema
from gis_service.web.scorecard_page import blp as scorecard_page_blp
from gis_service.web.scorecards import blp as scorecards_blp
from gis_service.web.services import EXTENSION_KEY, Services
from gis_service.web.tiles import blp as tiles_blp

API_VERSION = "1.0.0"

#: What /openapi.json and /docs say the service is (Vietnamese first, as every page).
SERVICE_DESCRIPTION = """\
**gis-service** — nền tảng không gian của hệ thống phản ánh hiện trường (PAHT) Thành phố Huế:
mỗi phản ánh được định vị và gắn vào đơn vị hành chính (phường, xã) trong PostGIS, để phân
công xử lý, tìm điểm nóng trên ô H3 và so sánh mức độ phục vụ giữa phường đô thị và xã nông thôn.

The spatial backbone of Huế's citizen field-report system: points and Vietnamese addresses
resolved to wards and communes of a dated boundary generation (`/v1/reverse`, `/v1/geocode`,
`/v1/geocode/batch`), field reports with routing, deadlines in working days and a public record
(`/v1/reports`, Open311 GeoReport v2 under `/open311/v2`), and analyses (`/v1/hotspots`,
`/v1/coverage`). Writes need an `X-API-Key`. Errors are RFC 9457 problem documents naming the
offending `field`: 400 for a request wrong as written (unknown parameters and body fields
included), 422 for one the service's data cannot act on. Timestamps are RFC 3339 in Huế time
(+07:00).
"""


class ProblemApi(Api):
    """flask-smorest's Api, with its JSON error bodies replaced by RFC 9457 problems, in the
    document as on the wire (see web.apidoc)."""

    ERROR_SCHEMA = ProblemSchema
    # No "default" response: each operation lists the statuses it answers.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error: Any) -> Any:
        return problems.from_http_exception(error)

    def _register_responses(self) -> None:
        # flask-smorest's hook registering a response per status (BAD_REQUEST, ...), which
        # @arguments and web.apidoc refer to: ours are problem+json.
        for name, response in status_responses().items():
            self.spec.components.response(name, response, lazy=True)


def _config(settings: Settings) -> dict[str, object]:
    return {
        "API_TITLE": "gis-service",
        "API_VERSION": API_VERSION,
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": "/assets/swagger-ui/",
        "MAX_CONTENT_LENGTH": settings.max_body_bytes,
        "JSON_SORT_KEYS": False,
    }


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> Flask:
    """Build the app. Tests pass their own engine; gunicorn workers build theirs."""
    settings = settings or Settings.from_env()
    app = Flask("gis_service")
    app.config.update(_config(settings))
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if engine is None:
        engine = make_engine(database_url(settings), settings, pool_size=settings.db_pool_size)
    app.extensions[EXTENSION_KEY] = Services(settings=settings, engine=engine,
                                             geocode_index=IndexCache(
                                                 streets=load_streets(settings.data_root)))

    api = ProblemApi(app, spec_kwargs={"info": {"description": SERVICE_DESCRIPTION},
                                       "extra_plugins": [CommonErrors()]})
    api.spec.components.security_scheme(
        "ApiKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"})
    for blueprint in (health_blp, reverse_blp, geocode_blp, reports_blp, open311_blp, hotspots_blp,
                      coverage_blp, deliveries_blp, scorecards_blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(swagger_assets)
    app.register_blueprint(maps_blp)
    app.register_blueprint(ogc_blp)
    app.register_blueprint(tiles_blp)
    app.register_blueprint(scorecard_page_blp)
    i18n.init_app(app)
    cors.register(app)
    app.before_request(inbound.check_query_and_path)
    problems.register(app)
    return app
