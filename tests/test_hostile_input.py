"""Hostile and malformed input on every endpoint: a clear 4xx naming the field (or the input
treated as plain data), never a 5xx, and nothing left behind.

SQL injection strings in every text and query parameter, NUL characters, invalid UTF-8, bodies
over the limit, deeply nested JSON, GeoJSON where coordinates are expected (no endpoint takes a
geometry; the bulk importer's GeoJSON files are checked too), coordinates as strings, 1e309,
swapped and out-of-country coordinates, and Open311 forms with repeated keys. The API commits,
so these tests use the ``reports_db`` database; rows are counted before and after.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gis_service.auth import issue_key
from gis_service.db.schema import report, report_event
from gis_service.errors import DataError
from gis_service.reports.importing.importer import import_reports
from gis_service.web.inbound import MAX_DEPTH
from tests.conftest import ReportsDB, nothing_left, problem

INJECTIONS = ("'; DROP TABLE report; --", "1' OR '1'='1")
# Phường Phú Bài: away from where the other API tests report, so their duplicate checks stay theirs.
HERE = {"lat": 16.4003, "lon": 107.7}
NEW = {"category": "street_lights", "channel": "app", "description": "Đèn đường hỏng", **HERE}
FORM = "application/x-www-form-urlencoded"
PROBLEM = "application/problem+json"
TEN_MB = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def key(reports_db: ReportsDB) -> str:
    """A client key of this module's own, with room for all its requests in one minute."""
    with reports_db.engine.begin() as conn:
        return issue_key(conn, name="hostile-client", role="client",
                         rate_limit_per_minute=100_000).key


def open311_error(response: Any, status: int, parameter: str | None = None) -> None:
    """An Open311 error list (JSON) with ``status``, its description naming ``parameter``."""
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/json"
    (error,) = response.get_json()
    assert error["code"] == status
    if parameter is not None:
        assert error["description"].startswith(f"{parameter}: "), error


def post_json(client: FlaskClient, path: str, body: object, key: str, **headers: str) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json",
                       headers={"X-API-Key": key, **headers})


# --- SQL injection in every query and path parameter -------------------------------------------

VY_DA = {"lat": 16.4779, "lon": 107.611}
#: (path, parameters with INJ standing for the injection, status, field named). A 200 must be
#: an empty answer: the string is data that matches nothing, not SQL that matches everything.
QUERY_CASES: list[tuple[str, dict[str, Any], int, str | None]] = [
    ("/v1/reverse", {**VY_DA, "generation": "INJ"}, 404, "generation"),
    ("/v1/reverse", {**VY_DA, "at": "INJ"}, 400, "at"),
    ("/v1/reverse", {**VY_DA, "format": "INJ"}, 400, "format"),
    ("/v1/reverse", {"lat": "INJ", "lon": 107.611}, 400, "lat"),
    ("/v1/reverse", {"lat": 16.4779, "lon": "INJ"}, 400, "lon"),
    ("/v1/geocode", {"q": "INJ"}, 200, None),
    ("/v1/geocode", {"commune": "INJ", "province": "INJ"}, 200, None),
    ("/v1/geocode", {"q": "Vỹ Dạ", "limit": "INJ"}, 400, "limit"),
    ("/v1/reports", {"category": "INJ"}, 200, None),
    ("/v1/reports", {"agency": "INJ"}, 200, None),
    ("/v1/reports", {"unit": "INJ16"}, 200, None),  # unit codes are at most 16 characters
    ("/v1/reports", {"status": "INJ"}, 400, "status"),
    ("/v1/reports", {"bbox": "INJ"}, 400, "bbox"),
    ("/v1/reports", {"from": "INJ"}, 400, "from"),
    ("/v1/reports", {"to": "INJ"}, 400, "to"),
    ("/v1/reports", {"page": "INJ"}, 400, "page"),
    ("/v1/reports", {"page_size": "INJ"}, 400, "page_size"),
    ("/v1/hotspots", {"category": "INJ"}, 400, "category"),
    ("/v1/hotspots", {"channel": "INJ"}, 400, "channel"),
    ("/v1/hotspots", {"status": "INJ"}, 400, "status"),
    ("/v1/hotspots", {"weights": "INJ"}, 400, "weights"),
    ("/v1/hotspots", {"from": "INJ"}, 400, "from"),
    ("/v1/hotspots", {"res": "INJ"}, 400, "res"),
    ("/v1/hotspots/emerging", {"period": "INJ"}, 400, "period"),
    ("/v1/coverage", {"generation": "INJ"}, 404, "generation"),
    ("/v1/coverage", {"category": "INJ"}, 400, "category"),
    ("/v1/coverage", {"attribution": "INJ"}, 400, "attribution"),
    ("/v1/coverage/summary", {"to": "INJ"}, 400, "to"),
    ("/maps/hotspots", {"category": "INJ"}, 400, "category"),
    ("/maps/coverage", {"generation": "INJ"}, 404, "generation"),
    ("/maps/boundaries", {"generation": "INJ"}, 404, "generation"),
]


def _inject(params: dict[str, Any], injection: str) -> dict[str, Any]:
    cut = {"INJ": injection, "INJ16": injection[:16]}
    return {name: cut.get(value, value) if isinstance(value, str) else value
            for name, value in params.items()}


def _empty(path: str, body: dict[str, Any]) -> bool:
    if path == "/v1/geocode":
        return body == {"results": [], "ambiguous": False}
    return bool(body["reports"] == [])


@pytest.mark.parametrize("injection", INJECTIONS)
@pytest.mark.parametrize(("path", "params", "status", "field"), QUERY_CASES)
def test_sql_in_query_parameters_is_data(client: FlaskClient, reports_db: ReportsDB, key: str,
                                         *, injection: str, path: str, params: dict[str, Any],
                                         status: int, field: str | None) -> None:
    with nothing_left(reports_db):
        response = client.get(path, query_string=_inject(params, injection),
                              headers={"X-API-Key": key})
        if status == 200:
            assert response.status_code == 200, response.get_data(as_text=True)
            assert _empty(path, response.get_json())
        else:
            problem(response, status, field)


@pytest.mark.parametrize("injection", INJECTIONS)
def test_sql_in_path_parameters_is_data(client: FlaskClient, reports_db: ReportsDB, key: str,
                                        injection: str) -> None:
    quoted = quote(injection, safe="")
    admin = {"X-API-Key": reports_db.keys["admin"]}
    with nothing_left(reports_db):
        problem(client.get(f"/v1/reports/{quoted}"), 404, "id")
        problem(client.patch(f"/v1/reports/{quoted}", json={"status": "accepted"}, headers=admin),
                404, "id")
        problem(client.post(f"/v1/reports/{quoted}/rating", json={"satisfaction": 5},
                            headers={"X-API-Key": key}), 404, "id")
        for path, parameter in (("services", "service_code"), ("requests", "service_request_id"),
                                ("tokens", "token")):
            open311_error(client.get(f"/open311/v2/{path}/{quoted}.json"), 404, parameter)


@pytest.mark.parametrize("injection", INJECTIONS)
def test_sql_in_open311_filters_is_data(client: FlaskClient, reports_db: ReportsDB,
                                        injection: str) -> None:
    with nothing_left(reports_db):
        for name in ("service_code", "service_request_id"):
            found = client.get("/open311/v2/requests.json", query_string={name: injection})
            assert found.status_code == 200 and found.get_json() == []
        for name in ("status", "start_date", "end_date"):
            open311_error(client.get("/open311/v2/requests.json", query_string={name: injection}),
                          400, name)


# --- SQL injection in bodies --------------------------------------------------------------------


@pytest.mark.parametrize("injection", INJECTIONS)
@pytest.mark.parametrize(("name", "status"), [("category", 422), ("channel", 400),
                                              ("location_source", 400)])
def test_sql_in_report_codes_is_refused(client: FlaskClient, reports_db: ReportsDB, key: str,
                                        *, injection: str, name: str, status: int) -> None:
    with nothing_left(reports_db):
        problem(post_json(client, "/v1/reports", {**NEW, name: injection}, key), status, name)


@pytest.mark.parametrize("injection", INJECTIONS)
def test_sql_in_report_text_is_stored_verbatim(client: FlaskClient, reports_db: ReportsDB,
                                               key: str, injection: str) -> None:
    # Contact values are marked, so the Open311 privacy crawl never meets them in descriptions.
    reporter = {name: f"{injection} <{name}>" for name in ("name", "phone", "email")}
    body = {**NEW, "description": injection, "address": injection, "reporter": reporter,
            "media_urls": [f"https://example.invalid/{quote(injection)}"]}
    created = post_json(client, "/v1/reports", body, key, **{"Idempotency-Key": injection})
    assert created.status_code == 201, created.get_data(as_text=True)
    public_id = created.get_json()["report"]["id"]
    stored = client.get(f"/v1/reports/{public_id}",
                        headers={"X-API-Key": reports_db.keys["admin"]}).get_json()
    assert stored["description"] == stored["location"]["address"] == injection
    assert stored["reporter"] == reporter
    replayed = post_json(client, "/v1/reports", body, key, **{"Idempotency-Key": injection})
    assert replayed.get_json()["report"]["id"] == public_id
    with reports_db.engine.connect() as conn:  # the table is still there, and so is the row
        assert conn.execute(select(func.count()).select_from(report)
                            .where(report.c.public_id == public_id)).scalar_one() == 1


@pytest.mark.parametrize("injection", INJECTIONS)
def test_sql_in_status_changes(client: FlaskClient, reports_db: ReportsDB, key: str,
                               injection: str) -> None:
    created = post_json(client, "/v1/reports", {**NEW, "description": f"move me {injection}"}, key)
    url = f"/v1/reports/{created.get_json()['report']['id']}"
    admin = {"X-API-Key": reports_db.keys["admin"]}
    with nothing_left(reports_db):
        problem(client.patch(url, json={"status": injection}, headers=admin), 400, "status")
        problem(client.patch(url, json={"status": "duplicate", "duplicate_of": injection},
                             headers=admin), 404, "duplicate_of")
    moved = client.patch(url, json={"status": "accepted", "note": injection}, headers=admin)
    assert moved.status_code == 200 and moved.get_json()["status"] == "accepted"
    with reports_db.engine.connect() as conn:
        notes = conn.execute(select(report_event.c.note).join(report).where(
            report.c.public_id == moved.get_json()["id"])).scalars().all()
    assert injection in notes


@pytest.mark.parametrize("injection", INJECTIONS)
def test_sql_in_batch_items(client: FlaskClient, reports_db: ReportsDB, key: str,
                            injection: str) -> None:
    with nothing_left(reports_db):
        answered = post_json(client, "/v1/geocode/batch",
                             {"items": [{"id": injection, "q": injection}]}, key)
        assert answered.status_code == 200
        assert answered.get_json()["results"] == [{"position": 0, "id": injection,
                                                   "kind": "forward", "results": []}]
        problem(post_json(client, "/v1/geocode/batch",
                          {"items": [{"id": 1, **VY_DA}], "at": injection}, key), 400, "at")
        problem(post_json(client, "/v1/geocode/batch",
                          {"items": [{"id": 1, **VY_DA}], "generation": injection}, key),
                404, "generation")


@pytest.mark.parametrize("injection", INJECTIONS)
@pytest.mark.parametrize(("name", "status"), [("service_code", 400), ("lat", 400),
                                              ("media_url", 400), ("address_string", 400)])
def test_sql_in_open311_forms_is_refused(client: FlaskClient, reports_db: ReportsDB, key: str,
                                         *, injection: str, name: str, status: int) -> None:
    form = {"api_key": key, "service_code": "street_lights", "lat": "16.4003", "long": "107.7",
            name: injection}
    if name == "address_string":
        del form["lat"], form["long"]
    with nothing_left(reports_db):
        open311_error(client.post("/open311/v2/requests.json", data=urlencode(form),
                                  content_type=FORM), status, name)


# --- NUL characters, invalid UTF-8 ---------------------------------------------------------------


@pytest.mark.parametrize(("path", "field"), [
    ("/v1/reports?category=a%00b", "category"),
    ("/v1/geocode?q=Hu%E1%BA%BF%00", "q"),
    ("/v1/reverse?lat=16.4&lon=107.6&generation=2025%00", "generation"),
    ("/v1/hotspots?category=roads%00", "category"),
    ("/maps/boundaries?generation=%00", "generation"),
    ("/v1/reports/PA-%00", "path"),
    ("/v1/reports?x%00y=1", "xy"),
])
def test_nul_in_query_or_path_is_a_400(client: FlaskClient, reports_db: ReportsDB, path: str,
                                       field: str) -> None:
    with nothing_left(reports_db):
        problem(client.get(path), 400, field)


def test_nul_in_open311_paths_is_an_open311_400(client: FlaskClient, reports_db: ReportsDB) -> None:
    with nothing_left(reports_db):
        open311_error(client.get("/open311/v2/requests/PA-%00.json"), 400, "path")
        open311_error(client.get("/open311/v2/requests.json?service_code=a%00"), 400,
                      "service_code")


@pytest.mark.parametrize(("body", "field"), [
    ({**NEW, "description": "a\x00b"}, "description"),
    ({**NEW, "reporter": {"name": "x\x00"}}, "reporter.name"),
    ({**NEW, "media_urls": ["https://example.invalid/\x00"]}, "media_urls[0]"),
    ({**NEW, "category\x00": "roads"}, "body"),
    ({**NEW, "address": "\ud800"}, "address"),  # a lone surrogate: valid JSON, not storable text
])
def test_nul_and_lone_surrogates_in_json_are_a_400(client: FlaskClient, reports_db: ReportsDB,
                                                    key: str, body: dict[str, Any],
                                                    field: str) -> None:
    with nothing_left(reports_db):
        problem(post_json(client, "/v1/reports", body, key), 400, field)
        problem(post_json(client, "/v1/geocode/batch", {"items": [body]}, key), 400,
                "items[0]" if field == "body" else f"items[0].{field}")


@pytest.mark.parametrize(("headers", "status", "field"), [
    ({"X-API-Key": "gis_\x00abcdef0_secret"}, 401, "api_key"),
    ({"X-API-Key": "gis_abcdef01_se\x00cret"}, 401, "api_key"),
    ({"Authorization": "Bearer gis_\x00_x"}, 401, "api_key"),
    ({"X-API-Key": "gis_abcdef01_" + "x" * 100_000}, 401, "api_key"),
    ({"Idempotency-Key": "retry\x00"}, 400, "Idempotency-Key"),
    ({"Idempotency-Key": "line\tbreak"}, 400, "Idempotency-Key"),
])
def test_nul_in_headers_is_a_4xx(client: FlaskClient, reports_db: ReportsDB, key: str, *,
                                 headers: dict[str, str], status: int, field: str) -> None:
    """Keys and idempotency keys are checked before they reach SQL (PostgreSQL refuses NUL)."""
    keyed = "Idempotency-Key" in headers
    with nothing_left(reports_db):
        problem(client.post("/v1/reports", json=NEW,
                            headers={"X-API-Key": key, **headers} if keyed else headers),
                status, field)
        if not keyed:
            problem(client.get("/v1/reports", headers=headers), status, field)


@pytest.mark.parametrize("path", ["/v1/reports", "/v1/geocode/batch", "/v1/reports/PA-X",
                                  "/v1/reports/PA-X/rating"])
def test_invalid_utf8_bodies_are_a_400(client: FlaskClient, reports_db: ReportsDB, key: str,
                                       path: str) -> None:
    raw = b'{"category": "street_lights", "description": "\xc3\x28 \xff\xfe", "lat": 16.4}'
    method = client.patch if path == "/v1/reports/PA-X" else client.post
    with nothing_left(reports_db):
        problem(method(path, data=raw, content_type="application/json",
                       headers={"X-API-Key": reports_db.keys["admin"]}), 400, "body")


def test_invalid_utf8_in_an_open311_multipart_form_is_a_400(client: FlaskClient,
                                                            reports_db: ReportsDB, key: str) -> None:
    boundary = "hostile"
    fields = {"api_key": key.encode(), "service_code": b"street_lights", "lat": b"16.4003",
              "long": b"107.7", "description": b"r\xc3\xa1c \xff\xfe th\xe1\xba"}
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                    .encode() + value + b"\r\n" for name, value in fields.items())
    body += f"--{boundary}--\r\n".encode()
    with nothing_left(reports_db):
        open311_error(client.post("/open311/v2/requests.json", data=body,
                                  content_type=f"multipart/form-data; boundary={boundary}"),
                      400, "body")


@pytest.mark.parametrize("query", [b"q=%C3%28", b"q=Hu\xe1\xba", b"q=\xff\xfe", b"%ED%A0%80=1"])
def test_invalid_utf8_query_strings_are_a_400(client: FlaskClient, reports_db: ReportsDB,
                                              query: bytes) -> None:
    with nothing_left(reports_db):
        problem(client.get("/v1/geocode", environ_overrides={"QUERY_STRING": query.decode("latin-1")}),
                400, "query")
        open311_error(client.get("/open311/v2/requests.json",
                                 environ_overrides={"QUERY_STRING": query.decode("latin-1")}),
                      400, "query")


@pytest.mark.parametrize("bad", ["PA-\xc3(", "PA-\xff", "\xed\xa0\x80"])
def test_invalid_utf8_paths_are_a_400(client: FlaskClient, reports_db: ReportsDB, bad: str) -> None:
    # PATH_INFO as a server passes it: percent-decoded bytes, as latin-1 (werkzeug's test client
    # would decode a URL's escapes itself, replacing bad bytes).
    def at(path: str) -> dict[str, Any]:
        return {"environ_overrides": {"PATH_INFO": path}}

    with nothing_left(reports_db):
        problem(client.get("/", **at(f"/v1/reports/{bad}")), 400, "path")
        problem(client.post("/", json={"satisfaction": 5}, **at(f"/v1/reports/{bad}/rating")),
                400, "path")
        open311_error(client.get("/", **at(f"/open311/v2/requests/{bad}.json")), 400, "path")


# --- sizes and shapes -----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/v1/reports"), ("patch", "/v1/reports/PA-X"), ("post", "/v1/reports/PA-X/rating"),
    ("post", "/v1/geocode/batch"),
])
def test_ten_megabyte_bodies_are_a_413(client: FlaskClient, reports_db: ReportsDB, method: str,
                                       path: str) -> None:
    body = json.dumps({**NEW, "description": "x" * TEN_MB})
    with nothing_left(reports_db):
        response = getattr(client, method)(path, data=body, content_type="application/json",
                                           headers={"X-API-Key": reports_db.keys["admin"]})
        problem(response, 413)


def test_ten_megabyte_open311_form_is_a_413(client: FlaskClient, reports_db: ReportsDB,
                                            key: str) -> None:
    form = urlencode({"api_key": key, "service_code": "street_lights", "lat": "16.4003",
                      "long": "107.7", "description": "x" * TEN_MB})
    with nothing_left(reports_db):
        open311_error(client.post("/open311/v2/requests.json", data=form, content_type=FORM), 413)


def _nested(levels: int, *, closed: bool) -> str:
    return "[" * levels + ("]" * levels if closed else "")


@pytest.mark.parametrize("text", [
    _nested(100_000, closed=False),  # Python's parser gives up with RecursionError: not a 500
    _nested(100_000, closed=True),
    _nested(MAX_DEPTH + 1, closed=True),  # parses, but would recurse through what handles it
    json.dumps({**NEW, "reporter": {"name": json.loads(_nested(MAX_DEPTH, closed=True))}}),
])
@pytest.mark.parametrize("path", ["/v1/reports", "/v1/geocode/batch", "/v1/reports/PA-X/rating"])
def test_deeply_nested_json_is_a_400(client: FlaskClient, reports_db: ReportsDB, key: str,
                                     text: str, path: str) -> None:
    with nothing_left(reports_db):
        body = problem(client.post(path, data=text, content_type="application/json",
                                   headers={"X-API-Key": key}), 400, "body")
        assert "nested" in body["detail"] or "not valid JSON" in body["detail"]


def test_json_nested_to_the_limit_is_read(client: FlaskClient, reports_db: ReportsDB,
                                          key: str) -> None:
    """The depth check refuses only what is too deep: 32 levels reach the field checks."""
    inner = json.loads(_nested(MAX_DEPTH - 2, closed=True))
    with nothing_left(reports_db):
        problem(post_json(client, "/v1/reports", {**NEW, "reporter": {"name": inner}}, key), 400,
                "reporter.name")


def _polygon(vertices: int, *, bowtie: bool) -> dict[str, Any]:
    if bowtie:  # self-intersecting: a figure eight
        ring = [[107.60, 16.46], [107.62, 16.48], [107.62, 16.46], [107.60, 16.48], [107.60, 16.46]]
    else:
        ring = [[1, 1]] * vertices
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.mark.parametrize(("vertices", "bowtie", "status"),
                         [(5, True, 400), (1_000_000, False, 400), (2_000_000, False, 413)])
def test_geojson_where_coordinates_are_expected(client: FlaskClient, reports_db: ReportsDB,
                                                key: str, *, vertices: int, bowtie: bool,
                                                status: int) -> None:
    """No endpoint takes a geometry: a Feature posted as a report or a batch is refused."""
    feature = {"type": "Feature", "geometry": _polygon(vertices, bowtie=bowtie),
               "properties": {"category": "roads"}}
    with nothing_left(reports_db):
        # Refused as a body with fields no request has (issue 18 names the first of them).
        problem(post_json(client, "/v1/reports", feature, key), status,
                "geometry" if status == 400 else None)
        problem(post_json(client, "/v1/geocode/batch", feature, key), status,
                "geometry" if status == 400 else None)


@pytest.mark.parametrize(("geometry", "reason"), [
    (_polygon(5, bowtie=True), "no Point geometry"),
    ({"type": "LineString", "coordinates": [[1, 1]] * 1_000_000}, "no Point geometry"),
    ({"type": "Point", "coordinates": [107.6, 16.46] * 500}, "coordinates"),
    ({"type": "Point", "coordinates": ["107.6", "16.46"]}, "coordinates"),
])
def test_the_importer_rejects_odd_geojson_rows(reports_db: ReportsDB, tmp_path: Path,
                                               geometry: dict[str, Any], reason: str) -> None:
    """The bulk importer takes GeoJSON files: odd features are rejected rows, not a crash."""
    feature = {"type": "Feature", "geometry": geometry, "properties": {
        "public_id": "HOSTILE-1", "created_at": "2025-06-01T08:00:00+07:00",
        "category": "roads", "channel": "app", "location_source": "gps", "status": "received"}}
    path = tmp_path / "hostile.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with nothing_left(reports_db), reports_db.engine.connect() as conn:
        transaction = conn.begin()
        try:
            summary = import_reports(conn, path)
            assert (summary.imported, summary.rejected) == (0, 1)
            (rejection,) = summary.rejections
            assert reason in f"{rejection.reason} {rejection.detail}", rejection
            with pytest.raises(DataError, match="rejected"):
                import_reports(conn, path, strict=True)
        finally:
            transaction.rollback()


# --- numbers and coordinates ---------------------------------------------------------------------


@pytest.mark.parametrize(("change", "status", "field"), [
    ({"lat": "16.4003", "lon": "107.7"}, 400, "lat"),  # coordinates as strings
    ({"lon": "107.7"}, 400, "lon"),
    ({"lat": True}, 400, "lat"),
    ({"lat": [16.4003]}, 400, "lat"),
    ({"lat": 107.7, "lon": 16.4003}, 400, "lat"),  # swapped: a latitude of 107.7
    ({"lat": 105.8342, "lon": 21.0278}, 400, "lat"),  # Hà Nội, swapped
    ({"lat": 16.4003, "lon": -107.7}, 422, "lat"),  # Mexico: in range, outside Vietnam and Huế
    ({"lat": -16.4003, "lon": 107.7}, 422, "lat"),  # the Coral Sea
])
def test_bad_coordinates_in_reports(client: FlaskClient, reports_db: ReportsDB, key: str, *,
                                    change: dict[str, Any], status: int, field: str) -> None:
    with nothing_left(reports_db):
        body = problem(post_json(client, "/v1/reports", {**NEW, **change}, key), status, field)
    if change.get("lat") in (107.7, 105.8342):
        assert "swapped" in body["detail"]


@pytest.mark.parametrize(("raw", "field"), [
    ('{"category": "roads", "lat": 1e309, "lon": 107.7}', "lat"),
    ('{"category": "roads", "lat": 16.4, "lon": -1e309}', "lon"),
    ('{"category": "roads", "lat": NaN, "lon": 107.7}', "body"),
    ('{"category": "roads", "lat": Infinity, "lon": 107.7}', "body"),
    ('{"category": "roads", "lat": 16.4, "lon": 1' + "0" * 5000 + "}", "body"),
])
def test_overflowing_numbers_in_reports(client: FlaskClient, reports_db: ReportsDB, key: str,
                                        raw: str, field: str) -> None:
    with nothing_left(reports_db):
        problem(client.post("/v1/reports", data=raw, content_type="application/json",
                            headers={"X-API-Key": key}), 400, field)


@pytest.mark.parametrize(("item", "field"), [
    ({"lat": "16.4003", "lon": 107.7}, "lat"),
    ({"lat": 16.4003, "lon": "107.7"}, "lon"),
    ({"lat": 107.7, "lon": 16.4003}, "lat"),
])
def test_bad_coordinates_in_batch_items(client: FlaskClient, reports_db: ReportsDB, key: str,
                                        item: dict[str, Any], field: str) -> None:
    with nothing_left(reports_db):
        response = post_json(client, "/v1/geocode/batch", {"items": [{"id": 1, **item}]}, key)
    assert response.status_code == 200  # a batch answers each bad item with its own error
    (outcome,) = response.get_json()["results"]
    assert outcome["error"]["status"] == 400 and outcome["error"]["field"] == f"items[0].{field}"
    inf = client.post("/v1/geocode/batch", data='{"items": [{"id": 1, "lat": 1e309, "lon": 107}]}',
                      content_type="application/json")
    assert inf.get_json()["results"][0]["error"]["field"] == "items[0].lat"


@pytest.mark.parametrize(("query", "field"), [
    ({"lat": "1e309", "lon": 107.7}, "lat"),
    ({"lat": 16.4, "lon": "-1e309"}, "lon"),
    ({"lat": 107.7, "lon": 16.4003}, "lat"),
])
def test_bad_coordinates_in_reverse(client: FlaskClient, query: dict[str, Any], field: str) -> None:
    problem(client.get("/v1/reverse", query_string=query), 400, field)


# --- Open311 forms with repeated keys -----------------------------------------------------------


@pytest.mark.parametrize("repeated", ["service_code", "api_key", "long", "email", "media_url"])
def test_open311_repeated_keys_are_a_400(client: FlaskClient, reports_db: ReportsDB, key: str,
                                         repeated: str) -> None:
    form = {"api_key": key, "service_code": "street_lights", "lat": "16.4003", "long": "107.7",
            "email": "a@example.invalid", "media_url": "https://example.invalid/a.jpg"}
    pairs = [*form.items(), (repeated, form[repeated])]
    with nothing_left(reports_db):
        open311_error(client.post("/open311/v2/requests.json", data=urlencode(pairs),
                                  content_type=FORM), 400, repeated)
        multipart = client.post("/open311/v2/requests.json", content_type="multipart/form-data",
                                data={name: [value, value] if name == repeated else value
                                      for name, value in form.items()})
        open311_error(multipart, 400, repeated)
