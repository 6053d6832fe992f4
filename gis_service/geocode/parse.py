"""Free-text addresses read as (street, commune, district, province), right to left.

Vietnamese addresses run from the smallest part to the largest: ``số 12 Lê Lợi, Phường Vĩnh
Ninh, Thành phố Huế, Thừa Thiên Huế``. Commas help but are often missing, so the reading does
not rely on them: every run of words that names a unit is a candidate *component*; a
*reading* is a chain of components, left to right from finer to coarser, each containing the
one before it; whatever stands in front of the first component is the street, kept as typed.

Readings are scored by what they explain: each component adds its match quality (an exact
name, a spelling variant, a legacy name, a typo) and a little for a prefix that agrees with
its type; words after the street that no component explains cost a lot; a component that is
only part of a longer name in the text ("Huế" inside "Thừa Thiên Huế") costs too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz.distance import OSA

from gis_service.geocode.index import GeocodeIndex
from gis_service.geocode.lexicon import NameEntry
from gis_service.geocode.normalise import (
    SINGLE_WORD_PREFIXES,
    TRAILING_NOISE,
    Prefix,
    Token,
    fold_key,
    prefix_before,
)

LEVEL_RANK = {"commune": 0, "district": 1, "province": 2}
KIND_QUALITY = {"name": 1.0, "variant": 1.0, "legacy": 0.95}
# A key one edit away: long names are rarely one typo from another name, short ones often are.
TYPO_QUALITY_LONG, TYPO_QUALITY_SHORT, LONG_KEY = 0.8, 0.7, 8
# Prefix evidence: (quality factor, score bonus).
PREFIX_AGREES = (1.0, 0.1)
PREFIX_SAME_LEVEL = (0.9, 0.05)  # "Xã Hương Vinh" for what the legacy list calls a phường
PREFIX_ABSENT = (0.95, 0.0)
PREFIX_CONTRADICTS = (0.6, -0.3)  # "Quận Phú Xuân" read as a commune
# Unexplained words between or after components, and fragments of longer names.
UNEXPLAINED = (0.7, 0.5)
FRAGMENT = (0.7, 0.5)
MAX_NAME_WORDS = 6
_NOISE_STARTS = frozenset(words[0] for words in TRAILING_NOISE)
ACCENT_PENALTY, MAX_ACCENT_EDITS = 0.05, 3


@dataclass(frozen=True, slots=True)
class NameMatch:
    """Tokens ``start:end`` of the input spell one of ``target``'s names."""

    start: int
    end: int
    entry: NameEntry
    key: str
    edits: int


@dataclass(frozen=True, slots=True)
class Component:
    """A name match read as one part of the address, with its prefix (``first`` is where the
    prefix starts, or ``start`` without one)."""

    target: int
    level: str
    first: int
    start: int
    end: int
    quality: float
    bonus: float
    match: NameMatch
    #: The words spell the unit's own name (or a spelling variant) exactly, diacritics as typed
    #: agreeing: no typo, no legacy name, no mark that differs ("Thuận Hòa" for Thuận Hóa).
    exact: bool = False


@dataclass(frozen=True, slots=True)
class Reading:
    """One way of reading the address: components from finest to coarsest."""

    components: tuple[Component, ...]
    score: float
    quality: float
    factors: tuple[float, ...]
    unexplained: int

    @property
    def finest(self) -> Component:
        return self.components[0]


def find_names(index: GeocodeIndex, tokens: list[Token], *, fuzzy: bool) -> list[NameMatch]:
    """Every run of up to MAX_NAME_WORDS tokens of one segment that spells a name."""
    lexicon = index.lexicon
    limit = lexicon.max_key_len + 1
    matches: list[NameMatch] = []
    for start, token in enumerate(tokens):
        # A house number is not part of a name, even one letter away from one.
        typo_ok = fuzzy and not token.key.isdigit()
        key = ""
        for end in range(start, min(start + MAX_NAME_WORDS, len(tokens))):
            if tokens[end].segment != token.segment:
                break
            key += tokens[end].key
            if len(key) > limit:
                break
            for hit in lexicon.lookup(key, fuzzy=typo_ok):
                if hit.edits and not _typo_plausible(token.key, hit.key):
                    continue
                matches.extend(NameMatch(start, end + 1, e, hit.key, hit.edits)
                               for e in hit.entries)
    return matches


def _typo_plausible(first_word: str, key: str) -> bool:
    """A typo match that starts on a prefix word must use it: "Ph Xuân" (Phú Xuân with the ú
    dropped) is one, but in "H. Phong Điền" the H is Huyện, not a stray letter of the name."""
    return first_word not in SINGLE_WORD_PREFIXES or key.startswith(first_word)


def _prefix_evidence(prefix: Prefix | None, level: str, entry: NameEntry) -> tuple[float, float]:
    if entry.typed:
        return PREFIX_AGREES
    if prefix is None:
        return PREFIX_ABSENT
    if prefix.level is None or prefix.level == level:
        if prefix.unit_type == entry.unit_type:
            return PREFIX_AGREES
        return PREFIX_SAME_LEVEL if prefix.level == level else PREFIX_CONTRADICTS
    return PREFIX_CONTRADICTS


def _name_quality(match: NameMatch) -> float:
    quality = KIND_QUALITY.get(match.entry.kind, 0.9)
    if match.edits:
        quality *= TYPO_QUALITY_LONG if len(match.key) >= LONG_KEY else TYPO_QUALITY_SHORT
    return quality


def _accent_factor(tokens: list[Token], match: NameMatch) -> float:
    """Less for a name whose diacritics differ from those typed (Văn for Vân, Hòa for Hóa).

    Each word typed with diacritics is compared with the name's word; words typed without
    any, and names known only folded, are neutral. Letter typos are not counted twice: only
    the marks that differ beyond the folded letters' distance count.
    """
    if not match.entry.spelling:
        return 1.0
    span = tokens[match.start:match.end]
    words = match.entry.spelling.split()
    if len(words) == len(span):
        extra = sum(_mark_edits(token, word) for token, word in zip(span, words, strict=True)
                    if token.marked)
    elif all(token.marked for token in span):
        extra = OSA.distance(" ".join(t.spelling for t in span), " ".join(words)) - match.edits
    else:
        return 1.0
    return 1.0 - ACCENT_PENALTY * min(max(extra, 0), MAX_ACCENT_EDITS)


def _mark_edits(token: Token, word: str) -> int:
    return int(OSA.distance(token.spelling, word) - OSA.distance(token.key, _folded(word)))


@lru_cache(maxsize=4096)
def _folded(word: str) -> str:
    return fold_key(word)


def to_component(index: GeocodeIndex, tokens: list[Token], match: NameMatch) -> Component:
    """Read a name match as a component, taking in the prefix written before it."""
    level = index.level_of(match.entry.target)
    prefix, first = (None, match.start) if match.entry.typed else prefix_before(tokens, match.start)
    factor, bonus = _prefix_evidence(prefix, level, match.entry)
    accent = _accent_factor(tokens, match)
    quality = _name_quality(match) * accent * factor
    exact = match.edits == 0 and match.entry.kind != "legacy" and accent == 1.0
    return Component(match.entry.target, level, first, match.start, match.end, quality, bonus,
                     match, exact)


def _inside_street(comp: Component, spans: Sequence[tuple[int, int]]) -> bool:
    if comp.first != comp.start or comp.match.entry.typed:
        return False  # "Phường Kim Long": the prefix says it is the ward
    return any(start < comp.end and comp.start < end for start, end in spans)


def best_components(components: list[Component]) -> list[Component]:
    """One component per (unit, span): the best-scoring way the words name that unit."""
    best: dict[tuple[int, int, int], Component] = {}
    for comp in components:
        key = (comp.target, comp.first, comp.end)
        held = best.get(key)
        if held is None or comp.quality + comp.bonus > held.quality + held.bonus:
            best[key] = comp
    return sorted(best.values(), key=lambda c: (c.first, c.end, c.target))


def _is_fragment(comp: Component, matches: list[NameMatch]) -> bool:
    """True when a longer name of another unit covers this one's words."""
    for m in matches:
        if m.entry.target == comp.target or (m.start, m.end) == (comp.start, comp.end):
            continue
        # A typed key ("phuongphuxuan") that only adds this component's own prefix is no
        # longer name: it is the same words read with their type.
        if m.entry.typed and m.start == comp.first and m.end == comp.end:
            continue
        if m.start <= comp.start and comp.end <= m.end:
            return True
    return False


def _noise_mask(tokens: list[Token]) -> int:
    """Bit i set when token i is part of trailing noise ("Việt Nam")."""
    mask = 0
    for i in range(len(tokens)):
        if tokens[i].key not in _NOISE_STARTS:
            continue
        for words in TRAILING_NOISE:
            if tuple(t.key for t in tokens[i:i + len(words)]) == words:
                mask |= ((1 << len(words)) - 1) << i
    return mask


@dataclass
class _Context:
    index: GeocodeIndex
    tokens: list[Token]
    components: list[Component]
    fragments: set[int]
    noise: int
    street_allowed: bool
    best: dict[int, _Tail] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Tail:
    """The best way to go on from a component: coarser components and what they add."""

    gain: float
    chain: tuple[Component, ...]
    fits: tuple[float, ...]


def _value(ctx: _Context, comp: Component, fit: float) -> float:
    """What a component adds to a reading's score (see :func:`_score`), the words it explains
    included: the score is additive over components, so the best chain is found by dynamic
    programming instead of trying every combination."""
    quality = comp.quality * fit
    value = comp.bonus + UNEXPLAINED[1] * (comp.end - comp.first)
    if id(comp) in ctx.fragments:
        return value + quality * FRAGMENT[0] - FRAGMENT[1]
    return value + quality


def _best_tail(ctx: _Context, position: int) -> _Tail:
    """The best chain starting with ``ctx.components[position]`` (memoised)."""
    held = ctx.best.get(position)
    if held is not None:
        return held
    last = ctx.components[position]
    best = _Tail(0.0, (last,), (1.0,))
    for later, nxt in enumerate(ctx.components[position + 1:], start=position + 1):
        if nxt.first < last.end or LEVEL_RANK[nxt.level] <= LEVEL_RANK[last.level]:
            continue
        fit = ctx.index.containment(last.target, nxt.target)
        if fit <= 0:
            continue
        rest = _best_tail(ctx, later)
        gain = _value(ctx, nxt, fit) + rest.gain
        if gain > best.gain:
            best = _Tail(gain, (last, *rest.chain), (1.0, fit, *rest.fits[1:]))
    ctx.best[position] = best
    return best


def _score(ctx: _Context, chain: tuple[Component, ...], fits: tuple[float, ...]) -> Reading:
    covered = 0
    for comp in chain:
        covered |= ((1 << (comp.end - comp.first)) - 1) << comp.first
    begin = chain[0].first if ctx.street_allowed else 0
    tail = ((1 << len(ctx.tokens)) - 1) >> begin << begin
    unexplained = (tail & ~covered & ~ctx.noise).bit_count()
    factors = []
    score = 0.0
    for comp, fit in zip(chain, fits, strict=True):
        quality = comp.quality * fit
        if id(comp) in ctx.fragments:
            quality *= FRAGMENT[0]
            score -= FRAGMENT[1]
        factors.append(quality)
        score += quality + comp.bonus
    score -= UNEXPLAINED[1] * unexplained
    overall = min(factors) * UNEXPLAINED[0] ** unexplained
    return Reading(chain, score, overall, tuple(factors), unexplained)


def read_address(
    index: GeocodeIndex,
    tokens: list[Token],
    matches: list[NameMatch],
    *,
    street_allowed: bool = True,
    levels_by_segment: dict[int, str] | None = None,
    street_spans: Sequence[tuple[int, int]] = (),
) -> list[Reading]:
    """The best reading that starts with each component (its finest unit), best first.

    ``levels_by_segment`` restricts each segment to one level (structured queries, where the
    caller said which text is the commune, the district and the province). ``street_spans``
    (token ranges ``start:end``) are streets: a name without a prefix inside one is the
    street's name, not a unit ("12 Kim Long" is a house on Kim Long street).
    """
    components = best_components([to_component(index, tokens, m) for m in matches])
    components = [c for c in components if not _inside_street(c, street_spans)]
    if levels_by_segment is not None:
        components = [c for c in components
                      if levels_by_segment.get(tokens[c.start].segment) == c.level]
    # Only exact names make another a fragment: a typo reading of "H. Phong Điền" as one
    # word must not shadow the district it spells.
    exact = [m for m in matches if m.edits == 0]
    ctx = _Context(index, tokens, components,
                   {id(c) for c in components if _is_fragment(c, exact)},
                   _noise_mask(tokens), street_allowed)
    readings = []
    for position in range(len(components)):
        tail = _best_tail(ctx, position)
        readings.append(_score(ctx, tail.chain, tail.fits))
    readings.sort(key=lambda r: -r.score)
    return readings
