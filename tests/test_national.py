"""The national service area (issue #17): Vietnam's 34 provinces and 3,321 wards as the
service generation, and snapping, reverse, batch, forward geocoding, hot spots, coverage and
the commune cores on it. Real data: one database per session (``national_db``)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import shapely
from sqlalchemy import Connection, func, select

from gis_service import api
from gis_service.analysis import coverage, hotspots
from gis_service.config import ConfigError, Settings
from gis_service.coords import LonLat
from gis_service.db.schema import admin_unit, generation, report
from gis_service.spatial.cores import GRID_DEG, MAX_GRID_CELLS, CoreCache, grid_side_deg
from tests.conftest import NATIONAL_REPORTS, NationalDB

# (lon, lat, province code): central Hà Nội, Sài Gòn, Huế, Lai Châu's north-west, Phú Quốc.
PLACES = [(105.8342, 21.0278, "01"), (106.7009, 10.7769, "79"), (107.5905, 16.4637, "46"),
          (103.0, 22.3, "12"), (103.96, 10.22, "91")]


@pytest.fixture
def db(national_db: NationalDB) -> Iterator[Connection]:
    with national_db.engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


def test_the_service_area_is_chosen_in_settings() -> None:
    assert Settings.from_env({}).area_manifests_dir == Settings().boundaries_dir.resolve()
    national = Settings.from_env({"GIS_SERVICE_AREA": "national"})
    assert national.area_manifests_dir.name == "national"
    with pytest.raises(ConfigError, match="GIS_SERVICE_AREA"):
        Settings.from_env({"GIS_SERVICE_AREA": "vietnam"})


def test_provinces_are_the_wards_parents(db: Connection) -> None:
    parent = admin_unit.alias("parent")
    rows = db.execute(
        select(admin_unit.c.level, func.count(), func.count(parent.c.id),
               func.bool_and(parent.c.level == "province"))
        .join(generation, generation.c.id == admin_unit.c.generation_id)
        .outerjoin(parent, parent.c.id == admin_unit.c.parent_id)
        .where(generation.c.code == "2025", generation.c.kind == "service",
               generation.c.status == "active")
        .group_by(admin_unit.c.level).order_by(admin_unit.c.level)).all()
    assert [tuple(row) for row in rows] == [("commune", 3321, 3321, True), ("province", 34, 0, None)]


@pytest.mark.parametrize(("lon", "lat", "province"), PLACES)
def test_points_across_the_country_snap_to_their_province(db: Connection, lon: float, lat: float,
                                                          province: str) -> None:
    snap = api.snap(db, lon=lon, lat=lat)
    assert (snap.match, snap.province.code if snap.province else None) == ("inside", province)
    assert snap.commune is not None and snap.commune.level == "commune"


def test_the_open_sea_is_outside(db: Connection) -> None:
    assert api.snap(db, lon=112.0, lat=12.0).match == "outside"


def test_many_points_agree_with_one_by_one(db: Connection) -> None:
    rng = np.random.default_rng(4)
    points = [LonLat(float(x), float(y)) for x, y in zip(rng.uniform(102.2, 109.4, 150),
                                                         rng.uniform(8.6, 23.3, 150), strict=True)]
    many = api.snap_many(db, points)
    assert many == [api.snap(db, lon=p.lon, lat=p.lat) for p in points]
    assert {s.match for s in many} >= {"inside", "outside"}


def test_reverse_names_the_neighbour_across_a_ward_boundary(db: Connection) -> None:
    a, b = db.execute(select(admin_unit.c.geom.ST_AsBinary()).where(
        admin_unit.c.code.in_(["00004", "00008"]), admin_unit.c.level == "commune")
        .order_by(admin_unit.c.code)).scalars()
    edge = shapely.intersection(shapely.from_wkb(bytes(a)), shapely.from_wkb(bytes(b)))
    point = shapely.line_interpolate_point(shapely.line_merge(edge), 0.5, normalized=True) \
        if edge.geom_type != "Point" else edge
    found = api.reverse(db, lon=point.x, lat=point.y)
    assert found.near_boundary is not None
    codes = {found.snap.commune.code if found.snap.commune else None,
             found.near_boundary.unit.code}
    assert codes == {"00004", "00008"}


def test_batch_answers_addresses_and_points_anywhere(db: Connection) -> None:
    outcomes = api.batch(db, {"items": [{"id": 1, "q": "Phường Bến Thành, TP Hồ Chí Minh"},
                                        {"id": 2, "lat": 21.0278, "lon": 105.8342}]})
    assert [o.kind for o in outcomes] == ["forward", "reverse"]


@pytest.mark.parametrize(("query", "province"), [
    ("Phường Ba Đình, Thành phố Hà Nội", "01"),  # province named
    ("Ba Đình, Hà Nội", "01"),
    ("Phường Bến Thành", "79"),  # province implied: one ward of that name in the country
    ("Phường Vỹ Dạ, Huế", "46"),
    ("Xã Tân Phú, Đồng Nai", "75"),  # a name shared by several provinces, told by the province
])
def test_forward_geocoding_finds_the_ward_in_its_province(db: Connection, query: str,
                                                          province: str) -> None:
    best = api.geocode(db, query)[0]
    assert best.precision == "commune" and best.unit is not None
    assert best.units["province"].code == province, best


def test_an_ambiguous_name_without_its_province_is_not_one_answer(db: Connection) -> None:
    results = api.geocode(db, "Xã Tân Phú")
    assert len({r.units["province"].code for r in results}) > 1
    assert results[0].ambiguous and results[0].confidence < 0.5


def test_hot_spots_count_every_report_over_the_country(db: Connection,
                                                      national_db: NationalDB) -> None:
    frame = hotspots(db, resolution=7, k=1, measure="count")
    assert national_db.imported > NATIONAL_REPORTS * 0.95
    assert frame["count"].sum() == db.execute(select(func.count()).select_from(report)).scalar()
    assert {"cell", "count", "z", "cls"} <= set(frame.columns)


def test_coverage_has_every_ward(db: Connection, national_db: NationalDB) -> None:
    frame = coverage(db, generation="2025")
    assert len(frame) == 3321
    assert frame["reports"].sum() == national_db.imported


def test_the_cores_grid_is_bounded_and_agrees_with_the_sql(db: Connection) -> None:
    cores = CoreCache().build(db)
    assert cores is not None
    (national,) = cores._by_generation.values()  # the grid under test
    assert national._cell > GRID_DEG and len(national._grid) <= MAX_GRID_CELLS
    assert grid_side_deg(np.array([[107.0, 16.0, 107.1, 16.1]])) == GRID_DEG
    rng = np.random.default_rng(9)
    for lon, lat in zip(rng.uniform(102.2, 109.4, 300), rng.uniform(8.6, 23.3, 300), strict=True):
        snap = api.snap(db, lon=float(lon), lat=float(lat))
        core = national.core_at(float(lon), float(lat))
        if core is not None:
            assert snap.match == "inside" and snap.commune is not None and snap.commune.id == core
        if national.in_no_commune(float(lon), float(lat)):
            assert snap.commune is None or snap.match != "inside"
