"""Generations built from other data rather than read from one file: the builders a manifest's
``[derive]`` table names.

``hue_2025`` builds Huế's 2025 two-level structure (the city and its 40 wards and communes).
Only 5 of the 40 have an official polygon; the other 35 are dissolved from the 2019 communes of
an already loaded generation along the official old-to-new mapping of the gazetteer (marked
``approximate``). The result is made a clean partition:

- derived wards lose whatever the official polygons cover (official boundaries win);
- where the 2019 communes overlap each other across two derived wards, the ward with the lower
  code keeps the overlap (a deterministic, arbitrary rule for lenses a few hectares wide);
- the pieces that the dissolution gives to an official ward but that lie outside every
  official polygon are handed, one connected piece at a time, to the derived ward sharing the
  longest border with it (or, when none touches it, the nearest derived ward), so no hole is
  left where the 2019 communes had territory;
- holes between the 2019 communes (gaps in that file) enclosed by the wards are filled the same
  way, by the derived ward sharing the longest border;
- every vertex is put on a 1e-7° grid (see :data:`GRID_DEG`).

The official polygons are otherwise kept as they are. The city keeps the territory of the old
generation's province, which comes from another source than its communes (they disagree by a
few km² along the coast and the border).

Every builder has the signature ``builder(conn, spec, data_root) -> DerivedGeneration`` where
``spec`` is the manifest's ``[derive]`` table; the loader then loads each layer, top-down, in the
same transaction.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pyogrio.errors
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, func, select

from gis_service import gazetteer
from gis_service.boundaries import fallback
from gis_service.boundaries.features import Provenance, UnitFeature
from gis_service.boundaries.generations import by_code
from gis_service.boundaries.sources import polygonal_parts
from gis_service.coords import LonLat
from gis_service.db.schema import admin_unit
from gis_service.errors import DataError

Layer = fallback.Layer

#: A metric CRS for areas and lengths: WGS 84 / UTM zone 48N (Huế lies at 107-108.2°E).
METRIC_CRS = "EPSG:32648"
# How close (degrees, ~1 m) a derived ward must come to a leftover piece to count as sharing a
# border with it: the piece's edges are computed from the same coordinates, so they meet up to
# floating-point noise, except across the 2019 file's own simplification gaps.
_TOUCH_DEG = 1e-5
_POPULATION_YEAR = 2019
#: Every output vertex is snapped to this grid (degrees, ~1 cm). Differences of polygons drawn
#: at different precisions leave edges a few nanodegrees apart, which the GEOS inside PostGIS
#: (3.11) cannot relate ("side location conflict"); on a common grid they coincide.
GRID_DEG = 1e-7


@dataclass(frozen=True)
class DerivedGeneration:
    """What a builder returns: layers top-down (level, provenance, units) and a JSON report."""

    layers: list[Layer]
    report: dict[str, Any] = field(default_factory=dict)


Builder = Callable[[Connection, Mapping[str, object], Path], DerivedGeneration]


@dataclass(frozen=True)
class OldUnit:
    """A 2019 commune as loaded: what the dissolution needs of it."""

    code: str
    name: str
    district_code: str
    population: int | None
    geometry: MultiPolygon


@dataclass(frozen=True)
class Handover:
    """A piece of an official ward's dissolution, outside its polygon, given to a derived ward."""

    from_code: str
    to_code: str
    area_m2: float
    rule: str  # "longest_border" or "nearest"

    def to_dict(self) -> dict[str, object]:
        return {"from": self.from_code, "to": self.to_code, "area_m2": round(self.area_m2, 1),
                "rule": self.rule}


@dataclass(frozen=True)
class Partition:
    """The 40 wards' polygons, and what carving them out of the dissolution moved."""

    geometries: dict[str, MultiPolygon]
    handovers: tuple[Handover, ...]
    cut_by_official_m2: float
    overlap_resolved_m2: float
    holes_filled_m2: tuple[float, ...]
    holes_left_m2: tuple[float, ...]


# --- measuring -------------------------------------------------------------------------------

@cache
def _to_metric() -> Transformer:
    return Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)


def to_metric(geometry: BaseGeometry) -> BaseGeometry:
    """The geometry in :data:`METRIC_CRS` (metres), for areas and lengths."""
    def project(coords: np.ndarray) -> np.ndarray:
        x, y = _to_metric().transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometry, project)


def area_m2(geometry: BaseGeometry) -> float:
    return float(to_metric(geometry).area)


def iou(a: BaseGeometry, b: BaseGeometry) -> float:
    """Intersection over union of two areas (measured in metres).

    >>> from shapely.geometry import box
    >>> round(iou(box(107.0, 16.0, 107.1, 16.1), box(107.05, 16.0, 107.15, 16.1)), 3)
    0.333
    """
    union = area_m2(a.union(b))
    return area_m2(a.intersection(b)) / union if union > 0 else 0.0


# --- reading ---------------------------------------------------------------------------------

def _spec_text(spec: Mapping[str, object], key: str, default: str | None = None) -> str:
    value = spec.get(key, default)
    if not isinstance(value, str) or not value:
        raise DataError(f"[derive] needs a text value for {key!r}", field=key)
    return value


def read_official(path: Path, code_field: str) -> dict[str, MultiPolygon]:
    """The official polygons of a file, by code, in EPSG:4326 and repaired when invalid."""
    try:
        frame = pyogrio.read_dataframe(path, columns=[code_field])
    except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError) as exc:
        raise DataError(f"cannot read official wards {path}: {exc}") from exc
    if code_field not in frame.columns:
        raise DataError(f"{path}: no field {code_field!r}", field="code_field")
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    polygons: dict[str, MultiPolygon] = {}
    for index, (code, geometry) in enumerate(zip(frame[code_field], frame.geometry, strict=True)):
        parts = polygonal_parts(shapely.make_valid(geometry)) if geometry is not None else None
        if parts is None or parts.is_empty:
            raise DataError(f"{path}: feature {index} (code {code!r}) has no polygon")
        polygons[str(code)] = parts
    return polygons


def old_communes(conn: Connection, generation_code: str) -> list[OldUnit]:
    """The communes of a loaded generation, with their district's code."""
    generation = by_code(conn, generation_code)
    district = admin_unit.alias("district")
    rows = conn.execute(
        select(admin_unit.c.code, admin_unit.c.name, district.c.code, admin_unit.c.population,
               func.ST_AsBinary(admin_unit.c.geom))
        .outerjoin(district, district.c.id == admin_unit.c.parent_id)
        .where(admin_unit.c.generation_id == generation.id, admin_unit.c.level == "commune")
        .order_by(admin_unit.c.code)
    ).all()
    return [
        OldUnit(code, name, district_code or "", population, _as_multi(shapely.from_wkb(wkb)))
        for code, name, district_code, population, wkb in rows
    ]


def _province_unit(conn: Connection, generation_code: str
                   ) -> tuple[MultiPolygon, Provenance] | None:
    generation = by_code(conn, generation_code)
    row = conn.execute(
        select(func.ST_AsBinary(admin_unit.c.geom), admin_unit.c.source, admin_unit.c.licence)
        .where(admin_unit.c.generation_id == generation.id, admin_unit.c.level == "province")
        .order_by(admin_unit.c.code)
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    return _as_multi(shapely.from_wkb(row[0])), Provenance(row[1], row[2])


def _provenance_of(conn: Connection, generation_code: str, level: str) -> Provenance:
    generation = by_code(conn, generation_code)
    rows = conn.execute(
        select(admin_unit.c.source, admin_unit.c.licence)
        .where(admin_unit.c.generation_id == generation.id, admin_unit.c.level == level)
        .distinct()
        .order_by(admin_unit.c.source)
    ).all()
    return Provenance("; ".join(r[0] for r in rows), "; ".join(sorted({r[1] for r in rows})))


def on_grid(geometry: BaseGeometry) -> MultiPolygon:
    """The polygons of a geometry with their vertices on the :data:`GRID_DEG` grid (kept valid)."""
    return polygonal_parts(shapely.set_precision(geometry, GRID_DEG))


def _as_multi(geometry: BaseGeometry) -> MultiPolygon:
    if isinstance(geometry, MultiPolygon):
        return geometry
    if isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    return polygonal_parts(geometry)


# --- linking and dissolving ------------------------------------------------------------------

def link_to_2025(communes: Sequence[OldUnit], province_code: str = gazetteer.HUE
                 ) -> Mapping[str, gazetteer.CommuneLink]:
    """Each old commune's link to its 2025 ward (see :func:`gazetteer.commune_2019_to_2025`)."""
    olds = tuple(
        gazetteer.OldCommune(c.code, c.name, c.district_code,
                             LonLat(*c.geometry.representative_point().coords[0]))
        for c in communes
    )
    return gazetteer.commune_2019_to_2025(olds, province_code)


def dissolve(communes: Iterable[OldUnit], ward_of: Mapping[str, str]) -> dict[str, MultiPolygon]:
    """Union the communes of each ward: ward code -> polygon."""
    members: dict[str, list[BaseGeometry]] = {}
    for commune in communes:
        members.setdefault(ward_of[commune.code], []).append(commune.geometry)
    return {code: polygonal_parts(shapely.union_all(parts)) for code, parts in members.items()}


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    return [g for g in shapely.get_parts(geometry) if isinstance(g, Polygon) and not g.is_empty]


def _shared_border_m(piece: Polygon, ward: BaseGeometry) -> float:
    """Length of the ward's boundary running along the piece (within ~1 m of it)."""
    return float(to_metric(piece.buffer(_TOUCH_DEG).intersection(ward.boundary)).length)


def _receiver(piece: Polygon, derived: Mapping[str, MultiPolygon]) -> tuple[str, str] | None:
    """The derived ward sharing the longest border with a piece, and that rule's name."""
    near = piece.buffer(_TOUCH_DEG)
    borders = {code: _shared_border_m(piece, geom) for code, geom in derived.items()
               if near.intersects(geom)}
    touching = {code: length for code, length in borders.items() if length > 0}
    if not touching:
        return None
    return max(sorted(touching), key=touching.__getitem__), "longest_border"


def _nearest(piece: Polygon, derived: Mapping[str, MultiPolygon]) -> tuple[str, str]:
    return min(sorted(derived), key=lambda code: piece.distance(derived[code])), "nearest"


def _origin(piece: Polygon, dissolved: Mapping[str, MultiPolygon], official: Iterable[str]) -> str:
    """The official ward whose dissolution the piece came from (the largest overlap)."""
    return max(sorted(official), key=lambda code: piece.intersection(dissolved[code]).area)


def _without_overlaps(wards: Mapping[str, MultiPolygon]) -> tuple[dict[str, MultiPolygon], float]:
    """Settle overlaps inherited from the old communes: the ward with the lower code keeps them.

    (The 2019 file's communes overlap in places, by up to a few hectares, where its simplified
    edges cross; which side gets such a lens is arbitrary, so the rule is just deterministic.)
    Returns the wards and the overlapping area settled (m²).
    """
    settled: dict[str, MultiPolygon] = {}
    overlap = 0.0
    for code in sorted(wards):
        geom = wards[code]
        earlier = [g for g in settled.values() if g.intersects(geom)]
        if earlier:
            taken = geom.intersection(shapely.union_all(earlier))
            overlap += area_m2(taken)
            geom = polygonal_parts(geom.difference(taken))
        settled[code] = geom
    return settled, overlap


def _holes(geometry: BaseGeometry) -> list[Polygon]:
    """The holes of an area, as polygons."""
    return [Polygon(ring) for part in _polygons(geometry) for ring in part.interiors]


def _merge(wards: Mapping[str, MultiPolygon], pieces: Iterable[tuple[Polygon, str]]
           ) -> dict[str, MultiPolygon]:
    received: dict[str, list[BaseGeometry]] = {}
    for piece, code in pieces:
        received.setdefault(code, []).append(piece)
    return {code: polygonal_parts(shapely.union_all([geom, *received.get(code, [])]))
            for code, geom in wards.items()}


def _fill_holes(derived: Mapping[str, MultiPolygon], cover: BaseGeometry
                ) -> tuple[dict[str, MultiPolygon], tuple[float, ...], tuple[float, ...]]:
    """Give each hole of the wards' union to the derived ward sharing its longest border.

    Returns the wards, and the areas (m²) of the holes filled and of those left (touching only
    official wards).
    """
    filled: list[tuple[Polygon, str]] = []
    unfilled: list[float] = []
    for hole in _holes(shapely.union_all([cover, *derived.values()])):
        found = _receiver(hole, derived)
        if found is None:
            unfilled.append(area_m2(hole))
        else:
            filled.append((hole, found[0]))
    return (_merge(derived, filled), tuple(area_m2(hole) for hole, _ in filled),
            tuple(unfilled))


def carve(dissolved: Mapping[str, MultiPolygon], official: Mapping[str, MultiPolygon]
          ) -> Partition:
    """Official polygons as they are; derived wards = dissolution minus official, plus handovers.

    Then the holes the old communes left between them (gaps in the 2019 file), where they are
    enclosed by the wards and touch a derived one, are filled by the derived ward sharing the
    longest border. Official polygons are never changed, except for the common vertex grid.
    """
    cover = shapely.union_all(list(official.values()))
    derived, overlap = _without_overlaps({code: polygonal_parts(geom.difference(cover))
                                          for code, geom in dissolved.items()
                                          if code not in official})
    cut = sum(area_m2(dissolved[code].intersection(cover)) for code in derived)
    taken = shapely.union_all([cover, *derived.values()])
    leftover = shapely.union_all([dissolved[c] for c in official if c in dissolved]).difference(taken)
    handovers = []
    for piece in _polygons(leftover):
        to_code, rule = _receiver(piece, derived) or _nearest(piece, derived)
        handovers.append((piece, Handover(_origin(piece, dissolved, official), to_code,
                                          area_m2(piece), rule)))
    derived = _merge(derived, ((piece, h.to_code) for piece, h in handovers))
    derived, filled, unfilled = _fill_holes(derived, cover)
    geometries = {code: on_grid(geom) for code, geom in official.items()}
    for code, geom in derived.items():
        if geom.is_empty:
            raise DataError(f"ward {code}: nothing is left of it once the official polygons are cut out")
        geometries[code] = on_grid(geom)
    return Partition(geometries, tuple(h for _, h in handovers), cut, overlap, filled, unfilled)


# --- the builder -----------------------------------------------------------------------------

def _population(communes: Iterable[OldUnit]) -> int | None:
    counts = [c.population for c in communes]
    return None if not counts or None in counts else sum(c for c in counts if c is not None)


def _ward_features(partition: Partition, official: Mapping[str, MultiPolygon],
                   communes: Sequence[OldUnit], ward_of: Mapping[str, str],
                   province_code: str) -> list[UnitFeature]:
    features = []
    for index, ward in enumerate(gazetteer.wards_2025(province_code)):
        population = _population(c for c in communes if ward_of[c.code] == ward.code)
        features.append(UnitFeature(
            feature_index=index, code=ward.code, name=ward.name, unit_type=ward.unit_type,
            geometry=partition.geometries[ward.code], parent_code=province_code,
            population=population, population_year=_POPULATION_YEAR if population is not None else None,
            approximate=ward.code not in official,
        ))
    return features


def _province_layer(conn: Connection, from_generation: str, wards: Sequence[UnitFeature],
                    province_code: str) -> Layer:
    """The city, on the territory of the old generation's province (else the wards' union)."""
    city = gazetteer.province(province_code)
    found = _province_unit(conn, from_generation)
    if found is None:
        geometry = polygonal_parts(shapely.union_all([w.geometry for w in wards]))
        provenance = Provenance(f"union of the 2025 wards (generation {from_generation} has no "
                                "province)", "see the commune layer")
    else:
        geometry, old = found
        provenance = Provenance(f"territory of the {from_generation} province: {old.source}",
                                old.licence)
    populations = [w.population for w in wards]
    population = None if None in populations else sum(p for p in populations if p is not None)
    feature = UnitFeature(0, city.code, city.name, city.unit_type, geometry,
                          population=population,
                          population_year=_POPULATION_YEAR if population is not None else None)
    return "province", provenance, [feature]


def _commune_provenance(official_path: Path, count: int, old: Provenance, from_generation: str
                        ) -> Provenance:
    source = (f"{official_path.name}: {count} official polygons "
              f"(NQ 1675/NQ-UBTVQH15); the other wards approximate, dissolved from the "
              f"{from_generation} communes ({old.source}) along vietnamadminunits' "
              "converter_2025 mapping; names, codes and types from vietnamadminunits")
    licence = (f"official polygons: none stated; derived: {old.licence}; "
               "vietnamadminunits: MIT")
    return Provenance(source, licence)


def _report(links: Mapping[str, gazetteer.CommuneLink], dissolved: Mapping[str, MultiPolygon],
            official: Mapping[str, MultiPolygon], partition: Partition) -> dict[str, Any]:
    scores = {code: iou(official[code], dissolved[code]) for code in sorted(official)}
    handed = partition.handovers
    return {
        "links": dict(sorted(Counter(link.method for link in links.values()).items())),
        "iou": {code: round(score, 4) for code, score in scores.items()},
        "iou_mean": round(statistics.fmean(scores.values()), 4),
        "iou_min": round(min(scores.values()), 4),
        "official_cut_from_derived_m2": round(partition.cut_by_official_m2, 1),
        "overlaps_settled_m2": round(partition.overlap_resolved_m2, 1),
        "holes_filled": {"count": len(partition.holes_filled_m2),
                         "area_m2": round(sum(partition.holes_filled_m2), 1)},
        "holes_left": {"count": len(partition.holes_left_m2),
                       "area_m2": round(sum(partition.holes_left_m2), 1)},
        "handovers": {
            "pieces": len(handed),
            "area_m2": round(sum(h.area_m2 for h in handed), 1),
            "by_rule": dict(sorted(Counter(h.rule for h in handed).items())),
            "largest": [h.to_dict() for h in sorted(handed, key=lambda h: -h.area_m2)[:10]],
        },
        "population": f"sum of the 2019 census population of each ward's 2019 communes "
                      f"(population_year {_POPULATION_YEAR}); the official file's danSo is undated",
    }


def build_hue_2025(conn: Connection, spec: Mapping[str, object], data_root: Path
                   ) -> DerivedGeneration:
    """Huế 2025: the city and its 40 wards (5 official polygons, 35 dissolved from 2019).

    ``spec`` keys: ``official`` (file under ``data_root``), ``code_field`` (its ward code
    attribute, ``maXa_BNV``), ``from_generation`` (the loaded generation to dissolve, ``2019``),
    optional ``province_code`` (``46``).
    """
    province_code = _spec_text(spec, "province_code", gazetteer.HUE)
    from_generation = _spec_text(spec, "from_generation")
    official_path = data_root / _spec_text(spec, "official")
    official = read_official(official_path, _spec_text(spec, "code_field"))
    ward_codes = {w.code for w in gazetteer.wards_2025(province_code)}
    unknown = sorted(set(official) - ward_codes)
    if unknown:
        raise DataError(f"{official_path}: ward codes {', '.join(unknown)} are not 2025 wards "
                        f"of province {province_code}")
    communes = old_communes(conn, from_generation)
    if not communes:
        raise DataError(f"generation {from_generation} has no communes to derive 2025 from: "
                        "load it first", field="from_generation")
    links = link_to_2025(communes, province_code)
    ward_of = {code: link.ward_code for code, link in links.items()}
    dissolved = dissolve(communes, ward_of)
    missing = sorted(ward_codes - set(dissolved))
    if missing:
        raise DataError(f"no {from_generation} commune maps to 2025 wards {', '.join(missing)}")
    partition = carve(dissolved, official)
    wards = _ward_features(partition, official, communes, ward_of, province_code)
    old = _provenance_of(conn, from_generation, "commune")
    layers = [
        _province_layer(conn, from_generation, wards, province_code),
        ("commune", _commune_provenance(official_path, len(official), old,
                                         from_generation), wards),
    ]
    return DerivedGeneration(layers, _report(links, dissolved, official, partition))


def build_gazetteer_fallback(conn: Connection, spec: Mapping[str, object], data_root: Path
                             ) -> DerivedGeneration:
    """One generation of :func:`fallback.fallback_generations` (``spec["generation"]``).

    Needs neither the database nor the data root; both are accepted for the common signature.
    """
    code = _spec_text(spec, "generation", "2025")
    for generation in fallback.fallback_generations(_spec_text(spec, "province_code", gazetteer.HUE)):
        if generation.code == code:
            return DerivedGeneration(list(generation.layers), generation.report)
    raise DataError(f"the gazetteer fallback has no generation {code!r}", field="generation")


BUILDERS: dict[str, Builder] = {
    "hue_2025": build_hue_2025,
    "gazetteer_fallback": build_gazetteer_fallback,
}
