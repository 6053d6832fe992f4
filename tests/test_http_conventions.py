"""HTTP conventions every /v1 operation follows: unknown query parameters and body fields are
400 problems naming them, never silently ignored (issue 18)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.mark.parametrize(("body", "status", "field"), [
    # Wrong as written, whatever the service holds: 400.
    ({"lat": 16.4637, "lon": 107.5905}, 400, "category"),
    ({"category": "roads"}, 400, "lat"),
    ({"category": "roads", "lat": 16.4637}, 400, "lon"),
    ({"category": "roads", "lat": 16.4637, "lon": 107.5905, "channel": "fax"}, 400, "channel"),
    # Well formed, but the service's data cannot act on it: 422.
    ({"category": "no_such_category", "lat": 16.4637, "lon": 107.5905}, 422, "category"),
    ({"category": "roads", "lat": 21.0278, "lon": 105.8342}, 422, "lat"),
])
def test_400_when_wrong_as_written_422_when_not_actionable(
        client: FlaskClient, reports_db: ReportsDB, body: dict[str, object], status: int,
        field: str) -> None:
    """The README's one rule (issue 18: a missing category was 400 and a missing location 422)."""
    response = client.post("/v1/reports", json=body,
                           headers={"X-API-Key": reports_db.keys["client"]})
    problem(response, status, field)


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


def test_v1_and_open311_write_timestamps_alike(client: FlaskClient,
                                               reports_db: ReportsDB) -> None:
    created = client.post("/v1/reports", json={"category": "roads", "lat": 16.4637,
                                               "lon": 107.5905},
                          headers={"X-API-Key": reports_db.keys["client"]})
    report = created.get_json()["report"]
    assert report["created_at"].endswith("+07:00"), report["created_at"]
    feed = client.get(f"/open311/v2/requests/{report['id']}.json").get_json()
    assert feed[0]["requested_datetime"] == report["created_at"]


# --- CORS: public reads for any page, writes only for the configured origins.

PORTAL = "https://portal.example.vn"


@pytest.fixture
def cors_client(reports_db: ReportsDB) -> FlaskClient:
    from dataclasses import replace  # noqa: PLC0415

    from gis_service.web import create_app  # noqa: PLC0415

    settings = replace(reports_db.settings, cors_write_origins=(PORTAL,))
    return create_app(settings, engine=reports_db.engine).test_client()


def test_public_reads_answer_any_origin(cors_client: FlaskClient) -> None:
    response = cors_client.get("/v1/reverse?lat=16.4637&lon=107.5905",
                               headers={"Origin": "https://anyone.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    preflight = cors_client.options("/v1/reverse", headers={
        "Origin": "https://anyone.example", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(("origin", "allowed"), [(PORTAL, True),
                                                 ("https://evil.example", False)])
def test_writes_answer_only_listed_origins(cors_client: FlaskClient, origin: str,
                                           allowed: bool) -> None:
    preflight = cors_client.options("/v1/reports", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-api-key"})
    assert preflight.status_code == 204
    assert preflight.headers.get("Access-Control-Allow-Origin") == (origin if allowed else None)
    if allowed:
        assert "X-API-Key" in preflight.headers["Access-Control-Allow-Headers"]
    written = cors_client.post("/v1/reports", json={}, headers={"Origin": origin})
    assert written.headers.get("Access-Control-Allow-Origin") == (origin if allowed else None)


def test_a_bad_origin_setting_names_the_variable() -> None:
    from gis_service.config import ConfigError, Settings  # noqa: PLC0415

    with pytest.raises(ConfigError, match="GIS_CORS_WRITE_ORIGINS"):
        Settings.from_env({"GIS_CORS_WRITE_ORIGINS": "portal.example.vn/x"})


# --- Errors gunicorn answers before Flask: problem+json too.


@pytest.fixture(scope="module")
def served(reports_db: ReportsDB, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """``gis-service serve`` (gunicorn, one worker) on a free port of loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = reports_db.engine.url.render_as_string(hide_password=False)
    log = tmp_path_factory.mktemp("serve") / "gunicorn.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gis-service"), "serve", "--port", str(port),
             "--workers", "1"],
            env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.DEVNULL, stderr=sink)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _raw(port: int, request: bytes) -> tuple[str, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return status, headers, body


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
])
def test_errors_before_flask_are_problems(served: int, request_bytes: bytes, status: int) -> None:
    line, headers, body = _raw(served, request_bytes)
    assert line.startswith(f"HTTP/1.1 {status} ")
    assert headers["Content-Type"] == "application/problem+json"
    problem_body = json.loads(body)
    assert problem_body["status"] == status and problem_body["detail"]
    assert b"GARBAGE" not in body and b"aaaa" not in body  # the request is not echoed


# --- Open311: the jurisdiction is checked, an unknown service_code is 400, the channel is known.

O311 = "/open311/v2"


@pytest.mark.parametrize("url", [f"{O311}/services.json?jurisdiction_id=hanoi.gov.vn",
                                 f"{O311}/requests.json?jurisdiction_id=hanoi.gov.vn"])
def test_another_jurisdiction_is_not_found(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert response.get_json()[0]["description"].startswith("jurisdiction_id")


def test_our_jurisdiction_is_accepted(client: FlaskClient) -> None:
    assert client.get(f"{O311}/services.json?jurisdiction_id=hue.gov.vn").status_code == 200


def _post(client: FlaskClient, reports_db: ReportsDB, headers: dict[str, str] | None = None,
          **form: str) -> Any:
    return client.post(f"{O311}/requests.json", headers=headers or {}, data={
        "api_key": reports_db.keys["client"], "lat": "16.4637", "long": "107.5905", **form})


def test_an_unknown_service_code_is_400(client: FlaskClient, reports_db: ReportsDB) -> None:
    response = _post(client, reports_db, service_code="no_such_service")
    assert response.status_code == 400
    assert response.get_json()[0]["description"].startswith("service_code")


@pytest.mark.parametrize(("headers", "form", "channel"), [
    ({}, {}, "app"),
    ({"Origin": "https://portal.example.vn"}, {}, "web"),
    ({}, {"channel": "web"}, "web"),
])
def test_the_channel_comes_from_the_request(client: FlaskClient, reports_db: ReportsDB,
                                            headers: dict[str, str], form: dict[str, str],
                                            channel: str) -> None:
    created = _post(client, reports_db, headers, service_code="roads", **form)
    assert created.status_code == 201, created.get_data(as_text=True)
    public_id = created.get_json()[0]["service_request_id"]
    report = client.get(f"/v1/reports/{public_id}").get_json()
    assert report["channel"] == channel


# --- /healthz: one database check a second at most.


def test_health_is_asked_at_most_once_a_second(engine: Any) -> None:
    from contextlib import contextmanager  # noqa: PLC0415

    from gis_service.health import HealthCache  # noqa: PLC0415

    now = [100.0]
    opened: list[int] = []

    @contextmanager
    def connect() -> Iterator[Any]:
        opened.append(1)
        with engine.connect() as conn:
            yield conn

    cache = HealthCache(clock=lambda: now[0])
    first = cache.get(connect)
    now[0] += 0.6
    again = cache.get(connect)
    assert len(opened) == 1 and again.age_s == pytest.approx(0.6)
    assert again.database == first.database == "ok"
    now[0] += 0.5
    cache.get(connect)
    assert len(opened) == 2


def test_an_unreachable_database_is_not_cached() -> None:
    from contextlib import contextmanager  # noqa: PLC0415

    from gis_service.health import HealthCache  # noqa: PLC0415

    calls: list[int] = []

    @contextmanager
    def down() -> Iterator[Any]:
        calls.append(1)
        raise ConnectionError("down")
        yield  # pragma: no cover

    cache = HealthCache()
    for _ in range(2):
        with pytest.raises(ConnectionError):
            cache.get(down)
    assert len(calls) == 2


def test_liveness_needs_no_database(client: FlaskClient) -> None:
    response = client.get("/livez")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
