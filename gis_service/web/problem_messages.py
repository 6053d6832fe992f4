"""The problem documents' titles and generic messages in the request's language.

Titles are fixed per error class (gis_service.errors) or per HTTP status (werkzeug's names),
so each is marked for translation here once; a title without a translation is sent as it is.
Generic details (an unreachable database, an unexpected error, werkzeug's stock description
of a status) are translated too; the field-specific details raised by the domain stay in
English for now.
"""

from __future__ import annotations

from flask_babel import gettext, lazy_gettext
from werkzeug.exceptions import HTTPException

# Keyed by the English text the error classes and werkzeug use.
_TITLES = {
    "Internal error": lazy_gettext("Internal error"),
    "Invalid input": lazy_gettext("Invalid input"),
    "Not found": lazy_gettext("Not found"),
    "Conflict": lazy_gettext("Conflict"),
    "Unprocessable input": lazy_gettext("Unprocessable input"),
    "Data error": lazy_gettext("Data error"),
    "Service unavailable": lazy_gettext("Service unavailable"),
    "Payload too large": lazy_gettext("Payload too large"),
    "Bad Request": lazy_gettext("Bad Request"),
    "Unauthorized": lazy_gettext("Unauthorized"),
    "Forbidden": lazy_gettext("Forbidden"),
    "Not Found": lazy_gettext("Not Found"),
    "Method Not Allowed": lazy_gettext("Method Not Allowed"),
    "Not Acceptable": lazy_gettext("Not Acceptable"),
    "Request Entity Too Large": lazy_gettext("Request Entity Too Large"),
    "Unsupported Media Type": lazy_gettext("Unsupported Media Type"),
    "Unprocessable Entity": lazy_gettext("Unprocessable Entity"),
    "Too Many Requests": lazy_gettext("Too Many Requests"),
    "Internal Server Error": lazy_gettext("Internal Server Error"),
    "Service Unavailable": lazy_gettext("Service Unavailable"),
}
# werkzeug's stock descriptions, by status, replaced only when the exception kept its default.
_STOCK_DETAILS = {
    400: lazy_gettext("The request could not be understood."),
    401: lazy_gettext("This request needs valid credentials."),
    403: lazy_gettext("You do not have permission for this request."),
    404: lazy_gettext("There is nothing at this URL."),
    405: lazy_gettext("This URL does not accept that method."),
    406: lazy_gettext("This resource is not available in the format asked for."),
    413: lazy_gettext("The request body is too large."),
    415: lazy_gettext("The request body's media type is not supported."),
    429: lazy_gettext("Too many requests; retry later."),
}


def title(english: str) -> str:
    """The title in the request's language (unchanged if it has no translation)."""
    translated = _TITLES.get(english)
    return english if translated is None else str(translated)


def http_detail(error: HTTPException) -> str | None:
    """werkzeug's stock description of the status, translated; None for a custom one."""
    stock = _STOCK_DETAILS.get(error.code or 0)
    if stock is None or error.description != type(error).description:
        return None
    return str(stock)


def database_unreachable() -> str:
    return str(gettext("The database is unreachable; retry shortly."))


def unexpected(request_id: str) -> str:
    return str(gettext("An unexpected error occurred; quote request id %(request_id)s.",
                       request_id=request_id))


__all__ = ["database_unreachable", "http_detail", "title", "unexpected"]
