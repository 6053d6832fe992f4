"""The HTTP API through Flask's test client, against the session database with Huế loaded."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gis_service.db.schema import admin_unit, generation
from gis_service.web import create_app
from tests.conftest import HueDB, problem

VY_DA = {"lat": 16.4779, "lon": 107.611}


@pytest.fixture(scope="module")
def app(hue_db: HueDB) -> Flask:
    return create_app(hue_db.settings, engine=hue_db.engine)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def test_health(client: FlaskClient) -> None:
    body = client.get("/healthz").get_json()
    assert 0 <= body.pop("checked_s_ago") <= 1.0  # a cached answer is at most a second old
    assert body == {"status": "ok", "database": "ok", "active_generation": "2025"}


def test_openapi_document_is_generated_and_docs_work_offline(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/v1/reverse", "/v1/geocode", "/v1/geocode/batch", "/healthz"} <= set(spec["paths"])
    reverse_params = {p["name"] for p in spec["paths"]["/v1/reverse"]["get"]["parameters"]}
    assert {"lat", "lon", "generation", "at", "format"} <= reverse_params
    page = client.get("/docs").get_data(as_text=True)
    assert "/assets/swagger-ui/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    asset = client.get("/assets/swagger-ui/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000


def test_reverse_inside_a_2025_ward(client: FlaskClient) -> None:
    body = client.get("/v1/reverse", query_string=VY_DA).get_json()
    assert body["query"] == VY_DA
    assert (body["generation"], body["match"], body["distance_m"]) == ("2025", "inside", 0.0)
    assert body["units"]["commune"]["code"] == "19777"
    assert body["units"]["commune"]["name"] == "Phường Vỹ Dạ"
    assert body["units"]["commune"]["setting"] == "urban"
    assert body["units"]["province"]["code"] == "46"
    assert "district" not in body["units"]  # two-level generation


def test_reverse_by_generation_and_date(client: FlaskClient) -> None:
    old = client.get("/v1/reverse", query_string={**VY_DA, "generation": "2019"}).get_json()
    dated = client.get("/v1/reverse", query_string={**VY_DA, "at": "2024-05-01"}).get_json()
    assert old == dated
    assert old["generation"] == "2019"
    # The 2025 ward Vỹ Dạ absorbed Xã Thủy Vân of Hương Thủy, where this point lay in 2019.
    assert old["units"]["commune"]["code"] == "19963"
    assert old["units"]["district"]["code"] == "479"
    assert old["units"]["province"]["code"] == "46"


def test_reverse_offshore_and_far_away(client: FlaskClient) -> None:
    # In the sea 1 km off Thuận An: nearest commune, distance in metres.
    near = client.get("/v1/reverse", query_string={"lat": 16.575, "lon": 107.635}).get_json()
    assert near["match"] == "nearest" and 0 < near["distance_m"] <= 2000
    far = client.get("/v1/reverse", query_string={"lat": 21.0278, "lon": 105.8342})
    assert far.status_code == 200
    assert far.get_json()["match"] == "outside" and far.get_json()["units"] == {}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"lon": 107.6}, "lat"),
        ({"lat": "abc", "lon": 107.6}, "lat"),
        ({"lat": "nan", "lon": 107.6}, "lat"),
        ({"lat": 16.4, "lon": "inf"}, "lon"),
        ({"lat": 95, "lon": 107.6}, "lat"),
        ({"lat": 107.6, "lon": 16.4}, "lat"),  # swapped
        ({"lat": 16.4, "lon": 181}, "lon"),
        ({**VY_DA, "generation": "2025", "at": "2025-08-01"}, "at"),
        ({**VY_DA, "at": "2025-13-01"}, "at"),
        ({**VY_DA, "format": "kml"}, "format"),
    ],
)
def test_reverse_bad_input_is_a_400_naming_the_field(
    client: FlaskClient, query: dict[str, object], field: str
) -> None:
    problem(client.get("/v1/reverse", query_string=query), 400, field)


def test_reverse_unknown_generation_is_404(client: FlaskClient) -> None:
    problem(client.get("/v1/reverse", query_string={**VY_DA, "generation": "1975"}), 404, "generation")
    problem(client.get("/v1/reverse", query_string={**VY_DA, "at": "1990-01-01"}), 404, "at")


def test_reverse_geojson(client: FlaskClient) -> None:
    response = client.get("/v1/reverse", query_string={**VY_DA, "format": "geojson"})
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    (feature,) = body["features"]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert feature["properties"]["units"]["commune"]["code"] == "19777"


def test_reverse_flags_a_point_near_a_boundary(client: FlaskClient, hue_db: HueDB) -> None:
    # A point 10 m inside Vỹ Dạ from its border with a neighbour, found in the database.
    with hue_db.engine.connect() as conn:
        lon, lat = conn.execute(select(
            func.ST_X(func.ST_PointN(func.ST_ExteriorRing(func.ST_GeometryN(admin_unit.c.geom, 1)), 1)),
            func.ST_Y(func.ST_PointN(func.ST_ExteriorRing(func.ST_GeometryN(admin_unit.c.geom, 1)), 1)),
        ).join(generation, generation.c.id == admin_unit.c.generation_id)
         .where(generation.c.code == "2025", admin_unit.c.code == "19777")).one()
    body = client.get("/v1/reverse", query_string={"lat": lat, "lon": lon}).get_json()
    assert body["near_boundary"] is not None
    assert body["near_boundary"]["distance_m"] <= 50
    assert body["near_boundary"]["unit"]["code"] != body["units"].get("commune", {}).get("code")


def test_reverse_returns_every_unit_at_its_representative_point(client: FlaskClient,
                                                               hue_db: HueDB) -> None:
    with hue_db.engine.connect() as conn:
        rows = conn.execute(
            select(generation.c.code, admin_unit.c.level, admin_unit.c.code,
                   func.ST_X(admin_unit.c.label_point), func.ST_Y(admin_unit.c.label_point))
            .join(generation, generation.c.id == admin_unit.c.generation_id)
            .where(generation.c.code.in_(["2019", "2025"]), admin_unit.c.level == "commune")
        ).all()
    assert len(rows) == 152 + 40
    wrong = []
    for gen, level, code, lon, lat in rows:
        body = client.get("/v1/reverse", query_string={"lat": lat, "lon": lon, "generation": gen})
        if body.get_json()["units"].get(level, {}).get("code") != code:
            wrong.append((gen, code))
    assert wrong == []


def test_forward_geocode(client: FlaskClient) -> None:
    body = client.get("/v1/geocode", query_string={"q": "12 Lê Lợi, P. Vĩnh Ninh, TP Huế"}).get_json()
    top = body["results"][0]
    assert top["unit"]["name"] == "Phường Vĩnh Ninh"
    assert top["street"] == "12 Lê Lợi"
    assert top["current"]["commune"]["code"] == "19789"  # Vĩnh Ninh is in Thuận Hóa since 2025
    assert 0 < top["confidence"] <= 1 and math.isfinite(top["lat"])
    nothing = client.get("/v1/geocode", query_string={"q": "qwertyuiop asdfgh"})
    assert nothing.status_code == 200 and nothing.get_json() == {"results": [], "ambiguous": False}
    structured = client.get("/v1/geocode", query_string={"commune": "Vỹ Dạ", "province": "Huế"})
    assert structured.get_json()["results"][0]["unit"]["code"] == "19777"


@pytest.mark.parametrize("q", ["", "   ", "x" * 501])
def test_forward_geocode_bad_q(client: FlaskClient, q: str) -> None:
    problem(client.get("/v1/geocode", query_string={"q": q}), 400, "q")


def test_batch_mixes_forward_reverse_and_bad_items(client: FlaskClient) -> None:
    items = [
        {"id": "a", "q": "Phường Vỹ Dạ, Thành phố Huế"},
        {"id": "b", **VY_DA},
        {"id": "c", "lat": "nan", "lon": 107.6},
        {"id": 4, "lat": 21.0278, "lon": 105.8342},
        {"q": "no id"},
        {"id": "f", "q": "x", "lat": 16.4, "lon": 107.6},
    ]
    response = client.post("/v1/geocode/batch", json={"items": items})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["id"] for r in results] == ["a", "b", "c", 4, None, "f"]
    assert results[0]["results"][0]["unit"]["code"] == "19777"
    assert results[1]["result"]["units"]["commune"]["code"] == "19777"
    assert results[2]["error"]["field"] == "items[2].lat"
    assert results[3]["result"]["match"] == "outside"
    # An item without an id is answered by position (issue 18), not refused.
    assert results[4]["position"] == 4 and results[4]["kind"] == "forward"
    assert results[5]["error"]["status"] == 400


def test_batch_answers_reverse_items_in_order(client: FlaskClient) -> None:
    points = [{"id": str(i), "lat": 16.40 + i * 0.001, "lon": 107.55 + i * 0.001} for i in range(300)]
    results = client.post("/v1/geocode/batch", json={"items": points}).get_json()["results"]
    singles = [client.get("/v1/reverse", query_string={"lat": p["lat"], "lon": p["lon"]}).get_json()
               for p in points[::50]]
    assert [r["id"] for r in results] == [p["id"] for p in points]
    assert [r["result"] for r in results[::50]] == singles


def test_batch_limits(client: FlaskClient) -> None:
    too_many = {"items": [{"id": i, **VY_DA} for i in range(10_001)]}
    problem(client.post("/v1/geocode/batch", json=too_many), 413)
    problem(client.post("/v1/geocode/batch", data="{not json", content_type="application/json"), 400)
    problem(client.post("/v1/geocode/batch", json={"things": []}), 400, "things")
    problem(client.post("/v1/geocode/batch", json={}), 400, "items")
    huge = json.dumps({"items": [{"id": "x" * 1000, "q": "y" * 1000}] * 5000})
    problem(client.post("/v1/geocode/batch", data=huge, content_type="application/json"), 413)


def test_unknown_route_is_a_problem_document(client: FlaskClient) -> None:
    problem(client.get("/v1/nothing-here"), 404)
    problem(client.post("/v1/reverse", query_string=VY_DA), 405)
