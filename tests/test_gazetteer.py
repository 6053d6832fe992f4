"""The gazetteer: Huế's 40 wards of 2025, 133 legacy communes, and the links from 2019."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from shapely.geometry import shape

from gis_service import gazetteer
from gis_service.config import Settings
from gis_service.coords import LonLat
from gis_service.db.schema import UNIT_TYPES
from tests.conftest import require_data

ASCII_KEY = re.compile(r"^[a-z0-9]+$")


def test_hue_has_40_wards_133_legacy_communes_9_districts() -> None:
    wards = gazetteer.wards_2025()
    legacy = gazetteer.legacy_communes()
    districts = gazetteer.legacy_districts()
    assert (len(wards), len(legacy), len(districts)) == (40, 133, 9)
    assert len({w.code for w in wards}) == 40 and len({c.code for c in legacy}) == 133
    assert Counter(w.unit_type for w in wards) == {"Phường": 21, "Xã": 19}
    assert {c.unit_type for c in legacy} | {d.unit_type for d in districts} <= set(UNIT_TYPES)
    assert {c.district_code for c in legacy} == {d.code for d in districts}
    city = gazetteer.province()
    assert (city.code, city.name, city.unit_type) == ("46", "Thành phố Huế", "Thành phố")


def test_ward_fields() -> None:
    vy_da = next(w for w in gazetteer.wards_2025() if w.code == "19777")
    assert (vy_da.name, vy_da.short_name, vy_da.unit_type) == ("Phường Vỹ Dạ", "Vỹ Dạ", "Phường")
    assert vy_da.position == LonLat(107.611, 16.4779)
    assert vy_da.area_km2 == pytest.approx(8.93)
    assert (vy_da.key, vy_da.short_key) == ("phuongvyda", "vyda")


def test_legacy_commune_fields_and_bounding_box() -> None:
    vy_da = next(c for c in gazetteer.legacy_communes() if c.code == "19777")
    assert vy_da.district_code == "474"
    # "16.470452,107.591955 – 16.488888,107.607576" is lat,lon – lat,lon.
    assert vy_da.bbox == gazetteer.BBox(107.591955, 16.470452, 107.607576, 16.488888)
    assert vy_da.bbox.contains(vy_da.position)
    assert not vy_da.position_is_district and not vy_da.bbox_is_district
    duong_no = next(c for c in gazetteer.legacy_communes() if c.code == "19909")
    assert {"xaphuthanh", "xaphuduong", "xaphumau"} <= set(duong_no.aliases)
    # Its point and box are its district's: the gazetteer's geocoder found nothing better.
    assert duong_no.position_is_district and duong_no.bbox_is_district


def test_every_key_is_folded_ascii() -> None:
    keys = [k for w in gazetteer.wards_2025() for k in (w.key, w.short_key, *w.aliases, *w.keywords)]
    keys += [k for c in gazetteer.legacy_communes()
             for k in (c.key, c.short_key, *c.aliases, *c.keywords)]
    assert all(ASCII_KEY.match(key) for key in keys)
    # The package stores Hương Vân's keywords with their diacritics.
    huong_van = next(c for c in gazetteer.legacy_communes() if c.code == "20008")
    assert "phuonghuongvan" in huong_van.keywords


@pytest.mark.parametrize(("text", "key"), [
    ("Xã Phú Thanh", "xaphuthanh"),
    ("Phường Đông Ba", "phuongdongba"),
    ("Thị trấn A Lưới", "thitranaluoi"),
    ("Xã Chân Mây - Lăng Cô", "xachanmaylangco"),
])
def test_name_key(text: str, key: str) -> None:
    assert gazetteer.name_key(text) == key


def test_legacy_to_2025_is_complete_and_onto() -> None:
    mapping = gazetteer.legacy_to_2025()
    assert set(mapping) == {c.code for c in gazetteer.legacy_communes()}
    assert set(mapping.values()) == {w.code for w in gazetteer.wards_2025()}
    assert mapping["19780"] == "19789"  # Phường Đúc -> Phường Thuận Hóa
    assert mapping["20029"] == "19774"  # Phường Long Hồ -> Phường Kim Long
    with pytest.raises(TypeError):
        mapping["19780"] = "x"  # type: ignore[index]  # the cached mapping is read-only


def test_results_are_cached() -> None:
    assert gazetteer.wards_2025() is gazetteer.wards_2025()
    assert gazetteer.legacy_to_2025() is gazetteer.legacy_to_2025()


def test_unknown_province_is_empty() -> None:
    assert gazetteer.wards_2025("999") == ()
    with pytest.raises(LookupError):
        gazetteer.province("999")


CITY = LonLat(107.58, 16.46)


@pytest.mark.parametrize(("old", "legacy", "ward", "method"), [
    # Same code as a legacy commune.
    (gazetteer.OldCommune("19777", "Phường Vĩ Dạ", "474", CITY), "19777", "19777", "code"),
    # Merged into Phường Dương Nỗ before 2025: 'xaphuthanh' is one of its aliases.
    (gazetteer.OldCommune("19924", "Xã Phú Thanh", "478", CITY), "19909", "19909", "alias"),
    # 'phuongphuthuan' is no alias (the package misspells it 'phongphuthuan'), but 'phuthuan'
    # is one of Phường Thuận Hòa's; Xã Phú Thuận (19903) only has it as its own name.
    (gazetteer.OldCommune("19744", "Phường Phú Thuận", "474", CITY), "19762", "19753",
     "alias_short"),
])
def test_link_methods(old: gazetteer.OldCommune, legacy: str, ward: str, method: str) -> None:
    link = gazetteer.commune_2019_to_2025((old,))[old.code]
    assert (link.legacy_code, link.ward_code, link.method) == (legacy, ward, method)
    assert link.distance_m is None


def test_link_without_alias_falls_back_to_the_nearest_legacy_commune() -> None:
    vy_da = next(c for c in gazetteer.legacy_communes() if c.code == "19777")
    near = LonLat(vy_da.position.lon + 0.0005, vy_da.position.lat)
    link = gazetteer.commune_2019_to_2025(
        (gazetteer.OldCommune("99999", "Xã Không Có", "474", near),))["99999"]
    assert (link.legacy_code, link.ward_code, link.method) == ("19777", "19777", "nearest")
    assert link.distance_m == pytest.approx(53, abs=2)  # 0.0005° of longitude at 16.5°N


def test_all_2019_communes_link_to_a_2025_ward(settings: Settings) -> None:
    require_data(settings)
    path = settings.data_root / "boundaries" / "tth_communes_2019_gadm41.geojson"
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    olds = tuple(
        gazetteer.OldCommune(f["properties"]["gso_code"], f["properties"]["gso_name"],
                             f["properties"]["gso_district_code"],
                             LonLat(*shape(f["geometry"]).representative_point().coords[0]))
        for f in features
    )
    links = gazetteer.commune_2019_to_2025(olds)
    assert len(links) == 152
    assert {link.ward_code for link in links.values()} == {w.code for w in gazetteer.wards_2025()}
    assert Counter(link.method for link in links.values()) == {"code": 133, "alias": 18,
                                                                "alias_short": 1}
    # The merged communes of SOURCES' example land where NQ 1675 puts them.
    assert links["19924"].ward_code == links["19906"].ward_code == "19909"
