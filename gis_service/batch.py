"""Batch geocoding: up to 10,000 items, forward and reverse mixed, answered in order.

A bad item gets its own error and the others are still answered; reverse items all go through
one set-based reverse query. Only a malformed body as a whole is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection

from gis_service.coords import LonLat, lonlat
from gis_service.errors import GisError, InvalidInput, TooLarge
from gis_service.geocode import GeocodeIndex, GeocodeResult, geocode
from gis_service.spatial.reverse import ReverseResult, reverse_points

MAX_ITEMS = 10_000
MAX_ID_CHARS = 200
ItemId = str | int


#: What a batch body and each item may hold; anything else is named as an error.
BODY_FIELDS = frozenset({"items", "generation", "at"})
ITEM_FIELDS = frozenset({"id", "q", "lat", "lon"})


@dataclass(frozen=True)
class BatchOutcome:
    """One item's answer: ``reverse`` or ``forward`` results, or the item's ``error``.

    ``position`` is the item's index in the request; ``id`` the caller's own, when it gave one
    (items without an id are answered by position).
    """

    position: int
    id: ItemId | None
    kind: str | None
    reverse: ReverseResult | None = None
    forward: list[GeocodeResult] | None = None
    error: GisError | None = None


def _unknown(fields: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(str(key) for key in fields if key not in known)
    if unknown:
        field = f"{where}{unknown[0]}"
        raise InvalidInput(f"{field} is not a field of a batch request "
                           f"(known: {', '.join(sorted(known))})", field=field)


def _items(body: object) -> Sequence[object]:
    if not isinstance(body, Mapping):
        raise InvalidInput("the body must be a JSON object with an 'items' list", field="items")
    _unknown(body, BODY_FIELDS, "")
    items = body.get("items")
    if not isinstance(items, list):
        raise InvalidInput("'items' must be a list", field="items")
    if len(items) > MAX_ITEMS:
        raise TooLarge(f"at most {MAX_ITEMS} items per batch, got {len(items)}", field="items")
    return items


def _date(body: Mapping[str, Any], name: str) -> dt.date | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{name} must be a date (YYYY-MM-DD)", field=name) from None


def _item_id(item: Mapping[str, Any], position: int) -> ItemId | None:
    if "id" not in item:
        return None
    value = item.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput(f"items[{position}].id must be a string or an integer",
                           field=f"items[{position}].id")
    if isinstance(value, str) and len(value) > MAX_ID_CHARS:
        raise InvalidInput(f"items[{position}].id is longer than {MAX_ID_CHARS} characters",
                           field=f"items[{position}].id")
    return value


def _parse(item: object, position: int) -> tuple[ItemId | None, str | LonLat]:
    """The item's id and its question: a text (forward) or a point (reverse)."""
    where = f"items[{position}]"
    if not isinstance(item, Mapping):
        raise InvalidInput(f"{where} must be an object", field=where)
    _unknown(item, ITEM_FIELDS, f"{where}.")
    item_id = _item_id(item, position)
    has_point = "lat" in item or "lon" in item
    if ("q" in item) == has_point:
        raise InvalidInput(f"{where} needs either q or lat and lon", field=where)
    if has_point:
        for name in ("lat", "lon"):
            value = item.get(name)
            # JSON numbers only, as POST /v1/reports: "16.46" as text is a client bug to report.
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput(f"{where}.{name} must be a JSON number",
                                   field=f"{where}.{name}")
        return item_id, lonlat(item.get("lon"), item.get("lat"),
                               lon_field=f"{where}.lon", lat_field=f"{where}.lat")
    text = item["q"]
    if not isinstance(text, str):
        raise InvalidInput(f"{where}.q must be text", field=f"{where}.q")
    return item_id, text


def _forward(index: GeocodeIndex, item_id: ItemId | None, text: str, position: int
             ) -> BatchOutcome:
    try:
        return BatchOutcome(position, item_id, "forward", forward=geocode(index, text))
    except InvalidInput as error:
        return BatchOutcome(position, item_id, "forward",
                            error=InvalidInput(error.detail, field=f"items[{position}].q"))


def run_batch(conn: Connection, index: GeocodeIndex, body: object, *,
              tolerance_m: float) -> list[BatchOutcome]:
    """Answer every item of a batch body, in order, each with its result or its error."""
    items = _items(body)
    options = body if isinstance(body, Mapping) else {}
    generation = options.get("generation")
    if generation is not None and not isinstance(generation, str):
        raise InvalidInput("generation must be text", field="generation")
    at = _date(options, "at")

    outcomes: list[BatchOutcome | None] = []
    reverse_at: list[tuple[int, ItemId | None, LonLat]] = []
    for position, item in enumerate(items):
        try:
            item_id, question = _parse(item, position)
        except GisError as error:
            raw = item.get("id") if isinstance(item, Mapping) else None
            outcomes.append(BatchOutcome(position, raw if isinstance(raw, str | int) else None,
                                         None, error=error))
            continue
        if isinstance(question, LonLat):
            reverse_at.append((position, item_id, question))
            outcomes.append(None)
        else:
            outcomes.append(_forward(index, item_id, question, position))

    answers = reverse_points(conn, [point for _, _, point in reverse_at], generation=generation,
                             at=at, tolerance_m=tolerance_m) if reverse_at else []
    for (position, item_id, _), answer in zip(reverse_at, answers, strict=True):
        outcomes[position] = BatchOutcome(position, item_id, "reverse", reverse=answer)
    # Every None was a reverse item's place, and every reverse item was answered above.
    return cast(list[BatchOutcome], outcomes)
