"""Free text made safe to publish: phone numbers, e-mail addresses, ID-card numbers and
self-introduced names replaced by markers.

Every public output of text that residents or staff typed (descriptions, addresses, the
agencies' public notes; in /v1 JSON, the CSV and GeoJSON exports, Open311 JSON and XML) goes
through :func:`redact`. The stored original is kept for the report's agency and admins.

What is replaced, however it is written (spaces, dots, dashes or nothing between the digits):

- phone numbers (:data:`PHONE`): mobiles ``0905 123 456``, ``0905.123.456``, ``+84 905 123 456``,
  ``(+84)905123456``, ``84905123456``, ``0084 ...``; landlines ``0234 3822 123``,
  ``0234.3.822.123``; and any run of 7 to 12 digits right after a word that announces a number
  (``sđt``, ``điện thoại``, ``gọi``, ``liên hệ``, ``zalo``, ...);
- e-mail addresses (:data:`EMAIL`), also written ``lan [at] gmail [dot] com``, ``lan (at) gmail
  chấm com`` or ``lan a còng gmail chấm com`` (only with a known top-level domain, so "at" in
  ordinary text is left alone);
- ID-card numbers (:data:`ID_CARD`): 12 digits (CCCD) or 9 digits (CMND) standing alone, or
  any 6 to 12 digits after ``CMND``, ``CCCD``, ``căn cước``, ``chứng minh``, ``định danh``;
- names after a self-introduction (:data:`NAME`): ``tôi là``, ``tên tôi là``, ``tôi tên (là)``,
  ``em là``, ``mình là``, ``người báo:``, ``người phản ánh:``, ``họ tên:`` and their spellings
  without diacritics; after the plain "I am" forms (``tôi là``, ``em là``) only capitalised words
  count as a name ("tôi là người dân ở kiệt 58" keeps its words), honorifics (``chị``, ``anh``,
  ``ông``, ...) are kept.

Numbers that are not contacts survive: house numbers (``kiệt 58``, ``số 12/3 Lê Lợi``), dates
(``12/03/2025``, ``12.03.2025``, ``12-03-2025``), times, amounts (``1.500.000 đồng``,
``120.000.000``), kilometre markers (``Km 12+300``), counts, plates, decision numbers.

False positives, measured (2026-12-07): **0 texts changed of 94** in the hand-written PII-free
corpus of ``tests/redaction_corpus.py`` (227 numbers of the kinds above; 95% upper bound 3.2%),
and **0 of 59,794** generated descriptions and addresses of the test history
(``tests/test_privacy.py``; 95% upper bound 0.005%). Recall: all 176 contact values in the 133
PII texts of the corpus are replaced (``tests/test_redaction.py``). Cost: 40-250 µs a text
(most texts skip most patterns; benchmarks/report_export.py measures it on exports).

>>> redact("Rác ở kiệt 58, tôi là Lê Thị C, gọi 0905.111.222 hoặc lan [at] gmail [dot] com")
'Rác ở kiệt 58, tôi là [tên], gọi [số điện thoại] hoặc [email]'
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable

from gis_service.text import fold_vietnamese

PHONE = "[số điện thoại]"
EMAIL = "[email]"
ID_CARD = "[số giấy tờ]"
NAME = "[tên]"
MARKERS = (PHONE, EMAIL, ID_CARD, NAME)

# Between the digits of one number: at most one space, dot, dash or invisible space.
_SEP = r"[ \t.\-\u00a0\u200b]?"
_DIGITS = r"(?:[ \t.\-\u00a0\u200b]?\d)"
_VOWELS = "aăâeêioôơuưy"


def _variants() -> dict[str, str]:
    """Each ASCII letter -> every Vietnamese letter that folds to it (both cases)."""
    letters = {chr(code) for code in range(0x41, 0x250)} | {
        chr(code) for code in range(0x1EA0, 0x1EFA)}
    table: dict[str, set[str]] = {}
    for letter in letters:
        if letter.isalpha():
            table.setdefault(fold_vietnamese(letter).lower(), set()).update(
                {letter, letter.lower(), letter.upper()})
    return {base: "".join(sorted(found)) for base, found in table.items() if len(base) == 1}


_LETTERS = _variants()


def loose(phrase: str) -> str:
    """A regex matching ``phrase`` with or without diacritics, in any case, spaces flexible.

    >>> bool(re.fullmatch(loose("tên tôi là"), "Ten toi la"))
    True
    """
    parts = []
    for char in fold_vietnamese(phrase).lower():
        if char == " ":
            parts.append(r"\s+")
        elif char in _LETTERS:
            parts.append(f"[{re.escape(_LETTERS[char])}]")
        else:
            parts.append(re.escape(char))
    return "".join(parts)


def _any(*phrases: str) -> str:
    return "(?:" + "|".join(loose(p) for p in sorted(phrases, key=len, reverse=True)) + ")"


# --- e-mail ----------------------------------------------------------------------------------
_TLD = r"(?:com|net|org|edu|gov|info|vn|io|me|biz)"
_EMAIL_PLAIN = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", re.UNICODE)
_AT = r"(?:\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*|\s+(?:at|a còng|a cong|@)\s+)"
_DOT = r"(?:\s*[\[({<]\s*(?:dot|chấm|cham|\.)\s*[\])}>]\s*|\s+(?:dot|chấm|cham)\s+|\.)"
_EMAIL_SPOKEN = re.compile(
    rf"[\w.+\-]+{_AT}[\w\-]+(?:{_DOT}[\w\-]+)*?{_DOT}{_TLD}\b", re.IGNORECASE | re.UNICODE)

# --- phone numbers ---------------------------------------------------------------------------
# International: +84 / (+84) / 0084 / 84, an optional (0), then 9 or 10 digits.
_PHONE_INTERNATIONAL = re.compile(
    rf"(?<![\w+])(?:\(\s*\+?\s*84\s*\)|\+\s?84|0084|84(?=[235789]|[ .\-]\d))"
    rf"{_SEP}(?:\(0\){_SEP})?[1-9]{_DIGITS}{{8,9}}(?!\d)")
# Domestic: mobiles (and the old 10-digit landlines) are 0 and 9 digits, landlines (02...) and
# the old 11-digit mobiles (01...) 0 and 10; then any 10 or 11 digits written together.
_PHONE_DOMESTIC = re.compile(
    rf"(?<!\w)0(?:{_SEP}[3-9]{_DIGITS}{{8}}|{_SEP}[12]{_DIGITS}{{9}})(?!\d)|(?<!\w)0\d{{9,10}}(?!\d)")
# A landline with its area code in brackets: (0234) 3822 123.
_PHONE_BRACKETED = re.compile(r"\(\s*0\d{2,3}\s*\)[ .\-]?\d(?:[ .\-]?\d){6,7}(?!\d)")
_PHONE_WORDS = _any("sđt", "sdt", "số điện thoại", "điện thoại", "đt", "dđ", "di động", "gọi",
                    "liên hệ", "liên lạc", "zalo", "viber", "số máy", "máy bàn", "hotline", "tel",
                    "phone", "nhắn tin", "nhắn")
_PHONE_AFTER_WORD = re.compile(
    rf"(?<!\w)(?P<lead>{_PHONE_WORDS}\s*(?:(?:cho|tôi|em|mình|qua|theo|số|là|vào)\s+)*[:.]?\s*)"
    rf"(?P<number>\(?\+?\d\)?(?:[ \t.\-()\u00a0\u200b]?\d){{6,12}})(?!\d)", re.IGNORECASE)

# --- ID cards --------------------------------------------------------------------------------
_ID_WORDS = _any("cmnd", "cccd", "cmt", "căn cước", "căn cước công dân", "chứng minh",
                 "chứng minh nhân dân", "chứng minh thư", "định danh", "số định danh", "hộ chiếu")
_ID_AFTER_WORD = re.compile(
    rf"(?<!\w)(?P<lead>{_ID_WORDS}\s*(?:(?:số|của|tôi|em|mình|là)\s+)*[:.]?\s*)"
    rf"(?P<number>\d(?:[ .\-]?\d){{5,11}})(?!\d)", re.IGNORECASE)
_CURRENCY = re.compile(
    r"\s*(?:đồng|đ\b|vnđ|vnd|₫|triệu|tỷ|tỉ|nghìn|ngàn|usd|\$|m2|m²|km|mét|m\b|kg|tấn|lít)",
    re.IGNORECASE)
_ID_TWELVE = re.compile(r"(?<![\w.,/])\d(?:[ .\-]?\d){11}(?![\d]|[.,]\d)")
_ID_NINE = re.compile(r"(?<![\w.,/])(?:\d{9}|\d{3}[ \-]\d{3}[ \-]\d{3})(?![\d]|[.,]\d)")
# 1.500.000 is an amount, not a number to hide, unless an ID word comes first.
_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+")
_DATE_START = re.compile(r"\d{1,2}[.\-/ ]\d{1,2}[.\-/ ](?:19|20)\d\d")

# --- names -----------------------------------------------------------------------------------
_HONORIFICS = ("anh", "chị", "ông", "bà", "cô", "chú", "bác", "em", "cháu", "dì", "cậu", "thím",
               "mợ")
_INTRO_PLAIN = _any("tôi là", "em là", "mình là", "cháu là", "con là", "tui là", "tớ là",
                    "đây là", "tôi là chủ hộ", "người báo là", "người gửi là")
_INTRO_SELF = _any("tên tôi là", "tên tôi", "tôi tên là", "tôi tên", "em tên là", "em tên",
                   "mình tên là", "mình tên", "tên em là", "tên em", "tên mình là", "cháu tên là",
                   "cháu tên", "tui tên")
# Labels name someone only with a colon, a dash or "là" ("người báo cháy" names nobody).
_INTRO_LABEL = _any("tên người báo", "người báo", "người phản ánh", "người gửi", "người báo tin",
                    "người liên hệ", "họ tên", "họ và tên", "tên người gửi", "ký tên")
_INTRO_NAMED = (rf"(?:{_INTRO_SELF}\s*(?:là\s+|la\s+)?[:,]?\s*"
                rf"|{_INTRO_LABEL}\s*(?::|-|là(?!\w)|la(?!\w))\s*)")
_HONORIFIC = rf"(?:{_any(*_HONORIFICS)}\s+)?"
_NAME_WORD = r"[^\W\d_]+"
# The plain "I am" forms: a name only when its words are capitalised (checked on the match).
_NAME_AFTER_PLAIN = re.compile(
    rf"(?<!\w)(?P<lead>{_INTRO_PLAIN}\s*[:,]?\s+{_HONORIFIC})"
    rf"(?P<name>{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,4}})", re.IGNORECASE)
# The "my name is" forms: up to five words of any case, until punctuation, a digit or a word
# that cannot be part of a name.
_NOT_NAME_WORDS = (
    "ở", "tại", "sống", "nhà", "số", "sđt", "sdt", "gọi", "điện", "đt", "xin", "muốn", "phản",
    "báo", "là", "đang", "hiện", "cư", "trú", "và", "có", "đã", "thấy", "kiệt", "hẻm", "đường",
    "phường", "xã", "thôn", "tổ", "khu", "email", "mail", "zalo", "liên", "hệ", "cmnd", "cccd",
    "thường", "cho", "rằng", "bị", "mà", "nên", "vì", "rất", "không", "người", "dân", "hộ", "gia",
    "đình", "trên", "dưới", "gần", "cạnh", "đối", "diện", "lúc", "ngày", "sáng", "chiều", "tối",
    "hôm", "nay", "qua", "với", "về", "của", "được", "ạ", "nhé", "gì", "ai", "đây", "đó",
    "này", "kia", "học", "sinh", "viên", "chủ", "một", "các", "những", "tôi", "em", "mình")
# Words written with their diacritics are compared as written (``Đặng`` is a name, ``đang``
# is not); words typed without any are compared folded, against the words that fold alike.
_NOT_NAME = frozenset(_NOT_NAME_WORDS)
_NOT_NAME_FOLDED = frozenset(fold_vietnamese(word) for word in _NOT_NAME_WORDS) - {
    "dang", "thi", "minh", "ai", "tai", "sang", "hien", "dan", "gia", "vien", "sinh", "hoc"}


def _not_a_name(word: str) -> bool:
    lower = word.lower()
    folded = fold_vietnamese(lower)
    return lower in _NOT_NAME if folded != lower else folded in _NOT_NAME_FOLDED


_NAME_AFTER_NAMED = re.compile(
    rf"(?<!\w)(?P<lead>{_INTRO_NAMED}{_HONORIFIC})"
    rf"(?P<name>{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,4}})", re.IGNORECASE)


# Cheap tests that skip a pattern's scan when its text cannot match (most texts have no
# contact at all; scanning every pattern cost ~250 µs a text, these bring it to ~40 µs).
_SPOKEN_AT = re.compile(r"(?i)(?<!\w)(?:at|a c[oò]ng)(?!\w)|[\[({<]\s*(?:at|@)")
_SIX_DIGITS = re.compile(r"\d(?:\D{0,3}\d){5}")
_NAMED_HINTS = ("ten", "bao", "phan anh", "gui", "lien he")
_ID_HINTS = ("cmnd", "cccd", "cmt", "can cuoc", "chung minh", "dinh danh", "ho chieu")
_PLAIN_HINTS = (" la ", " la:", " la,")


def _name_length(words: str, *, capitalised: bool) -> int:
    """How many characters of ``words`` (one space between words) make the name."""
    length = 0
    for word in re.finditer(r"\S+", words):
        text = word.group(0)
        if _not_a_name(text) or (capitalised and not text[0].isupper()):
            break
        length = word.end()
    return length


def _names(*, capitalised: bool) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        words = match.group("name")
        length = _name_length(words, capitalised=capitalised)
        if not length:
            return match.group(0)
        return f"{match.group('lead')}{NAME}{words[length:]}"
    return replace


def _unless_amount_or_date(marker: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        after = match.string[match.end():match.end() + 8]
        if _CURRENCY.match(after) or _DATE_START.match(text) or (
                marker == ID_CARD and _THOUSANDS.fullmatch(text) and text[0] != "0"):
            return text
        return marker
    return replace


def _after_word(marker: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        after = match.string[match.end():match.end() + 8]
        if _CURRENCY.match(after) or _DATE_START.match(match.group("number")):
            return match.group(0)
        return f"{match.group('lead')}{marker}"
    return replace


def redact(text: str | None) -> str | None:
    """``text`` with every contact detail replaced by its marker (``None`` stays ``None``).

    Idempotent (markers hold no digits, no ``@`` and no name), and the text comes back in
    Unicode NFC.

    >>> redact("Người báo: nguyễn văn an, sđt 0234 3822 123, CCCD 046 123 456 789")
    'Người báo: [tên], sđt [số điện thoại], CCCD [số giấy tờ]'
    """
    if not text:
        return text
    out = unicodedata.normalize("NFC", text)
    if "@" in out:
        out = _EMAIL_PLAIN.sub(EMAIL, out)
    if _SPOKEN_AT.search(out):
        out = _EMAIL_SPOKEN.sub(EMAIL, out)
    folded = fold_vietnamese(out).lower()
    if _SIX_DIGITS.search(out):
        out = _numbers(out, folded)
    if any(word in folded for word in _NAMED_HINTS):
        out = _NAME_AFTER_NAMED.sub(_names(capitalised=False), out)
    if any(word in folded for word in _PLAIN_HINTS):
        out = _NAME_AFTER_PLAIN.sub(_names(capitalised=True), out)
    return out


def _numbers(text: str, folded: str) -> str:
    out = text
    if any(word in folded for word in _ID_HINTS):
        out = _ID_AFTER_WORD.sub(_after_word(ID_CARD), out)
    out = _PHONE_AFTER_WORD.sub(_after_word(PHONE), out)
    if "(" in out:
        out = _PHONE_BRACKETED.sub(PHONE, out)
    out = _PHONE_INTERNATIONAL.sub(_unless_amount_or_date(PHONE), out)
    out = _PHONE_DOMESTIC.sub(_unless_amount_or_date(PHONE), out)
    out = _ID_TWELVE.sub(_unless_amount_or_date(ID_CARD), out)
    return _ID_NINE.sub(_unless_amount_or_date(ID_CARD), out)


def search_text(description: str | None, address: str | None) -> str:
    """What public search reads: the redacted description and address, one text.

    >>> search_text("Đèn hỏng, gọi 0905111222", "kiệt 58 Phan Đình Phùng")
    'Đèn hỏng, gọi [số điện thoại] kiệt 58 Phan Đình Phùng'
    """
    return " ".join(part for part in (_redact_repeated(description), _redact_repeated(address))
                    if part)


# Bulk imports redact a million texts, many written alike (hotline templates, the same street):
# each distinct text once.
_redact_repeated = functools.lru_cache(maxsize=65_536)(redact)


def redact_text(text: str) -> str:
    """:func:`redact` for a text that is never ``None``."""
    return redact(text) or ""
