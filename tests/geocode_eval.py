"""The labelled evaluation set for forward geocoding, built from the loaded units and the gazetteer.

Every commune of every loaded generation is written several ways people really write it:
full diacritics, none, abbreviated prefixes, no prefixes, a street and house number in front,
upper case, NFD, extra spaces and punctuation, no commas, one-letter typos, and (for older
communes) with the legacy district and the new province names they carried after 2019.
Each case is labelled with the unit it must return first. The set is deterministic: the same
units and seed give the same cases. Used by tests/test_geocode_accuracy.py and
benchmarks/geocode_accuracy.py.

Ambiguity is labelled, not avoided: an older commune's text always carries its province or a
district no newer unit has, and a current ward written with no older context is labelled
with the current ward (a bare name is read in the current generation first).
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from gis_service import gazetteer
from gis_service.geocode.forward import GeocodeResult
from gis_service.geocode.normalise import strip_type
from gis_service.geocode.units import Unit
from gis_service.text import fold_vietnamese

SEED = 20250701

ABBREVIATIONS = {
    "Phường": ("P.", "P. ", "Ph.", "P "),
    "Xã": ("X.", "X. ", "X "),
    "Thị trấn": ("TT.", "TT. ", "TT "),
    "Quận": ("Q.", "Q. ", "Q "),
    "Huyện": ("H.", "H. ", "H "),
    "Thị xã": ("TX.", "TX. ", "TX "),
    "Thành phố": ("TP.", "Tp. ", "TP ", "Tp "),
    "Tỉnh": ("T.", "T. ", "Tỉnh "),
}
OLD_PROVINCE_SPELLINGS = ("TT Huế", "TT-Huế", "Thừa Thiên - Huế", "T.T.Huế", "Thừa Thiên Huế")
STREETS = (
    "Lê Lợi", "Hùng Vương", "Trần Hưng Đạo", "Nguyễn Huệ", "Điện Biên Phủ", "Phan Đình Phùng",
    "Bà Triệu", "Nguyễn Sinh Cung", "Lý Thường Kiệt", "Đống Đa", "Chi Lăng", "Nguyễn Trãi",
    "Lê Duẩn", "Tố Hữu", "Võ Văn Kiệt", "Quốc lộ 1A", "Tỉnh lộ 10",
)
HOUSES = ("12", "45/3", "Số 120", "Kiệt 7", "Kiệt 15/2", "Thôn 3,", "Tổ dân phố 5,", "08")


@dataclass(frozen=True)
class EvalCase:
    """One address text and the unit (generation, level, code) that must rank first."""

    query: str
    variant: str
    generation: str
    level: str
    code: str

    def hit(self, result: GeocodeResult) -> bool:
        unit = result.unit
        return (unit.generation, unit.level, unit.code) == (self.generation, self.level,
                                                          self.code)


@dataclass(frozen=True)
class _Parts:
    """The names one case is written from (each a (type, short name) pair)."""

    commune: tuple[str, str]
    district: tuple[str, str] | None
    province: tuple[str, str] | None


def short(unit: Unit) -> tuple[str, str]:
    return unit.unit_type, strip_type(unit.name, unit.unit_type)


def _full(part: tuple[str, str]) -> str:
    return f"{part[0]} {part[1]}"


def _join(parts: _Parts, render: Callable[[tuple[str, str], str], str], sep: str = ", ") -> str:
    pieces = [render(parts.commune, "commune")]
    if parts.district is not None:
        pieces.append(render(parts.district, "district"))
    if parts.province is not None:
        pieces.append(render(parts.province, "province"))
    return sep.join(pieces)


def typo(name: str, rng: random.Random) -> str:
    """``name`` with one letter dropped, two neighbours swapped, or one replaced."""
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    i = rng.choice(letters)
    operation = rng.choice(("drop", "swap", "replace"))
    if operation == "swap" and i + 1 < len(name) and name[i + 1].isalpha():
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    if operation == "replace":
        other = rng.choice([c for c in "abcdeghiklmnopqrstuvxy" if c != name[i].lower()])
        return name[:i] + other + name[i + 1:]
    return name[:i] + name[i + 1:]


def _messy(text: str, rng: random.Random) -> str:
    words = text.replace(",", " , ").split()
    out = []
    for word in words:
        out.append(word + rng.choice(("", "", " ", "  ")))
    noisy = " ".join(out).replace(" , ", rng.choice((",,", " ,", " - ", ";")))
    return "  " + noisy + rng.choice((" .", ".", " ", ""))


def _cased_ascii(text: str, rng: random.Random) -> str:
    folded = fold_vietnamese(text)
    return rng.choice((folded, folded.lower(), folded.upper()))


def _abbreviated(part: tuple[str, str], role: str, rng: random.Random) -> str:
    unit_type, name = part
    if role == "province" and unit_type == "Tỉnh":
        return rng.choice((*OLD_PROVINCE_SPELLINGS[:4], "T. Thừa Thiên Huế"))
    return rng.choice(ABBREVIATIONS.get(unit_type, ("",))) + name


def _common_variants(parts: _Parts, rng: random.Random) -> list[tuple[str, str]]:
    full = _join(parts, lambda p, _: _full(p))
    typo_parts = _Parts((parts.commune[0], typo(parts.commune[1], rng)), parts.district,
                        parts.province)
    street = f"{rng.choice(HOUSES)} {rng.choice(STREETS)}"
    return [
        ("full", full),
        ("ascii", _cased_ascii(full, rng)),
        ("abbreviated", _join(parts, lambda p, role: _abbreviated(p, role, rng))),
        ("no_prefix", _join(parts, lambda p, _: p[1])),
        ("street", f"{street}, {full}"),
        ("street_ascii_abbreviated", _cased_ascii(
            f"{street} " + _join(parts, lambda p, role: _abbreviated(p, role, rng)), rng)),
        ("no_commas", _join(parts, lambda p, _: _full(p), sep=" ")),
        ("upper", full.upper()),
        ("nfd", unicodedata.normalize("NFD", full)),
        ("messy", _messy(full, rng)),
        ("typo", _join(typo_parts, lambda p, _: _full(p))),
        ("typo_ascii", _cased_ascii(_join(typo_parts, lambda p, _: _full(p)), rng)),
    ]


def _legacy_variants(unit: Unit, parts: _Parts, rng: random.Random) -> list[tuple[str, str]]:
    """An older commune in its legacy (2020-2025) form: legacy type, name and district."""
    commune = next((c for c in gazetteer.legacy_communes() if c.code == unit.code), None)
    if commune is None:
        return []
    district = next(d for d in gazetteer.legacy_districts() if d.code == commune.district_code)
    legacy = _Parts((commune.unit_type, commune.short_name),
                    (district.unit_type, district.short_name),
                    (gazetteer.province().unit_type, gazetteer.province().short_name))
    new_province_name = (gazetteer.province().unit_type, gazetteer.province().short_name)
    cases = [("legacy_district", _join(legacy, lambda p, _: _full(p)))]
    # "Xã Phú Dương, Huyện Phú Vang, Thành phố Huế"; not for the old city's own wards, whose
    # district had the new province's name.
    if parts.district is not None and parts.district[1] != new_province_name[1]:
        new_province = _Parts(parts.commune, parts.district, new_province_name)
        cases.append(("new_province", _join(new_province, lambda p, _: _full(p))))
    cases.append(("legacy_abbreviated",
                  _join(legacy, lambda p, role: _abbreviated(p, role, rng))))
    return cases


def _parent(unit: Unit | None, units: dict[int, Unit]) -> Unit | None:
    return units.get(unit.parent_id) if unit is not None and unit.parent_id is not None else None


def _older_cases(unit: Unit, units: dict[int, Unit], rng: random.Random) -> list[EvalCase]:
    district = _parent(unit, units)
    province = _parent(district, units)
    parts = _Parts(short(unit), short(district) if district else None,
                   short(province) if province else None)
    variants = _common_variants(parts, rng) + _legacy_variants(unit, parts, rng)
    return _labelled(unit, variants)


def _current_cases(unit: Unit, units: dict[int, Unit], rng: random.Random) -> list[EvalCase]:
    province = _parent(unit, units)
    parts = _Parts(short(unit), None, short(province) if province else None)
    variants = _common_variants(parts, rng)
    variants.append(("bare", _full(parts.commune)))
    if province is not None:
        variants.append(("short_province", f"{parts.commune[1]}, {short(province)[1]}"))
    return _labelled(unit, variants)


def _labelled(unit: Unit, variants: list[tuple[str, str]]) -> list[EvalCase]:
    """One case per distinct text (a commune whose legacy name and district are its 2019
    ones writes "legacy_district" as "new_province" does: it counts once)."""
    texts: dict[str, str] = {}
    for name, text in variants:
        texts.setdefault(text, name)
    return [EvalCase(text, name, unit.generation, unit.level, unit.code)
            for text, name in texts.items()]


def build_cases(units: Iterable[Unit], current: str, *, seed: int = SEED) -> list[EvalCase]:
    """The evaluation set for these units (every commune of every generation)."""
    by_id = {unit.id: unit for unit in units}
    rng = random.Random(seed)
    cases: list[EvalCase] = []
    for unit in sorted(by_id.values(), key=lambda u: (u.generation, u.code)):
        if unit.level != "commune":
            continue
        make = _current_cases if unit.generation == current else _older_cases
        cases.extend(make(unit, by_id, rng))
    return cases


@dataclass(frozen=True)
class Scores:
    """Top-1 and top-3 accuracy overall and per variant, and the cases missed at top 1."""

    total: int
    top1: float
    top3: float
    by_variant: dict[str, dict[str, float]]
    misses: list[tuple[EvalCase, str]]

    def to_dict(self) -> dict[str, object]:
        return {"cases": self.total, "top1": round(self.top1, 4), "top3": round(self.top3, 4),
                "by_variant": self.by_variant}


def evaluate(cases: Sequence[EvalCase], run: Callable[[str], list[GeocodeResult]]) -> Scores:
    """Run every case through ``run`` (a geocode call) and score it."""
    top1: Counter[str] = Counter()
    top3: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    misses = []
    for case in cases:
        results = run(case.query)
        seen[case.variant] += 1
        if results and case.hit(results[0]):
            top1[case.variant] += 1
        else:
            got = results[0].unit.name + f" ({results[0].generation})" if results else "nothing"
            misses.append((case, got))
        if any(case.hit(r) for r in results[:3]):
            top3[case.variant] += 1
    by_variant = {
        v: {"cases": seen[v], "top1": round(top1[v] / seen[v], 4),
            "top3": round(top3[v] / seen[v], 4)}
        for v in sorted(seen)
    }
    total = len(cases)
    return Scores(total, sum(top1.values()) / total if total else 0.0,
                  sum(top3.values()) / total if total else 0.0, by_variant, misses)
