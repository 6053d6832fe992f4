"""The gazetteer-only fallback: approximate 2025 and legacy generations without a data root."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest
import shapely
from shapely.geometry import Point
from sqlalchemy import Connection, func, select

from gis_service import gazetteer
from gis_service.boundaries.derive import BUILDERS, DerivedGeneration, area_m2
from gis_service.boundaries.fallback import (
    FallbackGeneration,
    fallback_generations,
    legacy_positions,
    province_outline,
)
from gis_service.boundaries.features import UnitFeature
from gis_service.boundaries.generations import ensure_generation
from gis_service.boundaries.load import load_units
from gis_service.boundaries.manifest import FALLBACK_DIR, load_manifest, manifests_dir
from gis_service.config import Settings
from gis_service.db.schema import admin_unit
from gis_service.db.schema import generation as generation_table
from gis_service.errors import DataError


def generation(code: str) -> FallbackGeneration:
    return next(g for g in fallback_generations() if g.code == code)


def units(code: str, level: str) -> list[UnitFeature]:
    return next(features for lvl, _prov, features in generation(code).layers if lvl == level)


def test_two_generations_with_their_levels() -> None:
    shape = {g.code: [(level, len(f)) for level, _p, f in g.layers] for g in fallback_generations()}
    assert shape == {"2019": [("province", 1), ("district", 9), ("commune", 133)],
                     "2025": [("province", 1), ("commune", 40)]}


def test_everything_is_labelled_approximate_and_sourced_to_the_gazetteer() -> None:
    for gen in fallback_generations():
        assert "APPROXIMATE" in gen.description and "vietnamadminunits" in gen.description
        for _level, provenance, features in gen.layers:
            assert "vietnamadminunits" in provenance.source and "APPROXIMATE" in provenance.source
            assert all(f.approximate for f in features)
    assert "legacy" in generation("2019").description.lower()
    assert (generation("2025").status, str(generation("2025").valid_from)) == ("active", "2025-07-01")
    assert (generation("2019").status, str(generation("2019").valid_to)) == ("retired", "2025-06-30")


def test_names_codes_and_parents_come_from_the_gazetteer() -> None:
    wards = {w.code: w for w in gazetteer.wards_2025()}
    for feature in units("2025", "commune"):
        ward = wards[feature.code]
        assert (feature.name, feature.unit_type, feature.parent_code) == (
            ward.name, ward.unit_type, "46")
    legacy = {c.code: c for c in gazetteer.legacy_communes()}
    for feature in units("2019", "commune"):
        assert feature.parent_code == legacy[feature.code].district_code
    assert {f.parent_code for f in units("2019", "district")} == {"46"}


def test_each_ward_point_lies_in_its_own_cell() -> None:
    wards = {w.code: w.position for w in gazetteer.wards_2025()}
    for feature in units("2025", "commune"):
        point = wards[feature.code]
        assert feature.geometry.contains(Point(point.lon, point.lat)), feature.code
    positions, moved = legacy_positions()
    assert len(set(positions.values())) == 133  # distinct sites, one cell each
    for feature in units("2019", "commune"):
        point = positions[feature.code]
        assert feature.geometry.contains(Point(point.lon, point.lat)), feature.code
    # Dương Nỗ and Long Hồ had their district's point; Hương Văn shared Hương Vân's.
    assert {"19909", "20029", "20011"} <= set(moved)


def test_cells_tile_the_outline_and_cover_every_gazetteer_point() -> None:
    outline = province_outline()
    points = [w.position for w in gazetteer.wards_2025()]
    points += [c.position for c in gazetteer.legacy_communes()]
    for code, level in (("2025", "commune"), ("2019", "commune"), ("2019", "district")):
        cells = [f.geometry for f in units(code, level)]
        union = shapely.union_all(cells)
        # Cells are snapped to a 1 cm grid: along the outline's 415 km and the cells' own edges
        # that moves a few thousand m² (measured: 6,800 m² of 5,800 km²).
        assert area_m2(union.symmetric_difference(outline)) < 20_000.0
        assert sum(area_m2(c) for c in cells) == pytest.approx(area_m2(outline), abs=20_000.0)
        assert all(union.covers(Point(p.lon, p.lat)) for p in points)


def test_districts_are_their_communes_dissolved() -> None:
    communes = units("2019", "commune")
    for district in units("2019", "district"):
        members = [c.geometry for c in communes if c.parent_code == district.code]
        assert area_m2(shapely.union_all(members).symmetric_difference(district.geometry)) < 1.0


def test_cells_do_not_overlap() -> None:
    cells = units("2019", "commune")
    overlap = sum(area_m2(a.geometry.intersection(b.geometry))
                  for a, b in itertools.combinations(cells, 2)
                  if a.geometry.intersects(b.geometry))
    assert overlap < 1.0


def test_builder_returns_one_generation(conn: Connection) -> None:
    derived = BUILDERS["gazetteer_fallback"](conn, {"builder": "gazetteer_fallback",
                                                    "generation": "2019"}, Path("/nowhere"))
    assert isinstance(derived, DerivedGeneration)
    assert [level for level, _p, _f in derived.layers] == ["province", "district", "commune"]
    with pytest.raises(DataError, match="no generation '1999'"):
        BUILDERS["gazetteer_fallback"](conn, {"generation": "1999"}, Path("/nowhere"))


def test_loads_into_postgis_without_overlaps(conn: Connection) -> None:
    for gen in fallback_generations():
        code = f"fallback-{gen.code}"
        ensure_generation(conn, code, description=gen.description, valid_from=gen.valid_from,
                          valid_to=gen.valid_to)
        for level, provenance, features in gen.layers:
            summary = load_units(conn, code, level, features, provenance,
                                 source_file="gazetteer", source_sha256="-")
        assert summary.inserted == len(gen.layers[-1][2])
        for level_report in summary.report.levels:
            assert level_report.overlaps.area_m2 + level_report.overlaps.sliver_area_m2 < 1.0
            assert level_report.gaps.area_m2 < 1000.0
            assert level_report.outside_parent.area_m2 < 1000.0


def test_fallback_manifests_stand_in_without_a_data_root(conn: Connection, settings: Settings,
                                                          tmp_path: Path) -> None:
    # Fresh generation codes, so the session's real 2019/2025 (if loaded) are left alone.
    manifests = tmp_path / "fallback"
    manifests.mkdir()
    for source in (settings.boundaries_dir / FALLBACK_DIR).glob("*.toml"):
        text = source.read_text(encoding="utf-8")
        for old, new in (('code = "2019"', 'code = "fb19"'), ('code = "2025"', 'code = "fb25"'),
                         ('["2019"]', '["fb19"]'), ('status = "active"', 'status = "draft"'),
                         ('status = "retired"', 'status = "draft"')):
            text = text.replace(old, new)
        (manifests / source.name).write_text(text, encoding="utf-8")
    absent = dataclasses.replace(settings, data_root=tmp_path / "no-data", boundaries_dir=tmp_path)
    assert manifests_dir(absent) == manifests

    results = {r.code: r for r in load_manifest(conn, dataclasses.replace(absent, boundaries_dir=manifests))}

    assert [load.counts()["features"] for load in results["fb25"].loads] == [1, 40]
    assert [load.counts()["features"] for load in results["fb19"].loads] == [1, 9, 133]
    flags = conn.execute(
        select(func.bool_and(admin_unit.c.approximate), func.count())
        .join(generation_table, generation_table.c.id == admin_unit.c.generation_id)
        .where(generation_table.c.code.in_(["fb19", "fb25"]))
    ).one()
    assert tuple(flags) == (True, 184)
    assert results["fb25"].builder_report["crosswalk_rows"]["fb19"] > 0
