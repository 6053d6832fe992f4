"""Static assets served by the app itself, so every page works without internet access."""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint

# Swagger UI's built files ship inside the flask-swagger-ui wheel.
_SWAGGER_DIST = Path(flask_swagger_ui.__file__).parent / "dist"

swagger_assets = Blueprint(
    "swagger_assets", __name__, static_folder=str(_SWAGGER_DIST),
    static_url_path="/assets/swagger-ui",
)
