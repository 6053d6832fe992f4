"""Address text as comparable tokens: Unicode, case, spacing, diacritics and written prefixes.

Every token keeps where it came from (character offsets in the NFC form of the input), so the
part of an address that matched, and the street in front of it, are returned as written.
Keys are ASCII-folded and lower-case: ``"Phường  VỸ DẠ"`` and ``"phuong vy da"`` give the same
keys, NFC or NFD alike.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from gis_service.text import fold_vietnamese

#: The longest query accepted (characters, after NFC normalisation).
MAX_QUERY_CHARS = 500

# Letters and digits; '_' is a \w character but never part of a Vietnamese name.
_WORD = re.compile(r"[^\W_]+")
# Characters that end one component of an address: a name never continues across them.
_SEGMENT_BREAK = re.compile(r"[,;|\n\r\t]")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
# The five tone marks (combining characters after NFD), each written as one ASCII sign.
_TONES = {"\u0300": "`", "\u0301": "'", "\u0303": "~", "\u0309": "?", "\u0323": "."}


@dataclass(frozen=True, slots=True)
class Token:
    """One word of the input: its folded key, its :func:`spelling`, and where it sits in the
    NFC text. ``marked``: the word was typed with diacritics."""

    key: str
    start: int
    end: int
    segment: int
    spelling: str = ""
    marked: bool = False


@dataclass(frozen=True, slots=True)
class Prefix:
    """An administrative prefix as people write it (``P.``, ``Huyện``, ``TP``...).

    ``level`` is None for ``Thành phố``: Huế was a district-level city in 2019 and is the
    province-level city since 2025, so the prefix alone does not say which.
    """

    level: str | None
    unit_type: str


_PHUONG = Prefix("commune", "Phường")
_XA = Prefix("commune", "Xã")
_THI_TRAN = Prefix("commune", "Thị trấn")
_QUAN = Prefix("district", "Quận")
_HUYEN = Prefix("district", "Huyện")
_THI_XA = Prefix("district", "Thị xã")
_THANH_PHO = Prefix(None, "Thành phố")
_TINH = Prefix("province", "Tỉnh")

#: Prefix spellings keyed by their folded tokens; the longest is tried first.
PREFIXES: dict[tuple[str, ...], Prefix] = {
    ("phuong",): _PHUONG, ("p",): _PHUONG, ("ph",): _PHUONG,
    ("xa",): _XA, ("x",): _XA,
    ("thi", "tran"): _THI_TRAN, ("thitran",): _THI_TRAN, ("tt",): _THI_TRAN,
    ("quan",): _QUAN, ("q",): _QUAN,
    ("huyen",): _HUYEN, ("h",): _HUYEN,
    ("thi", "xa"): _THI_XA, ("thixa",): _THI_XA, ("tx",): _THI_XA,
    ("thanh", "pho"): _THANH_PHO, ("thanhpho",): _THANH_PHO, ("tp",): _THANH_PHO,
    ("tinh",): _TINH, ("t",): _TINH,
}
_PREFIX_LENGTHS = sorted({len(words) for words in PREFIXES}, reverse=True)
#: Prefixes written as one word ("p", "tp", "huyen").
SINGLE_WORD_PREFIXES = frozenset(words[0] for words in PREFIXES if len(words) == 1)
#: Words a prefix can start with ("thi" of "thị xã" too).
PREFIX_STARTS = frozenset(words[0] for words in PREFIXES)

#: Words after the address that name nothing in the province and are ignored there.
TRAILING_NOISE: frozenset[tuple[str, ...]] = frozenset(
    {("viet", "nam"), ("vietnam",), ("vn",), ("vnm",)}
)

#: Unit types as stored, folded to the key their names are compared with.
TYPE_KEYS = {
    "Tỉnh": "tinh", "Thành phố": "thanhpho", "Quận": "quan", "Huyện": "huyen",
    "Thị xã": "thixa", "Phường": "phuong", "Xã": "xa", "Thị trấn": "thitran",
}
_TYPE_KEYS_LONGEST_FIRST = sorted(TYPE_KEYS.values(), key=len, reverse=True)


def nfc(text: str) -> str:
    """Compose the text (NFD input from some keyboards and macOS becomes NFC)."""
    return unicodedata.normalize("NFC", text)


def fold_key(text: str) -> str:
    """The comparison key of a name: ASCII letters and digits only, lower case.

    NFKC first turns full-width letters and digits into plain ones.

    >>> fold_key("Chân Mây - Lăng Cô"), fold_key("A Lưới 2")
    ('chanmaylangco', 'aluoi2')
    """
    folded = fold_vietnamese(unicodedata.normalize("NFKC", text)).casefold()
    return _NOT_ALNUM.sub("", folded)


def one_segment(text: str) -> str:
    """The text with its segment breaks (commas...) and runs of spaces made single spaces.

    >>> one_segment("Vĩ Dạ,  TP; Huế")
    'Vĩ Dạ TP Huế'
    """
    return " ".join(_SEGMENT_BREAK.sub(" ", text).split())


def tokenize(text: str) -> list[Token]:
    """Split NFC text into word tokens, numbering the comma-separated segments.

    >>> [(t.key, t.segment) for t in tokenize("12 Lê Lợi, P.Vĩnh Ninh")]
    [('12', 0), ('le', 0), ('loi', 0), ('p', 1), ('vinh', 1), ('ninh', 1)]
    """
    breaks = [m.start() for m in _SEGMENT_BREAK.finditer(text)]
    tokens: list[Token] = []
    segment = 0
    for match in _WORD.finditer(text):
        while segment < len(breaks) and breaks[segment] < match.start():
            segment += 1
        word = match.group()
        key = fold_key(word)
        if key:
            marked = not word.isascii()
            tokens.append(Token(key, match.start(), match.end(), segment,
                                spelling(word) if marked else key, marked))
    return tokens


def spelling(text: str) -> str:
    """Lower-case words with their vowel marks, each word's tone moved to its end.

    Folding makes "Hương Văn" and "Hương Vân" (two 2019 wards) the same key; the spelling
    keeps them apart. Moving the tone out of the word makes the old and new tone placements
    ("Thuỷ", "Thủy") spell the same. Words stay separated by one space.

    >>> spelling("Thuỷ Văn"), spelling("Thủy Vân")
    ('thuy? văn', 'thuy? vân')
    """
    words = []
    for word in text.split():
        decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", word).casefold())
        tones = "".join(_TONES[ch] for ch in decomposed if ch in _TONES)
        base = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONES))
        letters = "".join(ch for ch in base if ch.isalnum())
        if letters:
            words.append(letters + tones)
    return " ".join(words)


def prefix_before(tokens: list[Token], index: int) -> tuple[Prefix | None, int]:
    """The prefix written just before ``tokens[index]`` in the same segment, and its first token.

    Returns ``(None, index)`` when there is none.

    >>> tokens = tokenize("Thị xã Hương Trà")
    >>> prefix_before(tokens, 2)
    (Prefix(level='district', unit_type='Thị xã'), 0)
    """
    for length in _PREFIX_LENGTHS:
        first = index - length
        if first < 0 or tokens[first].segment != tokens[index].segment:
            continue
        prefix = PREFIXES.get(tuple(t.key for t in tokens[first:index]))
        if prefix is not None:
            return prefix, first
    return None, index


def strip_type(name: str, unit_type: str) -> str:
    """A unit's name without its type in front (``"Phường Vĩ Dạ"`` -> ``"Vĩ Dạ"``).

    A name that is nothing but the type (``"Phường"``) is returned unchanged.
    """
    if name.startswith(unit_type + " ") and len(name) > len(unit_type) + 1:
        return name[len(unit_type) + 1:]
    return name


def strip_type_key(key: str, known: frozenset[str] | set[str]) -> str:
    """A folded key without a leading type key, when the rest is itself one of ``known``.

    The check keeps names that merely start like a type: ``quangthai`` is not Quận ``gthai``.

    >>> keys = {"xaquangthai", "quangthai"}
    >>> strip_type_key("xaquangthai", keys), strip_type_key("quangthai", keys)
    ('quangthai', 'quangthai')
    """
    for type_key in _TYPE_KEYS_LONGEST_FIRST:
        if key.startswith(type_key) and key[len(type_key):] in known:
            return key[len(type_key):]
    return key
