"""The public record (issue 14): timelines with the agencies' answers, public text hidden or
edited, ratings only the reporter can give, once per resolution, and reopening deadlines."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from flask.testing import FlaskClient
from sqlalchemy import select, update

from gis_service.auth import issue_key
from gis_service.db.schema import agency, report, report_rating
from gis_service.redaction import NAME, PHONE
from tests.conftest import ReportsDB, nothing_left, problem
from tests.test_reports_api import NEW, agency_key, headers

PII = "Rác ở kiệt 58. Tôi là Lê Thị C, gọi 0905 111 222."
# A category no other module files, so these reports are no one else's possible duplicates.
CATEGORY = "heritage"
FORM = "application/x-www-form-urlencoded"


def file_report(client: FlaskClient, reports_db: ReportsDB, **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/reports", json={**NEW, "category": CATEGORY, "description": PII, **extra},
                           headers=headers(reports_db.keys["client"]))
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def move(client: FlaskClient, url: str, key: str, *statuses: str, **body: Any) -> Any:
    response = None
    for status in statuses:
        response = client.patch(url, json={"status": status, **body}, headers=headers(key))
        assert response.status_code == 200, response.get_json()
    return response


def test_the_submission_and_every_public_output_are_redacted(client: FlaskClient,
                                                             reports_db: ReportsDB) -> None:
    created = file_report(client, reports_db, address="kiệt 58 Phan Đình Phùng, sđt 0905111222")
    public = client.get(f"/v1/reports/{created['report']['id']}").get_json()
    for body in (created["report"], public):
        assert body["description"] == f"Rác ở kiệt 58. Tôi là {NAME}, gọi {PHONE}."
        assert body["location"]["address"] == f"kiệt 58 Phan Đình Phùng, sđt {PHONE}"
        assert "original" not in body and "0905" not in str(body)
    own = agency_key(reports_db, public["agency"]["code"])
    private = client.get(f"/v1/reports/{public['id']}", headers=headers(own)).get_json()
    assert private["original"]["description"] == PII


def test_the_timeline_shows_public_notes_and_hides_internal_ones(client: FlaskClient,
                                                                 reports_db: ReportsDB) -> None:
    stored = file_report(client, reports_db)["report"]
    url, own = f"/v1/reports/{stored['id']}", agency_key(reports_db, stored["agency"]["code"])
    move(client, url, own, "accepted", public_note="Đã tiếp nhận", internal_note="gọi lại chị C")
    problem(client.patch(url, json={"status": "in_progress", "team": "Tổ 2"},
                         headers=headers(own)), 400, "team")
    assigned = move(client, url, own, "assigned", team="Tổ vệ sinh số 2",
                    public_note="Giao tổ vệ sinh, liên hệ 0905 999 888").get_json()
    assert assigned["team"] == "Tổ vệ sinh số 2"
    events = client.get(url + "/events").get_json()["events"]
    assert [e["kind"] for e in events] == ["created", "routed", "status", "status"]
    assert events[2]["public_note"] == "Đã tiếp nhận" and "internal_note" not in events[2]
    assert events[3]["public_note"] == f"Giao tổ vệ sinh, liên hệ {PHONE}"
    assert events[3]["agency"]["code"] == stored["agency"]["code"]
    assert events[3]["team"] == "Tổ vệ sinh số 2"
    assert client.get(url).get_json()["events"] == events
    staff = client.get(url + "/events", headers=headers(own)).get_json()["events"]
    assert staff[2]["internal_note"] == "gọi lại chị C" and staff[2]["actor"]
    problem(client.get("/v1/reports/PA-NONE/events"), 404, "id")


def test_open311_carries_the_latest_public_note(client: FlaskClient,
                                                reports_db: ReportsDB) -> None:
    stored = file_report(client, reports_db)["report"]
    url, own = f"/v1/reports/{stored['id']}", agency_key(reports_db, stored["agency"]["code"])
    move(client, url, own, "accepted", public_note="Đã tiếp nhận, gọi 0905123456",
         internal_note="nội bộ")
    request = client.get(f"/open311/v2/requests/{stored['id']}.json").get_json()[0]
    assert request["status_notes"] == f"Đã tiếp nhận, gọi {PHONE}"
    assert request["agency_responsible"] == stored["agency"]["name"]
    assert request["updated_datetime"] >= request["requested_datetime"]
    assert "0905" not in request["description"]
    xml = client.get(f"/open311/v2/requests/{stored['id']}.xml").get_data(as_text=True)
    assert "0905" not in xml and "nội bộ" not in xml


def test_an_agency_hides_or_edits_the_public_text_and_keeps_the_original(
        client: FlaskClient, reports_db: ReportsDB) -> None:
    stored = file_report(client, reports_db)["report"]
    url, own = f"/v1/reports/{stored['id']}", agency_key(reports_db, stored["agency"]["code"])
    with reports_db.engine.connect() as conn:
        other_code = conn.execute(select(agency.c.code).where(
            agency.c.code != stored["agency"]["code"]).limit(1)).scalar_one()
    with nothing_left(reports_db):
        problem(client.post(url + "/public-text", json={"hidden": True}, headers=headers(own)),
                400, "reason")
        problem(client.post(url + "/public-text", json={"reason": "x"}, headers=headers(own)),
                400, "description")
        problem(client.post(url + "/public-text", json={"reason": "x", "hidden": "yes"},
                            headers=headers(own)), 400, "hidden")
        problem(client.post(url + "/public-text", json={"reason": "x", "hidden": True},
                            headers=headers(reports_db.keys["client"])), 403)
        problem(client.post(url + "/public-text", json={"reason": "x", "hidden": True},
                            headers=headers(agency_key(reports_db, other_code))), 403, "id")
    edited = client.post(url + "/public-text", headers=headers(own), json={
        "reason": "mô tả nêu tên", "description": "Rác tồn đọng ở kiệt 58."}).get_json()
    assert edited["original"]["description"] == PII
    assert client.get(url).get_json()["description"] == "Rác tồn đọng ở kiệt 58."
    client.post(url + "/public-text", json={"reason": "khiếu nại", "hidden": True},
                headers=headers(reports_db.keys["admin"]))
    public = client.get(url).get_json()
    assert public["public_text"] == {"hidden": True, "edited": True}
    assert "kiệt" not in public["description"] and public["location"]["address"] is None
    staff = client.get(url + "/events", headers=headers(own)).get_json()["events"]
    changes = [e for e in staff if e["kind"] == "public_text"]
    assert len(changes) == 2 and "mô tả nêu tên" in changes[0]["internal_note"]
    assert client.get(url, headers=headers(own)).get_json()["original"]["description"] == PII
    found = client.get("/v1/reports", query_string={"q": "ton dong o kiet"}).get_json()
    assert stored["id"] not in {r["id"] for r in found["reports"]}  # hidden: not searchable


def _resolved(client: FlaskClient, reports_db: ReportsDB) -> tuple[str, str, str, dict[str, Any]]:
    created = file_report(client, reports_db)
    stored = created["report"]
    url, own = f"/v1/reports/{stored['id']}", agency_key(reports_db, stored["agency"]["code"])
    move(client, url, own, "accepted", "assigned", "in_progress", "resolved")
    return url, own, created["reporter_token"], stored


def test_only_the_reporter_rates_once_per_resolution(client: FlaskClient,
                                                    reports_db: ReportsDB) -> None:
    url, own, token, _ = _resolved(client, reports_db)
    client_key = reports_db.keys["client"]
    with nothing_left(reports_db):
        problem(client.post(url + "/rating", json={"satisfaction": 5}, headers=headers(client_key)),
                401, "reporter_token")
        problem(client.post(url + "/rating", json={"satisfaction": 5, "reporter_token": "rpt_x"},
                            headers=headers(client_key)), 403, "reporter_token")
        for key in (own, reports_db.keys["admin"]):
            problem(client.post(url + "/rating", json={"satisfaction": 5, "reporter_token": token},
                                headers=headers(key)), 403, "api_key")
        problem(client.post(url + "/rating", json={"satisfaction": 5, "reporter_token": token}),
                401, "api_key")
    rated = client.post(url + "/rating", json={"satisfaction": 4},
                        headers=headers(client_key, **{"X-Reporter-Token": token}))
    assert rated.status_code == 200 and rated.get_json()["satisfaction"] == 4
    with nothing_left(reports_db):
        again = client.post(url + "/rating", json={"satisfaction": 5, "reporter_token": token},
                            headers=headers(client_key))
        problem(again, 409, "satisfaction")
    assert client.get(url).get_json()["satisfaction"] == 4


def test_an_unhappy_rating_reopens_with_a_new_deadline(client: FlaskClient,
                                                       reports_db: ReportsDB) -> None:
    url, own, token, stored = _resolved(client, reports_db)
    with reports_db.engine.begin() as conn:  # an old report: its deadline long past
        conn.execute(update(report).where(report.c.public_id == stored["id"])
                     .values(due_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)))
    reopened = client.post(url + "/rating", json={"satisfaction": 1, "reporter_token": token},
                           headers=headers(reports_db.keys["client"])).get_json()
    assert reopened["status"] == "reopened"
    assert dt.datetime.fromisoformat(reopened["due_at"]) > dt.datetime.now(dt.UTC)
    last = reopened["events"][-1]
    assert last["to_status"] == "reopened" and "hạn xử lý mới" in last["public_note"]
    overdue = client.get("/v1/reports", query_string={"overdue": "true", "q": "kiet 58"}).get_json()
    assert stored["id"] not in {r["id"] for r in overdue["reports"]}
    # A second resolution may be rated again; the agency reopening sets a deadline too.
    move(client, url, own, "in_progress", "resolved")
    assert client.post(url + "/rating", json={"satisfaction": 5, "reporter_token": token},
                       headers=headers(reports_db.keys["client"])).status_code == 200
    with reports_db.engine.connect() as conn:
        ratings = conn.execute(select(report_rating.c.resolution, report_rating.c.satisfaction)
                               .join(report).where(report.c.public_id == stored["id"])
                               .order_by(report_rating.c.resolution)).all()
    assert [tuple(row) for row in ratings] == [(1, 1), (2, 5)]


def test_an_agency_reopening_sets_a_new_deadline(client: FlaskClient,
                                                 reports_db: ReportsDB) -> None:
    url, own, _, stored = _resolved(client, reports_db)
    with reports_db.engine.begin() as conn:
        conn.execute(update(report).where(report.c.public_id == stored["id"])
                     .values(due_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)))
    reopened = move(client, url, own, "reopened", internal_note="làm lại").get_json()
    assert dt.datetime.fromisoformat(reopened["due_at"]) > dt.datetime.now(dt.UTC)
    staff = client.get(url + "/events", headers=headers(own)).get_json()["events"][-1]
    assert "new deadline" in staff["internal_note"] and "làm lại" in staff["internal_note"]


def test_imported_ratings_are_kept(client: FlaskClient, reports_db: ReportsDB) -> None:
    url, _, token, stored = _resolved(client, reports_db)
    with reports_db.engine.begin() as conn:  # as the importer stores a rated report
        conn.execute(update(report).where(report.c.public_id == stored["id"])
                     .values(satisfaction=3))
    problem(client.post(url + "/rating", json={"satisfaction": 5, "reporter_token": token},
                        headers=headers(reports_db.keys["client"])), 409, "satisfaction")
    assert client.get(url).get_json()["satisfaction"] == 3


def test_an_open311_reporter_rates_with_its_device_id(client: FlaskClient,
                                                      reports_db: ReportsDB) -> None:
    with reports_db.engine.begin() as conn:
        other = issue_key(conn, name="other-app", role="client").key
    app_key = reports_db.keys["client"]
    form = {"api_key": app_key, "service_code": CATEGORY, "lat": "16.4637",
            "long": "107.5909", "description": "Rác", "device_id": "phone-42"}
    created = client.post("/open311/v2/requests.json", data=urlencode(form), content_type=FORM)
    public_id = created.get_json()[0]["service_request_id"]
    url = f"/v1/reports/{public_id}"
    with reports_db.engine.connect() as conn:
        code = conn.execute(select(agency.c.code).join(report, report.c.agency_id == agency.c.id)
                            .where(report.c.public_id == public_id)).scalar_one()
    move(client, url, agency_key(reports_db, code), "accepted", "assigned", "in_progress",
         "resolved")
    problem(client.post(url + "/rating", json={"satisfaction": 5, "device_id": "phone-42"},
                        headers=headers(other)), 403, "device_id")
    problem(client.post(url + "/rating", json={"satisfaction": 5, "device_id": "phone-43"},
                        headers=headers(app_key)), 403, "device_id")
    rated = client.post(url + "/rating", json={"satisfaction": 5, "device_id": "phone-42"},
                        headers=headers(app_key))
    assert rated.status_code == 200 and rated.get_json()["status"] == "resolved"
