"""Open311 GeoReport v2 under ``/open311/v2``: thin views over :mod:`gis_service.open311`.

Errors on these routes are Open311 error lists, not problem+json: ``[{"code": 400,
"description": "lat: ..."}]`` in JSON, ``<errors><error><code/><description/></error></errors>``
in XML, with 400, 403 (missing or invalid ``api_key``) or 404.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from flask import Response, request
from flask_smorest import Blueprint
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, NotFound

from gis_service import open311
from gis_service.errors import GisError, InvalidInput
from gis_service.open311 import errors, params, render, schema, submit
from gis_service.web import problems
from gis_service.web.access import presented_key
from gis_service.web.services import connection, services, transaction

DESCRIPTION = (
    "Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): our report categories are "
    "the services, our reports the service requests. Every route answers in JSON or XML by "
    "its extension. Errors on these routes use the Open311 error format (a list of {code, "
    "description}; XML <errors><error>), not problem+json: 400 for a bad request, 403 for a "
    "missing or invalid api_key, 404 for an unknown service, request or token. Reporters' "
    "contact details are stored but never appear here."
)
blp = Blueprint("open311", __name__, url_prefix="/open311/v2", description=DESCRIPTION)
FMT = "<any(json, xml):fmt>"
FORM_TYPES = ("", "application/x-www-form-urlencoded")
log = logging.getLogger(__name__)


def _content(json_schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": json_schema}, "text/xml": {"schema": {"type": "string"}}}


def _responses(ok: dict[str, Any], *codes: int, status: int = 200) -> dict[str, Any]:
    # Documented one by one, as Open311 error lists. Any route answers 404 for an unknown format.
    failed = {str(code): {"description": "an Open311 error list", "content": _content(schema.ERRORS)}
              for code in sorted({400, 404, *codes, 500, 503})}
    return {"responses": {str(status): {"description": "OK", "content": _content(ok)}, **failed}}


def _respond(root: str, value: Any, fmt: str, status: int = 200) -> Response:
    body, content_type = render.render(root, value, fmt)
    return Response(body, status=status, content_type=content_type)


def _query() -> dict[str, str]:
    return params.single_values(params.decode_pairs(request.query_string))


@blp.before_request
def _our_jurisdiction() -> None:
    """Every operation takes jurisdiction_id; one naming another jurisdiction is refused."""
    params.check_jurisdiction(request.args)


def _from_browser() -> bool:
    """A browser's form post names its page (the web portal); apps send neither header."""
    return "Origin" in request.headers or "Referer" in request.headers


def _form() -> dict[str, str]:
    """The posted form and the query string together, each parameter once."""
    if request.mimetype == "multipart/form-data":
        pairs = list(request.form.items(multi=True))
        # werkzeug decodes multipart fields with errors="replace": refuse what may have been a
        # bad byte rather than store it as U+FFFD (url-encoded forms are decoded strictly).
        if any("\ufffd" in key + value for key, value in pairs):
            raise InvalidInput("the body is not valid UTF-8", field="body")
    elif request.mimetype in FORM_TYPES:
        pairs = params.decode_pairs(request.get_data(cache=False), where="body")
    else:
        raise InvalidInput("send the form as application/x-www-form-urlencoded", field="body")
    values = params.single_values([*params.decode_pairs(request.query_string), *pairs])
    params.check_jurisdiction(values)
    return values


@blp.route(f"/discovery.{FMT}")
@blp.doc(**_responses(schema.DISCOVERY))
def discovery(fmt: str) -> Response:
    """Service discovery: this endpoint, its specification and formats."""
    endpoint = request.host_url.rstrip("/") + (blp.url_prefix or "")
    return _respond("discovery", open311.discovery(endpoint), fmt)


@blp.route(f"/services.{FMT}")
@blp.doc(**_responses(schema.SERVICES))
def list_services(fmt: str) -> Response:
    """The service list: one service per report category."""
    with connection() as conn:
        return _respond("services", open311.list_services(conn), fmt)


@blp.route(f"/services/<string:service_code>.{FMT}")
@blp.doc(**_responses(schema.SERVICE_DEFINITION, 404))
def service_definition(service_code: str, fmt: str) -> Response:
    """A service definition: no service has attributes, so the list is empty."""
    with connection() as conn:
        return _respond("service_definition", open311.service_definition(conn, service_code), fmt)


@blp.route(f"/requests.{FMT}", methods=["GET"])
@blp.doc(**_responses(schema.SERVICE_REQUESTS), parameters=[
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"},
     "description": text} for name, text in (
        ("service_request_id", "comma list of ids; overrides the other filters"),
        ("service_code", "comma list of service codes"),
        ("start_date", "w3 date-time with a time zone; default 90 days before end_date"),
        ("end_date", "w3 date-time with a time zone; default now (at most 90 days span)"),
        ("status", "open, closed or open,closed"),
        ("page", "our extension: the page of page_size requests, from 1 (beyond the first 1000)"),
        ("page_size", "our extension: 1 to 1000 (default 1000)"))])
def list_requests(fmt: str) -> Response:
    """Service requests, newest first: the last 90 days by default, 1000 a page (``page`` and
    ``page_size``, our extension, reach the rest)."""
    query = params.requests_query(_query(), dt.datetime.now(dt.UTC))
    with connection() as conn:
        return _respond("service_requests", open311.find_requests(conn, query), fmt)


@blp.route(f"/requests.{FMT}", methods=["POST"])
@blp.doc(**_responses(schema.CREATED_LIST, 403, 404, 413, 429, status=201), requestBody={
    "required": True,
    "content": {"application/x-www-form-urlencoded": {"schema": schema.REQUEST_FORM,
                                                      "example": schema.REQUEST_EXAMPLE}}})
def create_request(fmt: str) -> Response:
    """Submit a request (form-encoded, with api_key); the answer is its service_request_id."""
    fields = _form()
    with transaction() as conn:
        principal = submit.authorise(conn, fields.get("api_key") or presented_key(),
                                     engine=services().engine)
        outcome = submit.submit_request(
            conn, fields, principal=principal,
            idempotency_key=request.headers.get("Idempotency-Key"),
            index=services().geocode_index.get(conn),
            tolerance_m=services().settings.snap_tolerance_m,
            channel=params.channel_of(fields, from_browser=_from_browser()),
            min_confidence=services().settings.min_routing_confidence)
        submit.remember_device(conn, fields, principal, outcome.body["service_request_id"])
    response = _respond("service_requests", [outcome.body], fmt, status=outcome.status_code)
    response.headers["Location"] = f"{blp.url_prefix}/requests/{outcome.body['service_request_id']}.{fmt}"
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@blp.route(f"/requests/<string:service_request_id>.{FMT}")
@blp.doc(**_responses(schema.ONE_REQUEST, 404))
def get_request(service_request_id: str, fmt: str) -> Response:
    """One service request (a list of one, as the specification has it)."""
    with connection() as conn:
        return _respond("service_requests", [open311.get_request(conn, service_request_id)], fmt)


@blp.route(f"/tokens/<string:token>.{FMT}")
@blp.doc(**_responses(schema.TOKENS, 404))
def token(token: str, fmt: str) -> Response:
    """A token's request: requests are created while the client waits, so POST returns the id
    itself and never a token; asked about an id as a token, we answer with that id."""
    with connection() as conn:
        return _respond("service_requests", [open311.request_for_token(conn, token)], fmt)


def _error(error: errors.Open311Error) -> Response:
    fmt = (request.view_args or {}).get("fmt")
    response = _respond("errors", error.body(), fmt if fmt in render.FORMATS else "xml",
                        status=error.status)
    response.headers.update(dict(error.headers))
    return response


@blp.errorhandler(GisError)
def _gis_error(error: GisError) -> Response:
    return _error(errors.from_gis_error(error))


@blp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return _error(errors.from_http_status(error.code or 500, error.description or str(error.name)))


@blp.app_errorhandler(NotFound)
def _no_such_url(error: NotFound) -> Response:
    """A URL under /open311/v2 that matches no route (an unknown format, say) answers in the
    Open311 error format too; every other 404 is a problem."""
    if request.url_rule is None and request.path.startswith(f"{blp.url_prefix}/"):
        return _error(errors.from_http_status(404, "no such Open311 resource or format"))
    return problems.from_http_exception(error)


def _database_down(error: Exception) -> bool:
    return isinstance(error, PoolTimeout | OperationalError) or (
        isinstance(error, DBAPIError) and bool(error.connection_invalidated))


@blp.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    if _database_down(error):
        log.warning("database unavailable: %s", error)
        return _error(errors.database_unavailable())
    request_id = uuid.uuid4().hex[:12]
    log.exception("unhandled error, request id %s", request_id, exc_info=error)
    return _error(errors.internal(request_id))
