"""POST requests: a form stored as one report, completely or not at all, exactly once.

The report goes through the same intake as ``POST /v1/reports`` (placement, snapping, routing,
deadline, events, the private contact) inside the caller's transaction, by way of
:func:`~gis_service.reports.submission.submit_once`: with an ``Idempotency-Key`` header a
retried post replays the first answer and creates nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from sqlalchemy import Connection, Engine, select

from gis_service.auth import Principal, authenticate, require_role
from gis_service.db.schema import report
from gis_service.errors import InvalidInput, NotFound, Unauthorized
from gis_service.geocode import GeocodeIndex
from gis_service.open311.params import new_report
from gis_service.open311.services import find_category, service_notice
from gis_service.ratelimit import count_request
from gis_service.reports.categories import Category
from gis_service.reports.idempotency import request_fingerprint
from gis_service.reports.submission import Submission, submit_once


def authorise(conn: Connection, presented: str | None, *, engine: Engine) -> Principal:
    """The client behind ``api_key``: missing, wrong, revoked or not a client key is refused,
    and the request counts against the key's rate limit (``engine``: counted apart from the
    caller's transaction, so refused requests count too)."""
    if not presented:
        raise Unauthorized("an API key is required: send it as the api_key parameter",
                           field="api_key")
    principal = authenticate(conn, presented)
    count_request(engine, principal)
    require_role(principal, "client")
    return principal


def fingerprint(params: Mapping[str, str]) -> str:
    """The same form has the same fingerprint whatever its order; the key is not part of it,
    and the ``open311`` wrapper keeps it apart from any ``/v1/reports`` body."""
    return request_fingerprint({"open311": {k: v for k, v in params.items() if k != "api_key"}})


def _created(conn: Connection, report_id: int, category: Category) -> dict[str, Any]:
    public_id = conn.execute(select(report.c.public_id).where(report.c.id == report_id)).scalar_one()
    return {"service_request_id": public_id, "service_notice": service_notice(category)}


def submit_request(conn: Connection, params: Mapping[str, str], *, principal: Principal,
                   idempotency_key: str | None, index: GeocodeIndex,
                   tolerance_m: float, channel: str = "app") -> Submission:
    """Store the posted request; its body is ``{service_request_id, service_notice}``.

    An unknown ``service_code`` is a 400 naming it (as the spec says for POST; GET of an
    unknown service's definition stays 404); a bad location or description is a 400/422.

    >>> with engine.begin() as conn:  # doctest: +SKIP
    ...     submit_request(conn, {"service_code": "roads", "lat": "16.4779", "long": "107.611"},
    ...                    principal=client, idempotency_key=None, index=index,
    ...                    tolerance_m=2000).body
    {'service_request_id': 'PA-7K3M9Q2XHD', 'service_notice': 'Handled within 30 working days ...'}
    """
    new = new_report(params, channel=channel)
    try:
        category = find_category(conn, new.category)
    except NotFound as error:
        raise InvalidInput(error.detail, field="service_code") from None
    return submit_once(
        conn, new, principal=principal, idempotency_key=idempotency_key,
        fingerprint=fingerprint(params), index=index, tolerance_m=tolerance_m,
        render=lambda c, report_id: _created(c, report_id, category),
        created_status=HTTPStatus.CREATED)
