"""What a boundary source yields before it reaches the database: one unit per feature."""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry import MultiPolygon


@dataclass(frozen=True)
class UnitFeature:
    """One administrative unit read from a file, derived, or built from the gazetteer.

    ``feature_index`` is its position in the source, so an error can name the feature.
    """

    feature_index: int
    code: str
    name: str
    unit_type: str
    geometry: MultiPolygon
    parent_code: str | None = None
    population: int | None = None
    population_year: int | None = None
    approximate: bool = False


@dataclass(frozen=True)
class Provenance:
    """Where a layer came from; stored on every unit it creates."""

    source: str
    licence: str
