"""Notifications through the API: intake and moves write outbox rows with their transaction
(a rolled-back intake none), and each agency's delivery log, for its key and admins only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from gis_service.auth import issue_key
from gis_service.coords import LonLat
from gis_service.db.schema import agency, agency_channel, notification
from gis_service.geocode import IndexCache
from gis_service.notify.channel_config import ChannelSpec
from gis_service.notify.channels import store_channels
from gis_service.reports.intake import NewReport, submit
from tests.conftest import ReportsDB, problem

# Away from the points other modules submit to on the shared reports_db (their duplicate
# lists count open reports of a category within 250 m).
PLACE = {"lat": 16.3921, "lon": 107.7043}
NEW = {"category": "roads", "channel": "app", "description": "Ổ gà giữa đường, kiệt 58",
       **PLACE, "reporter": {"phone": "0905111222"}}


def _headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def _notifications(reports_db: ReportsDB) -> int:
    with reports_db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(notification)).scalar_one())


@pytest.fixture
def routed_agency(client: FlaskClient, reports_db: ReportsDB) -> Iterator[str]:
    """The agency PLACE's road reports go to, with an e-mail channel (removed after)."""
    first = client.post("/v1/reports", json=NEW, headers=_headers(reports_db.keys["client"]))
    code: str = first.get_json()["report"]["agency"]["code"]
    with reports_db.engine.begin() as conn:
        agency_id = conn.execute(select(agency.c.id).where(agency.c.code == code)).scalar_one()
        store_channels(conn, {code: [ChannelSpec("email", "tiepnhan@example.vn")]}, {code: agency_id})
    yield code
    with reports_db.engine.begin() as conn:
        conn.execute(delete(notification))
        conn.execute(delete(agency_channel))


def _key(reports_db: ReportsDB, role: str, agency_code: str | None = None) -> str:
    with reports_db.engine.begin() as conn:
        return issue_key(conn, name=f"notify-{role}", role=role, agency_code=agency_code).key


def _submit(client: FlaskClient, reports_db: ReportsDB) -> dict[str, Any]:
    response = client.post("/v1/reports", json=NEW, headers=_headers(reports_db.keys["client"]))
    assert response.status_code == 201, response.get_json()
    report: dict[str, Any] = response.get_json()["report"]
    return report


def test_intake_and_moves_write_outbox_rows(client: FlaskClient, reports_db: ReportsDB,
                                            routed_agency: str) -> None:
    before = _notifications(reports_db)
    stored = _submit(client, reports_db)
    assert _notifications(reports_db) == before + 1  # routed
    admin = _headers(reports_db.keys["admin"])
    for status in ("accepted", "assigned"):
        moved = client.patch(f"/v1/reports/{stored['id']}", json={"status": status}, headers=admin)
        assert moved.status_code == 200, moved.get_json()
    assert _notifications(reports_db) == before + 2  # and assigned; accepted notifies nobody


def test_a_rolled_back_intake_leaves_no_outbox_row(reports_db: ReportsDB, routed_agency: str) -> None:
    before = _notifications(reports_db)
    new = NewReport(category="roads", channel="app", description="rolled back",
                    point=LonLat(PLACE["lon"], PLACE["lat"]))
    with reports_db.engine.connect() as conn:
        transaction = conn.begin()
        submit(conn, new, index=IndexCache().get(conn), actor="test", tolerance_m=2000.0)
        inside = conn.execute(select(func.count()).select_from(notification)).scalar_one()
        assert inside == before + 1  # written with the report ...
        transaction.rollback()
    assert _notifications(reports_db) == before  # ... and gone with it


def test_the_delivery_log_is_for_the_agency_and_admins(client: FlaskClient, reports_db: ReportsDB,
                                                       routed_agency: str) -> None:
    _submit(client, reports_db)
    stored = _submit(client, reports_db)
    path = f"/v1/agencies/{routed_agency}/deliveries"
    own = _headers(_key(reports_db, "agency", routed_agency))
    with reports_db.engine.connect() as conn:
        other_code = conn.execute(select(agency.c.code).where(agency.c.code != routed_agency)
                                  .order_by(agency.c.code).limit(1)).scalar_one()
    other = _headers(_key(reports_db, "agency", other_code))
    problem(client.get(path), 401, "api_key")
    problem(client.get(path, headers=_headers(reports_db.keys["client"])), 403, "api_key")
    problem(client.get(path, headers=other), 403, "code")
    problem(client.get("/v1/agencies/no-such-agency/deliveries", headers=own), 404, "code")
    for key in (own, _headers(reports_db.keys["admin"])):
        page = client.get(path, headers=key)
        assert page.status_code == 200, page.get_json()
        body = page.get_json()
        newest = body["deliveries"][0]
        assert (newest["report"], newest["event"], newest["channel"], newest["status"]) == (
            stored["id"], "routed", "email", "pending")
        assert newest["attempts"] == 0 and newest["last_error"] is None
        assert newest["next_attempt_at"] and newest["delivered_at"] is None
    paged = client.get(path + "?page_size=1", headers=own).get_json()
    assert len(paged["deliveries"]) == 1 and paged["next_page"] == 2
    assert client.get(path + "?status=dead", headers=own).get_json()["deliveries"] == []


@pytest.mark.parametrize(("query", "field"), [
    ("status=lost", "status"), ("page=0", "page"), ("page_size=501", "page_size"),
    ("page_size=abc", "page_size"),
])
def test_bad_log_parameters_are_400_naming_them(client: FlaskClient, reports_db: ReportsDB,
                                                query: str, field: str) -> None:
    response = client.get(f"/v1/agencies/ubnd-hue/deliveries?{query}",
                          headers=_headers(reports_db.keys["admin"]))
    problem(response, 400, field)


def test_the_log_is_in_the_openapi_document(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    operation = document["paths"]["/v1/agencies/{code}/deliveries"]["get"]
    assert {"200", "401", "403", "404"} <= set(operation["responses"])
