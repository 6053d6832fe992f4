"""Write the ``openapi`` domain's template from the English document the app generates:
``python -m gis_service.web.apidoc_template`` (see :mod:`gis_service.web.apidoc_language`).
It builds the app without reaching the database: generating the document needs none."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine

from gis_service.config import Settings
from gis_service.web import create_app
from gis_service.web.apidoc_language import TEMPLATE, write_template


def english_document() -> dict[str, Any]:
    """/openapi.json in English, from an app whose engine never connects."""
    never_connected = create_engine("postgresql+psycopg://template@localhost:1/template")
    app = create_app(Settings.from_env(), engine=never_connected)
    document: dict[str, Any] = app.test_client().get(
        "/openapi.json", headers={"Accept-Language": "en"}).get_json()
    return document


if __name__ == "__main__":
    print(f"{write_template(english_document())} texts written to {TEMPLATE}")
