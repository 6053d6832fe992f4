"""gis_service.redaction on the corpus of tests/redaction_corpus.py: every contact detail
replaced (separators stripped included), every PII-free text unchanged (the false-positive
rate stated in the module docstring and the README)."""

from __future__ import annotations

import re

import pytest

from gis_service.redaction import EMAIL, ID_CARD, NAME, PHONE, redact, redact_text
from tests.redaction_corpus import CLEAN_TEXTS, PII_TEXTS

_NOT_DIGIT = re.compile(r"\D")


def digits(text: str) -> str:
    return _NOT_DIGIT.sub("", text)


def leaks(original: str, value: str, redacted: str) -> bool:
    """Whether ``value`` (a contact in ``original``) survives in ``redacted`` in any writing."""
    if value.lower() in redacted.lower():
        return True
    number = digits(value)
    if len(number) >= 6:
        return number in digits(redacted) or number[-9:] in digits(redacted)
    if "@" in value or re.search(r"\bat\b|a còng", value):
        local_part = re.split(r"[@\s]", value, maxsplit=1)[0]
        return local_part.lower() in redacted.lower()
    # A name: gone as written (above), and its marker in its place.
    return NAME not in redacted


def test_the_corpus_is_large_and_varied() -> None:
    assert len(PII_TEXTS) >= 100 and len(CLEAN_TEXTS) >= 90
    assert len({text for text, _ in PII_TEXTS}) == len(PII_TEXTS)


@pytest.mark.parametrize(("text", "values"), PII_TEXTS)
def test_every_contact_is_replaced(text: str, values: tuple[str, ...]) -> None:
    redacted = redact_text(text)
    assert [value for value in values if leaks(text, value, redacted)] == [], redacted


def test_no_pii_free_text_changes() -> None:
    """The false-positive rate: texts of the PII-free corpus that redaction changed."""
    changed = [(text, redact(text)) for text in CLEAN_TEXTS if redact(text) != text]
    assert changed == []


@pytest.mark.parametrize(("text", "expected"), [
    ("gọi 0905 123 456", f"gọi {PHONE}"),
    ("+84 905 123 456 là số nhà", f"{PHONE} là số nhà"),
    ("(+84)905123456", PHONE),
    ("84905123456", PHONE),
    ("máy bàn 0234.3.822.123", f"máy bàn {PHONE}"),
    ("(0234) 3822 123", PHONE),
    ("a.b@hue.gov.vn", EMAIL),
    ("lan [at] gmail [dot] com", EMAIL),
    ("lan a còng gmail chấm com", EMAIL),
    ("CCCD 046123456789", f"CCCD {ID_CARD}"),
    ("số 191234567", f"số {ID_CARD}"),
    ("tôi là chị Lan, ở kiệt 5", f"tôi là chị {NAME}, ở kiệt 5"),
    ("Người báo: tran van b, 12 Lê Lợi", f"Người báo: {NAME}, 12 Lê Lợi"),
    ("tôi là người dân ở kiệt 58", "tôi là người dân ở kiệt 58"),
    ("thiệt hại 1.500.000 đồng ngày 12/03/2025 lúc 14:30", None),
    ("chi phí 120.000.000, Km 12+300, 20 hộ", None),
    ("meet at the market", None),
])
def test_single_forms(text: str, expected: str | None) -> None:
    assert redact(text) == (text if expected is None else expected)


def test_idempotent_and_none() -> None:
    for text, _ in PII_TEXTS[:40]:
        once = redact_text(text)
        assert redact(once) == once
    assert redact(None) is None and redact("") == ""
