"""/openapi.json describes the service and its examples are true: the document is valid OpenAPI
3.0, every operation, parameter and property (request or response, however deeply nested) says
what it is, every example anywhere validates against the schema beside it, and the report and
batch examples are accepted when sent (issue 18)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate as validate_openapi

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


def _schemas(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every schema object of the document, by where it is: components, parameters, bodies."""
    roots: list[tuple[str, Any]] = list(spec["components"]["schemas"].items())
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            name = f"{method.upper()} {path}"
            roots += [(f"{name} ?{p['name']}", p.get("schema")) for p in operation.get("parameters", [])]
            bodies = [operation.get("requestBody", {}), *operation.get("responses", {}).values()]
            roots += [(name, media.get("schema")) for body in bodies if isinstance(body, dict)
                      for media in body.get("content", {}).values()]
    found: list[tuple[str, dict[str, Any]]] = []
    for where, schema in roots:
        _collect(schema, where, found)
    return found


def _collect(schema: Any, where: str, found: list[tuple[str, dict[str, Any]]]) -> None:
    if not isinstance(schema, dict):
        return
    found.append((where, schema))
    for name, child in schema.get("properties", {}).items():
        _collect(child, f"{where}.{name}", found)
    for key in ("items", "additionalProperties", "not"):
        _collect(schema.get(key), f"{where}[]", found)
    for key in ("allOf", "anyOf", "oneOf"):
        for child in schema.get(key, []):
            _collect(child, where, found)


def _examples(spec: dict[str, Any]) -> list[tuple[str, Any, dict[str, Any]]]:
    """(where, example, its schema) for every example: of a schema, a parameter or a body."""
    found = [(where, schema["example"], {k: v for k, v in schema.items() if k != "example"})
             for where, schema in _schemas(spec) if "example" in schema]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            found += [(f"{method.upper()} {path} ?{p['name']}", p["example"], p["schema"])
                      for p in operation.get("parameters", []) if "example" in p]
    found += [(name, media["example"], media["schema"]) for name, _, media in _bodies(spec)
              if "example" in media]
    return found


def test_the_document_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate_openapi(spec)


def test_every_property_says_what_it_is(spec: dict[str, Any]) -> None:
    schemas = _schemas(spec)
    assert len(schemas) > 400 and any(w == "GeocodeResult.confidence" for w, _ in schemas)
    missing = [f"{where}.{name}" for where, schema in schemas
               for name, child in schema.get("properties", {}).items()
               if "description" not in child]
    assert missing == []


def test_every_operation_and_parameter_says_what_it_is(spec: dict[str, Any]) -> None:
    missing = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            name = f"{method.upper()} {path}"
            missing += [name] if not operation.get("summary") else []
            missing += [f"{name} ?{p['name']}" for p in operation.get("parameters", [])
                        if "$ref" not in p and not p.get("description")]
    missing += [tag["name"] for tag in spec["tags"] if not tag.get("description")]
    assert missing == []


def test_every_example_validates(spec: dict[str, Any]) -> None:
    examples = _examples(spec)
    assert len(examples) >= 15
    for where, example, schema in examples:
        try:
            jsonschema.validate(example, _resolved(schema, spec))
        except jsonschema.ValidationError as error:
            raise AssertionError(f"{where}: {error.message}") from error


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
