"""Query strings and form posts turned into typed values, or a 400 naming the parameter.

Parameters are decoded strictly (invalid UTF-8 is an error, not a replacement character),
each may appear once (two ``lat`` values are ambiguous, so a 400 naming ``lat``), and an empty
value counts as absent ("a null parameter should be treated as equivalent to a non-declared
parameter"). Nothing here touches Flask or the database.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl

from gis_service.coords import LonLat, lonlat
from gis_service.errors import InvalidInput, NotFound
from gis_service.open311.service_requests import MAX_REQUESTS, MAX_SPAN, RequestQuery
from gis_service.reports.calendar import TZ
from gis_service.reports.intake import NewReport, Reporter

MAX_FIELDS = 100
MAX_VALUE_CHARS = 10_000
MAX_URL_CHARS = 2_000
MAX_ID_CHARS = 64
STATUSES = ("open", "closed")
#: The one jurisdiction this endpoint serves; a request naming another is refused (404, as the
#: GeoReport v2 spec has it for a jurisdiction_id "not found").
JURISDICTION_ID = "hue.gov.vn"
#: Open311 clients are apps and portals; the hotline is ours alone. ``channel`` (an extension
#: parameter) says which; without it a browser's form post (Origin or Referer) is the web portal.
OPEN311_CHANNELS = ("app", "web")
# "+07:00" sent unencoded in a query string arrives as " 07:00": put the plus back.
_SPACED_OFFSET = re.compile(r"^(\S+T[\d:.]+) (\d\d:?\d\d)$")


def decode_pairs(raw: bytes | str, *, where: str = "query") -> list[tuple[str, str]]:
    """``a=1&b=2`` as pairs, decoded as UTF-8 strictly; at most :data:`MAX_FIELDS` of them.

    >>> decode_pairs(b"lat=16.47&description=r%C3%A1c+th%E1%BA%A3i")
    [('lat', '16.47'), ('description', 'rác thải')]
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False, encoding="utf-8",
                         errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise InvalidInput(f"the {where} is not valid UTF-8", field=where) from None
    except ValueError:
        raise InvalidInput(f"the {where} has more than {MAX_FIELDS} parameters",
                           field=where) from None


def single_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Each parameter once, without NUL characters or huge values; empty values dropped.

    >>> single_values([("lat", "16.4"), ("long", "")])
    {'lat': '16.4'}
    >>> single_values([("lat", "16.4"), ("lat", "16.5")])
    Traceback (most recent call last):
    gis_service.errors.InvalidInput: lat was given 2 times; send each parameter once
    """
    pairs = list(pairs)
    for key, count in Counter(key for key, _ in pairs).items():
        if count > 1:
            raise InvalidInput(f"{key[:80]} was given {count} times; send each parameter once",
                               field=key[:80])
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise InvalidInput(f"{key[:80]!r} must not contain NUL characters", field=key[:80])
        if len(value) > MAX_VALUE_CHARS:
            raise InvalidInput(f"{key[:80]} is longer than {MAX_VALUE_CHARS} characters",
                               field=key[:80])
    return {key: value for key, value in pairs if value.strip()}


def _comma_list(params: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in params.get(name, "").split(",")
                               if part.strip()))


def w3_datetime(value: str, name: str) -> dt.datetime:
    """A w3 date-time with its time zone; a bare date means midnight in Huế.

    >>> w3_datetime("2025-01-01T00:00:00Z", "start_date").isoformat()
    '2025-01-01T00:00:00+00:00'
    >>> w3_datetime("2025-01-01", "start_date").isoformat()
    '2025-01-01T00:00:00+07:00'
    """
    text = _SPACED_OFFSET.sub(r"\1+\2", value.strip())
    try:
        if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), TZ)
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a w3 date-time such as 2025-01-01T00:00:00Z, "
                           f"not {value[:40]!r}", field=name) from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{name} needs a time zone (Z or +07:00): {value[:40]!r}", field=name)
    return parsed


def _window(params: Mapping[str, str], now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """start_date..end_date, defaulting to 90 days before/after the one given, or the last 90."""
    start = w3_datetime(params["start_date"], "start_date") if "start_date" in params else None
    end = w3_datetime(params["end_date"], "end_date") if "end_date" in params else None
    if start is None:
        end = end or now
        start = end - MAX_SPAN
    elif end is None:
        end = start + MAX_SPAN
    if end < start:
        raise InvalidInput("end_date is before start_date", field="end_date")
    if end - start > MAX_SPAN:
        raise InvalidInput(f"start_date to end_date may span at most {MAX_SPAN.days} days",
                           field="end_date")
    return start, end


def requests_query(params: Mapping[str, str], now: dt.datetime) -> RequestQuery:
    """GET requests' filters (``now`` anchors the default window of the last 90 days).

    >>> now = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)
    >>> requests_query({"status": "open,closed", "service_code": "roads"}, now).statuses
    ('open', 'closed')
    """
    ids = _comma_list(params, "service_request_id")
    if len(ids) > MAX_REQUESTS or any(len(one) > MAX_ID_CHARS for one in ids):
        raise InvalidInput(f"service_request_id takes at most {MAX_REQUESTS} ids",
                           field="service_request_id")
    statuses = _comma_list(params, "status")
    unknown = [status for status in statuses if status not in STATUSES]
    if unknown:
        raise InvalidInput(f"status must be open, closed or both, not {unknown[0][:40]!r}",
                           field="status")
    start, end = _window(params, now)
    return RequestQuery(start=start, end=end, service_request_ids=ids,
                        service_codes=_comma_list(params, "service_code"), statuses=statuses)


def _point(params: Mapping[str, str]) -> LonLat | None:
    has_lat, has_long = "lat" in params, "long" in params
    if has_lat != has_long:
        missing = "long" if has_lat else "lat"
        raise InvalidInput("lat and long go together: both or neither", field=missing)
    if not has_lat:
        return None
    return lonlat(params["long"], params["lat"], lon_field="long", lat_field="lat")


def _media_url(params: Mapping[str, str]) -> tuple[str, ...]:
    url = params.get("media_url", "").strip()
    if not url:
        return ()
    if not url.startswith(("https://", "http://")) or len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"media_url must be an http(s) URL of at most {MAX_URL_CHARS} "
                           "characters", field="media_url")
    return (url,)


def _reporter(params: Mapping[str, str]) -> Reporter:
    name = " ".join(params[key].strip() for key in ("first_name", "last_name") if key in params)
    return Reporter(name=name or None, phone=params.get("phone"), email=params.get("email"))


def check_jurisdiction(params: Mapping[str, str]) -> None:
    """Refuse a jurisdiction_id other than ours (absent is fine: there is only one)."""
    given = params.get("jurisdiction_id")
    if given is not None and given.strip().lower() != JURISDICTION_ID:
        raise NotFound(f"this endpoint serves only jurisdiction {JURISDICTION_ID!r}",
                       field="jurisdiction_id")


def channel_of(params: Mapping[str, str], *, from_browser: bool) -> str:
    """The submission channel: the ``channel`` parameter, else web for a browser's post."""
    given = params.get("channel")
    if given is None:
        return "web" if from_browser else "app"
    if given not in OPEN311_CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(OPEN311_CHANNELS)}",
                           field="channel")
    return given


def new_report(params: Mapping[str, str], *, channel: str = "app") -> NewReport:
    """A POST requests form as a new report: service_code, and lat/long or address_string.

    The reporter's email, names and phone become the report's private contact. Parameters we
    do not use (device_id, account_id, attribute[...]) are ignored.
    """
    code = params.get("service_code")
    if code is None:
        raise InvalidInput("service_code is required", field="service_code")
    point = _point(params)
    address = params.get("address_string")
    if point is None and address is None:
        if "address_id" in params:
            raise InvalidInput("address_id is not supported here: send lat and long, or "
                               "address_string", field="address_id")
        raise InvalidInput("a location is required: lat and long, or address_string",
                           field="lat")
    return NewReport(
        category=code.strip(), channel=channel, description=params.get("description", ""),
        point=point,
        location_source="gps", address=address, media_urls=_media_url(params),
        reporter=_reporter(params),
    )
