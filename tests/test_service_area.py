"""No point outside Huế taken as Huế's (issue #13), against the real PostGIS and real data.

Test points are drawn from the data itself: for each border, points 300 m to 1.8 km across it
(measured in UTM 48N from the official Huế outline), well inside the neighbour (30 m from its
reference outline, simplified to ~22 m). Under the old rules every one of them would have
snapped to the nearest Huế commune (2 km tolerance).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import numpy as np
import pytest
import shapely
from flask.testing import FlaskClient
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, func, select

from gis_service.boundaries.generations import by_code
from gis_service.coords import LonLat
from gis_service.db.schema import admin_unit, generation, surrounding_area
from gis_service.spatial.bulk import snap_points
from gis_service.spatial.single import snap_point
from gis_service.spatial.types import Snap
from tests.conftest import HueDB, ReportsDB, nothing_left, problem
from tests.factories import add_generation, add_unit, square
from tests.test_open311 import form_post, new_form
from tests.test_reports_api import NEW, submit

pytestmark = pytest.mark.realdata

DISTANCES_M = (300.0, 700.0, 1200.0, 1800.0)
INSET_M = 30.0  # inside the neighbour by at least this (its outline is simplified to ~22 m)
PER_BORDER = 12
_TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
_TO_LONLAT = Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True)


def metric(geometry: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geometry, lambda xy: np.column_stack(
        _TO_METRIC.transform(xy[:, 0], xy[:, 1])))


@dataclass(frozen=True)
class Across:
    """A point across Huế's border, and how far from Huế it is (metres)."""

    point: LonLat
    distance_m: float


def points_across(hue: BaseGeometry, target: BaseGeometry, seed: int) -> list[Across]:
    """Points in ``target`` (metric), INSET_M inside it, at DISTANCES_M from ``hue`` (metric)."""
    rng = np.random.default_rng(seed)
    border = hue.boundary.intersection(target.buffer(2000.0))
    inner = target.buffer(-INSET_M)
    found: list[Across] = []
    for step in rng.uniform(0, border.length, 400):
        base = border.interpolate(step)
        for distance in DISTANCES_M:
            angle = rng.uniform(0, 2 * np.pi)
            candidate = shapely.Point(base.x + distance * np.cos(angle),
                                      base.y + distance * np.sin(angle))
            away = hue.distance(candidate)
            if 250.0 <= away <= 1850.0 and inner.covers(candidate):
                lon, lat = _TO_LONLAT.transform(candidate.x, candidate.y)
                found.append(Across(LonLat(lon, lat), away))
        if len(found) >= PER_BORDER:
            break
    assert len(found) >= PER_BORDER // 2, f"only {len(found)} points across the border"
    return found


@dataclass(frozen=True)
class Shapes:
    hue: BaseGeometry  # the official outline (2025's city), UTM 48N
    provinces: dict[str, BaseGeometry]  # reference provinces near Huế, UTM 48N
    foreign: BaseGeometry  # surroundings: another country's land, UTM 48N
    water: BaseGeometry


@pytest.fixture(scope="module")
def shapes(hue_db: HueDB) -> Shapes:
    with hue_db.engine.connect() as connection:
        city = connection.execute(
            select(func.ST_AsBinary(admin_unit.c.geom))
            .where(admin_unit.c.generation_id == by_code(connection, "2025").id,
                   admin_unit.c.level == "province")).scalar_one()
        rows = connection.execute(
            select(admin_unit.c.code, func.ST_AsBinary(admin_unit.c.geom))
            .where(admin_unit.c.generation_id == by_code(connection, "vn2025").id,
                   admin_unit.c.level == "province", admin_unit.c.code.in_(["44", "46", "48"]))
        ).all()
        around = connection.execute(
            select(surrounding_area.c.kind, func.ST_AsBinary(surrounding_area.c.geom))).all()
    kinds = {kind: metric(shapely.union_all([shapely.from_wkb(bytes(g)) for k, g in around
                                             if k == kind])) for kind in ("foreign_land", "water")}
    return Shapes(metric(shapely.from_wkb(bytes(city))),
                  {code: metric(shapely.from_wkb(bytes(wkb))) for code, wkb in rows},
                  kinds["foreign_land"], kinds["water"])


@pytest.fixture(scope="module")
def hue_conn(hue_db: HueDB) -> Iterator[Connection]:
    with hue_db.engine.connect() as connection:
        yield connection
        connection.rollback()


def _both(conn: Connection, points: list[LonLat]) -> list[Snap]:
    """Each point's answer from snap_point and from snap_points, which must agree."""
    singles = [snap_point(conn, point) for point in points]
    assert snap_points(conn, points) == singles
    return singles


@pytest.mark.parametrize(("code", "name"), [("44", "Tỉnh Quảng Trị"), ("48", "Thành phố Đà Nẵng")])
def test_across_a_provincial_border_is_outside_the_service_area(
        hue_conn: Connection, shapes: Shapes, code: str, name: str) -> None:
    across = points_across(shapes.hue, shapes.provinces[code], seed=int(code))
    for item, snap in zip(across, _both(hue_conn, [a.point for a in across]), strict=True):
        assert snap.match == "outside_service_area", (item, snap)
        assert snap.commune is None and snap.province is None
        assert snap.outside_province.code == code
        assert snap.outside_province.name == name
        assert snap.outside_ward.level == "commune"


def test_across_the_border_with_laos_is_outside_with_no_units(hue_conn: Connection,
                                                              shapes: Shapes) -> None:
    across = points_across(shapes.hue, shapes.foreign, seed=856)
    for item, snap in zip(across, _both(hue_conn, [a.point for a in across]), strict=True):
        assert (snap.match, snap.commune, snap.outside_province) == (
            "outside", None, None), item


def test_offshore_within_the_tolerance_is_the_nearest_hue_commune(hue_conn: Connection,
                                                                  shapes: Shapes) -> None:
    # Huế's own waters: nearer Huế than any other province by a clear margin.
    others = shapely.union_all([g for c, g in shapes.provinces.items() if c != "46"])
    water = shapes.water.difference(others.buffer(2500.0))
    across = points_across(shapes.hue, water, seed=2025)
    for item, snap in zip(across, _both(hue_conn, [a.point for a in across]), strict=True):
        assert snap.match == "nearest", (item, snap)
        assert snap.province.code == "46"
        assert snap.distance_m == pytest.approx(item.distance_m, rel=0.02, abs=5.0)


# The sea off the Hải Vân pass, where Huế's and Đà Nẵng's coasts are both within reach.
HAI_VAN_SEA = (108.10, 16.10, 108.30, 16.30)
SEA_MARGIN_M = 50.0  # nearer one province than the other by at least this, and within reach


def _reference_near(conn: Connection, province: str) -> BaseGeometry:
    """A province's reference wards and outline near the pass (UTM 48N): the units its water
    is measured to."""
    box = func.ST_MakeEnvelope(*HAI_VAN_SEA, 4326)
    parent = admin_unit.alias("parent")
    rows = conn.execute(
        select(func.ST_AsBinary(admin_unit.c.geom))
        .outerjoin(parent, parent.c.id == admin_unit.c.parent_id)
        .where(admin_unit.c.generation_id == by_code(conn, "vn2025").id,
               admin_unit.c.geom.op("&&")(box),
               ((admin_unit.c.level == "province") & (admin_unit.c.code == province))
               | ((admin_unit.c.level == "commune") & (parent.c.code == province)))).all()
    return metric(shapely.union_all([shapely.from_wkb(bytes(wkb)) for (wkb,) in rows]))


@pytest.mark.parametrize("generation_code", ["2019", "2025"])
def test_sea_between_two_provinces_goes_to_the_nearer_by_the_reference(
        hue_conn: Connection, shapes: Shapes, generation_code: str) -> None:
    """Whose water a point is in is measured on the reference boundaries on both sides, never
    Huế's 2019 commune (which stops short of the coast the reference draws, ~1.2 km at Lăng
    Cô) against Đà Nẵng's outline: the point off Lăng Cô below was Đà Nẵng's until that was
    fixed."""
    hue, da_nang = _reference_near(hue_conn, "46"), _reference_near(hue_conn, "48")
    rng = np.random.default_rng(48)
    lon = rng.uniform(HAI_VAN_SEA[0], HAI_VAN_SEA[2], 4000)
    lat = rng.uniform(HAI_VAN_SEA[1], HAI_VAN_SEA[3], 4000)
    cases: dict[str, list[LonLat]] = {"46": [LonLat(108.16296, 16.18998)], "48": []}
    for x, y in zip(lon, lat, strict=True):
        point = shapely.Point(_TO_METRIC.transform(x, y))
        to_hue, to_da_nang = hue.distance(point), da_nang.distance(point)
        if not shapes.water.buffer(-SEA_MARGIN_M).covers(point) or max(
                to_hue, to_da_nang) > 2000.0 - SEA_MARGIN_M:
            continue  # on land, or not within reach of both
        if abs(to_hue - to_da_nang) > SEA_MARGIN_M:
            cases["46" if to_hue < to_da_nang else "48"].append(LonLat(float(x), float(y)))
    assert len(cases["46"]) >= 5 and len(cases["48"]) >= 5, cases
    points = cases["46"] + cases["48"]
    snaps = [snap_point(hue_conn, p, generation=generation_code) for p in points]
    assert snap_points(hue_conn, points, generation=generation_code) == snaps
    for point, snap in zip(points, snaps, strict=True):
        if point in cases["46"]:
            # Huế's: the nearest rule (inside where the official wards take in the water).
            assert snap.match in ("inside", "nearest", "outside"), (point, snap)
            assert snap.outside_province is None, (point, snap)
        else:
            assert snap.match == "outside_service_area", (point, snap)
            assert snap.outside_province.code == "48", (point, snap)
    assert any(s.match == "nearest" for s in snaps[:len(cases["46"])])


@pytest.mark.parametrize("point", [LonLat(107.55, 16.60), LonLat(107.85, 16.30),
                                   LonLat(107.70, 16.50)])
def test_the_lagoon_is_inside_hue(hue_conn: Connection, point: LonLat) -> None:
    # Tam Giang and Cầu Hai: the official wards take in the lagoon's water.
    snap = snap_point(hue_conn, point)
    assert snap.match == "inside" and snap.province is not None and snap.province.code == "46"


def test_each_official_ward_interior_point_snaps_to_its_own_ward(hue_conn: Connection) -> None:
    generation_id = by_code(hue_conn, "2025").id
    rows = hue_conn.execute(
        select(admin_unit.c.code, func.ST_X(func.ST_PointOnSurface(admin_unit.c.geom)),
               func.ST_Y(func.ST_PointOnSurface(admin_unit.c.geom)))
        .where(admin_unit.c.generation_id == generation_id, admin_unit.c.level == "commune")
        .order_by(admin_unit.c.code)).all()
    assert len(rows) == 40
    points = [LonLat(lon, lat) for _code, lon, lat in rows]
    for (code, _lon, _lat), snap in zip(rows, _both(hue_conn, points), strict=True):
        assert snap.match == "inside" and snap.commune.code == code


# --- only for the generations the reference surrounds --------------------------------------

# In Đà Nẵng (Hải Châu), by the reference boundaries: a drawn generation here is no part of Huế.
DRAWN_X, DRAWN_Y, DRAWN_SIZE = 108.19, 16.04, 0.01


@pytest.mark.parametrize("province_code", ["P", "46"])
def test_a_drawn_generation_the_reference_does_not_surround_keeps_the_nearest_rule(
        hue_conn: Connection, province_code: str) -> None:
    """The 19 failures of the first merge: a test's drawn grid lies inside Vietnam, and its gap
    points became outside_service_area. The reference speaks only for the generations it names
    (``surrounded_by``), not for any with a province of the same code."""
    gen = add_generation(hue_conn, f"drawn-{province_code}")
    province = add_unit(hue_conn, gen, province_code, square(DRAWN_X - 1, DRAWN_Y - 1, 3),
                        level="province")
    for code, col in (("901", 0), ("902", 3)):  # two communes, a gap of two cells between
        add_unit(hue_conn, gen, code, square(DRAWN_X + col * DRAWN_SIZE, DRAWN_Y, DRAWN_SIZE),
                 parent_id=province)
    gap = LonLat(DRAWN_X + 1.4 * DRAWN_SIZE, DRAWN_Y + 0.5 * DRAWN_SIZE)
    try:
        code = f"drawn-{province_code}"
        single = snap_point(hue_conn, gap, generation=code)
        assert snap_points(hue_conn, [gap], generation=code) == [single]
        assert (single.match, single.commune and single.commune.code) == ("nearest", "901")
        assert single.outside_province is None
    finally:
        hue_conn.rollback()
    # The same point in Huế's own generation: Đà Nẵng's, and named.
    assert snap_point(hue_conn, gap).match == "outside_service_area"


def test_the_reference_surrounds_exactly_the_manifest_s_generations(hue_conn: Connection) -> None:
    surrounded = hue_conn.execute(
        select(generation.c.code).where(generation.c.surrounded_by == by_code(
            hue_conn, "vn2025").id).order_by(generation.c.code)).scalars().all()
    assert surrounded == ["2019", "2025"]


def test_far_beyond_the_window_nothing_known_is_the_nearest_rule(hue_conn: Connection) -> None:
    # Out at sea, ~2° east of Huế: in no province and past the surroundings' window; the
    # nearest rule finds no commune within 2 km, so outside (not barred, not another province).
    snap = snap_point(hue_conn, LonLat(109.6, 16.4))
    assert (snap.match, snap.commune, snap.outside_province) == ("outside", None, None)
    wide = snap_point(hue_conn, LonLat(109.6, 16.4), tolerance_m=5000.0)
    assert wide.match == "outside"


# --- through both APIs -----------------------------------------------------------------------

DA_NANG = {"lat": 16.0544, "lon": 108.2022}  # Hải Châu, Đà Nẵng
QUANG_TRI = {"lat": 16.8163, "lon": 107.1003}  # Đông Hà, Quảng Trị


@pytest.mark.parametrize(("where", "province"), [(DA_NANG, "Thành phố Đà Nẵng"),
                                                 (QUANG_TRI, "Tỉnh Quảng Trị")])
def test_reverse_names_the_other_province(client: FlaskClient, where: dict[str, float],
                                          province: str) -> None:
    body = client.get("/v1/reverse", query_string=where).get_json()
    assert body["match"] == "outside_service_area" and body["units"] == {}
    assert body["outside_service_area"]["province"]["name"] == province


def test_batch_reverse_items_name_the_other_province(client: FlaskClient) -> None:
    response = client.post("/v1/geocode/batch", json={"items": [
        {"id": 1, **DA_NANG}, {"id": 2, "lat": 16.4779, "lon": 107.611}]})
    first, second = response.get_json()["results"]
    assert first["result"]["match"] == "outside_service_area"
    assert first["result"]["outside_service_area"]["province"]["code"] == "48"
    assert second["result"]["match"] == "inside"


@pytest.mark.parametrize(("where", "province"), [(DA_NANG, "Thành phố Đà Nẵng"),
                                                 (QUANG_TRI, "Tỉnh Quảng Trị")])
def test_a_report_from_another_province_is_a_422_naming_it(
        client: FlaskClient, reports_db: ReportsDB, where: dict[str, float], province: str) -> None:
    with nothing_left(reports_db):
        body = problem(submit(client, reports_db, {**NEW, **where}), 422, "lat")
    assert body["code"] == "outside_service_area"
    assert province in body["detail"] and "Thành phố Huế" in body["detail"]


def test_an_open311_request_from_another_province_names_it(client: FlaskClient,
                                                           reports_db: ReportsDB) -> None:
    form = new_form(reports_db, lat=str(DA_NANG["lat"]), long=str(DA_NANG["lon"]))
    with nothing_left(reports_db):
        response = form_post(client, urlencode(form))
    assert response.status_code == 400
    (error,) = response.get_json()
    assert error["code"] == 400 and "Thành phố Đà Nẵng" in error["description"]
    assert error["description"].startswith("lat: ")
