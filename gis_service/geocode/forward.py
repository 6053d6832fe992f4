"""Forward geocoding: Vietnamese address text to ranked administrative units with a point.

Everything runs on the in-memory :class:`~gis_service.geocode.index.GeocodeIndex`; no query
touches the database. Each result is one unit (a commune where the text names one, else a
district or the province) with its label point, the units around it in its own generation
and in the current one, and the words that matched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gis_service.errors import InvalidInput
from gis_service.geocode.index import GeocodeIndex
from gis_service.geocode.normalise import (
    MAX_QUERY_CHARS,
    PREFIX_STARTS,
    Token,
    nfc,
    one_segment,
    tokenize,
)
from gis_service.geocode.parse import LEVEL_RANK, Reading, find_names, read_address
from gis_service.geocode.units import Unit

#: Results beyond this many are never returned.
MAX_LIMIT = 50
# How sharply a competing reading's lower score stops mattering to a result's confidence:
# a rival 0.5 below takes ~12% off, an equal rival halves it.
RIVALRY = 4.0
# A name with nothing around it (no district, no province) could be any unit of that name.
ALONE = 0.9
# Results less confident than this are noise (a typo match on a word of the street).
MIN_CONFIDENCE = 0.05
_STREET_TRIM = " \t\r\n,;.-–—|/"
_FIELDS = ("commune", "district", "province")


@dataclass(frozen=True, slots=True)
class UnitRef:
    """A unit as results show it."""

    id: int
    generation: str
    level: str
    code: str
    name: str
    unit_type: str
    approximate: bool

    @classmethod
    def of(cls, unit: Unit) -> UnitRef:
        return cls(unit.id, unit.generation, unit.level, unit.code, unit.full_name,
                   unit.unit_type, unit.approximate)

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "type": self.unit_type,
                "level": self.level, "generation": self.generation,
                "approximate": self.approximate}


@dataclass(frozen=True)
class GeocodeResult:
    """One candidate place for an address.

    ``lat``/``lon``: the unit's label point (inside it, approximate as a location).
    ``units``: the matched unit and its ancestors in ``generation``, keyed by level;
    ``current``: the same place in the current generation (an older commune's successor:
    the current unit holding most of its area); ``predecessors``: for a current commune, the
    older communes whose successor it is. ``matched`` is the input text that named the units
    (NFC), ``matched_parts`` the same per level; ``street`` is what came before, as typed.
    """

    lat: float
    lon: float
    precision: str
    confidence: float
    generation: str
    unit: UnitRef
    units: dict[str, UnitRef]
    current: dict[str, UnitRef]
    predecessors: tuple[UnitRef, ...]
    matched: str
    matched_parts: dict[str, str]
    street: str | None
    score: float = field(repr=False, default=0.0)

    def to_dict(self) -> dict[str, object]:
        """The JSON form the HTTP API returns."""
        return {
            "lat": self.lat, "lon": self.lon, "precision": self.precision,
            "confidence": self.confidence, "generation": self.generation,
            "unit": self.unit.to_dict(),
            "units": {level: ref.to_dict() for level, ref in self.units.items()},
            "current": {level: ref.to_dict() for level, ref in self.current.items()},
            "predecessors": [ref.to_dict() for ref in self.predecessors],
            "matched": self.matched, "matched_parts": self.matched_parts, "street": self.street,
        }


def _check_text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text", field=name)
    text = nfc(value)
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"{name} is longer than {MAX_QUERY_CHARS} characters", field=name)
    return text


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_LIMIT}", field="limit")


def geocode(index: GeocodeIndex, q: str, *, limit: int = 5) -> list[GeocodeResult]:
    """Ranked places for a free-text Vietnamese address; ``[]`` when nothing matches.

    >>> [r.unit.name for r in geocode(index, "12 Lê Lợi, P. Vĩnh Ninh, TP Huế")]  # doctest: +SKIP
    ['Phường Vĩnh Ninh', ...]

    Raises :class:`InvalidInput` (field ``q``) for empty text or more than 500 characters.
    """
    _check_limit(limit)
    text = _check_text(q, "q")
    if not text.strip():
        raise InvalidInput("q must not be empty", field="q")
    tokens = tokenize(text)
    readings = _readings(index, tokens)
    return _results(index, text, tokens, readings, limit=limit, street_allowed=True)


def geocode_structured(
    index: GeocodeIndex,
    *,
    commune: str | None = None,
    district: str | None = None,
    province: str | None = None,
    limit: int = 5,
) -> list[GeocodeResult]:
    """Ranked places for an address given part by part; ``[]`` when nothing matches.

    Each part is matched only against units of its own level (``Thành phố Huế`` as a district
    is the 2019 city, as a province the 2025 one).

    >>> geocode_structured(index, commune="Vĩ Dạ", district="TP Huế")  # doctest: +SKIP
    """
    _check_limit(limit)
    given = {"commune": commune, "district": district, "province": province}
    parts = [(level, _check_text(value, level)) for level, value in given.items()
             if value is not None]
    parts = [(level, text) for level, text in parts if text.strip()]
    if not parts:
        raise InvalidInput("give at least one of commune, district, province", field="commune")
    # One segment per part: a comma inside a part must not start another.
    text = "\n".join(one_segment(value) for _, value in parts)
    tokens = tokenize(text)
    levels = {number: level for number, (level, _) in enumerate(parts)}
    matches = find_names(index, tokens, fuzzy=True)
    readings = read_address(index, tokens, matches, street_allowed=False,
                            levels_by_segment=levels)
    return _results(index, text, tokens, readings, limit=limit, street_allowed=False)


def _readings(index: GeocodeIndex, tokens: list[Token]) -> list[Reading]:
    """Exact names first; the typo-tolerant pass unless they explain the whole address."""
    exact = read_address(index, tokens, find_names(index, tokens, fuzzy=False))
    if exact and _complete(exact[0], tokens):
        return exact
    return read_address(index, tokens, find_names(index, tokens, fuzzy=True))


def _complete(reading: Reading, tokens: list[Token]) -> bool:
    """A commune with nothing unexplained after it, and no prefix word left in the street
    (in "Xã mhân Mây - Lăng Cô" the exact "Lăng Cô" leaves "Xã mhân Mây" as the street)."""
    street = tokens[:reading.finest.first]
    return (reading.unexplained == 0 and reading.finest.level == "commune"
            and not any(token.key in PREFIX_STARTS for token in street))


def _results(index: GeocodeIndex, text: str, tokens: list[Token], readings: list[Reading],
             *, limit: int, street_allowed: bool) -> list[GeocodeResult]:
    chosen = _distinct(index, readings)
    places = [_place(index, r.finest.target) for r in chosen]
    best_of_place: dict[int, float] = {}
    for place, reading in zip(places, chosen, strict=True):
        best_of_place.setdefault(place, reading.score)
    results = []
    for i, reading in enumerate(chosen):
        # Rivals are readings of other places; a weaker reading of the same place (the
        # 2019 ward behind a 2025 one) is discounted by how much weaker it is.
        rivals = sum(
            math.exp(-RIVALRY * (reading.score - other.score))
            for j, other in enumerate(chosen) if places[j] != places[i]
        )
        weaker = math.exp(-RIVALRY * (best_of_place[places[i]] - reading.score))
        alone = ALONE if len(reading.components) == 1 else 1.0
        confidence = round(reading.quality * alone * weaker / (1.0 + rivals), 3)
        if confidence >= MIN_CONFIDENCE:
            results.append(_result(index, text, tokens, reading, confidence,
                                   street_allowed=street_allowed))
    return results[:limit]


def _distinct(index: GeocodeIndex, readings: list[Reading]) -> list[Reading]:
    """The best reading per unit, best first, without units containing a better result."""
    best: dict[int, Reading] = {}
    for reading in readings:
        target = reading.finest.target
        if target > 0 and target not in best:
            best[target] = reading
    ranked = sorted(best.values(), key=lambda r: _rank_key(index, r))
    kept: list[Reading] = []
    for reading in ranked:
        if not any(_contains(index, reading.finest.target, k.finest.target) for k in kept):
            kept.append(reading)
    return kept


def _rank_key(index: GeocodeIndex, reading: Reading) -> tuple[float, bool, int, str]:
    unit = index.units[reading.finest.target]
    return (-round(reading.score, 6), unit.generation != index.current,
            LEVEL_RANK[unit.level], unit.code)


def _contains(index: GeocodeIndex, outer: int, inner: int) -> bool:
    """A district or province result adds nothing below a better result inside it."""
    if index.units[outer].level == "commune":
        return False
    return index.containment(inner, outer) > 0


def _place(index: GeocodeIndex, unit_id: int) -> int:
    """What identifies a place across generations: its current unit when it has one."""
    current = index.current_of(unit_id)
    return current if current is not None else unit_id


def _chain(index: GeocodeIndex, unit_id: int) -> dict[str, UnitRef]:
    ids = (unit_id, *index.ancestors(unit_id))
    return {index.units[i].level: UnitRef.of(index.units[i]) for i in reversed(ids)}


def _current_units(index: GeocodeIndex, unit: Unit) -> dict[str, UnitRef]:
    current = index.current_of(unit.id)
    if current is not None:
        return _chain(index, current)
    province = next((i for i in index.ancestors(unit.id)
                     if index.units[i].level == "province"), None)
    current_province = index.current_of(province) if province is not None else None
    return _chain(index, current_province) if current_province is not None else {}


def _span(text: str, tokens: list[Token], first: int, end: int) -> str:
    return text[tokens[first].start:tokens[end - 1].end]


def _street(text: str, tokens: list[Token], first: int) -> str | None:
    street = text[:tokens[first].start].strip().rstrip(_STREET_TRIM).strip()
    return street or None


def _result(index: GeocodeIndex, text: str, tokens: list[Token], reading: Reading,
            confidence: float, *, street_allowed: bool) -> GeocodeResult:
    unit = index.units[reading.finest.target]
    first, last = reading.components[0], reading.components[-1]
    is_current = unit.generation == index.current
    predecessors = index.predecessors.get(unit.id, ()) if is_current else ()
    return GeocodeResult(
        lat=unit.lat,
        lon=unit.lon,
        precision=unit.level,
        confidence=confidence,
        generation=unit.generation,
        unit=UnitRef.of(unit),
        units=_chain(index, unit.id),
        current=_current_units(index, unit),
        predecessors=tuple(UnitRef.of(index.units[i]) for i in predecessors),
        matched=_span(text, tokens, first.first, last.end),
        matched_parts={c.level: _span(text, tokens, c.first, c.end) for c in reading.components},
        street=_street(text, tokens, first.first) if street_allowed else None,
        score=round(reading.score, 4),
    )
