"""How the OpenAPI document describes errors: as the problem+json answers the app really gives.

Every operation lists each status it can answer (there is no ``default`` response, which would
make any status "documented"); 500 and 503 are added to every operation here, the others are
listed by the views. Request-argument errors are 400 problems naming the field: webargs' 422 is
not used, in the document or on the wire.
"""

from __future__ import annotations

import http
from typing import Any

import flask_smorest
from apispec import BasePlugin
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser

from gis_service.web.problems import PROBLEM_JSON
from gis_service.web.schemas import ProblemSchema

#: Routes that answer errors in their own format (Open311 error lists), documented by their views.
OWN_ERROR_FORMAT = ("/open311/",)
_COMMON = {500: "INTERNAL_SERVER_ERROR", 503: "SERVICE_UNAVAILABLE"}
_DESCRIPTIONS = {
    500: "an unexpected error: fixed text and a request id to quote (never a traceback)",
    503: "the database is unreachable: retry after Retry-After seconds",
}


class _Parser(FlaskParser):
    """400 for any violation, and unknown query parameters are violations: a caller who types
    ``resolution=10`` for ``res`` must hear so, not get the default silently."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION = {  # noqa: RUF012  # webargs declares it an instance dict
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": RAISE, "querystring": RAISE}


class ApiBlueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint whose ``@arguments`` refuse bad input with 400 (not 422)."""

    ARGUMENTS_PARSER = _Parser()


def problem_doc(description: str) -> dict[str, Any]:
    """``alt_response`` keyword arguments for a problem+json answer.

    >>> problem_doc("bad coordinates")["content_type"]
    'application/problem+json'
    """
    return {"schema": ProblemSchema, "description": description, "content_type": PROBLEM_JSON}


def problem_response(description: str) -> dict[str, Any]:
    """An OpenAPI response object whose body is a problem document."""
    return {"description": description, "content": {PROBLEM_JSON: {"schema": ProblemSchema}}}


def status_responses() -> dict[str, dict[str, Any]]:
    """A problem response per HTTP error status, by name (``BAD_REQUEST``), for components."""
    return {status.name: problem_response(_DESCRIPTIONS.get(status, status.phrase))
            for status in http.HTTPStatus if status >= 400}


class CommonErrors(BasePlugin):
    """Adds 500 and 503 (problem+json) to every operation outside :data:`OWN_ERROR_FORMAT`."""

    def operation_helper(self, path: str | None = None,
                         operations: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if path is None or path.startswith(OWN_ERROR_FORMAT):
            return
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            for status, name in _COMMON.items():
                if status not in responses and str(status) not in responses:
                    responses[str(status)] = name
