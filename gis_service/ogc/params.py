"""Query parameters of the OGC API, read strictly: a typed value or a 400 naming the parameter.

Every parameter a request may carry is declared (the standard's, and each collection's own
property filters); any other is refused, as Features Part 1 permits and the house rule wants
(a misspelt ``bbbox`` silently ignored would return the whole collection).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gis_service.errors import InvalidInput
from gis_service.ogc.crs import Crs, parse_crs

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
#: Dates without a time are whole days in Huế (UTC+7), the days the reports are made in.
HUE = dt.timezone(dt.timedelta(hours=7))
OPEN = ("..", "")
#: What every items request may carry; collections add their property filters.
ITEM_PARAMETERS = ("f", "limit", "offset", "bbox", "bbox-crs", "datetime", "crs")
#: What a single feature's request may carry.
FEATURE_PARAMETERS = ("f", "crs")
#: The landing page, conformance, collections and the API document.
PAGE_PARAMETERS = ("f",)


@dataclass(frozen=True)
class Interval:
    """A closed time interval; ``None`` is an open end."""

    start: dt.datetime | None
    end: dt.datetime | None


@dataclass(frozen=True)
class ItemsQuery:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    #: In the bbox CRS's own axis order, as sent.
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: Crs = field(default_factory=lambda: parse_crs(None, "bbox-crs"))
    datetime: Interval | None = None
    crs: Crs = field(default_factory=lambda: parse_crs(None, "crs"))
    #: Property filters: name -> accepted values (any of them).
    properties: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    format: str = "json"

    def paging_key(self) -> tuple[object, ...]:
        """What selects the features, without the page (numberMatched is the same for all)."""
        return (self.bbox, self.bbox_crs.srid, self.bbox_crs.lat_first, self.datetime,
                tuple(sorted(self.properties.items())))


def refuse_unknown(args: Iterable[str], allowed: Iterable[str]) -> None:
    known = set(allowed)
    for name in args:
        if name not in known:
            raise InvalidInput(f"{name[:80]}: unknown query parameter; this resource accepts "
                               + ", ".join(sorted(known)), field=name[:80])


def _single(args: Mapping[str, str], getall: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = getall.get(name, ())
    if len(values) > 1:
        raise InvalidInput(f"{name}: give it once", field=name)
    return args.get(name)


def parse_int(raw: str | None, name: str, *, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw.strip(), 10)
    except ValueError:
        raise InvalidInput(f"{name}: {raw[:40]!r} is not an integer", field=name) from None
    if not low <= value <= high:
        raise InvalidInput(f"{name}: must be between {low} and {high}", field=name)
    return value


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"{name}: {text[:40]!r} is not a number", field=name) from None
    if not math.isfinite(value):
        raise InvalidInput(f"{name}: numbers must be finite", field=name)
    return value


def parse_bbox(raw: str | None, crs: Crs) -> tuple[float, float, float, float] | None:
    """Four numbers (or six, with heights, which are ignored): lower corner, then upper, in
    ``crs``'s axis order."""
    if raw is None:
        return None
    numbers = [_number(part, "bbox") for part in raw.split(",")]
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4:
        raise InvalidInput("bbox: give 4 numbers (or 6 with heights), comma-separated",
                           field="bbox")
    low_a, low_b, high_a, high_b = numbers
    if low_a > high_a or low_b > high_b:
        raise InvalidInput("bbox: the lower corner must come first", field="bbox")
    if crs.is_geographic:
        lats = (low_a, high_a) if crs.lat_first else (low_b, high_b)
        lons = (low_b, high_b) if crs.lat_first else (low_a, high_a)
        if any(abs(v) > 90 for v in lats) or any(abs(v) > 180 for v in lons):
            raise InvalidInput("bbox: latitudes lie within ±90, longitudes within ±180",
                               field="bbox")
    return (low_a, low_b, high_a, high_b)


def _instant(text: str, *, end: bool) -> dt.datetime:
    """An RFC 3339 date-time (with its offset), or a date: the start or end of that day in Huế."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time(0), HUE)
            return moment + dt.timedelta(days=1, microseconds=-1) if end else moment
        value = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidInput(f"datetime: {text[:60]!r} is not an RFC 3339 date or date-time",
                           field="datetime") from None
    if value.tzinfo is None:
        raise InvalidInput("datetime: give the offset (Z or +07:00)", field="datetime")
    return value


def parse_datetime(raw: str | None) -> Interval | None:
    """An instant, or an interval ``start/end`` whose ends may be open (``..`` or empty).

    >>> parse_datetime("2025-07-01/..").end is None
    True
    """
    if raw is None:
        return None
    parts = raw.strip().split("/")
    if len(parts) == 1:
        if parts[0] in OPEN:
            raise InvalidInput("datetime: an instant cannot be open", field="datetime")
        return Interval(_instant(parts[0], end=False), _instant(parts[0], end=True))
    if len(parts) != 2 or (parts[0] in OPEN and parts[1] in OPEN):
        raise InvalidInput("datetime: give an instant or start/end (one end may be '..')",
                           field="datetime")
    start = None if parts[0] in OPEN else _instant(parts[0], end=False)
    end = None if parts[1] in OPEN else _instant(parts[1], end=True)
    if start and end and start > end:
        raise InvalidInput("datetime: the start is after the end", field="datetime")
    return Interval(start, end)


def parse_format(raw: str | None, accept_html: bool) -> str:
    """``f`` (json, or html), else HTML when the client prefers it (a browser), else JSON."""
    if raw is None:
        return "html" if accept_html else "json"
    if raw not in ("json", "html"):
        raise InvalidInput("f: use json or html", field="f")
    return raw


def parse_values(raw: str | None, name: str, allowed: Sequence[str] | None) -> tuple[str, ...]:
    """Comma-separated values of a property filter, each one of ``allowed`` when given."""
    if raw is None:
        return ()
    values = tuple(value.strip() for value in raw.split(",") if value.strip())
    if not values:
        raise InvalidInput(f"{name}: give at least one value", field=name)
    unknown = [value for value in values if allowed is not None and value not in allowed]
    if unknown:
        raise InvalidInput(f"{name}: unknown value {unknown[0][:80]!r}; use "
                           + ", ".join(allowed or ()), field=name)
    return values


@dataclass(frozen=True)
class Args:
    """The request's query string: first values, and every value by name."""

    first: Mapping[str, str]
    every: Mapping[str, Sequence[str]]
    accept_html: bool = False

    def one(self, name: str) -> str | None:
        return _single(self.first, self.every, name)


def items_query(args: Args, filters: Mapping[str, Sequence[str] | None]) -> ItemsQuery:
    """The items request of a collection whose property filters are ``filters`` (name ->
    allowed values, ``None`` for any)."""
    refuse_unknown(args.every, (*ITEM_PARAMETERS, *filters))
    bbox_crs = parse_crs(args.one("bbox-crs"), "bbox-crs")
    properties = {name: parse_values(args.one(name), name, allowed)
                  for name, allowed in filters.items() if args.one(name) is not None}
    return ItemsQuery(
        limit=parse_int(args.one("limit"), "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT),
        offset=parse_int(args.one("offset"), "offset", default=0, low=0, high=10**9),
        bbox=parse_bbox(args.one("bbox"), bbox_crs), bbox_crs=bbox_crs,
        datetime=parse_datetime(args.one("datetime")),
        crs=parse_crs(args.one("crs"), "crs"), properties=properties,
        format=parse_format(args.one("f"), args.accept_html),
    )
