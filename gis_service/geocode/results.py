"""What forward geocoding returns: candidate places with their units in both generations."""

from __future__ import annotations

from dataclasses import dataclass, field

from gis_service.geocode.index import GeocodeIndex
from gis_service.geocode.units import Unit
from gis_service.unit_ref import UnitRef


def unit_ref(unit: Unit) -> UnitRef:
    """The reference to a gazetteer unit (with its generation: results mix generations)."""
    return UnitRef(unit.id, unit.code, unit.full_name, unit.unit_type, unit.level,
                   approximate=unit.approximate, generation=unit.generation)


def unit_dict(ref: UnitRef) -> dict[str, object]:
    """A unit as geocoding results show it."""
    return {"code": ref.code, "name": ref.name, "type": ref.unit_type, "level": ref.level,
            "generation": ref.generation, "approximate": ref.approximate}


@dataclass(frozen=True)
class GeocodeResult:
    """One candidate place for an address.

    ``lat``/``lon``: the unit's label point (inside it, approximate as a location).
    ``units``: the matched unit and its ancestors in ``generation``, keyed by level;
    ``current``: the same place in the current generation (an older commune's successor:
    the current unit holding most of its area); ``predecessors``: for a current commune, the
    older communes whose successor it is. ``matched`` is the input text that named the units
    (NFC), ``matched_parts`` the same per level; ``street`` is what came before, as typed, and
    ``street_name`` the street recognised in it, as the province's street list spells it.
    ``ambiguous``: another result names another place and is exactly as good (both are
    returned, and their confidence says neither is more likely).
    """

    lat: float
    lon: float
    precision: str
    confidence: float
    generation: str
    unit: UnitRef
    units: dict[str, UnitRef]
    current: dict[str, UnitRef]
    predecessors: tuple[UnitRef, ...]
    matched: str
    matched_parts: dict[str, str]
    street: str | None
    score: float = field(repr=False, default=0.0)
    ambiguous: bool = False
    street_name: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The JSON form the HTTP API returns."""
        return {
            "lat": self.lat, "lon": self.lon, "precision": self.precision,
            "confidence": self.confidence, "generation": self.generation,
            "unit": unit_dict(self.unit),
            "units": {level: unit_dict(ref) for level, ref in self.units.items()},
            "current": {level: unit_dict(ref) for level, ref in self.current.items()},
            "predecessors": [unit_dict(ref) for ref in self.predecessors],
            "matched": self.matched, "matched_parts": self.matched_parts, "street": self.street,
            "street_name": self.street_name, "ambiguous": self.ambiguous,
        }


def chain_of(index: GeocodeIndex, unit_id: int) -> dict[str, UnitRef]:
    """A unit and its ancestors, keyed by level."""
    ids = (unit_id, *index.ancestors(unit_id))
    return {index.units[i].level: unit_ref(index.units[i]) for i in reversed(ids)}


def current_units(index: GeocodeIndex, unit: Unit) -> dict[str, UnitRef]:
    """The same place in the current generation (the province alone when nothing finer)."""
    current = index.current_of(unit.id)
    if current is not None:
        return chain_of(index, current)
    province = next((i for i in index.ancestors(unit.id)
                     if index.units[i].level == "province"), None)
    current_province = index.current_of(province) if province is not None else None
    return chain_of(index, current_province) if current_province is not None else {}
