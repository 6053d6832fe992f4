"""Loading units: parents, upsert idempotence, all-or-nothing failures, the CLI."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import MultiPolygon
from sqlalchemy import Connection, Engine, delete, func, literal_column, select

from gis_service.boundaries.features import Provenance, UnitFeature
from gis_service.boundaries.generations import ensure_generation
from gis_service.boundaries.load import LoadSummary, load_units
from gis_service.cli import main
from gis_service.db.schema import admin_unit, admin_unit_part, boundary_load, generation
from gis_service.errors import DataError

PROVENANCE = Provenance("drawn in a test", "CC0 test licence")
LON, LAT, SIZE = 107.5, 16.4, 0.02


def cell(col: int, row: int = 0, size: float = SIZE) -> MultiPolygon:
    lon, lat = LON + col * size, LAT + row * size
    return MultiPolygon([shapely.box(lon, lat, lon + size, lat + size)])


def unit(index: int, code: str, geometry: MultiPolygon, unit_type: str, parent: str | None = None,
         *, name: str | None = None, population: int | None = None,
         population_year: int | None = None, approximate: bool = False) -> UnitFeature:
    return UnitFeature(index, code, name or f"Đơn vị {code}", unit_type, geometry, parent,
                       population, population_year, approximate)


def strip(col: int) -> MultiPolygon:
    """The col-th half-width strip of the province: two per district."""
    lon = LON + col * SIZE / 2
    return MultiPolygon([shapely.box(lon, LAT, lon + SIZE / 2, LAT + SIZE)])


PROVINCE = [unit(0, "46", MultiPolygon([shapely.box(LON, LAT, LON + 2 * SIZE, LAT + SIZE)]),
                 "Tỉnh")]
DISTRICTS = [
    unit(0, "474", cell(0), "Thành phố", "46"),
    unit(1, "476", cell(1), "Huyện", "46"),
]
COMMUNES = [
    unit(0, "19777", strip(0), "Phường", "474", population=1200, population_year=2019),
    unit(1, "19780", strip(1), "Phường", "474"),
    unit(2, "19816", strip(2), "Xã", "476"),
    unit(3, "19819", strip(3), "Thị trấn", "476"),
]


def load(conn: Connection, level: str, features: list[UnitFeature], code: str = "t") -> LoadSummary:
    return load_units(conn, code, level, features, PROVENANCE, source_file=f"{level}.geojson",
                      source_sha256="0" * 64)


def load_all(conn: Connection, code: str = "t") -> list[LoadSummary]:
    ensure_generation(conn, code)
    return [load(conn, "province", PROVINCE, code), load(conn, "district", DISTRICTS, code),
            load(conn, "commune", COMMUNES, code)]


def snapshot(conn: Connection) -> dict[str, tuple[object, ...]]:
    """Each unit's row version (xmin, ctid), values and subdivided part ids."""
    version = literal_column("admin_unit.xmin::text || admin_unit.ctid::text")
    parts = (select(func.array_agg(admin_unit_part.c.id))
             .where(admin_unit_part.c.unit_id == admin_unit.c.id).scalar_subquery())
    rows = conn.execute(select(admin_unit.c.code, version, admin_unit.c.name, parts))
    return {code: (xmin, name, tuple(sorted(part_ids))) for code, xmin, name, part_ids in rows}


def test_levels_load_top_down_with_parents(conn: Connection) -> None:
    summaries = load_all(conn)
    assert [(s.features, s.inserted, s.updated, s.deleted) for s in summaries] == [
        (1, 1, 0, 0), (2, 2, 0, 0), (4, 4, 0, 0)]
    parent = admin_unit.alias("parent")
    rows = conn.execute(
        select(admin_unit.c.code, parent.c.code, admin_unit.c.name_ascii, admin_unit.c.setting,
               admin_unit.c.population, admin_unit.c.source, admin_unit.c.licence)
        .outerjoin(parent, parent.c.id == admin_unit.c.parent_id)
        .where(admin_unit.c.level == "commune").order_by(admin_unit.c.code)
    ).all()
    assert [(r[0], r[1]) for r in rows] == [
        ("19777", "474"), ("19780", "474"), ("19816", "476"), ("19819", "476")]
    assert rows[0][2:] == ("Don vi 19777", "urban", 1200, "drawn in a test", "CC0 test licence")
    assert rows[2][3] == "rural"
    district_parents = conn.execute(
        select(parent.c.code).join(admin_unit, admin_unit.c.parent_id == parent.c.id)
        .where(admin_unit.c.level == "district")
    ).scalars().all()
    assert district_parents == ["46", "46"]


def test_each_load_is_recorded_with_its_validation(conn: Connection) -> None:
    summaries = load_all(conn)
    row = conn.execute(
        select(boundary_load).where(boundary_load.c.id == summaries[-1].load_id)
    ).one()
    assert (row.level, row.features, row.inserted, row.source_file) == (
        "commune", 4, 4, "commune.geojson")
    assert row.report["licence"] == "CC0 test licence"
    levels = [level["level"] for level in row.report["validation"]["levels"]]
    assert levels == ["province", "district", "commune"]
    assert row.report["validation"]["clean"] is True


def test_reloading_the_same_features_changes_no_row(conn: Connection) -> None:
    load_all(conn)
    before = snapshot(conn)
    # In a savepoint, any row written would carry the subtransaction's xid as its xmin.
    with conn.begin_nested():
        again = [load(conn, "province", PROVINCE), load(conn, "district", DISTRICTS),
                 load(conn, "commune", COMMUNES)]
    assert [(s.inserted, s.updated, s.deleted, s.unchanged) for s in again] == [
        (0, 0, 0, 1), (0, 0, 0, 2), (0, 0, 0, 4)]
    assert snapshot(conn) == before


def test_reloading_changed_features_touches_only_them(conn: Connection) -> None:
    load_all(conn)
    before = snapshot(conn)
    renamed = unit(0, "19777", strip(0), "Phường", "474", name="Phường Vỹ Dạ",
                   population=1200, population_year=2019)
    moved = unit(1, "19780", cell(1, 1, SIZE / 2), "Phường", "474")
    added = unit(3, "19900", strip(3), "Xã", "476")
    with conn.begin_nested():
        summary = load(conn, "commune", [renamed, moved, COMMUNES[2], added])
    assert (summary.inserted, summary.updated, summary.deleted, summary.unchanged) == (1, 2, 1, 1)
    after = snapshot(conn)
    assert after["19777"][1] == "Phường Vỹ Dạ" and after["19777"][0] != before["19777"][0]
    assert after["19780"][2] != before["19780"][2]  # a new polygon is cut into new parts
    assert after["19816"] == before["19816"]
    assert "19819" not in after and "19900" in after


def test_unknown_parent_names_the_feature(conn: Connection) -> None:
    load_all(conn)
    orphaned = [COMMUNES[0], unit(1, "19999", strip(1), "Xã", "999"), COMMUNES[2]]
    with pytest.raises(DataError, match=r"feature 1 \(code '19999'\): parent code '999' is not "
                                        r"among the district units"):
        load(conn, "commune", orphaned)


def test_parent_codes_need_a_level_above(conn: Connection) -> None:
    ensure_generation(conn, "t")
    with pytest.raises(DataError, match=r"feature 0 \(code '474'\): parent code '46' is not among "
                                        r"any level above district"):
        load(conn, "district", DISTRICTS)


def test_duplicate_code_names_both_features(conn: Connection) -> None:
    ensure_generation(conn, "t")
    twice = [*DISTRICTS, unit(2, "474", cell(2), "Huyện")]
    with pytest.raises(DataError, match=r"feature 2 \(code '474'\): duplicate code, already used "
                                        r"by feature 0"):
        load(conn, "district", twice)


def test_two_level_generation_hangs_communes_off_the_province(conn: Connection) -> None:
    ensure_generation(conn, "t")
    load(conn, "province", PROVINCE)
    wards = [unit(0, "19753", cell(0), "Phường", "46"), unit(1, "19909", cell(1), "Phường", "46")]
    summary = load(conn, "commune", wards)
    assert summary.report.level("commune").parent_level == "province"
    assert summary.report.clean
    parents = conn.execute(
        select(func.count()).where(admin_unit.c.level == "commune", admin_unit.c.parent_id.is_not(None))
    ).scalar_one()
    assert parents == 2


def test_approximate_units_are_flagged(conn: Connection) -> None:
    ensure_generation(conn, "t")
    load(conn, "province", [unit(0, "46", cell(0), "Tỉnh", approximate=True)])
    assert conn.execute(select(admin_unit.c.approximate)).scalar_one() is True


@pytest.fixture
def committed_code(engine: Engine) -> Iterator[str]:
    """A generation code for tests that really commit; its rows are removed afterwards."""
    code = f"commit-{uuid.uuid4().hex[:8]}"
    yield code
    with engine.begin() as conn:
        conn.execute(delete(generation).where(generation.c.code == code))


def test_a_failure_after_writing_leaves_the_committed_state(engine: Engine, committed_code: str) -> None:
    with engine.begin() as conn:
        load_all(conn, committed_code)
    with engine.connect() as conn:
        before = snapshot(conn)
        loads_before = conn.execute(select(func.count()).select_from(boundary_load)).scalar_one()

    # District 474 renamed (written by the upsert), then 476 dropped while communes still
    # hang off it: the load fails after it has already changed a row.
    renamed = unit(0, "474", cell(0), "Thành phố", "46", name="Thành phố Huế")
    with pytest.raises(DataError, match=r"district '476' is not in the file, but 2 units"), \
            engine.begin() as conn:
        load(conn, "district", [renamed], committed_code)

    with engine.connect() as conn:
        assert {k: v for k, v in snapshot(conn).items() if k in before} == before
        assert conn.execute(select(func.count()).select_from(boundary_load)).scalar_one() == loads_before


def _write(path: Path, features: list[UnitFeature], *, bad: dict[str, object] | None = None) -> Path:
    records: list[dict[str, object]] = [
        {"code": f.code, "name": f.name, "type": f.unit_type, "parent": f.parent_code,
         "geometry": f.geometry} for f in features
    ]
    if bad is not None:
        records.insert(len(records) // 2, bad)
    geometries = [r.pop("geometry") for r in records]
    gpd.GeoDataFrame(records, geometry=geometries, crs="EPSG:4326").to_file(path)
    return path


def _cli(database: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["boundaries", *args], env={"DATABASE_URL": database})
    return result.exit_code, result.output


def test_cli_load_is_one_transaction(
    database: str, engine: Engine, committed_code: str, tmp_path: Path
) -> None:
    province = _write(tmp_path / "province.geojson", PROVINCE)
    districts = _write(tmp_path / "districts.geojson", DISTRICTS)
    code, output = _cli(database, "load", str(province), "--generation", committed_code,
                        "--level", "province", "--licence", "CC0")
    assert code == 0, output
    assert f"created draft generation {committed_code}" in output
    assert "1 inserted" in output and "validation of generation" in output
    code, output = _cli(database, "load", str(districts), "--generation", committed_code,
                        "--level", "district", "--parent-field", "parent")
    assert code == 0, output

    bad = {"code": "19999", "name": "Xã Lạc", "type": "Xã", "parent": "999",
           "geometry": cell(5, 0, SIZE / 2)}
    communes = _write(tmp_path / "communes.geojson", COMMUNES, bad=bad)
    code, output = _cli(database, "load", str(communes), "--generation", committed_code,
                        "--level", "commune", "--parent-field", "parent")
    assert code == 1
    assert "feature 2 (code '19999'): parent code '999'" in output
    assert "nothing was written" in output
    with engine.connect() as conn:
        levels = conn.execute(
            select(admin_unit.c.level, func.count())
            .join(generation, generation.c.id == admin_unit.c.generation_id)
            .where(generation.c.code == committed_code).group_by(admin_unit.c.level)
        ).all()
    assert dict(levels) == {"province": 1, "district": 2}

    code, output = _cli(database, "validate", committed_code, "--json")
    assert code == 0, output
    report = json.loads(output)
    assert [level["units"] for level in report["levels"]] == [1, 2]
    code, output = _cli(database, "list")
    assert code == 0 and f"{committed_code}\tdraft" in output and "1 province, 2 district" in output


def test_cli_failed_load_does_not_create_the_generation(
    database: str, engine: Engine, tmp_path: Path
) -> None:
    code_name = f"never-{uuid.uuid4().hex[:8]}"
    # The duplicate is found by load_units, after the CLI has created the generation.
    twice = [*PROVINCE, unit(1, "46", cell(1), "Tỉnh"), unit(2, "47", cell(2), "Tỉnh")]
    path = _write(tmp_path / "bad.geojson", twice)
    code, output = _cli(database, "load", str(path), "--generation", code_name,
                        "--level", "province")
    assert code == 1 and "feature 1 (code '46'): duplicate code" in output, output
    with engine.connect() as conn:
        exists = conn.execute(select(func.count()).where(generation.c.code == code_name))
        assert exists.scalar_one() == 0
