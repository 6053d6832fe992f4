"""The error hierarchy: each error carries an HTTP status, a stable code and a safe message.

Domain code raises these; the web layer renders them as RFC 9457 problem documents and the
CLI prints them. ``detail`` must never contain a traceback or echo SQL.
"""

from __future__ import annotations


class GisError(Exception):
    """Base class; ``field`` names the offending input when there is one."""

    status = 500
    code = "internal_error"
    title = "Internal error"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field

    def members(self) -> dict[str, object]:
        """Extra members of the problem document (none unless a subclass says)."""
        return {}


class InvalidInput(GisError):
    status = 400
    code = "invalid_input"
    title = "Invalid input"


class NotFound(GisError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(GisError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Unprocessable(GisError):
    status = 422
    code = "unprocessable"
    title = "Unprocessable input"


class DataError(GisError):
    """A data file or manifest cannot be loaded as it stands (CLI-facing)."""

    status = 422
    code = "data_error"
    title = "Data error"


class ServiceUnavailable(GisError):
    status = 503
    code = "service_unavailable"
    title = "Service unavailable"


class TooLarge(GisError):
    status = 413
    code = "too_large"
    title = "Payload too large"


class Unauthorized(GisError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(GisError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class TooManyRequests(GisError):
    status = 429
    code = "too_many_requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, field="api_key")
        self.retry_after_s = retry_after_s


class LocationTooVague(Unprocessable):
    """The address places the report no better than a district (or an uncertain ward): the
    caller should ask for a pin. ``candidates`` are the geocoder's places, as JSON."""

    code = "location_too_vague"
    title = "Location too vague"

    def __init__(self, detail: str, *, field: str | None = None,
                 candidates: list[dict[str, object]] | None = None) -> None:
        super().__init__(detail, field=field)
        self.candidates = candidates or []

    def members(self) -> dict[str, object]:
        return {"candidates": self.candidates}


class DeliveryFailed(GisError):
    """A notification could not be delivered this time (the worker retries it); the message
    goes to the agency's delivery log, so it names the cause, never a secret."""

    status = 502
    code = "delivery_failed"
    title = "Delivery failed"
