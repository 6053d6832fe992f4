"""Our errors as Open311 errors: a list of ``{code, description}`` with 400, 403 or 404.

The specification: "404 for resources that don't exist, 403 for errors because of wrong or
missing api_key and basically 400 for any other error". So a missing or invalid key (our
401) is 403, and an unknown category or a location outside Huế (our 422) is 400. A body too
large stays 413 and an unreachable database 503 with Retry-After: those are about the
transport, not the request, and so is 429 (a key over its rate limit, with Retry-After).
Descriptions name the parameter as Open311 clients sent it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gis_service.errors import GisError, TooManyRequests

RETRY_AFTER_S = 5
#: Our field names -> the Open311 parameter the client sent.
FIELD_NAMES = {
    "category": "service_code",
    "lon": "long",
    "address": "address_string",
    "media_urls": "media_url",
    "reporter.email": "email",
    "reporter.phone": "phone",
    "reporter.name": "first_name",
    "id": "service_request_id",
}
_KEPT = {403, 404, 413, 429, 503}


@dataclass(frozen=True)
class Open311Error:
    """One error response: its HTTP status, the body's ``{code, description}``, headers."""

    status: int
    description: str
    headers: tuple[tuple[str, str], ...] = ()

    def body(self) -> list[dict[str, object]]:
        return [{"code": self.status, "description": self.description}]


def open311_status(status: int) -> int:
    """The HTTP status Open311 expects for one of ours.

    >>> [open311_status(s) for s in (400, 401, 403, 404, 409, 413, 422, 503, 500)]
    [400, 403, 403, 404, 400, 413, 400, 503, 500]
    """
    if status == 401:
        return 403
    if status in _KEPT:
        return status
    return 500 if status >= 500 else 400


def from_gis_error(error: GisError) -> Open311Error:
    """``field: detail``, with the field renamed to the parameter the client sent."""
    field = FIELD_NAMES.get(error.field or "", error.field)
    description = f"{field}: {error.detail}" if field else error.detail
    status = open311_status(error.status)
    return Open311Error(status, description, _retry_after(error, status))


def _retry_after(error: GisError, status: int) -> tuple[tuple[str, str], ...]:
    if isinstance(error, TooManyRequests):
        return (("Retry-After", str(error.retry_after_s)),)
    return (("Retry-After", str(RETRY_AFTER_S)),) if status == 503 else ()


def from_http_status(status: int, description: str) -> Open311Error:
    """An error werkzeug raised (a body too large, a bad form) in Open311's form."""
    mapped = open311_status(status)
    headers = (("Retry-After", str(RETRY_AFTER_S)),) if mapped == 503 else ()
    return Open311Error(mapped, description, headers)


def database_unavailable() -> Open311Error:
    return Open311Error(503, "The database is unreachable; retry shortly.",
                        (("Retry-After", str(RETRY_AFTER_S)),))


def internal(request_id: str) -> Open311Error:
    """Fixed text and a request id to quote: the traceback goes to the log, never here."""
    return Open311Error(500, f"An unexpected error occurred; quote request id {request_id}.")
