"""The operations console (/console) at the Flask level, and the API operation it added
(GET /v1/reports/{id}/duplicates); marking a duplicate is PATCH /v1/reports/{id}.

The page is a shell: its menus come from the database, its words from the catalogue (into a
JSON block its scripts read), its scripts from this app. tests/test_console_browser.py drives it.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from gis_service.db.schema import agency, category
from gis_service.maps.assets import missing_files
from gis_service.reports.lifecycle import OPEN_STATUSES, TRANSITIONS
from gis_service.web.console_page import STATIC
from gis_service.web.console_strings import MESSAGES
from tests.conftest import IN_CI, ReportsDB, problem
from tests.test_reports_api import agency_key, headers

# A category no other API test files: these reports are no one else's duplicate candidates.
CATEGORY = "electricity"
KIM_LONG = {"lat": 16.4700, "lon": 107.5580}


class _Links(HTMLParser):
    """Every script, stylesheet and JSON block of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.blocks: dict[str, str] = {}
        self._block: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        url = found.get("src") or (found.get("href") if tag == "link" else None)
        if url:
            self.urls.append(url)
        if tag == "script" and found.get("type") == "application/json":
            self._block = found.get("id")

    def handle_data(self, data: str) -> None:
        if self._block:
            self.blocks[self._block] = data
            self._block = None


def _page(client: FlaskClient, **params: str) -> tuple[str, _Links]:
    response = client.get("/console", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    links = _Links()
    links.feed(text)
    return text, links


@pytest.fixture(autouse=True)
def _assets() -> None:
    if missing_files():
        message = "the console needs node_modules (npm ci; ./manage does it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def test_the_page_is_vietnamese_by_default_and_english_on_request(client: FlaskClient) -> None:
    text, links = _page(client)
    assert '<html lang="vi">' in text and "Bảng điều hành phản ánh hiện trường" in text
    config = json.loads(links.blocks["console-config"])
    assert config["locale"] == "vi" and config["number_locale"] == "vi-VN"
    assert config["datetime_pattern"] == "dd/MM/yyyy HH:mm"
    assert config["timezone"] == "Asia/Ho_Chi_Minh"
    assert config["strings"]["messages"]["signed_out"] == "Chưa đăng nhập: chỉ xem dữ liệu công khai."
    assert config["statuses"]["in_progress"] == "Đang xử lý"
    english, links = _page(client, lang="en")
    assert '<html lang="en">' in english and "Operations console" in english
    config = json.loads(links.blocks["console-config"])
    assert config["strings"]["messages"]["signed_out"] == str(MESSAGES["signed_out"])
    assert config["datetime_pattern"] == "yyyy-MM-dd HH:mm"
    accepted = client.get("/console", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Operations console" in accepted.get_data(as_text=True)


def test_the_page_knows_every_agency_category_ward_and_move(client: FlaskClient,
                                                            reports_db: ReportsDB) -> None:
    text, links = _page(client)
    config = json.loads(links.blocks["console-config"])
    with reports_db.engine.connect() as conn:
        agencies = set(conn.execute(select(agency.c.code)).scalars())
        categories = dict(conn.execute(select(category.c.code, category.c.name_vi)).all())
    assert set(re.findall(r'<option value="([^"]+)">', text)) >= agencies | set(categories)
    assert config["categories"] == categories
    assert config["transitions"] == {state: sorted(moves) for state, moves in TRANSITIONS.items()}
    assert config["open_statuses"] == list(OPEN_STATUSES)
    assert config["wards_url"] == f"/ogc/collections/communes-{config['generation']}/items"
    assert client.get(config["wards_url"], query_string={"f": "json", "limit": 1}).status_code == 200
    assert "Phường Vỹ Dạ" in text  # a ward of the active generation


def test_everything_the_page_loads_is_served_by_the_app(client: FlaskClient) -> None:
    response = client.get("/console")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "connect-src 'self'" in policy
    _, links = _page(client)
    links.urls.remove("data:,")  # the favicon: none (the browser would ask /favicon.ico)
    assert links.urls and all(url.startswith("/") and not url.startswith("//") for url in links.urls)
    for url in links.urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        asset.close()
    assert any(url.endswith("/leaflet/dist/leaflet.js") for url in links.urls)


def test_the_scripts_hold_no_words_and_keep_the_key_out_of_urls_and_cookies() -> None:
    """Every word the scripts show comes from the page's catalogue block: no Vietnamese (no
    letter outside ASCII) in them; the key goes into sessionStorage and a header only."""
    scripts = {path.name: path.read_text(encoding="utf-8") for path in STATIC.glob("*.js")}
    assert len(scripts) >= 5
    for name, source in scripts.items():
        assert [ch for ch in source if ch.isalpha() and not ch.isascii()] == [], name
        assert "localStorage" not in source and "document.cookie" not in source, name
        assert not re.search(r"[?&](api_)?key=", source), name
    assert "sessionStorage" in scripts["console-api.js"]
    assert '"X-API-Key"' in scripts["console-api.js"]


@pytest.mark.parametrize(("params", "field"), [
    ({"lang": "fr"}, "lang"),
    ({"agency": "ioc-hue"}, "agency"),
    ({"key": "secret"}, "key"),
])
def test_the_page_refuses_parameters_it_does_not_take(client: FlaskClient,
                                                      params: dict[str, str], field: str) -> None:
    problem(client.get("/console", query_string=params), 400, field)


def _file(client: FlaskClient, reports_db: ReportsDB, **extra: Any) -> dict[str, Any]:
    body = {"category": CATEGORY, "channel": "hotline", "description": "Mất điện cả kiệt",
            **KIM_LONG, "location_source": "manual", **extra}
    response = client.post("/v1/reports", json=body, headers=headers(reports_db.keys["client"]))
    assert response.status_code == 201, response.get_json()
    report: dict[str, Any] = response.get_json()["report"]
    return report


def test_duplicates_lists_candidates_then_the_marked_ones(client: FlaskClient,
                                                          reports_db: ReportsDB) -> None:
    original = _file(client, reports_db)
    second = _file(client, reports_db, lat=KIM_LONG["lat"] + 0.0002)
    found = client.get(f"/v1/reports/{second['id']}/duplicates").get_json()
    assert found["id"] == second["id"] and found["duplicate_of"] is None and found["marked"] == []
    assert original["id"] in [c["id"] for c in found["candidates"]]
    near = next(c for c in found["candidates"] if c["id"] == original["id"])
    assert 15 < near["distance_m"] < 30  # 0.0002° of latitude is 22 m
    own = agency_key(reports_db, second["agency"]["code"])
    marked = client.patch(f"/v1/reports/{second['id']}", headers=headers(own), json={
        "status": "duplicate", "duplicate_of": original["id"], "internal_note": "cùng sự cố"})
    assert marked.status_code == 200, marked.get_json()
    assert client.get(f"/v1/reports/{second['id']}/duplicates").get_json()["duplicate_of"] == original["id"]
    back = client.get(f"/v1/reports/{original['id']}/duplicates").get_json()
    assert [m["id"] for m in back["marked"]] == [second["id"]]
    assert back["marked"][0]["status"] == "duplicate" and back["marked"][0]["created_at"].endswith("+07:00")
    events = client.get(f"/v1/reports/{second['id']}/events").get_json()["events"]
    assert events[-1]["kind"] == "duplicate" and "internal_note" not in events[-1]


def test_marking_a_duplicate_names_the_field_on_bad_input(client: FlaskClient,
                                                          reports_db: ReportsDB) -> None:
    report = _file(client, reports_db, lat=KIM_LONG["lat"] - 0.01)
    url, own = f"/v1/reports/{report['id']}", agency_key(reports_db, report["agency"]["code"])
    problem(client.patch(url, json={"status": "duplicate"}, headers=headers(own)), 400, "duplicate_of")
    problem(client.patch(url, json={"status": "duplicate", "duplicate_of": "PA-NONE"},
                         headers=headers(own)), 404, "duplicate_of")
    problem(client.patch(url, json={"status": "duplicate", "duplicate_of": report["id"]},
                         headers=headers(own)), 409, "duplicate_of")
    problem(client.patch(url, json={"status": "duplicate", "duplicate_of": 7},
                         headers=headers(own)), 400, "duplicate_of")
    problem(client.patch(url, json={"status": "duplicate", "duplicate_of": report["id"]},
                         headers=headers(reports_db.keys["client"])), 403, "api_key")
    assert client.get(url).get_json()["status"] == "received"


def test_duplicates_of_an_unknown_report_or_with_a_bad_key(client: FlaskClient) -> None:
    problem(client.get("/v1/reports/PA-NONE/duplicates"), 404, "id")
    problem(client.get("/v1/reports/PA-NONE/duplicates", query_string={"limit": "3"}), 400, "limit")
    response = client.get("/v1/reports/PA-NONE/duplicates", headers=headers("not-a-key"))
    assert response.status_code == 401


def test_a_held_report_lists_no_candidates(client: FlaskClient, reports_db: ReportsDB) -> None:
    body = {"category": CATEGORY, "channel": "hotline", "address": "Thành phố Huế"}
    response = client.post("/v1/reports", json=body, headers=headers(reports_db.keys["client"]))
    assert response.status_code == 201, response.get_json()
    held = response.get_json()["report"]
    assert held["status"] == "needs_location"
    found = client.get(f"/v1/reports/{held['id']}/duplicates").get_json()
    assert found == {"id": held["id"], "duplicate_of": None, "marked": [], "candidates": []}
    with_count = client.get("/v1/reports", query_string={"status": "needs_location", "page_size": 1})
    assert with_count.get_json()["total"] >= 1
