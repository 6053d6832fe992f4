"""Manifests: parsing, loading a generation from one, dependency order, derive builders,
and the real 2019 generation from the shared data root."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import types
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Connection, func, select

from gis_service.boundaries.features import Provenance, UnitFeature
from gis_service.boundaries.generations import by_code
from gis_service.boundaries.manifest import load_manifest, read_manifest, read_manifests
from gis_service.config import Settings
from gis_service.db.schema import admin_unit, generation, unit_crosswalk
from gis_service.errors import DataError
from tests.conftest import require_data

LON, LAT, D = 107.5, 16.4, 0.01

PLAIN = """
[generation]
code = "small"
description = "a drawn test generation"
valid_from = 2001-01-01
valid_to = "2001-12-31"
status = "retired"

[[layer]]
level = "commune"
file = "communes.geojson"
source = "drawn"
licence = "CC0"
[layer.fields]
code = "code"
name = "name"
type = "type"
parent = "parent"
[layer.population]
file = "population.csv"
code = "code"
value = "people"
year = 2001

[[layer]]
level = "province"
file = "province.geojson"
source = "drawn"
licence = "CC0"
[layer.fields]
code = "code"
name = "name"
type = "type"
"""


def _box(x0: float, x1: float) -> shapely.Polygon:
    return shapely.box(LON + x0 * D, LAT, LON + x1 * D, LAT + D)


def _write(path: Path, rows: list[tuple[str, str, str, str | None, shapely.Polygon]]) -> None:
    records = [{"code": c, "name": n, "type": t, "parent": p} for c, n, t, p, _ in rows]
    gpd.GeoDataFrame(records, geometry=[r[4] for r in rows], crs="EPSG:4326").to_file(path)


@pytest.fixture
def small(tmp_path: Path, settings: Settings) -> Settings:
    """A data root with a province and two communes, and a manifests folder with PLAIN."""
    data, manifests = tmp_path / "data", tmp_path / "manifests"
    data.mkdir()
    manifests.mkdir()
    _write(data / "province.geojson", [("99", "Tỉnh Thử", "Tinh", None, _box(0, 2))])
    _write(data / "communes.geojson", [
        ("1", "Xã Một", "Xa", "99", _box(0, 1)),
        ("2", "Phường Hai", "Phuong", "99", _box(1, 2)),
    ])
    (data / "population.csv").write_text("code,people\n1,100\n2,250\n")
    (manifests / "small.toml").write_text(PLAIN, encoding="utf-8")
    return dataclasses.replace(settings, data_root=data, boundaries_dir=manifests)


def _levels(conn: Connection, code: str) -> dict[str, int]:
    rows = conn.execute(
        select(admin_unit.c.level, func.count())
        .join(generation, generation.c.id == admin_unit.c.generation_id)
        .where(generation.c.code == code).group_by(admin_unit.c.level)
    ).all()
    return {level: count for level, count in rows}


def test_manifest_loads_its_generation(conn: Connection, small: Settings) -> None:
    (result,) = load_manifest(conn, small)
    assert (result.code, result.status) == ("small", "retired")
    # Layers load top-down whatever their order in the file.
    assert [load.level for load in result.loads] == ["province", "commune"]
    assert _levels(conn, "small") == {"province": 1, "commune": 2}
    gen = by_code(conn, "small")
    assert (gen.status, gen.valid_from, gen.valid_to) == (
        "retired", dt.date(2001, 1, 1), dt.date(2001, 12, 31))
    people = conn.execute(
        select(func.sum(admin_unit.c.population), func.min(admin_unit.c.population_year))
        .where(admin_unit.c.level == "commune", admin_unit.c.generation_id == gen.id)
    ).one()
    assert tuple(people) == (350, 2001)
    assert result.validation.clean
    assert "generation small (retired)" in result.render()

    (again,) = load_manifest(conn, small, "small")
    assert [(load.inserted, load.updated, load.deleted) for load in again.loads] == [(0, 0, 0)] * 2


def test_missing_file_is_named_and_nothing_loads(conn: Connection, small: Settings) -> None:
    (small.data_root / "population.csv").unlink()
    with pytest.raises(DataError, match=r"small.toml: file population.csv is not in the data root"):
        load_manifest(conn, small)
    assert conn.execute(select(func.count()).where(generation.c.code == "small")).scalar_one() == 0


def test_unknown_generation_code(conn: Connection, small: Settings) -> None:
    with pytest.raises(DataError, match="no manifest for generation 'nope'"):
        load_manifest(conn, small, "nope")


@pytest.mark.parametrize(("edit", "message"), [
    (("status = \"retired\"", "status = \"published\""), "status must be one of"),
    (("level = \"commune\"", "level = \"ward\""), r"\[\[layer\]\] 1: level must be one of"),
    (("parent = \"parent\"", "parnet = \"parent\""), r"\[\[layer\]\] 1 fields: unknown key 'parnet'"),
    (("valid_to = \"2001-12-31\"", "valid_to = \"end of 2001\""), "'valid_to' must be a date"),
    (("[generation]\ncode = \"small\"", "[generation]"), "'code' must be a non-empty string"),
    (("year = 2001", "year = \"2001\""), "'year' must be an integer"),
])
def test_manifest_mistakes_are_named(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    old, new = edit
    assert old in PLAIN
    path = tmp_path / "broken.toml"
    path.write_text(PLAIN.replace(old, new), encoding="utf-8")
    with pytest.raises(DataError, match=message) as caught:
        read_manifest(path)
    assert "broken.toml" in caught.value.detail


def _derived_manifest(code: str, after: str | None, builder: str) -> str:
    after_line = f'after = ["{after}"]\n' if after else ""
    return (f'{after_line}[generation]\ncode = "{code}"\nvalid_from = 2002-01-01\n'
            f'status = "draft"\n\n[derive]\nbuilder = "{builder}"\nsource_generation = "small"\n')


def _merge_builder(conn: Connection, spec: Mapping[str, object], data_root: Path) -> object:
    """A fake builder: one province, the union of the source generation's communes."""
    source = by_code(conn, str(spec["source_generation"]))
    geometries = conn.execute(
        select(func.ST_AsBinary(admin_unit.c.geom))
        .where(admin_unit.c.generation_id == source.id, admin_unit.c.level == "commune")
    ).scalars().all()
    merged = shapely.union_all([shapely.from_wkb(bytes(g)) for g in geometries])
    feature = UnitFeature(0, "M", "Tỉnh Gộp", "Tỉnh", shapely.MultiPolygon([merged]),
                          approximate=True)
    layers = [("province", Provenance("merged", "CC0"), [feature])]
    return types.SimpleNamespace(layers=layers, report={"communes_merged": len(geometries)})


@pytest.fixture
def fake_derive(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("gis_service.boundaries.derive")
    module.BUILDERS = {"merge": _merge_builder}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gis_service.boundaries.derive", module)


@pytest.mark.usefixtures("fake_derive")
def test_derived_manifest_loads_after_its_dependency(conn: Connection, small: Settings) -> None:
    (small.boundaries_dir / "a-merged.toml").write_text(
        _derived_manifest("a-merged", "small", "merge"), encoding="utf-8")
    assert [m.generation.code for m in read_manifests(small.boundaries_dir)] == ["small", "a-merged"]

    results = load_manifest(conn, small)

    assert [r.code for r in results] == ["small", "a-merged"]
    merged = results[1]
    assert dict(merged.builder_report) == {"communes_merged": 2}
    assert [(load.level, load.inserted) for load in merged.loads] == [("province", 1)]
    flagged = conn.execute(select(admin_unit.c.approximate).where(admin_unit.c.code == "M"))
    assert flagged.scalar_one() is True


def test_after_orders_manifests(tmp_path: Path) -> None:
    # By file name and code "a" comes first; its 'after' (in [generation]) makes it wait for "b".
    first = PLAIN.replace('code = "small"', 'code = "a"\nafter = ["b"]')
    (tmp_path / "a.toml").write_text(first, encoding="utf-8")
    (tmp_path / "b.toml").write_text(PLAIN.replace('code = "small"', 'code = "b"'), encoding="utf-8")
    assert [m.generation.code for m in read_manifests(tmp_path)] == ["b", "a"]
    (tmp_path / "a.toml").write_text(PLAIN.replace('code = "small"', 'code = "a"'), encoding="utf-8")
    assert [m.generation.code for m in read_manifests(tmp_path)] == ["a", "b"]


@pytest.mark.usefixtures("fake_derive")
def test_derived_manifest_alone_needs_its_dependency_loaded(conn: Connection, small: Settings) -> None:
    (small.boundaries_dir / "a-merged.toml").write_text(
        _derived_manifest("a-merged", "small", "merge"), encoding="utf-8")
    with pytest.raises(DataError, match="generation 'small' must be loaded first"):
        load_manifest(conn, small, "a-merged")
    load_manifest(conn, small, "small")
    (result,) = load_manifest(conn, small, "a-merged")
    assert result.loads[0].inserted == 1


@pytest.mark.usefixtures("fake_derive")
def test_unknown_builder_and_cycles(conn: Connection, small: Settings) -> None:
    folder = small.boundaries_dir
    (folder / "x.toml").write_text(_derived_manifest("x", None, "nope"), encoding="utf-8")
    with pytest.raises(DataError, match=r"unknown builder 'nope' \(known: merge\)"):
        load_manifest(conn, small, "x")
    (folder / "x.toml").write_text(_derived_manifest("x", "y", "merge"), encoding="utf-8")
    (folder / "y.toml").write_text(_derived_manifest("y", "x", "merge"), encoding="utf-8")
    with pytest.raises(DataError, match="cycle"):
        read_manifests(folder)


def test_builder_module_absent(
    conn: Connection, small: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes the import fail as if the module did not exist.
    monkeypatch.setitem(sys.modules, "gis_service.boundaries.derive", None)
    (small.boundaries_dir / "x.toml").write_text(_derived_manifest("x", None, "merge"),
                                                 encoding="utf-8")
    with pytest.raises(DataError, match=r"needs gis_service\.boundaries\.derive"):
        load_manifest(conn, small, "x")


def test_2019_manifest_names_files_that_exist(settings: Settings) -> None:
    manifest = read_manifest(settings.boundaries_dir / "2019.toml")
    assert (manifest.generation.code, manifest.generation.status) == ("2019", "retired")
    assert manifest.generation.valid_to == dt.date(2025, 6, 30)
    assert [layer.level for layer in manifest.layers] == ["province", "district", "commune"]
    assert "GADM" in manifest.layers[2].provenance.licence
    assert "do not redistribute" in manifest.layers[2].provenance.licence


@pytest.mark.realdata
def test_hue_2019_generation(conn: Connection, settings: Settings) -> None:
    require_data(settings)
    (result,) = load_manifest(conn, settings, "2019")
    assert [(load.level, load.features, load.repaired) for load in result.loads] == [
        ("province", 1, 0), ("district", 9, 0), ("commune", 152, 0)]
    gen = by_code(conn, "2019")
    assert (gen.status, gen.valid_to) == ("retired", dt.date(2025, 6, 30))
    assert _levels(conn, "2019") == {"province": 1, "district": 9, "commune": 152}
    parent = admin_unit.alias("parent")
    communes = conn.execute(
        select(func.count(), func.sum(admin_unit.c.population),
               func.count().filter(parent.c.level == "district"),
               func.count().filter(admin_unit.c.population_year == 2019))
        .select_from(admin_unit)
        .outerjoin(parent, parent.c.id == admin_unit.c.parent_id)
        .where(admin_unit.c.generation_id == gen.id, admin_unit.c.level == "commune")
    ).one()
    assert tuple(communes) == (152, 1_128_620, 152, 152)
    districts = result.validation.level("district")
    assert (districts.parent_level, districts.orphans.count) == ("province", 0)
    assert result.validation.level("commune").orphans.count == 0


def test_crosswalk_from_builds_the_crosswalk_after_loading(conn: Connection, small: Settings) -> None:
    later = PLAIN.replace('code = "small"', 'code = "later"').replace(
        'status = "retired"', 'status = "draft"\nafter = ["small"]\ncrosswalk_from = ["small"]')
    (small.boundaries_dir / "later.toml").write_text(later, encoding="utf-8")

    results = {r.code: r for r in load_manifest(conn, small)}

    # Same two communes in both generations: each maps wholly onto its twin, in both directions.
    assert results["later"].builder_report["crosswalk_rows"] == {"small": 4}
    shares = conn.execute(
        select(func.min(unit_crosswalk.c.area_share), func.count())
        .where(unit_crosswalk.c.to_generation_id == by_code(conn, "later").id)
    ).one()
    assert tuple(shares) == (pytest.approx(1.0), 2)
