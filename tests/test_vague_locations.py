"""Vague addresses are held, not guessed (issue 13), through /v1/reports and Open311.

A report is routed to a commune only at commune precision with enough confidence; anything
vaguer is refused with its candidates or held (needs_location) for the operations centre,
which places it later. Real PostGIS, Huế's boundaries and agencies (a database of its own:
the API commits).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gis_service.db.schema import admin_unit, agency, generation, report, report_event
from tests.conftest import ReportsDB, nothing_left, problem
from tests.test_reports_api import VY_DA, agency_key, headers

STREET_ONLY = "45 Trần Hưng Đạo, Huế"
IOC = "ioc-hue"


def post(client: FlaskClient, reports_db: ReportsDB, key: str = "client", **body: Any) -> Any:
    return client.post("/v1/reports", json={"category": "roads", **body},
                       headers=headers(reports_db.keys[key]))


def patch(client: FlaskClient, key: str, public_id: str, **body: Any) -> Any:
    return client.patch(f"/v1/reports/{public_id}", json=body, headers=headers(key))


def stored_row(reports_db: ReportsDB, public_id: str) -> Any:
    with reports_db.engine.connect() as conn:
        return conn.execute(select(report).where(report.c.public_id == public_id)).one()


def events(reports_db: ReportsDB, public_id: str) -> list[dict[str, Any]]:
    """The report's events in order, with the agency's code."""
    report_id = stored_row(reports_db, public_id).id
    with reports_db.engine.connect() as conn:
        rows = conn.execute(
            select(report_event.c.kind, report_event.c.from_status, report_event.c.to_status,
                   report_event.c.note, agency.c.code.label("agency"))
            .outerjoin(agency, agency.c.id == report_event.c.agency_id)
            .where(report_event.c.report_id == report_id).order_by(report_event.c.id))
        return [dict(row._mapping) for row in rows]


def label_point(reports_db: ReportsDB, generation_code: str, code: str) -> dict[str, float]:
    with reports_db.engine.connect() as conn:
        lon, lat = conn.execute(
            select(func.ST_X(admin_unit.c.label_point), func.ST_Y(admin_unit.c.label_point))
            .join(generation, generation.c.id == admin_unit.c.generation_id)
            .where(generation.c.code == generation_code, admin_unit.c.code == code,
                   admin_unit.c.level == "commune")).one()
    return {"lat": float(lat), "lon": float(lon)}


def held(client: FlaskClient, reports_db: ReportsDB, address: str = STREET_ONLY) -> str:
    response = post(client, reports_db, channel="hotline", address=address)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["report"]["id"])


# --- intake ---------------------------------------------------------------------------------


@pytest.mark.realdata
def test_a_hotline_street_without_a_ward_is_held_for_the_operations_centre(
        client: FlaskClient, reports_db: ReportsDB) -> None:
    response = post(client, reports_db, channel="hotline", address=STREET_ONLY)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    stored = body["report"]
    assert stored["status"] == "needs_location" and stored["agency"]["code"] == IOC
    assert stored["location"]["lat"] is None and stored["location"]["lon"] is None
    assert stored["location"]["precision"] == "district"
    assert stored["due_at"] is None and "commune" not in stored["current_units"]
    assert body["duplicates"] == []
    assert [w["code"] for w in body["warnings"]] == ["needs_location"]
    row = stored_row(reports_db, stored["id"])
    assert row.geom is None and row.h3_r10 is None and row.current_commune_id is None
    assert row.due_at is None
    kinds = [(e["kind"], e["to_status"], e["agency"]) for e in events(reports_db, stored["id"])]
    assert kinds == [("created", "needs_location", None), ("routed", None, IOC)]


@pytest.mark.realdata
@pytest.mark.parametrize(("channel", "on_vague"), [("app", None), ("web", None),
                                                   ("hotline", "refuse")])
def test_a_vague_address_is_refused_with_its_candidates(
        client: FlaskClient, reports_db: ReportsDB, channel: str, on_vague: str | None) -> None:
    extra = {"on_vague": on_vague} if on_vague else {}
    with nothing_left(reports_db):
        response = post(client, reports_db, channel=channel, address=STREET_ONLY, **extra)
        body = problem(response, 422, "address")
    assert body["code"] == "location_too_vague"
    assert "Thành phố Huế" in body["detail"]
    first = body["candidates"][0]
    assert (first["precision"], first["unit"]["name"]) == ("district", "Thành phố Huế")
    assert first["street_name"] == "Trần Hưng Đạo"


@pytest.mark.realdata
def test_the_request_may_hold_a_web_report_and_bad_choices_are_named(
        client: FlaskClient, reports_db: ReportsDB) -> None:
    response = post(client, reports_db, channel="web", address=STREET_ONLY, on_vague="hold")
    assert response.get_json()["report"]["status"] == "needs_location"
    with nothing_left(reports_db):
        problem(post(client, reports_db, channel="web", address=STREET_ONLY, on_vague="guess"),
                422, "on_vague")


@pytest.mark.realdata
@pytest.mark.parametrize("address", [
    "Thành phố Huế",  # the province alone
    "Huyện Phong Điền",  # a district alone
    "Xã Hương Phong",  # two communes of that name, tied
])
def test_province_district_and_tied_addresses_are_never_routed_to_a_commune(
        client: FlaskClient, reports_db: ReportsDB, address: str) -> None:
    stored = post(client, reports_db, channel="hotline", address=address).get_json()["report"]
    assert stored["status"] == "needs_location" and stored["agency"]["code"] == IOC
    assert "commune" not in stored["current_units"]


@pytest.mark.realdata
def test_an_exact_ward_is_routed_and_typed_coordinates_are_a_point(
        client: FlaskClient, reports_db: ReportsDB) -> None:
    ward = post(client, reports_db, channel="app",
                address="Phường Thuận Hoá, Thành phố Huế").get_json()["report"]
    assert ward["status"] == "received"
    assert ward["current_units"]["commune"]["code"] == "19789"
    assert (ward["location"]["precision"], ward["location"]["confidence"]) == ("commune", 1.0)
    typed = post(client, reports_db, channel="app", address="16.4779, 107.611").get_json()
    assert typed["report"]["location"]["precision"] == "point"
    assert typed["report"]["current_units"]["commune"]["code"] == "19777"


@pytest.mark.realdata
def test_reports_sharing_a_representative_point_are_never_duplicates(
        client: FlaskClient, reports_db: ReportsDB) -> None:
    address = "Phường Kim Long, Thành phố Huế"
    first = post(client, reports_db, category="sanitation", address=address).get_json()
    second = post(client, reports_db, category="sanitation", address=address).get_json()
    assert first["report"]["location"] == {**second["report"]["location"]}
    assert second["duplicates"] == []
    # A GPS report right at that representative point is not matched with them either.
    at_point = {"lat": first["report"]["location"]["lat"],
                "lon": first["report"]["location"]["lon"]}
    gps = post(client, reports_db, category="sanitation", **at_point).get_json()
    assert first["report"]["id"] not in [d["id"] for d in gps["duplicates"]]
    assert second["report"]["id"] not in [d["id"] for d in gps["duplicates"]]


# --- a point and an address that disagree ----------------------------------------------------


@pytest.mark.realdata
def test_a_point_outside_the_named_ward_is_kept_and_flagged(client: FlaskClient,
                                                            reports_db: ReportsDB) -> None:
    response = post(client, reports_db, address="Phường Kim Long, Thành phố Huế", **VY_DA)
    body = response.get_json()
    assert response.status_code == 201, body
    stored = body["report"]
    assert stored["current_units"]["commune"]["code"] == "19777"  # the point's ward: Vỹ Dạ
    assert stored["location"]["conflict"] is True and stored["location"]["source"] == "gps"
    assert "location_conflict" in [w["code"] for w in body["warnings"]]
    assert stored_row(reports_db, stored["id"]).location_conflict is True
    created = events(reports_db, stored["id"])[0]
    assert created["kind"] == "created" and "location_conflict" in created["note"]
    assert "Phường Kim Long" in created["note"] and "Phường Vỹ Dạ" in created["note"]


@pytest.mark.realdata
@pytest.mark.parametrize(("generation_code", "code", "address"), [
    ("2025", "19777", "Phường Vỹ Dạ, Thành phố Huế"),  # the same ward
    ("2019", "19786", "Phường Thuận Hóa, Thành phố Huế"),  # in a predecessor of the ward
    ("2019", "19786", "Phường Phú Hội, TP Huế"),  # the legacy ward itself
    ("2025", "19777", "Thành phố Huế"),  # a vague address contradicts nothing
])
def test_a_point_in_the_named_ward_or_its_predecessors_is_no_conflict(
        client: FlaskClient, reports_db: ReportsDB, generation_code: str, code: str,
        address: str) -> None:
    point = label_point(reports_db, generation_code, code)
    stored = post(client, reports_db, address=address, **point).get_json()
    assert stored["report"]["location"]["conflict"] is False, stored
    assert stored["warnings"] == []


# --- placing a held report -------------------------------------------------------------------


@pytest.mark.realdata
def test_placing_a_held_report_with_a_point_routes_it_and_records_who(
        client: FlaskClient, reports_db: ReportsDB) -> None:
    gps = post(client, reports_db, **VY_DA).get_json()["report"]["id"]
    public_id = held(client, reports_db)
    key = agency_key(reports_db, IOC)
    response = patch(client, key, public_id, location=VY_DA, note="caller confirmed")
    assert response.status_code == 200, response.get_json()
    placed = response.get_json()
    assert placed["status"] == "received" and placed["location"]["source"] == "manual"
    assert placed["current_units"]["commune"]["code"] == "19777"
    assert placed["agency"]["code"] != IOC and placed["due_at"] > placed["created_at"]
    assert gps in [d["id"] for d in placed["duplicates"]]
    row = stored_row(reports_db, public_id)
    assert row.geom is not None and row.h3_r10 is not None and row.due_at is not None
    trail = events(reports_db, public_id)
    assert [(e["kind"], e["from_status"], e["to_status"]) for e in trail] == [
        ("created", None, "needs_location"), ("routed", None, None),
        ("placed", "needs_location", "received"), ("routed", None, None)]
    assert trail[2]["note"].startswith("placed at lat 16.477900, lon 107.611000 by ")
    assert "caller confirmed" in trail[2]["note"] and trail[3]["agency"] == placed["agency"]["code"]
    with reports_db.engine.connect() as conn:
        actors = conn.execute(select(report_event.c.actor).where(
            report_event.c.report_id == row.id, report_event.c.kind == "placed")).scalars().all()
    assert actors == ["key:agency-ioc-hue (agency)"]
    assert f"by {actors[0]}" in trail[2]["note"]
    # Placed, it is its ward's now; placing it again is a conflict.
    with nothing_left(reports_db):
        problem(patch(client, reports_db.keys["admin"], public_id, location=VY_DA), 409,
                "location")


@pytest.mark.realdata
def test_placing_a_held_report_in_a_chosen_ward(client: FlaskClient,
                                                reports_db: ReportsDB) -> None:
    public_id = held(client, reports_db, "Kiệt 7 Chi Lăng, Huế")
    response = patch(client, reports_db.keys["admin"], public_id, commune="19753")
    placed = response.get_json()
    assert response.status_code == 200, placed
    assert placed["current_units"]["commune"]["code"] == "19753"
    assert placed["location"]["precision"] == "commune" and placed["duplicates"] == []
    assert placed["due_at"] is not None


@pytest.mark.realdata
@pytest.mark.parametrize(("body", "status", "field"), [
    ({"location": {"lat": 16.0544, "lon": 108.2022}}, 422, "location"),  # Đà Nẵng
    ({"commune": "99999"}, 404, "commune"),
    ({"location": {"lat": "16.4", "lon": 107.6}}, 400, "location.lat"),
    ({"location": VY_DA, "status": "accepted"}, 400, "status"),
])
def test_bad_placements_change_nothing(client: FlaskClient, reports_db: ReportsDB,
                                       body: dict[str, Any], status: int, field: str) -> None:
    public_id = held(client, reports_db)
    with nothing_left(reports_db):
        problem(patch(client, reports_db.keys["admin"], public_id, **body), status, field)
    assert stored_row(reports_db, public_id).status == "needs_location"


@pytest.mark.realdata
def test_only_the_operations_centre_or_an_admin_places_it(client: FlaskClient,
                                                          reports_db: ReportsDB) -> None:
    public_id = held(client, reports_db)
    other = agency_key(reports_db, "so-xay-dung")
    with nothing_left(reports_db):
        problem(patch(client, other, public_id, location=VY_DA), 403)


@pytest.mark.realdata
def test_a_held_report_can_be_rejected_without_a_place(client: FlaskClient,
                                                       reports_db: ReportsDB) -> None:
    public_id = held(client, reports_db)
    response = patch(client, reports_db.keys["admin"], public_id, status="rejected")
    assert response.status_code == 200 and response.get_json()["status"] == "rejected"
    problem(patch(client, reports_db.keys["admin"], public_id, status="accepted"), 409, "status")


# --- Open311 --------------------------------------------------------------------------------


@pytest.mark.realdata
def test_open311_refuses_a_vague_address_naming_the_candidates(
        client: FlaskClient, reports_db: ReportsDB) -> None:
    form = {"api_key": reports_db.keys["client"], "service_code": "roads",
            "address_string": STREET_ONLY}
    with nothing_left(reports_db):
        response = client.post("/open311/v2/requests.json", data=urlencode(form),
                               content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400, response.get_data(as_text=True)
    [error] = response.get_json()
    assert error["description"].startswith("address_string: ")
    assert "Thành phố Huế (district" in error["description"]


@pytest.mark.realdata
def test_open311_shows_a_held_report_without_a_point(client: FlaskClient,
                                                     reports_db: ReportsDB) -> None:
    public_id = held(client, reports_db)
    [found] = client.get(f"/open311/v2/requests/{public_id}.json").get_json()
    assert found["status"] == "open" and found["lat"] is None and found["long"] is None
    assert found["expected_datetime"] is None and found["address"] == STREET_ONLY


@pytest.mark.realdata
def test_open311_flags_a_point_outside_the_named_ward(client: FlaskClient,
                                                      reports_db: ReportsDB) -> None:
    form = {"api_key": reports_db.keys["client"], "service_code": "roads",
            "lat": str(VY_DA["lat"]), "long": str(VY_DA["lon"]),
            "address_string": "Phường Kim Long, Thành phố Huế"}
    response = client.post("/open311/v2/requests.json", data=urlencode(form),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201, response.get_data(as_text=True)
    [created] = response.get_json()
    assert "not in the ward the address names" in created["service_notice"]
    assert stored_row(reports_db, created["service_request_id"]).location_conflict is True


@pytest.mark.realdata
def test_an_address_naming_nothing_known_is_held_from_the_hotline_and_refused_elsewhere(
        client: FlaskClient, reports_db: ReportsDB) -> None:
    address = "gần cổng chợ, đối diện quán cà phê"
    stored = post(client, reports_db, channel="hotline", address=address).get_json()["report"]
    assert stored["status"] == "needs_location" and stored["location"]["precision"] is None
    with nothing_left(reports_db):
        body = problem(post(client, reports_db, channel="app", address=address), 422, "address")
    assert body["code"] == "location_too_vague" and body["candidates"] == []


@pytest.mark.realdata
def test_a_point_with_an_address_the_geocoder_refuses_is_still_stored(
        client: FlaskClient, reports_db: ReportsDB) -> None:
    response = post(client, reports_db, address="Kiệt " * 200, **VY_DA)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["report"]["location"]["conflict"] is False
