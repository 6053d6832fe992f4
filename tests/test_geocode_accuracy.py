"""Forward geocoding on Huế's real boundaries: the accuracy floor and real ambiguities.

Needs the shared data root (skipped on a laptop without it, failing in CI). The index is
built once per module from the session database that ``hue_db`` loads; when the crosswalk
between 2019 and 2025 has not been built by the load, it is built inside a transaction that
is rolled back, so the shared database is left as it was.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from gis_service import gazetteer
from gis_service.boundaries.crosswalk import build_crosswalk
from gis_service.config import Settings
from gis_service.coords import LonLat
from gis_service.db.schema import unit_crosswalk
from gis_service.geocode import GeocodeIndex, build_index, geocode
from gis_service.geocode.forward import GeocodeResult
from gis_service.geocode.streets import load_streets
from tests.conftest import require_data
from tests.geocode_eval import build_cases, evaluate
from tests.geocode_extra_sets import centre_cases, score_centres, score_streets, street_cases

pytestmark = pytest.mark.realdata

#: The issue's target for top-1 accuracy on the evaluation set.
TOP1_FLOOR = 0.95
TOP3_FLOOR = 0.98
#: No way of writing an address may fall far behind the others.
VARIANT_TOP1_FLOOR = 0.9


@pytest.fixture(scope="module")
def hue_index(settings: Settings, request: pytest.FixtureRequest) -> GeocodeIndex:
    require_data(settings)
    hue_db = request.getfixturevalue("hue_db")
    assert {"2019", "2025"} <= set(hue_db.generations)
    with hue_db.engine.connect() as conn:
        transaction = conn.begin()
        try:
            if not conn.execute(select(func.count()).select_from(unit_crosswalk)).scalar_one():
                build_crosswalk(conn, "2019", "2025")
            index: GeocodeIndex = build_index(conn, streets=load_streets(settings.data_root))
        finally:
            transaction.rollback()
    return index


def _codes(results: list[GeocodeResult]) -> list[tuple[str, str]]:
    return [(r.generation, r.unit.code) for r in results]


def test_the_evaluation_set_covers_every_commune_of_both_generations(
        hue_index: GeocodeIndex) -> None:
    cases = build_cases(hue_index.units.values(), hue_index.current)
    communes = Counter((u.generation, u.code) for u in hue_index.units.values()
                       if u.level == "commune")
    labelled = Counter((c.generation, c.code) for c in cases)
    assert set(labelled) == set(communes)
    assert Counter(gen for gen, _ in communes) == {"2019": 152, "2025": 40}
    assert min(labelled.values()) >= 10
    assert cases == build_cases(hue_index.units.values(), hue_index.current)  # deterministic


def test_accuracy_floor(hue_index: GeocodeIndex) -> None:
    cases = build_cases(hue_index.units.values(), hue_index.current)
    scores = evaluate(cases, lambda q: geocode(hue_index, q))
    misses = "\n".join(f"{c.variant}: {c.query!r} -> {got}" for c, got in scores.misses[:40])
    assert scores.top1 >= TOP1_FLOOR, misses
    assert scores.top3 >= TOP3_FLOOR, misses
    weak = {v: row for v, row in scores.by_variant.items() if row["top1"] < VARIANT_TOP1_FLOOR}
    assert not weak, misses


def test_every_old_commune_maps_to_its_official_2025_ward(hue_index: GeocodeIndex) -> None:
    olds = [u for u in hue_index.units.values() if u.generation == "2019" and u.level == "commune"]
    links = gazetteer.commune_2019_to_2025(tuple(
        gazetteer.OldCommune(u.code, u.name, hue_index.units[u.parent_id or 0].code,
                             LonLat(u.lon, u.lat))
        for u in olds))
    for unit in olds:
        current = hue_index.current_of(unit.id)
        assert current is not None, unit.name
        assert hue_index.units[current].code == links[unit.code].ward_code, unit.name


def test_two_communes_of_one_name_in_different_districts(hue_index: GeocodeIndex) -> None:
    results = geocode(hue_index, "Xã Hương Phong")
    assert set(_codes(results[:2])) == {("2019", "20002"), ("2019", "20080")}
    assert results[0].confidence == results[1].confidence < 0.5
    assert results[0].ambiguous and results[1].ambiguous
    assert {r.units["district"].name for r in results[:2]} == {"Thị xã Hương Trà",
                                                                "Huyện A Lưới"}
    top = geocode(hue_index, "Xã Hương Phong, Huyện A Lưới")[0]
    assert (top.unit.code, top.current["commune"].name) == ("20080", "Xã A Lưới 4")


def test_one_name_in_both_generations_with_different_territory(hue_index: GeocodeIndex) -> None:
    results = geocode(hue_index, "Phú Xuân")
    assert _codes(results[:2]) == [("2025", "19753"), ("2019", "19918")]
    # The exact current name ranks first and is not tied with the older commune (issue 13).
    assert results[0].confidence > 2 * results[1].confidence
    assert results[1].current["commune"].name != results[0].unit.name
    assert _codes(geocode(hue_index, "Xã Phú Xuân, Huyện Phú Vang")[:1]) == [("2019", "19918")]


def test_old_address_to_current_ward(hue_index: GeocodeIndex) -> None:
    top = geocode(hue_index, "25 Lê Lợi, Phường Phú Hội, TP Huế, Thừa Thiên Huế")[0]
    assert (top.generation, top.unit.name) == ("2019", "Phường Phú Hội")
    assert top.current["commune"].name == "Phường Thuận Hóa"
    assert top.street == "25 Lê Lợi"


def test_current_ward_to_its_predecessors(hue_index: GeocodeIndex) -> None:
    top = geocode(hue_index, "Phường Thuận Hóa, Thành phố Huế")[0]
    assert (top.generation, top.unit.code) == ("2025", "19789")
    # The resolution merging them (NQ 1675/NQ-UBTVQH15) lists these six wards.
    assert {p.name for p in top.predecessors} == {
        "Phường Phú Hội", "Phường Phú Nhuận", "Phường Phường Đúc", "Phường Vĩnh Ninh",
        "Phường Phước Vĩnh", "Phường Trường An"}


def test_legacy_district_names_are_understood(hue_index: GeocodeIndex) -> None:
    top = geocode(hue_index, "Phường Hương Vinh, Quận Phú Xuân, Thành phố Huế")[0]
    # Xã Hương Vinh of Hương Trà in 2019; a phường of Quận Phú Xuân from 2021.
    assert (top.generation, top.unit.code, top.unit.name) == ("2019", "20014", "Xã Hương Vinh")
    assert top.matched_parts["district"] == "Quận Phú Xuân"


def test_the_administrative_centres_of_the_2025_wards(hue_index: GeocodeIndex,
                                                      settings: Settings) -> None:
    cases = centre_cases(settings.data_root)
    assert len(cases) == 40 and len({c.code for c in cases}) == 40
    scores = score_centres(cases, lambda q: geocode(hue_index, q))
    # Measured 2026-12-07: 40 of 40, every one at commune precision.
    assert scores.top1 == 1.0, scores.misses


def test_street_only_addresses_give_their_district_and_never_a_commune(
        hue_index: GeocodeIndex) -> None:
    cases = street_cases(hue_index.streets)
    assert len(cases) >= 560
    scores = score_streets(cases, lambda q: geocode(hue_index, q))
    assert scores.given_commune == 0.0, scores.misses[:20]
    # Measured 2026-12-07: 587 of 587 give a district the street list allows.
    assert scores.top1 >= 0.98, scores.misses[:20]


def test_the_routing_threshold_default_on_the_labelled_set(hue_index: GeocodeIndex) -> None:
    """GIS_MIN_ROUTING_CONFIDENCE's default (0.5) read off the labelled set, among the top
    answers a report could be routed by (a ward, not tied): at least 99% of right ones reach
    it, and the wrong ones that reach it are the five no threshold can stop (measured
    2026-12-07): "Hương Vân"/"Hương Văn" written without diacritics (the same letters; the
    geocoder does not call it a tie, see the report to the lead) and the typo "Vinh Hi" read as
    Vinh Mỹ (0.799), both in 2019 names. A change to the scoring that moves these figures must
    revisit the default (config.py and the README say why it is 0.5)."""
    from gis_service.reports.placement import routable  # noqa: PLC0415 (only this test)

    threshold = Settings().min_routing_confidence
    cases = [c for c in build_cases(hue_index.units.values(), hue_index.current)
             if c.level == "commune"]
    right: list[float] = []
    wrong: list[tuple[str, float]] = []
    for case in cases:
        results = geocode(hue_index, case.query)
        if results and routable(results[0], 0.0) is None:  # all but the confidence test
            if case.hit(results[0]):
                right.append(results[0].confidence)
            else:
                wrong.append((case.code, results[0].confidence))
    routed_wrong = sorted(code for code, confidence in wrong if confidence >= threshold)
    print({"right": len(right), "wrong": len(wrong), "wrong_routed": len(routed_wrong),
           "right_routed": round(sum(c >= threshold for c in right) / len(right), 4)})
    assert len(right) > 2000, len(right)
    assert routed_wrong == ["20011"] * 3 + ["20119"] * 2
    assert sum(c >= threshold for c in right) / len(right) >= 0.99
