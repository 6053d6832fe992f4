"""Two more evaluation sets for forward geocoding (issue 13), from the shared data root.

- **Administrative centres**: the 40 addresses of the 2025 wards' People's Committees
  (``gazetteer/hue_2025_wards_sapnhap_mergers.csv``, column ``a06_trungtamhc``, as written
  there: "394 Đinh Tiên Hoàng, phường Phú Xuân"), each labelled with its ward's code.
- **Street-only**: one address per street of TTH.json, a house number and the street, with or
  without its (pre-2021) district and province, and no ward. The right answer is the district
  (one the list gives, or the one written), never a commune: with no street geometry a street
  says no more.

Used by tests/test_geocode_accuracy.py and benchmarks/geocode_accuracy.py. Deterministic.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gis_service.geocode.forward import GeocodeResult
from gis_service.geocode.normalise import fold_key, strip_type
from gis_service.geocode.streets import StreetList

MERGERS_FILE = Path("gazetteer/hue_2025_wards_sapnhap_mergers.csv")
#: House numbers as written in front of a street (never a "Thôn 3," that ends a segment).
HOUSE_NUMBERS = ("12", "45/3", "Số 120", "Kiệt 7", "Kiệt 15/2", "08", "2A", "Số 5")
PROVINCE_SPELLINGS = ("Thừa Thiên Huế", "TT Huế", "Thành phố Huế")
FINE = ("commune", "point")


@dataclass(frozen=True)
class CentreCase:
    query: str
    code: str


@dataclass(frozen=True)
class StreetCase:
    """A street-only address and the districts (type, name) that are right for it."""

    query: str
    districts: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SetScores:
    cases: int
    top1: float
    given_commune: float
    misses: list[tuple[str, str]]

    def to_dict(self) -> dict[str, object]:
        return {"cases": self.cases, "top1": round(self.top1, 4),
                "given_commune": round(self.given_commune, 4), "misses": len(self.misses)}


def centre_cases(data_root: Path) -> list[CentreCase]:
    with (data_root / MERGERS_FILE).open(encoding="utf-8", newline="") as handle:
        return [CentreCase(row["a06_trungtamhc"].strip(), row["code"].strip())
                for row in csv.DictReader(handle)]


def street_cases(streets: StreetList, *, seed: int = 20250701) -> list[StreetCase]:
    rng = random.Random(seed)
    cases = []
    for key in sorted(streets.by_key):
        street = streets.by_key[key]
        district = rng.choice(street.districts)
        house = rng.choice(HOUSE_NUMBERS)
        style = rng.choice(("bare", "district", "district_province", "province"))
        written = f"{district[0]} {district[1]}"
        context = {"bare": "", "district": f", {written}",
                   "district_province": f", {written}, {rng.choice(PROVINCE_SPELLINGS[:2])}",
                   "province": f", {rng.choice(PROVINCE_SPELLINGS)}"}[style]
        right = (district,) if style.startswith("district") else street.districts
        cases.append(StreetCase(f"{house} {street.name}{context}", right))
    return cases


def score_centres(cases: list[CentreCase], run: Callable[[str], list[GeocodeResult]]
                  ) -> SetScores:
    hits, fine, misses = 0, 0, []
    for case in cases:
        results = run(case.query)
        top = results[0] if results else None
        current = top.current.get("commune") if top else None
        if current is not None and current.code == case.code and top and top.precision in FINE:
            hits += 1
        else:
            misses.append((case.query, _name(top)))
        fine += bool(top and top.precision in FINE)
    return SetScores(len(cases), hits / len(cases), fine / len(cases), misses)


def score_streets(cases: list[StreetCase], run: Callable[[str], list[GeocodeResult]]
                  ) -> SetScores:
    """Top-1 right: a district the case allows; ``given_commune``: top-1 finer than that."""
    hits, fine, misses = 0, 0, []
    for case in cases:
        results = run(case.query)
        top = results[0] if results else None
        if top is not None and top.precision in FINE:
            fine += 1
        # By name: the list's district types predate 2019 (Huyện, now Thị xã, Hương Trà).
        if top is not None and top.precision == "district" and _district(top) in {
                fold_key(name) for _, name in case.districts}:
            hits += 1
        else:
            misses.append((case.query, _name(top)))
    return SetScores(len(cases), hits / len(cases), fine / len(cases), misses)


def _district(result: GeocodeResult) -> str:
    return fold_key(strip_type(result.unit.name, result.unit.unit_type))


def _name(result: GeocodeResult | None) -> str:
    return f"{result.unit.name} ({result.precision})" if result else "nothing"
