"""Every way the index knows to write a unit's name, from the database and the gazetteer.

- The database gives each unit's own name: its key without the type (``vida``), with the
  type (``phuongvida``), and i/y spelling variants (``vyda``).
- The gazetteer (``gis_service.gazetteer``) adds its keywords for the 2025 wards, and for the
  communes of older generations the names they had between 2019 and 2025 (the *legacy*
  structure: Phường Phong Thu, Quận Thuận Hóa, ...), matched by GSO code.
- Legacy districts that no loaded generation has (Quận Thuận Hóa, Quận Phú Xuân) become
  :class:`Area` objects: named sets of older-generation communes, used only as context
  ("Phường Vỹ Dạ, Quận Thuận Hóa") and never returned as a result.

A gazetteer key is never attached to a unit when it is another unit's own name in the same
generation: "phuduong" is an alias of legacy Phường Dương Nỗ, but in 2019 it is Xã Phú Dương.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gis_service import gazetteer
from gis_service.geocode.lexicon import NameEntry, iy_variants
from gis_service.geocode.normalise import (
    TYPE_KEYS,
    fold_key,
    spelling,
    strip_type,
    strip_type_key,
)
from gis_service.geocode.units import Unit

# Short forms people write glued to the name ("TPHuế", "TX Hương Trà" typed as one word).
_TYPE_ABBREVIATIONS = {"Thành phố": ("tp",), "Thị xã": ("tx",)}
# The old province's common abbreviations: "TT Huế", "TT-Huế", "T.T.Huế", "TTH".
_PROVINCE_ABBREVIATIONS = {"thuathienhue": ("tthue", "tth", "thuathien")}


@dataclass(frozen=True, slots=True)
class Area:
    """A legacy district known only from the gazetteer: a name over older-generation communes."""

    id: int
    name: str
    unit_type: str
    members: frozenset[int]
    level: str = "district"


NameKey = tuple[str, NameEntry]


def spelled_variants(name: str) -> list[tuple[str, str]]:
    """(key, spelling) of a name and of its i/y variants, the name itself first."""
    words = [word for word in name.split() if fold_key(word)]
    keys = [fold_key(word) for word in words]
    spelled = [spelling(word) for word in words]
    found = [("".join(keys), " ".join(spelled))]
    for variant in sorted(iy_variants(keys) - {found[0][0]}):
        found.append((variant, _respell(variant, keys, spelled)))
    return found


def _respell(variant: str, keys: list[str], spelled: list[str]) -> str:
    """The spelling of an i/y variant: the same letters swapped in the spelled words."""
    out, position = [], 0
    for key, word in zip(keys, spelled, strict=True):
        changed = variant[position:position + len(key)] != key
        position += len(key)
        if changed and key[-1] in "iy":
            swapped, letters = ("y" if key[-1] == "i" else "i"), len(key) - 1
            out.append(word[:letters] + swapped + word[letters + 1:])
        else:
            out.append(word)
    return " ".join(out)


def own_names(unit: Unit) -> Iterator[NameKey]:
    """A unit's own name keys: plain, i/y variants, with its type, and the type abbreviated."""
    name = strip_type(unit.name, unit.unit_type)
    variants = spelled_variants(name)
    base = variants[0][0]
    variants += [(key, "") for key in _PROVINCE_ABBREVIATIONS.get(base, ())]
    type_keys = (TYPE_KEYS.get(unit.unit_type, ""), *_TYPE_ABBREVIATIONS.get(unit.unit_type, ()))
    type_spelling = spelling(unit.unit_type)
    for key, written in variants:
        kind = "name" if key == base else "variant"
        yield key, NameEntry(unit.id, kind, unit.unit_type, spelling=written)
        for type_key in type_keys:
            typed = f"{type_spelling} {written}" if written and type_key == type_keys[0] else ""
            yield type_key + key, NameEntry(unit.id, kind, unit.unit_type, typed=True,
                                            spelling=typed)


def official_keys(units: Iterable[Unit]) -> dict[str, dict[str, set[int]]]:
    """Generation -> own-name key -> the units it names (to keep aliases off other units)."""
    found: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for unit in units:
        for key, entry in own_names(unit):
            if not entry.typed:
                found[unit.generation][key].add(unit.id)
    return found


def _alias_keys(keys: Iterable[str]) -> set[str]:
    known = frozenset(keys)
    return {strip_type_key(key, known) for key in known}


def _free(key: str, unit: Unit, taken: dict[str, dict[str, set[int]]]) -> bool:
    """True when ``key`` is not another unit's own name in ``unit``'s generation."""
    return not (taken[unit.generation].get(key, set()) - {unit.id})


def _variants(unit: Unit, keys: Iterable[str], taken: dict[str, dict[str, set[int]]]
              ) -> Iterator[NameKey]:
    for key in sorted(_alias_keys(keys)):
        if _free(key, unit, taken):
            yield key, NameEntry(unit.id, "variant", unit.unit_type)


def current_names(units: Iterable[Unit], current: str, province_code: str,
                  taken: dict[str, dict[str, set[int]]]) -> Iterator[NameKey]:
    """The gazetteer's keywords for the current generation's wards and province.

    A ward must have the gazetteer's name as well as its code: were an older generation the
    current one (2025 not loaded), the 2025 keywords must not land on its communes.
    """
    wards = {ward.code: ward for ward in gazetteer.wards_2025(province_code)}
    province = gazetteer.province(province_code)
    for unit in units:
        if unit.generation != current:
            continue
        ward = wards.get(unit.code) if unit.level == "commune" else None
        if ward is not None and fold_key(strip_type(unit.name, unit.unit_type)) == ward.short_key:
            yield from _variants(unit, (*ward.keywords, *ward.aliases), taken)
        elif unit.level == "province" and unit.code == province.code:
            yield from _variants(unit, province.keywords, taken)


def legacy_names(units: Iterable[Unit], current: str, province_code: str,
                 taken: dict[str, dict[str, set[int]]]) -> Iterator[NameKey]:
    """Names the older generations' communes had in the legacy structure, by shared code."""
    legacy = {commune.code: commune for commune in gazetteer.legacy_communes(province_code)}
    for unit in units:
        commune = legacy.get(unit.code)
        if unit.generation == current or unit.level != "commune" or commune is None:
            continue
        own = {key for key, _ in own_names(unit)}
        legacy_keys = set()
        for key, written in spelled_variants(commune.short_name):
            legacy_keys.add(key)
            if key not in own or commune.unit_type != unit.unit_type:
                yield key, NameEntry(unit.id, "legacy", commune.unit_type, spelling=written)
        # The keywords repeat the legacy name: it must stay a legacy name, not a variant.
        others = set(_alias_keys(commune.keywords)) - legacy_keys
        yield from _variants(unit, others, taken)


def legacy_areas(units: Iterable[Unit], current: str, province_code: str, *, first_id: int = -1
                 ) -> tuple[list[Area], list[NameKey]]:
    """The legacy districts as :class:`Area` objects over the older generations' communes.

    A commune belongs to an area when the gazetteer lists it (same code) in that district, or
    when its full name is an alias of one of the district's communes (merged into it). Areas
    are numbered down from ``first_id`` (negative, so they never collide with unit ids).
    """
    older = [u for u in units if u.generation != current and u.level == "commune"]
    by_code: dict[str, list[int]] = defaultdict(list)
    by_full_key: dict[str, list[int]] = defaultdict(list)
    for unit in older:
        by_code[unit.code].append(unit.id)
        by_full_key[fold_key(unit.full_name)].append(unit.id)
    members: dict[str, set[int]] = defaultdict(set)
    for commune in gazetteer.legacy_communes(province_code):
        members[commune.district_code].update(by_code.get(commune.code, ()))
        for alias in commune.aliases:
            members[commune.district_code].update(by_full_key.get(alias, ()))
    areas: list[Area] = []
    names: list[NameKey] = []
    for district in gazetteer.legacy_districts(province_code):
        if not members[district.code]:
            continue
        area = Area(first_id - len(areas), district.name, district.unit_type,
                    frozenset(members[district.code]))
        areas.append(area)
        type_key, type_spelling = TYPE_KEYS.get(area.unit_type, ""), spelling(area.unit_type)
        for key, written in spelled_variants(district.short_name):
            names.append((key, NameEntry(area.id, "legacy", area.unit_type, spelling=written)))
            names.append((type_key + key, NameEntry(area.id, "legacy", area.unit_type,
                                                    typed=True,
                                                    spelling=f"{type_spelling} {written}")))
    return areas, names
