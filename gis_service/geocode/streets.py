"""Street names of the province, by pre-2021 district, to read the street part of an address.

The list (``raw/thien0291+vietnam_dataset/data/TTH.json`` under the data root, 606 names) has
no coordinates and does not say which ward a street runs through. So it is used for two
things only: to keep a street's words from being read as a ward ("12 Kim Long" is a house on
Kim Long street, not the ward of that name), and to say which district a street implies when
the address names no ward. A street never makes a result finer than a district.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from gis_service.geocode.normalise import Token, fold_key

#: Where the list sits under ``Settings.data_root``.
STREETS_FILE = Path("raw/thien0291+vietnam_dataset/data/TTH.json")
# Names shorter than this (folded) are numbers or initials ("10", "2"): too easily a house
# number or a word of something else.
MIN_KEY_CHARS = 4
MAX_STREET_WORDS = 6
#: Words written in front of a street name: house numbers aside, these say a street follows.
STREET_WORDS = frozenset({"duong", "pho", "kiet", "hem", "ngo", "so", "ngach", "d"})


@dataclass(frozen=True, slots=True)
class Street:
    """A street name as listed, and the districts (type, name) that list it."""

    name: str
    districts: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class StreetSpan:
    """Tokens ``start:end`` spell ``street``; ``led``: a house number or a street word is
    written just before it, so the words are surely the street."""

    start: int
    end: int
    street: Street
    led: bool


@dataclass(frozen=True)
class StreetList:
    """Folded street name -> :class:`Street`. Empty without the data file."""

    by_key: dict[str, Street] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.by_key)


def parse_streets(document: object) -> StreetList:
    """The street list from TTH.json's structure (``district[].street[]`` names).

    >>> doc = {"district": [{"name": "Huế", "pre": "Thành phố", "street": ["Lê Lợi", "10"]}]}
    >>> parse_streets(doc).by_key["leloi"]
    Street(name='Lê Lợi', districts=(('Thành phố', 'Huế'),))
    """
    districts: dict[str, list[tuple[str, str]]] = defaultdict(list)
    names: dict[str, str] = {}
    for district in _list(document, "district"):
        where = (str(district.get("pre", "")), str(district.get("name", "")))
        names_listed = district.get("street")
        for name in names_listed if isinstance(names_listed, list) else ():
            key = fold_key(str(name))
            if len(key) < MIN_KEY_CHARS or key.isdigit() or where in districts[key]:
                continue
            names.setdefault(key, str(name))
            districts[key].append(where)
    return StreetList({key: Street(names[key], tuple(districts[key])) for key in names})


def _list(document: object, key: str) -> list[dict[str, object]]:
    items = document.get(key, []) if isinstance(document, dict) else []
    return [item for item in items if isinstance(item, dict)]


def load_streets(data_root: Path) -> StreetList:
    """The list under ``data_root``, or an empty one when the file is absent (a laptop)."""
    path = data_root / STREETS_FILE
    if not path.is_file():
        return StreetList()
    return parse_streets(json.loads(path.read_text(encoding="utf-8")))


def find_streets(streets: StreetList, tokens: list[Token]) -> list[StreetSpan]:
    """The longest street name starting at each token (within one segment), left to right."""
    spans: list[StreetSpan] = []
    position = 0
    while position < len(tokens) and streets.by_key:
        found = _longest_at(streets, tokens, position)
        if found is None:
            position += 1
            continue
        spans.append(found)
        position = found.end
    return spans


def _longest_at(streets: StreetList, tokens: list[Token], start: int) -> StreetSpan | None:
    best: StreetSpan | None = None
    key = ""
    for end in range(start, min(start + MAX_STREET_WORDS, len(tokens))):
        if tokens[end].segment != tokens[start].segment:
            break
        key += tokens[end].key
        street = streets.by_key.get(key)
        if street is not None:
            best = StreetSpan(start, end + 1, street, _led(tokens, start))
    return best


def _led(tokens: list[Token], start: int) -> bool:
    """A house number ("45", "45/3", "Kiệt 7") or a street word just before, same segment."""
    if start == 0 or tokens[start - 1].segment != tokens[start].segment:
        return False
    before = tokens[start - 1].key
    return any(ch.isdigit() for ch in before) or before in STREET_WORDS
