"""Approximate boundaries built from the gazetteer alone, for a machine without the data root.

Two generations, every unit marked ``approximate`` and sourced to vietnamadminunits:

- ``2025``: the city and its 40 wards, as the Voronoi cells of the gazetteer's ward points;
- ``2019``: standing in for the 2019 generation, the gazetteer's *legacy* (pre-2025) structure:
  133 communes (Voronoi cells of their points), their 9 districts and the city dissolved from
  them. Its district codes are the legacy ones (474 Thuận Hóa, 475 Phú Xuân), not 2019's.

Cells are clipped to one outline of the city: the union of the legacy communes' bounding boxes
(those that are really the commune's, not a copy of its district's) and a 1 km disc around
every point, closed and without holes. Measured against the official 2019 province polygon its
IoU is about 0.84 (it is the boxes' staircase around a coastline). Plain (unweighted) Voronoi:
the gazetteer's areas would shift cell edges by a few hundred metres at most, well inside this
method's error.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import version
from typing import Any

import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Polygon, box

from gis_service import gazetteer
from gis_service.boundaries.features import Provenance, UnitFeature
from gis_service.boundaries.sources import polygonal_parts
from gis_service.coords import LonLat

Layer = tuple[str, Provenance, list[UnitFeature]]

# Radius (degrees, ~1.1 km) of the disc kept around every point, and of the closing that joins
# boxes a little apart into one outline.
_POINT_DISC_DEG = 0.01
# Offset (degrees, ~330 m) that separates points the gazetteer gives twice.
_SPREAD_DEG = 0.003
_GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))
# Output vertices on a 1e-7° (~1 cm) grid, as in derive.py: PostGIS's GEOS 3.11 cannot relate
# edges that nearly, but not exactly, coincide.
_GRID_DEG = 1e-7


@dataclass(frozen=True)
class FallbackGeneration:
    """A generation to create and its layers, top-down (level, provenance, units)."""

    code: str
    description: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    status: str
    layers: tuple[Layer, ...]
    report: dict[str, Any] = field(default_factory=dict)


def _provenance() -> Provenance:
    return Provenance(
        f"vietnamadminunits {version(gazetteer.PACKAGE)} gazetteer: APPROXIMATE Voronoi cells of "
        "its ward points, clipped to an outline of its commune bounding boxes (not official "
        "boundaries)",
        "MIT (vietnamadminunits)",
    )


def _box(b: gazetteer.BBox) -> Polygon:
    return box(b.west, b.south, b.east, b.north)


@cache
def province_outline(province_code: str = gazetteer.HUE) -> MultiPolygon:
    """An approximate outline of the province from the gazetteer's boxes and points."""
    communes = gazetteer.legacy_communes(province_code)
    boxes = [_box(c.bbox) for c in communes if not c.bbox_is_district]
    points = [c.position for c in communes] + [w.position for w in gazetteer.wards_2025(province_code)]
    discs = [shapely.Point(p.lon, p.lat).buffer(_POINT_DISC_DEG) for p in points]
    joined = shapely.union_all(boxes + discs).buffer(_POINT_DISC_DEG).buffer(-_POINT_DISC_DEG)
    return polygonal_parts(shapely.union_all([Polygon(p.exterior) for p in _polygons(joined)]))


def _polygons(geometry: shapely.Geometry) -> list[Polygon]:
    return [g for g in shapely.get_parts(geometry) if isinstance(g, Polygon)]


def voronoi_cells(points: Mapping[str, LonLat], outline: MultiPolygon) -> dict[str, MultiPolygon]:
    """Each point's Voronoi cell, clipped to the outline (points must be distinct).

    >>> cells = voronoi_cells({"a": LonLat(0, 0), "b": LonLat(2, 0)},
    ...                       MultiPolygon([box(-1, -1, 3, 1)]))
    >>> round(cells["a"].area, 3), round(cells["b"].area, 3)
    (4.0, 4.0)
    """
    codes = list(points)
    sites = MultiPoint([(points[c].lon, points[c].lat) for c in codes])
    # ordered=True keeps the cells in the points' order (GEOS >= 3.12).
    cells = shapely.voronoi_polygons(sites, extend_to=outline, ordered=True)
    return {code: polygonal_parts(shapely.set_precision(cell.intersection(outline), _GRID_DEG))
            for code, cell in zip(codes, shapely.get_parts(cells), strict=True)}


def legacy_positions(province_code: str = gazetteer.HUE) -> tuple[dict[str, LonLat], list[str]]:
    """One distinct point per legacy commune, and the codes whose point was changed.

    Where the gazetteer gave a commune its district's point we use its 2025 ward's point;
    points still given twice are spread apart by a few hundred metres.
    """
    wards = {w.code: w.position for w in gazetteer.wards_2025(province_code)}
    mapping = gazetteer.legacy_to_2025(province_code)
    positions: dict[str, LonLat] = {}
    moved: list[str] = []
    for commune in gazetteer.legacy_communes(province_code):
        point = commune.position
        if commune.position_is_district and commune.code in mapping:
            point = wards[mapping[commune.code]]
        if point != commune.position:
            moved.append(commune.code)
        positions[commune.code] = point
    return _spread(positions, moved), moved


def _spread(positions: dict[str, LonLat], moved: list[str]) -> dict[str, LonLat]:
    seen: dict[LonLat, int] = {}
    spread: dict[str, LonLat] = {}
    for code, point in positions.items():
        count = seen.get(point, 0)
        seen[point] = count + 1
        spread[code] = point
        if count:
            angle = count * _GOLDEN_ANGLE
            spread[code] = LonLat(point.lon + _SPREAD_DEG * math.cos(angle),
                                  point.lat + _SPREAD_DEG * math.sin(angle))
            if code not in moved:
                moved.append(code)
    return spread


def _feature(index: int, code: str, name: str, unit_type: str, geometry: MultiPolygon, *,
             parent: str | None) -> UnitFeature:
    return UnitFeature(index, code, name, unit_type, geometry, parent_code=parent,
                       approximate=True)


def _province_layer(province_code: str, pieces: Sequence[MultiPolygon]) -> Layer:
    city = gazetteer.province(province_code)
    geometry = polygonal_parts(shapely.union_all(list(pieces)))
    return "province", _provenance(), [_feature(0, city.code, city.name, city.unit_type, geometry,
                                                parent=None)]


def _generation_2025(province_code: str, outline: MultiPolygon) -> FallbackGeneration:
    wards = gazetteer.wards_2025(province_code)
    cells = voronoi_cells({w.code: w.position for w in wards}, outline)
    communes = [_feature(i, w.code, w.name, w.unit_type, cells[w.code],
                         parent=province_code)
                for i, w in enumerate(wards)]
    return FallbackGeneration(
        code="2025",
        description=(f"{gazetteer.province(province_code).name} from 1 July 2025 ({len(wards)} "
                     "wards and communes), APPROXIMATE: Voronoi cells of the vietnamadminunits "
                     "gazetteer's ward points, built because no boundary data root was found"),
        valid_from=dt.date(2025, 7, 1),
        valid_to=None,
        status="active",
        layers=(_province_layer(province_code, list(cells.values())),
                ("commune", _provenance(), communes)),
        report={"method": "voronoi", "communes": len(communes)},
    )


def _generation_legacy(province_code: str, outline: MultiPolygon) -> FallbackGeneration:
    legacy = gazetteer.legacy_communes(province_code)
    positions, moved = legacy_positions(province_code)
    cells = voronoi_cells(positions, outline)
    districts = gazetteer.legacy_districts(province_code)
    district_layer = [
        _feature(i, d.code, d.name, d.unit_type,
                 polygonal_parts(shapely.union_all([cells[c.code] for c in legacy
                                                    if c.district_code == d.code])),
                 parent=province_code)
        for i, d in enumerate(districts)
    ]
    communes = [_feature(i, c.code, c.name, c.unit_type, cells[c.code],
                         parent=c.district_code)
                for i, c in enumerate(legacy)]
    return FallbackGeneration(
        code="2019",
        description=(f"Pre-2025 legacy structure of {gazetteer.province(province_code).name} "
                     f"({len(districts)} districts, {len(legacy)} communes) from the "
                     "vietnamadminunits gazetteer, APPROXIMATE: Voronoi cells of its commune "
                     "points; stands in for generation 2019 because no boundary data root was "
                     "found (legacy district codes, not 2019's)"),
        valid_from=None,
        valid_to=dt.date(2025, 6, 30),
        status="retired",
        layers=(_province_layer(province_code, list(cells.values())),
                ("district", _provenance(), district_layer),
                ("commune", _provenance(), communes)),
        report={"method": "voronoi", "communes": len(communes), "districts": len(district_layer),
                "points_moved": sorted(moved)},
    )


@cache
def _generations(province_code: str) -> tuple[FallbackGeneration, ...]:
    outline = province_outline(province_code)
    return (_generation_legacy(province_code, outline), _generation_2025(province_code, outline))


def fallback_generations(province_code: str = gazetteer.HUE) -> list[FallbackGeneration]:
    """The approximate generations, oldest first: ``2019`` (legacy structure), then ``2025``.

    Create each with ``ensure_generation(conn, g.code, description=..., valid_from=...,
    valid_to=...)``, load its layers in order, then ``set_status(conn, g.code, g.status)``.

    >>> [(g.code, [len(units) for _level, _prov, units in g.layers])
    ...  for g in fallback_generations()]
    [('2019', [1, 9, 133]), ('2025', [1, 40])]
    """
    return [
        FallbackGeneration(g.code, g.description, g.valid_from, g.valid_to, g.status,
                           tuple((level, prov, list(units)) for level, prov, units in g.layers),
                           dict(g.report))
        for g in _generations(province_code)
    ]
