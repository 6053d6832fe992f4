"""Forward geocoding: Vietnamese address text to ranked administrative units with a point.

Everything runs on the in-memory :class:`~gis_service.geocode.index.GeocodeIndex`; no query
touches the database. Each result is one unit (a commune where the text names one, else a
district or the province) with its label point, the units around it in its own generation
and in the current one, and the words that matched.
"""

from __future__ import annotations

import math

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
from gis_service.geocode.results import GeocodeResult, chain_of, current_units, unit_ref
from gis_service.geocode.street_places import with_streets
from gis_service.geocode.streets import find_streets

#: Results beyond this many are never returned.
MAX_LIMIT = 50
# How sharply a competing reading's lower score stops mattering to a result's confidence:
# a rival 0.5 below takes ~12% off, an equal rival halves it.
RIVALRY = 4.0
# A name with nothing around it (no district, no province) could be any unit of that name.
ALONE = 0.9
# Results less confident than this are noise (a typo match on a word of the street).
MIN_CONFIDENCE = 0.05
# Scores closer than this are a tie: both places are returned as ambiguous.
TIE = 1e-6
_STREET_TRIM = " \t\r\n,;.-–—|/"
_FIELDS = ("commune", "district", "province")


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
    spans = find_streets(index.streets, tokens)
    readings = _readings(index, tokens, [(s.start, s.end) for s in spans if s.led])
    results = _results(index, text, tokens, readings, limit=limit, street_allowed=True)
    return with_streets(index, text, tokens, spans, results, limit=limit)


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


def _readings(index: GeocodeIndex, tokens: list[Token],
              streets: list[tuple[int, int]]) -> list[Reading]:
    """Exact names first; the typo-tolerant pass unless they explain the whole address."""
    exact = read_address(index, tokens, find_names(index, tokens, fuzzy=False),
                         street_spans=streets)
    if exact and _complete(exact[0], tokens):
        return exact
    return read_address(index, tokens, find_names(index, tokens, fuzzy=True),
                        street_spans=streets)


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
        rivals = [other for j, other in enumerate(chosen)
                  if places[j] != places[i] and _rivals(index, reading, other)]
        # A weaker reading of the same place (the 2019 ward behind a 2025 one) is discounted
        # by how much weaker it is.
        weaker = math.exp(-RIVALRY * (best_of_place[places[i]] - reading.score))
        alone = ALONE if len(reading.components) == 1 else 1.0
        rivalry = sum(math.exp(-RIVALRY * (reading.score - other.score)) for other in rivals)
        confidence = round(reading.quality * alone * weaker / (1.0 + rivalry), 3)
        if confidence >= MIN_CONFIDENCE:
            tied = any(_tied(index, reading, other) for other in rivals)
            results.append(_result(index, text, tokens, reading, confidence,
                                   street_allowed=street_allowed, ambiguous=tied))
    return results[:limit]


def exact_current(index: GeocodeIndex, reading: Reading) -> bool:
    """The reading's finest unit is a current unit, named exactly (its own name or a spelling
    variant, diacritics agreeing where typed, old or new tone placement alike)."""
    finest = reading.finest
    return finest.exact and finest.target > 0 and (
        index.units[finest.target].generation == index.current)


def _evidence(index: GeocodeIndex, reading: Reading) -> int:
    """2: an exact current name; 1: an exact name of an older unit; 0: anything less."""
    if exact_current(index, reading):
        return 2
    return 1 if reading.finest.exact else 0


def _rivals(index: GeocodeIndex, reading: Reading, other: Reading) -> bool:
    """Whether ``other`` (another place) competes with ``reading`` for the address.

    A reading is not in competition with one of weaker evidence that scores no better: the
    exact current "Phường Thuận Hóa" is the 2025 ward, not the 2019 Phường Thuận Hòa it
    resembles (nor, typed "Thuan Hoa", the older one it folds to), and an exact older name
    is not rivalled by a misspelt or differently-accented one. Weaker readings are still
    returned below, with the confidence their rivalry leaves them.
    """
    if _evidence(index, other) >= _evidence(index, reading):
        return True
    return other.score > reading.score + TIE


def _tied(index: GeocodeIndex, reading: Reading, other: Reading) -> bool:
    """Equally good both ways: neither reading outranks the other."""
    return (abs(other.score - reading.score) < TIE and _rivals(index, reading, other)
            and _rivals(index, other, reading))


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


def _span(text: str, tokens: list[Token], first: int, end: int) -> str:
    return text[tokens[first].start:tokens[end - 1].end]


def _street(text: str, tokens: list[Token], first: int) -> str | None:
    street = text[:tokens[first].start].strip().rstrip(_STREET_TRIM).strip()
    return street or None


def _result(index: GeocodeIndex, text: str, tokens: list[Token], reading: Reading,
            confidence: float, *, street_allowed: bool, ambiguous: bool) -> GeocodeResult:
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
        unit=unit_ref(unit),
        units=chain_of(index, unit.id),
        current=current_units(index, unit),
        predecessors=tuple(unit_ref(index.units[i]) for i in predecessors),
        matched=_span(text, tokens, first.first, last.end),
        matched_parts={c.level: _span(text, tokens, c.first, c.end) for c in reading.components},
        street=_street(text, tokens, first.first) if street_allowed else None,
        score=round(reading.score, 4),
        ambiguous=ambiguous,
    )
