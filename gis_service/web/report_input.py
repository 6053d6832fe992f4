"""Request bodies of the report endpoints, turned into typed values or a 400 naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gis_service.coords import LonLat, lonlat
from gis_service.errors import InvalidInput
from gis_service.reports.intake import NewReport, Reporter

MAX_TEXT_CHARS = 10_000
MAX_URL_CHARS = 2_000


def _object(body: object, name: str = "body") -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidInput(f"{name} must be a JSON object", field=name)
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
    details = _object(value, "reporter")
    return Reporter(*(_text(details, key, where="reporter.") for key in ("name", "phone", "email")))


def new_report(body: object) -> NewReport:
    """Parse a POST /v1/reports body (see the OpenAPI document for its fields)."""
    fields = _object(body)
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
        on_vague=_text(fields, "on_vague"),
    )


@dataclass(frozen=True)
class PlaceHeld:
    """A PATCH body placing a held report: a point or a ward code, and a note."""

    point: LonLat | None
    commune: str | None
    note: str


def placing(body: object) -> PlaceHeld | None:
    """The PATCH body as a placement (``location`` or ``commune``), or None for a status change."""
    fields = _object(body)
    if "location" not in fields and "commune" not in fields:
        return None
    if "status" in fields:
        raise InvalidInput("place a report (location or commune) or change its status, not both",
                           field="status")
    point = None
    if "location" in fields:
        where = _object(fields["location"], "location")
        for name in ("lat", "lon"):
            value = where.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput(f"location.{name} must be a JSON number",
                                   field=f"location.{name}")
        point = lonlat(where["lon"], where["lat"], lon_field="location.lon",
                       lat_field="location.lat")
    return PlaceHeld(point, _text(fields, "commune"), _text(fields, "note") or "")


def status_change(body: object) -> tuple[str, str, str | None]:
    """A PATCH body: the new status, a note, and the original for duplicates."""
    fields = _object(body)
    status = _text(fields, "status", required=True) or ""
    return status, _text(fields, "note") or "", _text(fields, "duplicate_of")


def rating(body: object) -> int:
    value = _object(body).get("satisfaction")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidInput("satisfaction must be an integer from 1 to 5", field="satisfaction")
    return value
