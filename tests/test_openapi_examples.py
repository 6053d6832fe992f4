"""/openapi.json describes the service and its examples are true: each request example validates
against its own schema, and the report example is accepted when sent (issue 18)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient

from tests.conftest import ReportsDB


@pytest.fixture(scope="module")
def spec(app: Any) -> dict[str, Any]:
    return app.test_client().get("/openapi.json").get_json()


_METHODS = {"get", "put", "post", "patch", "delete"}


def _bodies(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            for media in operation.get("requestBody", {}).get("content", {}).values():
                found.append((f"{method.upper()} {path}", path, media))
    return found


def _resolved(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The schema with the document's components beside it, so $refs resolve."""
    return {**schema, "components": spec["components"]}


def test_the_description_says_what_the_service_is(spec: dict[str, Any]) -> None:
    description = spec["info"]["description"]
    assert "phản ánh hiện trường" in description and "field-report" in description
    assert "factory" not in description


def test_every_request_body_has_a_valid_example(spec: dict[str, Any]) -> None:
    bodies = _bodies(spec)
    assert len(bodies) >= 5
    for name, _, media in bodies:
        assert "example" in media, f"{name} has no example"
        jsonschema.validate(media["example"], _resolved(media["schema"], spec))


def test_the_report_example_is_accepted(client: FlaskClient, spec: dict[str, Any],
                                        reports_db: ReportsDB) -> None:
    example = spec["paths"]["/v1/reports"]["post"]["requestBody"]["content"][
        "application/json"]["example"]
    response = client.post("/v1/reports", json=example,
                           headers={"X-API-Key": reports_db.keys["client"]})
    assert response.status_code == 201, response.get_data(as_text=True)


def test_the_batch_example_is_answered(client: FlaskClient, spec: dict[str, Any]) -> None:
    example = spec["paths"]["/v1/geocode/batch"]["post"]["requestBody"]["content"][
        "application/json"]["example"]
    response = client.post("/v1/geocode/batch", json=example)
    assert response.status_code == 200
    assert all("error" not in outcome for outcome in response.get_json()["results"])
