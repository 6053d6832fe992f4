"""Forward geocoding rules on small made-up generations (factories, rolled back per test).

Two generations shaped like Huế's: ``t19`` (a province, three districts, communes, among them
two "Xã Hương Phong" in different districts and the Hương Vân / Hương Văn pair) and ``t25``
(a province-level city and its wards), linked by a crosswalk. Both are drafts so they never
clash with the real generations another test may have loaded; the index is told their codes.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, insert

from gis_service.db.schema import unit_crosswalk
from gis_service.errors import InvalidInput, NotFound
from gis_service.geocode import (
    GeocodeIndex,
    IndexCache,
    build_index,
    geocode,
    geocode_structured,
)
from gis_service.geocode.forward import GeocodeResult
from tests.factories import add_generation, add_unit, square

OLD, NEW = "t19", "t25"


@dataclass(frozen=True)
class World:
    index: GeocodeIndex
    ids: dict[str, int]


def _crosswalk(conn: Connection, generations: tuple[int, int], old: int, new: int,
               km2: float) -> None:
    conn.execute(insert(unit_crosswalk).values(
        from_unit_id=old, to_unit_id=new, from_generation_id=generations[0],
        to_generation_id=generations[1], overlap_km2=km2, area_share=min(km2, 1.0)))


def _old_generation(conn: Connection, ids: dict[str, int]) -> int:
    gen = add_generation(conn, OLD, valid_from=dt.date(2019, 4, 1), valid_to=dt.date(2025, 6, 30))
    ids["province19"] = add_unit(conn, gen, "46", square(107.0, 16.0, 1.0), level="province",
                                 name="Tỉnh Thừa Thiên Huế", unit_type="Tỉnh")
    districts = {"city": ("474", "Thành phố Huế", "Thành phố", 107.0),
                 "huongtra": ("480", "Thị xã Hương Trà", "Thị xã", 107.3),
                 "aluoi": ("481", "Huyện A Lưới", "Huyện", 107.6)}
    for key, (code, name, kind, lon) in districts.items():
        ids[key] = add_unit(conn, gen, code, square(lon, 16.0, 0.3), level="district",
                            name=name, unit_type=kind, parent_id=ids["province19"])
    communes = {
        "vida19": ("19777", "Phường Vĩ Dạ", "Phường", "city", 107.00),
        "phuhoi19": ("19786", "Phường Phú Hội", "Phường", "city", 107.10),
        "phuxuan19": ("19918", "Xã Phú Xuân", "Xã", "city", 107.20),
        "huongphong_tra": ("20002", "Xã Hương Phong", "Xã", "huongtra", 107.30),
        "huongvan": ("20008", "Phường Hương Vân", "Phường", "huongtra", 107.40),
        "huongvan2": ("20011", "Phường Hương Văn", "Phường", "huongtra", 107.50),
        "huongphong_aluoi": ("20080", "Xã Hương Phong", "Xã", "aluoi", 107.60),
    }
    for key, (code, name, kind, district, lon) in communes.items():
        ids[key] = add_unit(conn, gen, code, square(lon, 16.0, 0.05), name=name, unit_type=kind,
                            parent_id=ids[district])
    return gen


def _new_generation(conn: Connection, ids: dict[str, int]) -> int:
    gen = add_generation(conn, NEW, valid_from=dt.date(2025, 7, 1))
    ids["city25"] = add_unit(conn, gen, "46", square(107.0, 16.0, 1.0), level="province",
                             name="Thành phố Huế", unit_type="Thành phố")
    wards = {
        "vyda25": ("19777", "Phường Vỹ Dạ", "Phường", 107.00),
        "thuanhoa25": ("19789", "Phường Thuận Hóa", "Phường", 107.10),
        "phuxuan25": ("19753", "Phường Phú Xuân", "Phường", 107.20),
        "hoachau25": ("20014", "Phường Hóa Châu", "Phường", 107.30),
        "huongtra25": ("19996", "Phường Hương Trà", "Phường", 107.40),
        "aluoi4": ("20101", "Xã A Lưới 4", "Xã", 107.60),
    }
    for key, (code, name, kind, lon) in wards.items():
        ids[key] = add_unit(conn, gen, code, square(lon, 16.0, 0.05), name=name, unit_type=kind,
                            parent_id=ids["city25"])
    return gen


@pytest.fixture
def world(conn: Connection) -> World:
    ids: dict[str, int] = {}
    old_gen, new_gen = _old_generation(conn, ids), _new_generation(conn, ids)
    links = [("vida19", "vyda25", 1.0), ("phuhoi19", "thuanhoa25", 1.0),
             ("phuxuan19", "vyda25", 0.3), ("phuxuan19", "hoachau25", 0.7),
             ("huongphong_tra", "hoachau25", 1.0), ("huongvan", "huongtra25", 1.0),
             ("huongvan2", "huongtra25", 1.0), ("huongphong_aluoi", "aluoi4", 1.0)]
    for old, new, km2 in links:
        _crosswalk(conn, (old_gen, new_gen), ids[old], ids[new], km2)
    index = build_index(conn, generations=(OLD, NEW), current=NEW, use_gazetteer=False)
    return World(index, ids)


def _top(results: list[GeocodeResult]) -> GeocodeResult:
    assert results, "expected at least one result"
    return results[0]


def test_a_current_ward_with_its_city(world: World) -> None:
    result = _top(geocode(world.index, "Phường Vỹ Dạ, Thành phố Huế"))
    assert (result.unit.id, result.generation, result.precision) == (
        world.ids["vyda25"], NEW, "commune")
    assert result.units["province"].name == "Thành phố Huế"
    assert result.current["commune"].id == world.ids["vyda25"]
    assert result.matched == "Phường Vỹ Dạ, Thành phố Huế"
    assert result.street is None


def test_the_label_point_is_returned(world: World) -> None:
    result = _top(geocode(world.index, "P. Vỹ Dạ, TP Huế"))
    # The factory square's south-west corner is (107.0, 16.0), its side 0.05 degrees.
    assert 107.0 < result.lon < 107.05 and 16.0 < result.lat < 16.05


def test_an_old_address_returns_the_ward_it_belongs_to_now(world: World) -> None:
    result = _top(geocode(world.index, "Phường Phú Hội, Thành phố Huế, Tỉnh Thừa Thiên Huế"))
    assert (result.unit.id, result.generation) == (world.ids["phuhoi19"], OLD)
    assert result.units["district"].name == "Thành phố Huế"
    assert result.units["province"].name == "Tỉnh Thừa Thiên Huế"
    assert result.current["commune"].id == world.ids["thuanhoa25"]
    assert result.current["province"].id == world.ids["city25"]
    assert result.predecessors == ()


def test_the_successor_is_the_ward_with_the_largest_share(world: World) -> None:
    result = _top(geocode(world.index, "Xã Phú Xuân, Thành phố Huế, Thừa Thiên Huế"))
    assert result.unit.id == world.ids["phuxuan19"]
    assert result.current["commune"].id == world.ids["hoachau25"]


def test_a_current_ward_lists_its_predecessors(world: World) -> None:
    result = _top(geocode(world.index, "Phường Hóa Châu, TP Huế"))
    assert result.unit.id == world.ids["hoachau25"]
    # Phú Xuân (0.7 km² of 1.0) and Hương Phong (1.0 km²) both went mostly into Hóa Châu.
    assert [p.id for p in result.predecessors] == [world.ids["huongphong_tra"],
                                                   world.ids["phuxuan19"]]


def test_street_and_house_number_are_kept_as_typed(world: World) -> None:
    result = _top(geocode(world.index, "Kiệt 15/2 Nguyễn Sinh Cung, P. Vỹ Dạ, TP Huế"))
    assert result.unit.id == world.ids["vyda25"]
    assert result.street == "Kiệt 15/2 Nguyễn Sinh Cung"
    assert result.matched == "P. Vỹ Dạ, TP Huế"
    assert result.matched_parts == {"commune": "P. Vỹ Dạ", "province": "TP Huế"}


@pytest.mark.parametrize(
    "query",
    [
        "phuong vy da, thanh pho hue",
        "PHƯỜNG VỸ DẠ, THÀNH PHỐ HUẾ",
        "Phường Vỹ Dạ Thành phố Huế",
        "  Phường   Vỹ  Dạ ,, Thành phố   Huế . ",
        "Vỹ Dạ, Huế",
        "Ph.Vỹ Dạ, Tp.Huế",
        "Phường Vỹ Da, Thành phố Huế",  # one tone missing
        "Phường Vỹ Dạa, Thành phố Huế",  # typo (extra letter): 'vydaa'
    ],
)
def test_ways_of_writing_a_current_ward(world: World, query: str) -> None:
    assert _top(geocode(world.index, query)).unit.id == world.ids["vyda25"]


def test_same_name_in_two_districts_returns_both(world: World) -> None:
    results = geocode(world.index, "Xã Hương Phong")
    ids = [r.unit.id for r in results]
    assert set(ids[:2]) == {world.ids["huongphong_tra"], world.ids["huongphong_aluoi"]}
    assert results[0].confidence == results[1].confidence
    assert results[0].confidence <= 0.5  # neither is a confident guess


@pytest.mark.parametrize(
    ("district", "expected"),
    [("Thị xã Hương Trà", "huongphong_tra"), ("H. A Lưới", "huongphong_aluoi")],
)
def test_a_district_settles_the_ambiguity(world: World, district: str, expected: str) -> None:
    results = geocode(world.index, f"Xã Hương Phong, {district}")
    assert results[0].unit.id == world.ids[expected]
    assert results[0].confidence > 0.8
    assert all(r.confidence < results[0].confidence for r in results[1:])


def test_same_name_in_two_generations_returns_both_current_first(world: World) -> None:
    results = geocode(world.index, "Phú Xuân")
    assert [r.unit.id for r in results[:2]] == [world.ids["phuxuan25"], world.ids["phuxuan19"]]
    # An exact current name is not tied with an older unit's (issue 13): the older one is
    # offered second, with the confidence its rivalry leaves it.
    assert results[0].confidence > 2 * results[1].confidence
    assert not results[0].ambiguous


def test_the_written_type_picks_the_generation(world: World) -> None:
    assert _top(geocode(world.index, "Xã Phú Xuân")).unit.id == world.ids["phuxuan19"]
    assert _top(geocode(world.index, "Phường Phú Xuân")).unit.id == world.ids["phuxuan25"]


def test_the_old_province_name_picks_the_old_generation(world: World) -> None:
    result = _top(geocode(world.index, "Phường Vĩ Dạ, TP Huế, T.T.Huế"))
    assert result.unit.id == world.ids["vida19"]
    assert result.current["commune"].id == world.ids["vyda25"]


def test_diacritics_tell_names_apart_that_fold_alike(world: World) -> None:
    assert _top(geocode(world.index, "Phường Hương Văn, TX Hương Trà")).unit.id == \
        world.ids["huongvan2"]
    assert _top(geocode(world.index, "Phường Hương Vân, TX Hương Trà")).unit.id == \
        world.ids["huongvan"]
    # Without diacritics the two are indistinguishable: both come back.
    results = geocode(world.index, "phuong huong van, tx huong tra")
    assert {r.unit.id for r in results[:2]} == {world.ids["huongvan"], world.ids["huongvan2"]}


def test_a_fragment_of_a_longer_name_is_not_preferred(world: World) -> None:
    # "Huế" alone would be the city; inside "Thừa Thiên Huế" it is the old province.
    result = _top(geocode(world.index, "Thừa Thiên Huế"))
    assert (result.unit.id, result.precision) == (world.ids["province19"], "province")


def test_district_precision(world: World) -> None:
    result = _top(geocode(world.index, "Huyện A Lưới, Thừa Thiên Huế"))
    assert (result.unit.id, result.precision) == (world.ids["aluoi"], "district")
    assert "commune" not in result.units
    assert result.current == {"province": result.current["province"]}


def test_a_larger_unit_is_not_listed_under_a_unit_inside_it(world: World) -> None:
    results = geocode(world.index, "Phường Vỹ Dạ, Thành phố Huế")
    assert all(r.precision == "commune" for r in results)


def test_numbers_in_names_must_match_exactly(world: World) -> None:
    assert _top(geocode(world.index, "Xã A Lưới 4")).unit.id == world.ids["aluoi4"]
    assert all(r.unit.id != world.ids["aluoi4"] for r in geocode(world.index, "Xã A Lưới 3"))


@pytest.mark.parametrize("query", ["hello world", "12345", "!!!", "Quận 1, TP Hồ Chí Minh"])
def test_nothing_matched_is_an_empty_list(world: World, query: str) -> None:
    assert geocode(world.index, query) == []


@pytest.mark.parametrize("query", ["", "   ", "x" * 501])
def test_empty_or_too_long_q_is_invalid(world: World, query: str) -> None:
    with pytest.raises(InvalidInput) as error:
        geocode(world.index, query)
    assert error.value.field == "q"


def test_500_characters_is_accepted_and_nfd_counts_as_composed(world: World) -> None:
    assert geocode(world.index, "a" * 500) == []
    # 30 x "Phường Vỹ Dạ " is 390 characters composed, 510 decomposed: the composed length counts.
    decomposed = unicodedata.normalize("NFD", "Phường Vỹ Dạ " * 30)
    assert len(decomposed) > 500
    assert _top(geocode(world.index, decomposed)).unit.id == world.ids["vyda25"]


@pytest.mark.parametrize("limit", [0, -1, 51, True])
def test_limit_is_checked(world: World, limit: int) -> None:
    with pytest.raises(InvalidInput) as error:
        geocode(world.index, "Vỹ Dạ", limit=limit)
    assert error.value.field == "limit"


def test_limit_caps_the_results(world: World) -> None:
    assert len(geocode(world.index, "Hương Phong", limit=1)) == 1


def test_structured_parts_match_only_their_level(world: World) -> None:
    result = _top(geocode_structured(world.index, commune="Vĩ Dạ", district="Thành phố Huế"))
    assert result.unit.id == world.ids["vida19"]
    result = _top(geocode_structured(world.index, commune="Vỹ Dạ", province="Thành phố Huế"))
    assert result.unit.id == world.ids["vyda25"]
    assert result.street is None


def test_structured_parts_keep_their_level_whatever_their_punctuation(world: World) -> None:
    result = _top(geocode_structured(world.index, commune="P. Vĩ Dạ;", district="TP, Huế"))
    assert result.unit.id == world.ids["vida19"]
    assert result.matched_parts == {"commune": "P. Vĩ Dạ", "district": "TP Huế"}


def test_structured_district_alone(world: World) -> None:
    result = _top(geocode_structured(world.index, district="Hương Trà"))
    assert (result.unit.id, result.precision) == (world.ids["huongtra"], "district")


def test_structured_needs_a_part(world: World) -> None:
    with pytest.raises(InvalidInput) as error:
        geocode_structured(world.index, commune=" ", district=None)
    assert error.value.field == "commune"
    with pytest.raises(InvalidInput) as error:
        geocode_structured(world.index, province="y" * 501)
    assert error.value.field == "province"


def test_an_unknown_current_generation_is_not_found(conn: Connection) -> None:
    with pytest.raises(NotFound):
        build_index(conn, generations=(), current="nope")


def test_to_dict_is_json_ready(world: World) -> None:
    payload = _top(geocode(world.index, "Phường Phú Hội, TP Huế, Thừa Thiên Huế")).to_dict()
    decoded = json.loads(json.dumps(payload, ensure_ascii=False))
    assert decoded["unit"]["name"] == "Phường Phú Hội"
    assert decoded["current"]["commune"]["name"] == "Phường Thuận Hóa"
    assert set(decoded) >= {"lat", "lon", "precision", "confidence", "units", "current",
                            "predecessors", "matched", "street", "generation"}


def test_the_index_cache_rebuilds_when_units_change(conn: Connection) -> None:
    now = [0.0]
    cache = IndexCache(recheck_seconds=10, clock=lambda: now[0])
    gen = add_generation(conn, "tcache", status="draft")
    first = cache.get(conn)
    assert cache.get(conn) is first  # nothing changed
    add_unit(conn, gen, "1", square(107.0, 16.0, 0.1), level="province", name="Tỉnh Thử",
             unit_type="Tỉnh")
    assert cache.get(conn) is first  # not rechecked within the interval
    now[0] = 11.0
    assert cache.get(conn) is not first
