"""OGC API – Features on a generated history, through the test client.

The checklist is the OGC CITE abstract test suite of Features Part 1 (ets-ogcapi-features10)
and Part 2 (CRS): each test names the abstract tests it covers. The real clients (GDAL, OWSLib,
QGIS) are in tests/test_ogc_clients.py.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gis_service.db.schema import REPORT_STATUSES, report
from gis_service.ogc.params import MAX_LIMIT
from gis_service.web import create_app
from tests.conftest import HistoryDB, problem

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
# Central Huế (the citadel and both banks of the Hương), lon/lat.
CENTRE = (107.55, 16.43, 107.62, 16.49)


@pytest.fixture(scope="module")
def app(history_db: HistoryDB) -> Flask:
    return create_app(history_db.settings, engine=history_db.engine)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def get_json(client: FlaskClient, url: str, media: str = "application/json") -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    assert response.mimetype == media
    body: dict[str, Any] = json.loads(response.get_data(as_text=True))
    return body


def rels(document: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for link in document["links"]:
        found.setdefault(link["rel"], []).append(link)
    return found


def db_count(history_db: HistoryDB, *conditions: Any) -> int:
    with history_db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(report).where(*conditions))
                   .scalar_one())


def test_landing_page_links_the_parts(client: FlaskClient) -> None:
    """/conf/core/root-op, /conf/core/root-success, /conf/core/http."""
    body = get_json(client, "/ogc")
    links = rels(body)
    for rel in ("self", "service-desc", "conformance", "data"):
        assert rel in links, rel
    assert links["service-desc"][0]["type"].startswith("application/vnd.oai.openapi+json")
    assert all(link["href"].startswith("http://localhost/ogc") for link in body["links"])


def test_api_definition_declares_the_paths_and_the_limit(client: FlaskClient) -> None:
    """/conf/core/api-definition-op, /conf/core/api-definition-success, /conf/oas30/oas-definition-1,
    /conf/oas30/oas-impl (every path the API serves is in the definition),
    /conf/core/fc-limit-definition."""
    response = client.get("/ogc/api")
    assert response.status_code == 200
    assert response.content_type.startswith("application/vnd.oai.openapi+json")
    body = json.loads(response.get_data(as_text=True))
    assert body["openapi"].startswith("3.0")
    for path in ("/", "/conformance", "/collections", "/collections/{collectionId}",
                 "/collections/{collectionId}/items",
                 "/collections/{collectionId}/items/{featureId}"):
        assert path in body["paths"], path
    items = body["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
    limit = next(p for p in items if p["name"] == "limit")["schema"]
    assert limit == {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100}


def test_conformance_lists_core_geojson_oas30_and_crs(client: FlaskClient) -> None:
    """/conf/core/conformance-op, /conf/core/conformance-success."""
    body = get_json(client, "/ogc/conformance")
    conforms = body["conformsTo"]
    assert CORE in conforms
    assert any(uri.endswith("/conf/geojson") for uri in conforms)
    assert any(uri.endswith("/conf/oas30") for uri in conforms)
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conforms


def test_collections_list_communes_reports_and_hot_spots(client: FlaskClient) -> None:
    """/conf/core/fc-md-op, /conf/core/fc-md-success, /conf/core/fc-md-links,
    /conf/core/fc-md-items, /conf/core/fc-md-items-links, /conf/core/fc-md-extent,
    /conf/crs/fc-md-crs-list, /conf/crs/fc-md-storageCrs."""
    body = get_json(client, "/ogc/collections")
    assert "self" in rels(body)
    by_id = {c["id"]: c for c in body["collections"]}
    assert {"communes-2025", "communes-2019", "reports", "hotspots-r8", "hotspots-r9"} <= set(by_id)
    for found in by_id.values():
        assert found["itemType"] == "feature"
        items = [link for link in found["links"] if link["rel"] == "items"]
        assert any(link["type"] == "application/geo+json" for link in items)
        assert found["storageCrs"] == CRS84 and CRS84 in found["crs"]
        x1, y1, x2, y2 = found["extent"]["spatial"]["bbox"][0]
        assert 106.9 < x1 < x2 < 108.5 and 15.8 < y1 < y2 < 17.0, found["id"]
    assert by_id["communes-2019"]["extent"]["temporal"]["interval"] == [["2019-04-01", "2025-06-30"]]
    start, end = by_id["reports"]["extent"]["temporal"]["interval"][0]
    assert dt.datetime.fromisoformat(start) < dt.datetime.fromisoformat(end)


def test_one_collection_and_a_404_for_an_unknown_one(client: FlaskClient) -> None:
    """/conf/core/sfc-md-op, /conf/core/sfc-md-success."""
    body = get_json(client, "/ogc/collections/reports")
    assert body["id"] == "reports" and "self" in rels(body)
    problem(client.get("/ogc/collections/nowhere"), 404, "collectionId")
    problem(client.get("/ogc/collections/nowhere/items"), 404, "collectionId")


def test_items_page_through_every_report(client: FlaskClient, history_db: HistoryDB) -> None:
    """/conf/core/fc-op, /conf/core/fc-response, /conf/core/fc-links, /conf/core/fc-timeStamp,
    /conf/core/fc-numberMatched, /conf/core/fc-numberReturned, /conf/core/fc-limit-response,
    /conf/geojson/content."""
    total = db_count(history_db)
    body = get_json(client, "/ogc/collections/reports/items?limit=5000", "application/geo+json")
    assert body["type"] == "FeatureCollection" and body["numberMatched"] == total
    seen = 0
    while True:
        assert body["numberReturned"] == len(body["features"]) <= 5000
        seen += body["numberReturned"]
        assert body["timeStamp"].endswith("Z")
        links = rels(body)
        assert "self" in links and links["collection"]
        if "next" not in links:
            break
        body = get_json(client, links["next"][0]["href"].removeprefix("http://localhost"),
                        "application/geo+json")
        assert "prev" in rels(body)
    assert seen == total


def test_report_features_are_public_and_rounded(client: FlaskClient) -> None:
    """/conf/geojson/definition; the project's privacy rule (no contact, no free text, 4
    decimals)."""
    body = get_json(client, "/ogc/collections/reports/items?limit=200", "application/geo+json")
    for feature in body["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert feature["geometry"]["type"] == "Point"
        assert round(lon, 4) == pytest.approx(lon, abs=1e-9)
        assert round(lat, 4) == pytest.approx(lat, abs=1e-9)
        properties = feature["properties"]
        assert properties["description"] is None
        assert not {"reporter", "phone", "email", "name", "address"} & set(properties)
    one = body["features"][0]
    again = get_json(client, f"/ogc/collections/reports/items/{one['id']}", "application/geo+json")
    assert again["geometry"] == one["geometry"] and again["properties"] == one["properties"]
    problem(client.get("/ogc/collections/reports/items/NOPE-1"), 404, "featureId")


def _bbox_count(history_db: HistoryDB, box: tuple[float, float, float, float]) -> int:
    envelope = func.ST_MakeEnvelope(*box, 4326)
    return db_count(history_db, func.ST_Intersects(report.c.geom, envelope))


def test_bbox_in_every_crs_picks_the_same_reports(client: FlaskClient,
                                                   history_db: HistoryDB) -> None:
    """/conf/core/fc-bbox-definition, /conf/core/fc-bbox-response, /conf/crs/bbox-crs-parameter,
    /conf/crs/bbox-crs-parameter-default (CRS84), EPSG:4326 read latitude first."""
    expected = _bbox_count(history_db, CENTRE)
    assert 0 < expected < db_count(history_db)
    x1, y1, x2, y2 = CENTRE
    base = "/ogc/collections/reports/items?limit=1"
    for query in (f"bbox={x1},{y1},{x2},{y2}",
                  f"bbox={x1},{y1},{x2},{y2}&bbox-crs={CRS84}",
                  f"bbox={y1},{x1},{y2},{x2}&bbox-crs={EPSG}4326",
                  f"bbox={x1},{y1},0,{x2},{y2},100"):
        assert get_json(client, f"{base}&{query}", "application/geo+json")["numberMatched"] == \
            expected, query
    # The same box in metres (Web Mercator, VN-2000 TM-3 107°): its corners moved, so only
    # about the same reports.
    from pyproj import Transformer  # noqa: PLC0415

    for code in (3857, 9214):
        move = Transformer.from_crs(4326, code, always_xy=True)
        (a, b), (c, d) = move.transform(x1, y1), move.transform(x2, y2)
        found = get_json(client, f"{base}&bbox={a},{b},{c},{d}&bbox-crs={EPSG}{code}",
                         "application/geo+json")["numberMatched"]
        assert found == pytest.approx(expected, rel=0.02), code


def test_crs_transforms_and_orders_the_axes(client: FlaskClient) -> None:
    """/conf/crs/crs-parameter, /conf/crs/crs-parameter-default, /conf/crs/content-crs-header,
    /conf/crs/ogc-crs-header-feature: EPSG:4326 latitude first, metres in 3857 and 9214."""
    url = "/ogc/collections/reports/items?limit=1"
    plain = client.get(url)
    assert plain.headers["Content-Crs"] == f"<{CRS84}>"
    lon, lat = json.loads(plain.get_data())["features"][0]["geometry"]["coordinates"]
    flipped = client.get(f"{url}&crs={EPSG}4326")
    assert flipped.headers["Content-Crs"] == f"<{EPSG}4326>"
    assert json.loads(flipped.get_data())["features"][0]["geometry"]["coordinates"] == \
        pytest.approx([lat, lon])
    from pyproj import Transformer  # noqa: PLC0415

    for code in (3857, 9214):
        body = json.loads(client.get(f"{url}&crs={EPSG}{code}").get_data())
        expected = Transformer.from_crs(4326, code, always_xy=True).transform(lon, lat)
        assert body["features"][0]["geometry"]["coordinates"] == pytest.approx(expected, abs=0.05)
    problem(client.get(f"{url}&crs=EPSG:99999"), 400, "crs")
    problem(client.get(f"{url}&bbox=1,2,3,4&bbox-crs=urn:nope"), 400, "bbox-crs")


def test_datetime_instants_and_intervals(client: FlaskClient, history_db: HistoryDB) -> None:
    """/conf/core/fc-time-definition, /conf/core/fc-time-response: intervals with open ends,
    dates as days in Huế."""
    hue = dt.timezone(dt.timedelta(hours=7))
    start = dt.datetime(2025, 3, 1, tzinfo=hue)
    end = dt.datetime(2025, 4, 1, tzinfo=hue) - dt.timedelta(microseconds=1)
    cases = {
        "2025-03-01/2025-03-31": (report.c.created_at >= start, report.c.created_at <= end),
        "2025-03-01T00:00:00+07:00/..": (report.c.created_at >= start,),
        "../2025-03-31": (report.c.created_at <= end,),
        "/2025-03-31": (report.c.created_at <= end,),
        "2025-03-01": (report.c.created_at >= start,
                       report.c.created_at < start + dt.timedelta(days=1)),
    }
    for value, conditions in cases.items():
        body = get_json(client, f"/ogc/collections/reports/items?limit=1&datetime={quote(value)}",
                        "application/geo+json")
        assert body["numberMatched"] == db_count(history_db, *conditions) > 0, value


def test_property_filters(client: FlaskClient, history_db: HistoryDB) -> None:
    """Collection property filters (Part 1, 7.15.8 parameters for filtering on properties)."""
    body = get_json(client, "/ogc/collections/reports/items?limit=1&status=resolved,closed",
                    "application/geo+json")
    assert body["numberMatched"] == db_count(history_db, report.c.status.in_(["resolved", "closed"]))
    problem(client.get("/ogc/collections/reports/items?status=lost"), 400, "status")
    problem(client.get("/ogc/collections/reports/items?category=nope"), 400, "category")
    assert "duplicate" in REPORT_STATUSES


@pytest.mark.parametrize(("query", "field"), [
    ("bbbox=1,2,3,4", "bbbox"),
    ("limit=0", "limit"), (f"limit={MAX_LIMIT + 1}", "limit"), ("limit=ten", "limit"),
    ("offset=-1", "offset"),
    ("bbox=1,2,3", "bbox"), ("bbox=3,2,1,4", "bbox"), ("bbox=1,2,nan,4", "bbox"),
    ("bbox=107,95,108,96", "bbox"),
    ("datetime=yesterday", "datetime"), ("datetime=2025-01-01T00:00:00", "datetime"),
    ("datetime=../..", "datetime"), ("datetime=2025-02-01/2025-01-01", "datetime"),
    ("f=xml", "f"), ("limit=1&limit=2", "limit"),
])
def test_bad_or_unknown_parameters_are_400s_naming_them(client: FlaskClient, query: str,
                                                         field: str) -> None:
    """/conf/core/query-param-unknown, /conf/core/query-param-invalid."""
    problem(client.get(f"/ogc/collections/reports/items?{query}"), 400, field)


def test_unknown_parameters_on_every_resource(client: FlaskClient) -> None:
    """/conf/core/query-param-unknown on the landing page, conformance, collections, a feature."""
    for url in ("/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/reports",
                "/ogc/api", "/ogc/collections/communes-2025/items/x"):
        problem(client.get(f"{url}?foo=1"), 400, "foo")


def test_communes_of_each_generation(client: FlaskClient, history_db: HistoryDB) -> None:
    """/conf/core/f-op, /conf/core/f-success, /conf/core/f-links on communes; datetime against
    the generation's validity."""
    body = get_json(client, "/ogc/collections/communes-2025/items?limit=100",
                    "application/geo+json")
    assert body["numberMatched"] == body["numberReturned"] == 40
    code = body["features"][0]["id"]
    one = get_json(client, f"/ogc/collections/communes-2025/items/{code}", "application/geo+json")
    assert one["properties"]["code"] == code and one["geometry"]["type"] == "MultiPolygon"
    assert {"self", "collection"} <= set(rels(one))
    old = get_json(client, "/ogc/collections/communes-2019/items?limit=1&datetime=2025-07-01/..",
                   "application/geo+json")
    assert old["numberMatched"] == 0
    old = get_json(client, "/ogc/collections/communes-2019/items?limit=1&datetime=2020-01-01",
                   "application/geo+json")
    assert old["numberMatched"] == 152


def test_hot_spot_cells(client: FlaskClient, history_db: HistoryDB) -> None:
    """Hot spot cells at res 8 with count, z and class; the class filter; a cell by id."""
    body = get_json(client, "/ogc/collections/hotspots-r8/items?limit=10000",
                    "application/geo+json")
    assert body["numberMatched"] == body["numberReturned"] > 100
    assert sum(f["properties"]["count"] for f in body["features"]) == db_count(history_db)
    hot = get_json(client, "/ogc/collections/hotspots-r8/items?limit=10000&class=hot_99",
                   "application/geo+json")
    assert 0 < hot["numberMatched"] < body["numberMatched"]
    assert all(f["properties"]["class"] == "hot_99" for f in hot["features"])
    cell = hot["features"][0]
    again = get_json(client, f"/ogc/collections/hotspots-r8/items/{cell['id']}",
                     "application/geo+json")
    assert again["properties"] == cell["properties"]


def test_html_pages(client: FlaskClient) -> None:
    """/conf/html/content: the landing page, collections and items as HTML (f=html or a
    browser's Accept header)."""
    for url in ("/ogc?f=html", "/ogc/collections?f=html",
                "/ogc/collections/communes-2025/items?f=html&limit=3"):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "text/html", url
        assert "<h1>" in response.get_data(as_text=True)
    browser = client.get("/ogc/collections", headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.mimetype == "text/html"
    assert client.get("/ogc/collections", headers={"Accept": "application/json"}).mimetype == \
        "application/json"
