"""The 2025 generation from all 40 official polygons, the derivation kept as a pinned check,
and the national reference boundaries (issue #13). Real Huế data: ``hue_db`` skips without the
shared data root and fails in CI."""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path

import pytest
import shapely
from sqlalchemy import Connection, func, select

from gis_service import gazetteer
from gis_service.boundaries.derive import DerivedGeneration, area_m2, read_official, to_metric
from gis_service.boundaries.generations import by_code, reference, resolve, set_status, valid_on
from gis_service.boundaries.manifest import read_manifest
from gis_service.boundaries.official_2025 import build_hue_2025_official, check_official
from gis_service.boundaries.reference import unit_type_of
from gis_service.db.schema import admin_unit, generation
from gis_service.errors import Conflict, DataError, InvalidInput
from tests.conftest import HueDB

# The derivation check, measured on the official polygons: each ward's 2019 communes (GADM 4.1,
# ~10 m) dissolved along vietnamadminunits' mapping, IoU against its official polygon.
# Median 0.9585; worst 20056 Xã A Lưới 1 (0.6996): its 2019 communes, on the mountain border,
# are drawn far from the official line. A change beyond the tolerance means the data or the
# mapping did.
PINNED_IOU = {
    "19753": 0.9274, "19774": 0.9658, "19777": 0.9113, "19789": 0.8991, "19804": 0.9063,
    "19813": 0.9417, "19815": 0.9021, "19819": 0.9828, "19828": 0.9718, "19831": 0.9613,
    "19858": 0.9633, "19867": 0.9316, "19873": 0.9431, "19885": 0.9595, "19900": 0.9067,
    "19909": 0.9584, "19918": 0.9652, "19930": 0.9585, "19942": 0.9547, "19945": 0.9600,
    "19960": 0.9806, "19969": 0.9525, "19975": 0.9244, "19996": 0.9474, "20014": 0.9408,
    "20017": 0.9585, "20035": 0.9794, "20044": 0.9703, "20050": 0.9835, "20056": 0.6996,
    "20071": 0.9793, "20101": 0.9801, "20107": 0.9445, "20122": 0.9086, "20131": 0.9774,
    "20137": 0.9585, "20140": 0.9708, "20161": 0.9871, "20179": 0.9792, "20182": 0.9837,
}
IOU_TOLERANCE = 0.002
OFFICIAL_FILE = "boundaries/hue_wards_2025_sapnhap.geojson"


@pytest.fixture(scope="module")
def built(hue_db: HueDB) -> DerivedGeneration:
    spec = read_manifest(hue_db.settings.boundaries_dir / "2025.toml").derive
    assert spec is not None and spec["builder"] == "hue_2025_official"
    with hue_db.engine.connect() as connection:
        return build_hue_2025_official(connection, spec, hue_db.settings.data_root)


def test_derivation_iou_is_pinned(built: DerivedGeneration) -> None:
    scores = built.report["derivation_iou"]
    assert set(scores) == set(PINNED_IOU)
    for code, pinned in PINNED_IOU.items():
        assert scores[code] == pytest.approx(pinned, abs=IOU_TOLERANCE), code
    assert built.report["derivation_iou_median"] == pytest.approx(0.9585, abs=IOU_TOLERANCE)
    assert statistics.median(scores.values()) == built.report["derivation_iou_median"]
    assert built.report["derivation_iou_min"] == {"code": "20056", "iou": scores["20056"]}


def test_all_40_wards_are_official_and_loaded_as_they_are(hue_db: HueDB) -> None:
    official = read_official(hue_db.settings.data_root / OFFICIAL_FILE, "code")
    with hue_db.engine.connect() as connection:
        rows = connection.execute(
            select(admin_unit.c.code, admin_unit.c.name, admin_unit.c.approximate,
                   func.ST_AsBinary(admin_unit.c.geom))
            .where(admin_unit.c.generation_id == by_code(connection, "2025").id,
                   admin_unit.c.level == "commune")).all()
    names = {w.code: w.name for w in gazetteer.wards_2025()}
    assert {code: name for code, name, _a, _g in rows} == names
    assert not any(approximate for _c, _n, approximate, _g in rows)
    for code, _name, _approximate, wkb in rows:
        loaded = shapely.from_wkb(bytes(wkb))
        # Only the common 1e-7° vertex grid moves them (~1 cm).
        assert area_m2(loaded.symmetric_difference(official[code])) < (
            0.01 * to_metric(official[code]).length), code


def test_the_city_is_its_wards_and_keeps_the_2019_census(hue_db: HueDB) -> None:
    with hue_db.engine.connect() as connection:
        gen = by_code(connection, "2025").id
        population = dict(connection.execute(
            select(admin_unit.c.level, func.sum(admin_unit.c.population))
            .where(admin_unit.c.generation_id == gen).group_by(admin_unit.c.level)).all())
        outside = connection.execute(select(func.max(func.ST_Area(func.ST_Difference(
            admin_unit.c.geom, select(admin_unit.c.geom).where(
                admin_unit.c.generation_id == gen, admin_unit.c.level == "province")
            .scalar_subquery()))))
            .where(admin_unit.c.generation_id == gen, admin_unit.c.level == "commune")
        ).scalar_one()
    assert population == {"province": 1_128_620, "commune": 1_128_620}
    assert outside < 1e-12


def test_a_misnamed_or_missing_ward_is_refused(hue_db: HueDB, tmp_path: Path) -> None:
    official = read_official(hue_db.settings.data_root / OFFICIAL_FILE, "code")
    names = {w.code: w.name for w in gazetteer.wards_2025()}
    # Old-style tone placement is the same name.
    check_official(official, {**names, "19789": "Phường Thuận Hoá"}, "46", tmp_path)
    with pytest.raises(DataError, match="19789 is named 'Phường Vỹ Dạ' in the file"):
        check_official(official, {**names, "19789": "Phường Vỹ Dạ"}, "46", tmp_path)
    with pytest.raises(DataError, match=r"missing \['19753'\]"):
        check_official({c: g for c, g in official.items() if c != "19753"}, names, "46",
                       tmp_path)


# --- the reference boundaries -----------------------------------------------------------------

def test_reference_generation_is_loaded_and_never_published(hue_db: HueDB) -> None:
    assert "vn2025" in hue_db.generations
    with hue_db.engine.connect() as connection:
        found = reference(connection)
        assert found is not None and (found.code, found.kind, found.status) == (
            "vn2025", "reference", "draft")
        counts = dict(connection.execute(
            select(admin_unit.c.level, func.count())
            .where(admin_unit.c.generation_id == found.id).group_by(admin_unit.c.level)).all())
        assert counts == {"province": 34, "commune": 3321}
        assert valid_on(connection, dt.date(2026, 1, 1)).code == "2025"
        with pytest.raises(InvalidInput, match="reference"):
            resolve(connection, code="vn2025")


def test_reference_generation_cannot_be_activated(conn: Connection, hue_db: HueDB) -> None:
    with pytest.raises(Conflict, match="never active"):
        set_status(conn, "vn2025", "active")
    # Nor behind the code's back: the database refuses it too.
    with pytest.raises(Exception, match="reference_unpublished"), conn.begin_nested():
        conn.execute(generation.update().where(generation.c.code == "vn2025")
                     .values(status="retired"))


def test_reference_types_and_parents(hue_db: HueDB) -> None:
    with hue_db.engine.connect() as connection:
        gen = by_code(connection, "vn2025").id
        province = admin_unit.alias("province")
        rows = dict(connection.execute(
            select(admin_unit.c.unit_type, func.count())
            .where(admin_unit.c.generation_id == gen).group_by(admin_unit.c.unit_type)).all())
        orphans = connection.execute(
            select(func.count()).select_from(admin_unit.outerjoin(
                province, province.c.id == admin_unit.c.parent_id))
            .where(admin_unit.c.generation_id == gen, admin_unit.c.level == "commune",
                   province.c.level.is_distinct_from("province"))).scalar_one()
    assert rows == {"Phường": 697, "Xã": 2611, "Đặc khu": 13, "Tỉnh": 27, "Thành phố": 7}
    assert orphans == 0


@pytest.mark.parametrize(("full", "name", "expected"), [
    ("Phường Ba Đình", "Ba Đình", "Phường"), ("xã Bắc Sơn", "Bắc Sơn", "Xã"),
    ("Đặc khu Côn Đảo", "Côn Đảo", "Đặc khu"), ("Thành phố Huế", "Huế", "Thành phố"),
    ("Tỉnh Quảng Trị", "Quảng Trị", "Tỉnh"), ("Ba Đình", "Ba Đình", None),
    ("Quận Ba Đình", "Hoàn Kiếm", None),
])
def test_unit_type_of(full: str, name: str, expected: str | None) -> None:
    assert unit_type_of(full, name) == expected


def test_reference_manifest_must_stay_a_draft(tmp_path: Path) -> None:
    manifest = tmp_path / "ref.toml"
    manifest.write_text('[generation]\ncode = "r"\nkind = "reference"\nstatus = "active"\n'
                        '[derive]\nbuilder = "vn_reference"\n', encoding="utf-8")
    with pytest.raises(DataError, match="never published"):
        read_manifest(manifest)
    manifest.write_text('[generation]\ncode = "r"\nkind = "context"\n'
                        '[derive]\nbuilder = "vn_reference"\n', encoding="utf-8")
    with pytest.raises(DataError, match="kind must be one of service, reference"):
        read_manifest(manifest)
