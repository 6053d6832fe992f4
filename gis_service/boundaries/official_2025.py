"""Huế's 2025 wards from their official polygons, with the 2019 derivation kept as a check.

``hue_2025_official`` (the builder ``boundaries/2025.toml`` names) loads all 40 wards and
communes of Thành phố Huế from the official file (sapnhap.bando.com.vn, GSO codes), none of
them approximate. What the old builder (:mod:`gis_service.boundaries.derive`) derived from the
2019 communes is only measured now: the report gives, per ward, the IoU of the dissolution of
its 2019 communes (along vietnamadminunits' old-to-new mapping) against its official polygon,
with the median and the worst. A low figure says the two sources or the mapping disagree; it
changes no polygon.

Names, types and codes come from the gazetteer; the file's ``fullName`` (old-style tone
placement, "Thuận Hoá") is compared with them on folded keys, and a ward whose name differs is
refused. The city's polygon is the union of its 40 wards, so every ward lies in its parent.
Population stays on the 2019 census basis: each ward's figure is the sum of its 2019 communes
along the same mapping (``population_year`` 2019; the official file has no population).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon
from sqlalchemy import Connection

from gis_service import gazetteer
from gis_service.boundaries.derive import (
    DerivedGeneration,
    Layer,
    OldUnit,
    dissolve,
    iou,
    link_to_2025,
    old_communes,
    on_grid,
    read_official,
)
from gis_service.boundaries.features import Provenance, UnitFeature
from gis_service.boundaries.sources import polygonal_parts
from gis_service.errors import DataError

_POPULATION_YEAR = 2019
_NAME_FIELD = "fullName"


def _spec_text(spec: Mapping[str, object], key: str, default: str | None = None) -> str:
    value = spec.get(key, default)
    if not isinstance(value, str) or not value:
        raise DataError(f"[derive] needs a text value for {key!r}", field=key)
    return value


def _official_names(path: Path, code_field: str) -> dict[str, str]:
    """The file's ``fullName`` by code (read apart from the polygons, which need repair)."""
    import pyogrio  # noqa: PLC0415  # heavy; only a load needs it

    frame = pyogrio.read_dataframe(path, columns=[code_field, _NAME_FIELD], read_geometry=False)
    return {str(code): str(name) for code, name in zip(frame[code_field], frame[_NAME_FIELD],
                                                       strict=True)}


def check_official(polygons: Mapping[str, MultiPolygon], names: Mapping[str, str],
                   province_code: str, path: Path) -> None:
    """Exactly the province's 2025 wards, each named as in the gazetteer (folded keys)."""
    wards = {w.code: w for w in gazetteer.wards_2025(province_code)}
    missing, unknown = sorted(set(wards) - set(polygons)), sorted(set(polygons) - set(wards))
    if missing or unknown:
        raise DataError(f"{path}: expected the {len(wards)} wards of province {province_code}; "
                        f"missing {missing or 'none'}, unknown {unknown or 'none'}")
    for code, ward in wards.items():
        if gazetteer.name_key(names.get(code, "")) != gazetteer.name_key(ward.name):
            raise DataError(f"{path}: ward {code} is named {names.get(code)!r} in the file but "
                            f"{ward.name!r} in the gazetteer")


def derivation_iou(communes: Sequence[OldUnit], official: Mapping[str, MultiPolygon],
                   province_code: str) -> dict[str, float]:
    """Per ward, the IoU of its 2019 communes' dissolution against its official polygon."""
    ward_of = {code: link.ward_code for code, link in link_to_2025(communes, province_code).items()}
    dissolved = dissolve(communes, ward_of)
    return {code: round(iou(official[code], dissolved[code]), 4) if code in dissolved else 0.0
            for code in sorted(official)}


def _populations(communes: Sequence[OldUnit], province_code: str) -> dict[str, int | None]:
    """Each ward's 2019 census population: the sum over its 2019 communes (None if one lacks it)."""
    totals: dict[str, int | None] = {}
    for code, link in link_to_2025(communes, province_code).items():
        commune = next(c for c in communes if c.code == code)
        before = totals.get(link.ward_code, 0)
        totals[link.ward_code] = (None if before is None or commune.population is None
                                  else before + commune.population)
    return totals


def _ward_features(official: Mapping[str, MultiPolygon], populations: Mapping[str, int | None],
                   province_code: str) -> list[UnitFeature]:
    features = []
    for index, ward in enumerate(gazetteer.wards_2025(province_code)):
        population = populations.get(ward.code)
        features.append(UnitFeature(
            feature_index=index, code=ward.code, name=ward.name, unit_type=ward.unit_type,
            geometry=on_grid(official[ward.code]), parent_code=province_code,
            population=population,
            population_year=_POPULATION_YEAR if population is not None else None,
        ))
    return features


def _city_feature(wards: Sequence[UnitFeature], province_code: str) -> UnitFeature:
    city = gazetteer.province(province_code)
    populations = [w.population for w in wards]
    population = None if None in populations else sum(p for p in populations if p is not None)
    geometry = on_grid(polygonal_parts(shapely.union_all([w.geometry for w in wards])))
    return UnitFeature(0, city.code, city.name, city.unit_type, geometry, population=population,
                       population_year=_POPULATION_YEAR if population is not None else None)


def _report(scores: Mapping[str, float]) -> dict[str, Any]:
    worst = min(scores, key=scores.__getitem__)
    return {
        "official_wards": len(scores),
        "derivation_check": "IoU of each ward's 2019 communes, dissolved along vietnamadminunits' "
                            "mapping, against its official polygon (changes no polygon)",
        "derivation_iou": dict(scores),
        "derivation_iou_median": round(statistics.median(scores.values()), 4),
        "derivation_iou_min": {"code": worst, "iou": scores[worst]},
        "population": f"2019 census, summed over each ward's 2019 communes along the same "
                      f"mapping (population_year {_POPULATION_YEAR})",
    }


def build_hue_2025_official(conn: Connection, spec: Mapping[str, object], data_root: Path
                            ) -> DerivedGeneration:
    """Huế 2025: the city and its 40 wards, all from the official polygons.

    ``spec`` keys: ``official`` (file under ``data_root``), ``code_field`` (``code``),
    ``source`` and ``licence`` (the file's provenance), ``from_generation`` (the loaded 2019
    generation, for the population and the derivation check), optional ``province_code``.
    """
    province_code = _spec_text(spec, "province_code", gazetteer.HUE)
    path = data_root / _spec_text(spec, "official")
    code_field = _spec_text(spec, "code_field")
    official = read_official(path, code_field)
    check_official(official, _official_names(path, code_field), province_code, path)
    communes = old_communes(conn, _spec_text(spec, "from_generation"))
    if not communes:
        raise DataError("the derivation check needs the 2019 communes: load them first",
                        field="from_generation")
    wards = _ward_features(official, _populations(communes, province_code), province_code)
    provenance = Provenance(_spec_text(spec, "source"), _spec_text(spec, "licence"))
    city_provenance = Provenance(f"union of the 40 official wards: {provenance.source}",
                                 provenance.licence)
    layers: list[Layer] = [("province", city_provenance, [_city_feature(wards, province_code)]),
                           ("commune", provenance, wards)]
    return DerivedGeneration(layers, _report(derivation_iou(communes, official, province_code)))
