"""Name keys to the units they name, looked up exactly or with one typo.

Typo tolerance uses a symmetric deletion index (the SymSpell idea): every key is stored with
each of its one-letter deletions, so a query finds its candidates with a handful of dict
look-ups instead of comparing against every name. RapidFuzz's optimal-string-alignment
distance (C++; counts a swap of two neighbouring letters as one edit, as typists make it)
then confirms each candidate. A full ``rapidfuzz.process.extract`` over all keys for every
word n-gram of a query would cost tens of times more than this.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz.distance import OSA

#: Keys shorter than this are matched exactly only: one edit turns "an" into "anh".
FUZZY_MIN_LEN = 4
#: Edits allowed in a name key (a dropped, swapped, replaced or extra letter).
MAX_EDITS = 1

_CONSONANTS = frozenset("bcdghklmnpqrstvx")


@dataclass(frozen=True, slots=True)
class NameEntry:
    """One way of writing a unit's name.

    ``target`` is a unit id, or a negative id for a legacy district (see ``index.Area``).
    ``kind``: ``name`` (the unit's own), ``variant`` (a spelling the gazetteer or the i/y rule
    gives), ``legacy`` (the name it had between 2019 and 2025). ``unit_type`` is the type the
    name is written with; ``typed`` says the key already contains it (``thanhphohue``).
    ``spelling`` is the name with its diacritics (``normalise.spelling``), or "" for keys known
    only folded.
    """

    target: int
    kind: str
    unit_type: str
    typed: bool = False
    spelling: str = ""


@dataclass(frozen=True, slots=True)
class Hit:
    """A key found for a query string, and how many edits apart they are."""

    key: str
    entries: tuple[NameEntry, ...]
    edits: int


def iy_variants(words: list[str]) -> set[str]:
    """Keys of a folded name with each syllable-final i written y and back (Vĩ/Vỹ Dạ).

    Vietnamese spelling allows both after a consonant (Mỹ/Mĩ, Vỹ/Vĩ); "Thủy" (u before y)
    is left alone.

    >>> sorted(iy_variants(["vi", "da"]))
    ['vida', 'vyda']
    """
    options = []
    for word in words:
        alternatives = [word]
        if len(word) >= 2 and word[-2] in _CONSONANTS and word[-1] in "iy":
            alternatives.append(word[:-1] + ("y" if word[-1] == "i" else "i"))
        options.append(alternatives)
    return {"".join(combo) for combo in itertools.product(*options)}


def _deletions(key: str) -> set[str]:
    return {key[:i] + key[i + 1:] for i in range(len(key))}


def _digits(key: str) -> str:
    return "".join(ch for ch in key if ch.isdigit())


class Lexicon:
    """Keys -> name entries, with exact and one-typo look-ups.

    >>> lexicon = Lexicon()
    >>> lexicon.add("vyda", NameEntry(1, "name", "Phường"))
    >>> lexicon.freeze()
    >>> [hit.key for hit in lexicon.lookup("vyda")], lexicon.lookup("vydaa")
    (['vyda'], [])
    """

    def __init__(self) -> None:
        self._entries: dict[str, list[NameEntry]] = defaultdict(list)
        self._frozen: dict[str, tuple[NameEntry, ...]] = {}
        self._deletes: dict[str, tuple[str, ...]] = {}
        self.max_key_len = 0

    def add(self, key: str, entry: NameEntry) -> None:
        """Record ``entry`` under ``key``, unless the key already names that unit with that type.

        The first entry wins, so a unit's own name (with its diacritics) is not shadowed by a
        folded gazetteer keyword of the same key.
        """
        held = self._entries[key]
        if key and not any((e.target, e.unit_type, e.typed) == (entry.target, entry.unit_type,
                                                                 entry.typed) for e in held):
            held.append(entry)

    def has(self, key: str) -> bool:
        return key in self._entries

    def targets(self, key: str) -> set[int]:
        """The units (and legacy districts) ``key`` names so far, while building."""
        return {entry.target for entry in self._entries.get(key, ())}

    def freeze(self) -> None:
        """Build the look-up tables; call once after the last :meth:`add`."""
        self._frozen = {key: tuple(entries) for key, entries in self._entries.items()}
        deletes: dict[str, set[str]] = defaultdict(set)
        for key in self._frozen:
            if len(key) >= FUZZY_MIN_LEN:
                for variant in _deletions(key) | {key}:
                    deletes[variant].add(key)
        self._deletes = {variant: tuple(sorted(keys)) for variant, keys in deletes.items()}
        self.max_key_len = max((len(key) for key in self._frozen), default=0)

    def __len__(self) -> int:
        return len(self._frozen)

    def exact(self, key: str) -> tuple[NameEntry, ...]:
        return self._frozen.get(key, ())

    def lookup(self, key: str, *, fuzzy: bool = False) -> list[Hit]:
        """The exact hit for ``key``; failing that and with ``fuzzy``, the keys one edit away."""
        entries = self._frozen.get(key)
        if entries:
            return [Hit(key, entries, 0)]
        if not fuzzy or len(key) < FUZZY_MIN_LEN:
            return []
        return self._near(key)

    def _near(self, key: str) -> list[Hit]:
        candidates: set[str] = set()
        for variant in _deletions(key) | {key}:
            candidates.update(self._deletes.get(variant, ()))
        digits = _digits(key)
        hits = []
        for candidate in sorted(candidates):
            # "A Lưới 1" is not a typo of "A Lưới 2": numbers must agree exactly.
            if _digits(candidate) != digits:
                continue
            edits = OSA.distance(key, candidate, score_cutoff=MAX_EDITS)
            if edits <= MAX_EDITS:
                hits.append(Hit(candidate, self._frozen[candidate], edits))
        return hits
