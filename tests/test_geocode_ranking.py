"""Forward geocoding that ranks honestly (issue 13): exact current names first, ties said,
streets read as streets (never finer than their district), typed coordinates as points.

The Huế tests need the shared data root (skipped on a laptop, failing in CI); the parsers'
tests need nothing.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gis_service.boundaries.crosswalk import build_crosswalk
from gis_service.config import Settings
from gis_service.coords import LonLat
from gis_service.db.schema import unit_crosswalk
from gis_service.errors import InvalidInput
from gis_service.geocode import GeocodeIndex, build_index, geocode
from gis_service.geocode.coordinates import parse_coordinates
from gis_service.geocode.normalise import tokenize
from gis_service.geocode.point_text import geocode_text
from gis_service.geocode.streets import find_streets, load_streets, parse_streets
from tests.conftest import HueDB, require_data

THUAN_HOA = "19789"  # Phường Thuận Hóa (2025)
THUAN_HOA_2019 = "19762"  # Phường Thuận Hòa (2019), now in Phường Phú Xuân


@pytest.fixture(scope="module")
def hue_index(settings: Settings, request: pytest.FixtureRequest) -> GeocodeIndex:
    require_data(settings)
    hue_db: HueDB = request.getfixturevalue("hue_db")
    with hue_db.engine.connect() as conn:
        transaction = conn.begin()
        try:
            if not conn.execute(select(func.count()).select_from(unit_crosswalk)).scalar_one():
                build_crosswalk(conn, "2019", "2025")
            index: GeocodeIndex = build_index(conn, streets=load_streets(settings.data_root))
        finally:
            transaction.rollback()
    return index


# --- exact current names ------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("query", [
    "Phường Thuận Hóa, Huế",
    "Phường Thuận Hoá, Thành phố Huế",  # old tone placement
    "Phuong Thuan Hoa, Hue",  # no diacritics: folds like 2019's Thuận Hòa, still the 2025 ward
    "P. Thuận Hóa, TP Huế",
    "PHƯỜNG THUẬN HOÁ, THÀNH PHỐ HUẾ",
])
def test_an_exact_current_ward_name_scores_at_least_095_and_beats_its_look_alike(
        hue_index: GeocodeIndex, query: str) -> None:
    results = geocode(hue_index, query)
    top = results[0]
    assert (top.generation, top.unit.code) == ("2025", THUAN_HOA)
    assert top.confidence >= 0.95 and not top.ambiguous
    assert all(r.confidence < top.confidence for r in results[1:])
    look_alike = [r for r in results if r.unit.code == THUAN_HOA_2019]
    assert look_alike and look_alike[0].confidence < 0.5


@pytest.mark.realdata
@pytest.mark.parametrize("query", [
    "Phường Thủy Xuân, Thành phố Huế", "Phường Thuỷ Xuân, Thành phố Huế",
    "Phuong Thuy Xuan, Thanh pho Hue", "Phường Hoá Châu, Thành phố Huế",
    "Phường Hóa Châu, Thành phố Huế",
])
def test_tone_placement_and_diacritics_do_not_change_the_answer(hue_index: GeocodeIndex,
                                                                query: str) -> None:
    top = geocode(hue_index, query)[0]
    assert top.generation == "2025" and top.confidence >= 0.95
    assert top.unit.code in {"19813", "20014"}


@pytest.mark.realdata
def test_an_exact_legacy_name_is_not_rivalled_by_a_differently_accented_current_one(
        hue_index: GeocodeIndex) -> None:
    results = geocode(hue_index, "Phường Thuận Hòa, Huế")
    assert (results[0].generation, results[0].unit.code) == ("2019", THUAN_HOA_2019)
    assert results[0].current["commune"].name == "Phường Phú Xuân"
    assert results[0].confidence >= 0.95


@pytest.mark.realdata
def test_a_legacy_name_still_finds_its_current_ward(hue_index: GeocodeIndex) -> None:
    top = geocode(hue_index, "Phường Phú Hội, Thành phố Huế")[0]
    assert (top.generation, top.unit.name) == ("2019", "Phường Phú Hội")
    assert top.current["commune"].code == THUAN_HOA


@pytest.mark.realdata
def test_equally_good_candidates_are_both_returned_and_marked_ambiguous(
        hue_index: GeocodeIndex) -> None:
    results = geocode(hue_index, "Xã Hương Phong")
    assert {r.unit.code for r in results[:2]} == {"20002", "20080"}
    assert results[0].ambiguous and results[1].ambiguous
    assert results[0].confidence == results[1].confidence < 0.5
    settled = geocode(hue_index, "Xã Hương Phong, Huyện A Lưới")[0]
    assert settled.unit.code == "20080" and not settled.ambiguous


@pytest.mark.realdata
def test_a_bare_current_name_is_read_in_the_current_generation(hue_index: GeocodeIndex) -> None:
    results = geocode(hue_index, "Phú Xuân")
    assert (results[0].generation, results[0].unit.code) == ("2025", "19753")
    assert not results[0].ambiguous
    # The 2019 commune of the same name is still offered, much less confident.
    older = [r for r in results if (r.generation, r.unit.code) == ("2019", "19918")]
    assert older and older[0].confidence < results[0].confidence / 1.5


# --- streets ------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("query", [
    "45 Trần Hưng Đạo, Huế", "45 Trần Hưng Đạo", "Trần Hưng Đạo, Thành phố Huế",
    "12 Kim Long, Huế",  # Kim Long is a street as well as a ward: the number says street
    "Kiệt 7 Chi Lăng, TP Huế", "45 tran hung dao, hue",
])
def test_a_street_without_a_ward_gives_its_district_never_a_commune(
        hue_index: GeocodeIndex, query: str) -> None:
    results = geocode(hue_index, query)
    assert results, query
    top = results[0]
    assert (top.generation, top.precision, top.unit.name) == ("2019", "district", "Thành phố Huế")
    assert top.street_name and top.street
    assert all(r.precision != "street" for r in results)
    assert "commune" not in top.current


@pytest.mark.realdata
def test_a_street_with_its_ward_is_the_ward_and_names_the_street(hue_index: GeocodeIndex) -> None:
    top = geocode(hue_index, "25 Lê Lợi, Phường Phú Hội, TP Huế, Thừa Thiên Huế")[0]
    assert (top.unit.name, top.precision, top.street) == ("Phường Phú Hội", "commune", "25 Lê Lợi")
    assert top.street_name == "Lê Lợi"
    assert geocode(hue_index, "Kim Long, Huế")[0].precision == "commune"  # no number: the ward


@pytest.mark.realdata
def test_a_written_district_wins_over_the_street_list(hue_index: GeocodeIndex) -> None:
    top = geocode(hue_index, "12 Lê Lợi, Huyện Phong Điền")[0]
    assert (top.precision, top.unit.name) == ("district", "Huyện Phong Điền")


def test_the_street_list_is_read_and_found_in_text() -> None:
    streets = parse_streets({"district": [
        {"name": "Huế", "pre": "Thành phố", "street": ["Lê Lợi", "10", "Kim Long"]},
        {"name": "Phong Điền", "pre": "Huyện", "street": ["Lê Lợi"]},
    ]})
    assert set(streets.by_key) == {"leloi", "kimlong"}
    assert streets.by_key["leloi"].districts == (("Thành phố", "Huế"), ("Huyện", "Phong Điền"))
    spans = find_streets(streets, tokenize("Số 12 Kim Long, Lê Lợi"))
    assert [(s.street.name, s.led) for s in spans] == [("Kim Long", True), ("Lê Lợi", False)]


def test_the_real_street_list_has_its_606_names(settings: Settings) -> None:
    require_data(settings)
    streets = load_streets(settings.data_root)
    # 606 distinct names, less numbers-only names ("10", "19/5") and initials.
    assert 560 <= len(streets) <= 606


# --- typed coordinates --------------------------------------------------------------------


@pytest.mark.parametrize(("text", "point"), [
    ("16.4655, 107.5960", LonLat(107.596, 16.4655)),
    ("16.4655 107.5960", LonLat(107.596, 16.4655)),
    ("107.5960, 16.4655", LonLat(107.596, 16.4655)),  # lon first: only one reading for Huế
    ("(16.4655; 107.5960)", LonLat(107.596, 16.4655)),
    ("16.4655N 107.5960E", LonLat(107.596, 16.4655)),
    ("107.5960E, 16.4655N", LonLat(107.596, 16.4655)),
    ("48.8566, 2.3522", LonLat(2.3522, 48.8566)),  # elsewhere: latitude first
])
def test_decimal_coordinates_typed_as_text(text: str, point: LonLat) -> None:
    assert parse_coordinates(text) == point


def test_degrees_minutes_seconds() -> None:
    found = parse_coordinates("16°27'56\"N 107°35'46\"E")
    assert found is not None
    assert found.lat == pytest.approx(16 + 27 / 60 + 56 / 3600)
    assert found.lon == pytest.approx(107 + 35 / 60 + 46 / 3600)
    assert parse_coordinates("16° 27′ 56″ N, 107° 35′ 46″ E") == found


@pytest.mark.parametrize("text", ["12 Lê Lợi", "45 3", "Phường Vỹ Dạ", "16, 107", "kiệt 12/4"])
def test_addresses_are_not_coordinates(text: str) -> None:
    assert parse_coordinates(text) is None


@pytest.mark.parametrize("text", ["95.5, 200.1", "16.4N 107.5N"])
def test_impossible_coordinates_are_refused_naming_q(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_coordinates(text)
    assert raised.value.field == "q"


@pytest.mark.realdata
def test_typed_coordinates_resolve_to_that_point_through_reverse(
        hue_index: GeocodeIndex, hue_db: HueDB) -> None:
    with hue_db.engine.connect() as conn:
        results = geocode_text(conn, hue_index, "16.4779, 107.611", tolerance_m=2000)
        far = geocode_text(conn, hue_index, "10.7769, 106.7009", tolerance_m=2000)
    assert len(results) == 1
    top = results[0]
    assert (top.precision, top.confidence, top.lat, top.lon) == ("point", 1.0, 16.4779, 107.611)
    assert (top.generation, top.unit.code) == ("2025", "19777")  # Phường Vỹ Dạ
    assert far == []  # Hồ Chí Minh City: not a Huế commune to state


@pytest.mark.realdata
def test_the_api_answers_typed_points_and_says_when_results_are_tied(client: FlaskClient) -> None:
    point = client.get("/v1/geocode", query_string={"q": "16°28'40\"N 107°36'40\"E"}).get_json()
    assert point["results"][0]["precision"] == "point" and point["ambiguous"] is False
    tied = client.get("/v1/geocode", query_string={"q": "Xã Hương Phong"}).get_json()
    assert tied["ambiguous"] is True and tied["results"][0]["ambiguous"] is True
    street = client.get("/v1/geocode", query_string={"q": "45 Trần Hưng Đạo, Huế"}).get_json()
    assert street["results"][0]["precision"] == "district"
    assert street["results"][0]["street_name"] == "Trần Hưng Đạo"
