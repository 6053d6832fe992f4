"""Request bodies of the report endpoints, turned into typed values or a 400 naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gis_service.coords import lonlat
from gis_service.errors import InvalidInput
from gis_service.reports.intake import NewReport, Reporter

MAX_TEXT_CHARS = 10_000
MAX_URL_CHARS = 2_000


#: The fields each body may hold; any other is a 400 naming it (the schemas say
#: ``additionalProperties: false``, and a misspelt field silently dropped loses what it held).
REPORT_FIELDS = frozenset({"category", "channel", "description", "lat", "lon", "location_source",
                           "address", "media_urls", "reporter"})
REPORTER_FIELDS = frozenset({"name", "phone", "email"})
STATUS_FIELDS = frozenset({"status", "note", "duplicate_of"})
RATING_FIELDS = frozenset({"satisfaction"})


def _object(body: object, name: str = "body", *, known: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidInput(f"{name} must be a JSON object", field=name)
    unknown = sorted(str(key) for key in body if key not in known)
    if unknown:
        where = "" if name == "body" else f"{name}."
        field = f"{where}{unknown[0]}"
        raise InvalidInput(f"{field} is not a field of this request "
                           f"(known: {', '.join(sorted(known))})", field=field)
    return body


def _text(body: Mapping[str, Any], name: str, *, required: bool = False,
          where: str = "") -> str | None:
    value = body.get(name)
    field = f"{where}{name}"
    if value is None:
        if required:
            raise InvalidInput(f"{field} is required", field=field)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    if "\x00" in value:
        raise InvalidInput(f"{field} must not contain NUL characters", field=field)
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidInput(f"{field} is longer than {MAX_TEXT_CHARS} characters", field=field)
    return value


def _media(body: Mapping[str, Any]) -> tuple[str, ...]:
    value = body.get("media_urls", [])
    if not isinstance(value, list) or not all(isinstance(url, str) for url in value):
        raise InvalidInput("media_urls must be a list of URLs", field="media_urls")
    for url in value:
        if not url.startswith(("https://", "http://")) or len(url) > MAX_URL_CHARS:
            raise InvalidInput("media_urls must be http(s) URLs", field="media_urls")
    return tuple(value)


def _reporter(body: Mapping[str, Any]) -> Reporter:
    value = body.get("reporter")
    if value is None:
        return Reporter()
    details = _object(value, "reporter", known=REPORTER_FIELDS)
    return Reporter(*(_text(details, key, where="reporter.") for key in ("name", "phone", "email")))


def new_report(body: object) -> NewReport:
    """Parse a POST /v1/reports body (see the OpenAPI document for its fields)."""
    fields = _object(body, known=REPORT_FIELDS)
    point = None
    if "lat" in fields or "lon" in fields:
        for name in ("lat", "lon"):
            value = fields.get(name)
            # JSON numbers only: "16.46" as a string is a client bug worth reporting.
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput(f"{name} must be a JSON number", field=name)
        point = lonlat(fields["lon"], fields["lat"])
    return NewReport(
        category=_text(fields, "category", required=True) or "",
        channel=_text(fields, "channel") or "app",
        description=_text(fields, "description") or "",
        point=point,
        location_source=_text(fields, "location_source") or "gps",
        address=_text(fields, "address"),
        media_urls=_media(fields),
        reporter=_reporter(fields),
    )


def status_change(body: object) -> tuple[str, str, str | None]:
    """A PATCH body: the new status, a note, and the original for duplicates."""
    fields = _object(body, known=STATUS_FIELDS)
    status = _text(fields, "status", required=True) or ""
    return status, _text(fields, "note") or "", _text(fields, "duplicate_of")


def rating(body: object) -> int:
    value = _object(body, known=RATING_FIELDS).get("satisfaction")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidInput("satisfaction must be an integer from 1 to 5", field="satisfaction")
    return value
