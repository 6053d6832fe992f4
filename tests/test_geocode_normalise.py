"""Address text normalisation, tokens, prefixes and the name lexicon (no database)."""

from __future__ import annotations

import unicodedata

import pytest

from gis_service.geocode.lexicon import Lexicon, NameEntry, iy_variants
from gis_service.geocode.normalise import (
    fold_key,
    prefix_before,
    spelling,
    strip_type,
    strip_type_key,
    tokenize,
)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Phường Vỹ Dạ", "phuongvyda"),
        ("PHƯỜNG VỸ DẠ", "phuongvyda"),
        (unicodedata.normalize("NFD", "Phường Vỹ Dạ"), "phuongvyda"),
        ("phuong vy da", "phuongvyda"),
        ("Đông Ba", "dongba"),
        ("Chân Mây - Lăng Cô", "chanmaylangco"),
        ("A Lưới 2", "aluoi2"),
        ("Ｈｕế", "hue"),  # full-width letters
        ("Thuỷ Biều", "thuybieu"),
        ("Thủy Biều", "thuybieu"),
        ("  ,.;  ", ""),
    ],
)
def test_fold_key(text: str, key: str) -> None:
    assert fold_key(text) == key


@pytest.mark.parametrize(
    ("text", "keys", "segments"),
    [
        ("12 Lê Lợi, P.Vĩnh Ninh", ["12", "le", "loi", "p", "vinh", "ninh"], [0, 0, 0, 1, 1, 1]),
        ("TT-Huế", ["tt", "hue"], [0, 0]),
        ("Thừa Thiên - Huế;Việt Nam", ["thua", "thien", "hue", "viet", "nam"], [0, 0, 0, 1, 1]),
        ("Kiệt 15/2 Chi Lăng", ["kiet", "15", "2", "chi", "lang"], [0] * 5),
        ("a_b", ["a", "b"], [0, 0]),
        ("", [], []),
    ],
)
def test_tokenize_keys_and_segments(text: str, keys: list[str], segments: list[int]) -> None:
    tokens = tokenize(text)
    assert [t.key for t in tokens] == keys
    assert [t.segment for t in tokens] == segments


def test_tokens_point_back_into_the_text() -> None:
    text = "Số 7  Lê Lợi,  Phường Vĩnh Ninh"
    assert [text[t.start:t.end] for t in tokenize(text)] == [
        "Số", "7", "Lê", "Lợi", "Phường", "Vĩnh", "Ninh"]


def test_tokens_know_whether_they_were_typed_with_diacritics() -> None:
    marked = [t.marked for t in tokenize("Phuong Vĩnh Ninh")]
    assert marked == [False, True, False]


@pytest.mark.parametrize(
    ("text", "index", "level", "unit_type", "first"),
    [
        ("P. Vỹ Dạ", 1, "commune", "Phường", 0),
        ("Ph.Vỹ Dạ", 1, "commune", "Phường", 0),
        ("phường vỹ dạ", 1, "commune", "Phường", 0),
        ("X. Phú An", 1, "commune", "Xã", 0),
        ("Xã Phú An", 1, "commune", "Xã", 0),
        ("TT. Sịa", 1, "commune", "Thị trấn", 0),
        ("Thị trấn Sịa", 2, "commune", "Thị trấn", 0),
        ("Q. Thuận Hóa", 1, "district", "Quận", 0),
        ("Quận Thuận Hóa", 1, "district", "Quận", 0),
        ("H. Phú Vang", 1, "district", "Huyện", 0),
        ("Huyện Phú Vang", 1, "district", "Huyện", 0),
        ("TX. Hương Trà", 1, "district", "Thị xã", 0),
        ("Thị xã Hương Trà", 2, "district", "Thị xã", 0),
        ("TP. Huế", 1, None, "Thành phố", 0),
        ("Tp Huế", 1, None, "Thành phố", 0),
        ("Thành phố Huế", 2, None, "Thành phố", 0),
        ("T. Thừa Thiên Huế", 1, "province", "Tỉnh", 0),
        ("Tỉnh Thừa Thiên Huế", 1, "province", "Tỉnh", 0),
    ],
)
def test_prefix_before(text: str, index: int, level: str | None, unit_type: str,
                       first: int) -> None:
    prefix, start = prefix_before(tokenize(text), index)
    assert prefix is not None
    assert (prefix.level, prefix.unit_type, start) == (level, unit_type, first)


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("Vỹ Dạ", 0),            # nothing before
        ("Lê Lợi Vỹ Dạ", 2),     # a street word is not a prefix
        ("P., Vỹ Dạ", 1),        # a comma separates the prefix from the name
    ],
)
def test_no_prefix(text: str, index: int) -> None:
    assert prefix_before(tokenize(text), index) == (None, index)


@pytest.mark.parametrize(
    ("name", "unit_type", "bare"),
    [
        ("Phường Vĩ Dạ", "Phường", "Vĩ Dạ"),
        ("Vĩ Dạ", "Phường", "Vĩ Dạ"),
        ("Phường Phường Đúc", "Phường", "Phường Đúc"),
        ("Phường", "Phường", "Phường"),
        ("Thị xã Hương Trà", "Thị xã", "Hương Trà"),
    ],
)
def test_strip_type(name: str, unit_type: str, bare: str) -> None:
    assert strip_type(name, unit_type) == bare


@pytest.mark.parametrize(
    ("key", "known", "stripped"),
    [
        ("xahaiduong", {"haiduong"}, "haiduong"),
        ("quangthai", {"quangthai", "gthai"}, "gthai"),  # only because 'gthai' is known
        ("quangthai", {"quangthai"}, "quangthai"),
        ("phuongphuongduc", {"phuongduc", "duc"}, "phuongduc"),
        ("thitransia", {"sia"}, "sia"),
    ],
)
def test_strip_type_key(key: str, known: set[str], stripped: str) -> None:
    assert strip_type_key(key, known) == stripped


@pytest.mark.parametrize(
    ("text", "spelled"),
    [
        ("Thuỷ Xuân", "thuy? xuân"),
        ("Thủy Xuân", "thuy? xuân"),
        ("Hương Văn", "hương văn"),
        ("Hương Vân", "hương vân"),
        ("Thuận Hóa", "thuân. hoa'"),
        ("Thuận Hòa", "thuân. hoa`"),
        ("Đông Ba", "đông ba"),
        ("Chân Mây - Lăng Cô", "chân mây lăng cô"),
    ],
)
def test_spelling_keeps_marks_and_moves_tones(text: str, spelled: str) -> None:
    assert spelling(text) == spelled


@pytest.mark.parametrize(
    ("words", "keys"),
    [
        (["vi", "da"], {"vida", "vyda"}),
        (["my", "thuong"], {"mythuong", "mithuong"}),
        (["thuy", "xuan"], {"thuyxuan"}),  # u before y: not a spelling variant
        (["an", "hoa"], {"anhoa"}),
    ],
)
def test_iy_variants(words: list[str], keys: set[str]) -> None:
    assert iy_variants(words) == keys


def _lexicon(*keys: str) -> Lexicon:
    lexicon = Lexicon()
    for number, key in enumerate(keys, start=1):
        lexicon.add(key, NameEntry(number, "name", "Phường"))
    lexicon.freeze()
    return lexicon


@pytest.mark.parametrize(
    ("query", "found", "edits"),
    [
        ("vinhninh", ["vinhninh"], 0),
        ("vinhnnh", ["vinhninh"], 1),      # dropped letter
        ("vinhniinh", ["vinhninh"], 1),    # extra letter
        ("vinhnihn", ["vinhninh"], 1),     # swapped neighbours
        ("vinhninx", ["vinhninh"], 1),     # replaced letter
        ("vnhnnh", [], None),              # two edits
        ("aluoi1", [], None),              # numbers must agree
        ("aluoi", [], None),
        ("sia", [], None),                 # too short for typos
    ],
)
def test_lexicon_lookup(query: str, found: list[str], edits: int | None) -> None:
    hits = _lexicon("vinhninh", "aluoi2", "sya").lookup(query, fuzzy=True)
    assert [hit.key for hit in hits] == found
    if edits is not None:
        assert {hit.edits for hit in hits} == {edits}


def test_exact_lookup_never_returns_typos() -> None:
    assert _lexicon("vinhninh").lookup("vinhnnh") == []


def test_lexicon_keeps_the_first_entry_for_a_unit_and_type() -> None:
    lexicon = Lexicon()
    lexicon.add("vyda", NameEntry(1, "name", "Phường", spelling="vy~ da."))
    lexicon.add("vyda", NameEntry(1, "variant", "Phường"))
    lexicon.add("vyda", NameEntry(1, "legacy", "Xã"))
    lexicon.freeze()
    assert [(e.kind, e.unit_type) for e in lexicon.exact("vyda")] == [
        ("name", "Phường"), ("legacy", "Xã")]
