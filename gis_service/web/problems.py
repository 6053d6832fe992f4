"""RFC 9457 problem documents for every error the app can produce.

One table maps exceptions to responses: our GisError hierarchy, werkzeug's HTTP exceptions,
webargs' validation errors (400 naming the field), an unreachable database (503 with
Retry-After) and anything unexpected (500 with fixed text and a request id; the traceback goes
to the log, never to the client).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, json, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import BadRequest, HTTPException, UnprocessableEntity

from gis_service.errors import GisError
from gis_service.web import problem_messages as messages

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_S = 5
log = logging.getLogger(__name__)


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    code: str,
    field: str | None = None,
    invalid_params: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    members: Mapping[str, object] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": messages.title(title),
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.path if request else None,
    }
    if field is not None:
        body["field"] = field
        body["invalid_params"] = invalid_params or [{"name": field, "reason": detail}]
    body.update(members or {})
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def from_gis_error(error: GisError) -> Response:
    retry_after = getattr(error, "retry_after_s", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return problem(error.status, error.title, error.detail, code=error.code, field=error.field,
                   headers=headers, members=error.members())


def _first_messages(messages: Mapping[str, Any]) -> list[dict[str, str]]:
    """Flatten webargs' {location: {field: [messages]}} into RFC 9457 invalid_params."""
    params: list[dict[str, str]] = []
    for location_messages in messages.values():
        items = location_messages.items() if isinstance(location_messages, Mapping) else []
        for name, reasons in items:
            reason = reasons[0] if isinstance(reasons, list) and reasons else str(reasons)
            params.append({"name": str(name), "reason": str(reason)})
    return params


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None)  # webargs' abort() attaches its messages here
    if isinstance(error, BadRequest | UnprocessableEntity) and isinstance(data, Mapping):
        # webargs' schema violations (400 through web.apidoc's parser, 422 by default): 400.
        params = _first_messages(data.get("messages", {}))
        if params:
            first = params[0]
            detail = f"{first['name']}: {first['reason']}"
            return problem(400, "Invalid input", detail, code="invalid_input",
                           field=first["name"], invalid_params=params)
    title = error.name or "Error"
    detail = messages.http_detail(error) or error.description or title
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    code = title.lower().replace(" ", "_")
    return problem(status, title, detail, code=code, headers=headers)


def _reason(error: Exception) -> str:
    """The driver's one-line reason, without the statement (an outage logs one per request)."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


def database_unavailable(error: Exception) -> Response:
    log.warning("database unavailable: %s", _reason(error))
    return problem(
        503, "Service unavailable", messages.database_unreachable(),
        code="database_unavailable", headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _is_connection_failure(error: DBAPIError) -> bool:
    return isinstance(error, OperationalError) or bool(error.connection_invalidated)


def unexpected(error: Exception) -> Response:
    if isinstance(error, DBAPIError) and _is_connection_failure(error):
        return database_unavailable(error)
    request_id = uuid.uuid4().hex[:12]
    log.exception("unhandled error, request id %s", request_id, exc_info=error)
    return problem(500, "Internal error", messages.unexpected(request_id), code="internal_error")


def register(app: Flask) -> None:
    app.register_error_handler(GisError, from_gis_error)
    app.register_error_handler(HTTPException, from_http_exception)
    app.register_error_handler(PoolTimeout, database_unavailable)
    app.register_error_handler(Exception, unexpected)
