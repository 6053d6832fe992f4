"""The in-memory geocoding index: every unit of every generation, its names and hierarchy.

Built once from the database (three queries) and the gazetteer; rebuilding after a boundary
load takes a few tens of milliseconds for Huế, so a service holds one index and swaps it when
the boundaries change (see ``cache.IndexCache``). Nothing in it is mutated after
:func:`build_index` returns, so one index can serve many threads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from gis_service import gazetteer
from gis_service.errors import NotFound
from gis_service.geocode import names
from gis_service.geocode.lexicon import Lexicon, NameEntry
from gis_service.geocode.names import Area
from gis_service.geocode.normalise import fold_key, strip_type
from gis_service.geocode.streets import StreetList
from gis_service.geocode.units import (
    GenerationInfo,
    Overlap,
    Unit,
    read_generations,
    read_overlaps,
    read_units,
)

#: Consistency of a province written in another generation's name ("Xã Phú Dương, Huyện Phú
#: Vang, Thành phố Huế": a 2019 commune under the 2025 province's name): right place, but
#: weaker evidence than the generation's own name.
CROSS_GENERATION = 0.8


@dataclass(frozen=True)
class GeocodeIndex:
    """Units, legacy areas, names and succession, ready for :func:`geocode`.

    ``current`` is the code of the generation results are translated into (the active one,
    else the newest). ``successor`` maps an older unit to the current unit holding most of its
    area; ``predecessors`` maps a current unit to the older units whose successor it is.
    """

    units: dict[int, Unit]
    areas: dict[int, Area]
    lexicon: Lexicon
    current: str
    successor: dict[int, int] = field(default_factory=dict)
    predecessors: dict[int, tuple[int, ...]] = field(default_factory=dict)
    #: The province's street names, and the older-generation districts each one implies.
    streets: StreetList = field(default_factory=StreetList)
    street_districts: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False)
    _ancestors: dict[int, tuple[int, ...]] = field(default_factory=dict, repr=False)
    _province_code: dict[int, str | None] = field(default_factory=dict, repr=False)
    _current_provinces: dict[str, int] = field(default_factory=dict, repr=False)

    def level_of(self, target: int) -> str:
        return self.areas[target].level if target < 0 else self.units[target].level

    def ancestors(self, unit_id: int) -> tuple[int, ...]:
        """Parent, grandparent... of a unit, nearest first."""
        return self._ancestors.get(unit_id, ())

    def province_code(self, target: int) -> str | None:
        """The code of the province a unit lies in (its own code for a province)."""
        if target < 0:
            members = self.areas[target].members
            return self._province_code.get(next(iter(members))) if members else None
        return self._province_code.get(target)

    def containment(self, child: int, parent: int) -> float:
        """How well ``parent`` written after ``child`` fits: 1 inside, CROSS_GENERATION for a
        province of another generation, 0 when it does not contain it."""
        if parent < 0:
            return 1.0 if child in self.areas[parent].members else 0.0
        if child < 0:
            unit = self.units[parent]
            same = unit.level == "province" and unit.code == self.province_code(child)
            return 1.0 if same else 0.0
        if parent in self.ancestors(child):
            return 1.0
        outer = self.units[parent]
        if outer.level == "province" and outer.code == self.province_code(child):
            return CROSS_GENERATION
        return 0.0

    def current_of(self, unit_id: int) -> int | None:
        """The current-generation unit that holds (most of) this unit, or the unit itself."""
        unit = self.units[unit_id]
        if unit.generation == self.current:
            return unit_id
        if unit.id in self.successor:
            return self.successor[unit.id]
        if unit.level == "province":
            return self._current_provinces.get(unit.code)
        return None


def choose_current(generations: list[GenerationInfo]) -> str | None:
    """The active generation's code, else the newest one's (generations come oldest first)."""
    for info in generations:
        if info.status == "active":
            return info.code
    return generations[-1].code if generations else None


def _ancestor_chains(units: dict[int, Unit]) -> dict[int, tuple[int, ...]]:
    chains: dict[int, tuple[int, ...]] = {}
    for unit in units.values():
        chain, parent = [], unit.parent_id
        while parent is not None and parent in units and parent not in chain:
            chain.append(parent)
            parent = units[parent].parent_id
        chains[unit.id] = tuple(chain)
    return chains


def _province_codes(units: dict[int, Unit], chains: dict[int, tuple[int, ...]]
                    ) -> dict[int, str | None]:
    codes: dict[int, str | None] = {}
    for unit in units.values():
        line = (unit.id, *chains[unit.id])
        provinces = [units[i].code for i in line if units[i].level == "province"]
        codes[unit.id] = provinces[0] if provinces else None
    return codes


def _succession(units: dict[int, Unit], overlaps: Iterable[Overlap], current: str
                ) -> tuple[dict[int, int], dict[int, tuple[int, ...]]]:
    """Each older unit's main successor (largest shared area), and the reverse."""
    best: dict[int, Overlap] = {}
    for overlap in overlaps:
        new = units.get(overlap.new_id)
        if new is None or new.generation != current or overlap.old_id not in units:
            continue
        if overlap.old_id not in best or overlap.overlap_km2 > best[overlap.old_id].overlap_km2:
            best[overlap.old_id] = overlap
    successor = {old: overlap.new_id for old, overlap in best.items()}
    grouped: dict[int, list[Overlap]] = defaultdict(list)
    for overlap in best.values():
        grouped[overlap.new_id].append(overlap)
    predecessors = {
        new: tuple(o.old_id for o in sorted(group, key=lambda o: -o.overlap_km2))
        for new, group in grouped.items()
    }
    return successor, predecessors


def _province_codes_present(units: Iterable[Unit]) -> list[str]:
    return sorted({u.code for u in units if u.level == "province"})


def _lexicon(units: list[Unit], current: str, areas_names: list[tuple[str, NameEntry]],
             gazetteer_provinces: list[str]) -> Lexicon:
    lexicon = Lexicon()
    taken = names.official_keys(units)
    for unit in units:
        for key, entry in names.own_names(unit):
            lexicon.add(key, entry)
    for code in gazetteer_provinces:
        for key, entry in names.current_names(units, current, code, taken):
            lexicon.add(key, entry)
        for key, entry in names.legacy_names(units, current, code, taken):
            lexicon.add(key, entry)
    for key, entry in areas_names:
        lexicon.add(key, entry)
    lexicon.freeze()
    return lexicon


def _gazetteer_provinces(units: list[Unit]) -> list[str]:
    """Province codes of the loaded units that the gazetteer knows."""
    known = []
    for code in _province_codes_present(units):
        try:
            gazetteer.province(code)
        except LookupError:
            continue
        known.append(code)
    return known


def _street_districts(units: list[Unit], current: str, streets: StreetList
                      ) -> dict[str, tuple[int, ...]]:
    """Street key -> the older generations' districts of the names the street list gives.

    Matched by name alone: the list's types are older than 2019 (its "Huyện Hương Trà" has
    been Thị xã Hương Trà since 2011).
    """
    by_name: dict[str, list[int]] = defaultdict(list)
    for unit in units:
        if unit.level == "district" and unit.generation != current:
            by_name[fold_key(strip_type(unit.name, unit.unit_type))].append(unit.id)
    found = {}
    for key, street in streets.by_key.items():
        ids = [i for _, name in street.districts for i in by_name.get(fold_key(name), ())]
        if ids:
            found[key] = tuple(ids)
    return found


def index_from_rows(units: list[Unit], generations: list[GenerationInfo],
                    overlaps: Iterable[Overlap], *, current: str | None = None,
                    use_gazetteer: bool = True, streets: StreetList | None = None
                    ) -> GeocodeIndex:
    """Build the index from rows already read (the database-free half of :func:`build_index`)."""
    current = current or choose_current(generations) or ""
    by_id = {unit.id: unit for unit in units}
    provinces = _gazetteer_provinces(units) if use_gazetteer else []
    areas: dict[int, Area] = {}
    area_names: list[tuple[str, NameEntry]] = []
    for code in provinces:
        found, found_names = names.legacy_areas(units, current, code, first_id=-len(areas) - 1)
        areas.update((area.id, area) for area in found)
        area_names += found_names
    chains = _ancestor_chains(by_id)
    successor, predecessors = _succession(by_id, overlaps, current)
    return GeocodeIndex(
        units=by_id,
        areas=areas,
        lexicon=_lexicon(units, current, area_names, provinces),
        current=current,
        successor=successor,
        predecessors=predecessors,
        streets=streets or StreetList(),
        street_districts=_street_districts(units, current, streets or StreetList()),
        _ancestors=chains,
        _province_code=_province_codes(by_id, chains),
        _current_provinces={u.code: u.id for u in units
                            if u.generation == current and u.level == "province"},
    )


def build_index(
    conn: Connection,
    *,
    generations: Sequence[str] | None = None,
    current: str | None = None,
    use_gazetteer: bool = True,
    streets: StreetList | None = None,
) -> GeocodeIndex:
    """Read the units of the published generations (or those named) and the crosswalk between
    them, and index their names.

    ``current`` overrides which generation results are translated into (default: the active
    one, else the newest). ``use_gazetteer=False`` indexes the database's own names only
    (tests of the matching rules with made-up units). ``streets`` (see ``streets.load_streets``)
    lets the street part of an address be recognised.

    >>> with engine.connect() as conn:  # doctest: +SKIP
    ...     index = build_index(conn)
    """
    infos = read_generations(conn, generations)
    if current is not None and current not in {info.code for info in infos}:
        raise NotFound(f"no boundary generation {current!r} to geocode into", field="generation")
    order = {info.id: rank for rank, info in enumerate(infos)}
    units = read_units(conn, list(order))
    return index_from_rows(units, infos, read_overlaps(conn, order), current=current,
                           use_gazetteer=use_gazetteer, streets=streets)
