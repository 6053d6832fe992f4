"""Report intake and lifecycle through the HTTP API (a database of its own: the API commits)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gis_service.auth import issue_key, revoke_key
from gis_service.db.schema import (
    agency,
    api_key,
    api_key_usage,
    idempotency_key,
)
from tests.conftest import ReportsDB, row_counts

VY_DA = {"lat": 16.4779, "lon": 107.611}
NEW = {"category": "sanitation", "channel": "app", "description": "Rác thải ùn ứ đầu kiệt",
       **VY_DA, "reporter": {"name": "Nguyễn Văn A", "phone": "0900000001",
                             "email": "resident+1@example.invalid"}}


def headers(key: str, **extra: str) -> dict[str, str]:
    return {"X-API-Key": key, **extra}


def counts(reports_db: ReportsDB) -> tuple[int, ...]:
    """Reports, events and contacts stored."""
    return row_counts(reports_db.engine)[:3]


def agency_key(reports_db: ReportsDB, agency_code: str) -> str:
    with reports_db.engine.begin() as conn:
        return issue_key(conn, name=f"agency-{agency_code}", role="agency",
                         agency_code=agency_code).key


def submit(client: FlaskClient, reports_db: ReportsDB, body: dict[str, Any] | None = None,
           **extra: str) -> Any:
    return client.post("/v1/reports", json=body or NEW,
                       headers=headers(reports_db.keys["client"], **extra))


def test_submit_stores_the_report_routes_it_and_hides_the_reporter(
        client: FlaskClient, reports_db: ReportsDB) -> None:
    before = counts(reports_db)
    response = submit(client, reports_db)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    stored = body["report"]
    assert stored["id"].startswith("PA-") and response.headers["Location"].endswith(stored["id"])
    assert stored["status"] == "received"
    assert stored["current_units"]["commune"]["code"] == "19777"
    assert stored["units"]["generation"] == stored["current_units"]["generation"] == "2025"
    assert stored["agency"]["code"] and stored["due_at"] > stored["created_at"]
    assert "reporter" not in stored and "0900000001" not in response.get_data(as_text=True)
    assert isinstance(body["duplicates"], list)
    assert counts(reports_db) == (before[0] + 1, before[1] + 2, before[2] + 1)


def test_a_second_nearby_report_lists_the_first_as_a_possible_duplicate(
        client: FlaskClient, reports_db: ReportsDB) -> None:
    first = submit(client, reports_db).get_json()["report"]["id"]
    nearby = {**NEW, "lat": VY_DA["lat"] + 0.0005}  # about 55 m north
    duplicates = submit(client, reports_db, nearby).get_json()["duplicates"]
    assert first in [d["id"] for d in duplicates]
    assert all(d["distance_m"] <= 250 for d in duplicates)
    assert [d["distance_m"] for d in duplicates] == sorted(d["distance_m"] for d in duplicates)


def test_an_address_only_report_is_geocoded_to_its_ward(client: FlaskClient,
                                                         reports_db: ReportsDB) -> None:
    body = {"category": "roads", "channel": "hotline", "address": "Kiệt 5 Nguyễn Sinh Cung, P. Vỹ Dạ, TP Huế"}
    stored = submit(client, reports_db, body).get_json()["report"]
    assert stored["location"]["source"] == "geocoded"
    assert stored["location"]["precision"] == "commune"
    assert stored["current_units"]["commune"]["code"] == "19777"


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"category": "no-such-thing"}, 422, "category"),
        ({"description": "x" * 4001}, 400, "description"),  # wrong as written: 400 (README)
        ({"lat": 21.0278, "lon": 105.8342}, 422, "lat"),  # Hà Nội: outside the service area
        ({"lat": None, "lon": None, "address": "qwertyuiop zxcvb"}, 422, "address"),
        ({"lat": "16.47"}, 400, "lat"),
        ({"lat": float("nan")}, 400, None),  # not even valid JSON for the server
        ({"category": 7}, 400, "category"),
        ({"media_urls": ["javascript:alert(1)"]}, 400, "media_urls"),
        ({"reporter": "me"}, 400, "reporter"),
    ],
)
def test_bad_reports_are_refused_and_leave_nothing(
        client: FlaskClient, reports_db: ReportsDB, change: dict[str, Any], status: int,
        field: str | None) -> None:
    body = {**NEW, **change}
    body = {key: value for key, value in body.items() if value is not None}
    before = counts(reports_db)
    response = submit(client, reports_db, body)
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    if field is not None:
        assert response.get_json()["field"] == field
    assert counts(reports_db) == before


def test_write_endpoints_need_a_valid_key(client: FlaskClient, reports_db: ReportsDB) -> None:
    before = counts(reports_db)
    assert client.post("/v1/reports", json=NEW).status_code == 401
    assert client.post("/v1/reports", json=NEW, headers=headers("gis_nope_nope")).status_code == 401
    with reports_db.engine.begin() as conn:
        revoked = issue_key(conn, name="revoked", role="client")
        revoke_key(conn, revoked.prefix)
    assert client.post("/v1/reports", json=NEW, headers=headers(revoked.key)).status_code == 401
    assert counts(reports_db) == before


def test_idempotency_key_replays_the_first_response(client: FlaskClient,
                                                    reports_db: ReportsDB) -> None:
    before = counts(reports_db)
    first = submit(client, reports_db, **{"Idempotency-Key": "retry-1"})
    again = submit(client, reports_db, **{"Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert counts(reports_db)[0] == before[0] + 1
    different = submit(client, reports_db, {**NEW, "description": "khác"},
                       **{"Idempotency-Key": "retry-1"})
    assert different.status_code == 409


def test_concurrent_retries_with_one_key_create_one_report(app: Flask,
                                                           reports_db: ReportsDB) -> None:
    before = counts(reports_db)[0]
    statuses: list[int] = []

    def post() -> None:
        with app.test_client() as client:
            statuses.append(submit(client, reports_db, **{"Idempotency-Key": "race-1"}).status_code)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 6
    assert counts(reports_db)[0] == before + 1
    with reports_db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(idempotency_key)
                            .where(idempotency_key.c.key == "race-1")).scalar_one() == 1


def test_lifecycle_through_the_api(client: FlaskClient, reports_db: ReportsDB) -> None:
    stored = submit(client, reports_db).get_json()["report"]
    own = agency_key(reports_db, stored["agency"]["code"])
    with reports_db.engine.connect() as conn:
        other_code = conn.execute(select(agency.c.code).where(
            agency.c.code != stored["agency"]["code"]).limit(1)).scalar_one()
    other = agency_key(reports_db, other_code)
    url = f"/v1/reports/{stored['id']}"

    assert client.patch(url, json={"status": "accepted"}, headers=headers(other)).status_code == 403
    assert client.patch(url, json={"status": "accepted"},
                        headers=headers(reports_db.keys["client"])).status_code == 403
    assert client.patch(url, json={"status": "resolved"}, headers=headers(own)).status_code == 409
    for status in ("accepted", "assigned", "in_progress", "resolved"):
        moved = client.patch(url, json={"status": status, "note": "ok"}, headers=headers(own))
        assert moved.status_code == 200 and moved.get_json()["status"] == status
    # The report's own agency sees the reporter; the public does not.
    assert client.get(url, headers=headers(own)).get_json()["reporter"]["phone"] == "0900000001"
    assert "reporter" not in client.get(url).get_json()
    assert "reporter" not in client.get(url, headers=headers(other)).get_json()

    unhappy = client.post(url + "/rating", json={"satisfaction": 1},
                          headers=headers(reports_db.keys["client"]))
    assert unhappy.status_code == 200 and unhappy.get_json()["status"] == "reopened"
    assert client.post(url + "/rating", json={"satisfaction": 9},
                       headers=headers(reports_db.keys["client"])).status_code == 400


def test_list_filters_and_pages(client: FlaskClient, reports_db: ReportsDB) -> None:
    submit(client, reports_db, {**NEW, "category": "trees"})
    page = client.get("/v1/reports", query_string={"category": "trees", "unit": "19777",
                                                   "page_size": 1}).get_json()
    assert page["reports"] and all(r["category"] == "trees" for r in page["reports"])
    boxed = client.get("/v1/reports", query_string={"bbox": "107.60,16.47,107.62,16.49"}).get_json()
    assert boxed["reports"]
    for r in boxed["reports"]:
        assert 107.60 <= r["location"]["lon"] <= 107.62 and "reporter" not in r
    for bad in ({"bbox": "1,2,3"}, {"page_size": 0}, {"status": "lost"},
                {"from": "2026-01-02T00:00:00+07:00", "to": "2026-01-01T00:00:00+07:00"}):
        assert client.get("/v1/reports", query_string=bad).status_code == 400


def _windows_used(reports_db: ReportsDB, key: str) -> int:
    prefix = key.split("_")[1]
    with reports_db.engine.connect() as conn:
        return int(conn.execute(
            select(func.count()).select_from(api_key_usage.join(api_key))
            .where(api_key.c.prefix == prefix)).scalar_one())


def test_per_key_rate_limit_answers_429_with_retry_after(client: FlaskClient,
                                                         reports_db: ReportsDB) -> None:
    for _attempt in range(3):
        with reports_db.engine.begin() as conn:
            limited = issue_key(conn, name="limited", role="client", rate_limit_per_minute=3).key
        statuses = [client.get("/v1/reports", query_string={"page_size": 1},
                               headers=headers(limited)).status_code for _ in range(5)]
        refused = client.post("/v1/reports", json=NEW, headers=headers(limited))
        if _windows_used(reports_db, limited) == 1:  # not split by the turn of a minute
            break
    assert statuses == [200, 200, 200, 429, 429]
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 61
