"""HTTP conventions every /v1 operation follows: unknown query parameters and body fields are
400 problems naming them, never silently ignored (issue 18)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.conftest import ReportsDB, problem

UNKNOWN_QUERY = [
    "/v1/reverse?lat=16.4637&lon=107.5905&radius=5",
    "/v1/geocode?q=V%E1%BB%B9%20D%E1%BA%A1&generation=2025",
    "/v1/hotspots?resolution=10",
    "/v1/hotspots/emerging?resolution=10",
    "/v1/coverage?gen=2019",
    "/v1/coverage/summary?gen=2019",
    "/v1/reports?sortby=due_at",
]


@pytest.mark.parametrize("url", UNKNOWN_QUERY)
def test_an_unknown_query_parameter_is_named(client: FlaskClient, url: str) -> None:
    name = url.rsplit("&", 1)[-1].rsplit("?", maxsplit=1)[-1].split("=", maxsplit=1)[0]
    body = problem(client.get(url), 400, name)
    assert name in body["detail"]


def test_an_unknown_body_field_is_named(client: FlaskClient, reports_db: ReportsDB) -> None:
    response = client.post("/v1/reports", json={"category": "roads", "lat": 16.4637,
                                                "lon": 107.5905, "title": "x"},
                           headers={"X-API-Key": reports_db.keys["client"]})
    problem(response, 400, "title")


def test_batch_items_without_an_id_are_answered_by_position(client: FlaskClient) -> None:
    response = client.post("/v1/geocode/batch", json={"items": [
        {"lat": 16.4637, "lon": 107.5905}, {"id": "b", "q": "Vỹ Dạ, Huế"}, {"q": 5}]})
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert [(r["position"], r["id"], r["kind"]) for r in results] == [
        (0, None, "reverse"), (1, "b", "forward"), (2, None, None)]
    assert results[2]["error"]["field"] == "items[2].q"


@pytest.mark.parametrize(("body", "field"), [
    ({"items": [], "generaton": "2019"}, "generaton"),
])
def test_an_unknown_batch_field_is_named(client: FlaskClient, body: dict[str, object],
                                         field: str) -> None:
    problem(client.post("/v1/geocode/batch", json=body), 400, field)


def test_an_unknown_item_field_is_that_items_error(client: FlaskClient) -> None:
    response = client.post("/v1/geocode/batch", json={"items": [{"q": "Huế", "limit": 3}]})
    assert response.get_json()["results"][0]["error"]["field"] == "items[0].limit"
