"""Bad requests across every endpoint family, answered in English and in Vietnamese.

Each request is sent twice, asking for English and for Vietnamese (``Accept-Language`` or
``lang``). Both answers have the same status and ``field``; the Vietnamese detail is another
text than the English, carries Vietnamese letters, and once the values that must stay verbatim
are taken out (the field names and values the English detail quotes, read back through its
template, and the names the request itself used) no English word is left in it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gis_service.web.problem_details import template_of
from tests.conftest import ReportsDB

#: Words of the English details that must not survive into the Vietnamese ones.
ENGLISH = frozenset("""a an the is are be must not of or and to from give use send unknown
value values field required number numbers between only this that with without longer than
characters text integer whole query parameter resource accepts once least one date time zone
needs body valid there nothing url at more requests minute key report service no found
expecting missing data greater less equal length invalid""".split())  # noqa: SIM905  # prose reads better
_VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]",
                         re.IGNORECASE)
#: A word as written: Vietnamese letters, and names such as X-API-Key or service_code, whole.
_WORD = re.compile(r"[\w\-]+")

GOOD_POINT = {"lat": 16.4637, "lon": 107.5909}

# (id, method, path, JSON body or raw text, needs the client key, status)
CASES: list[tuple[str, str, str, Any, bool, int]] = [
    ("reverse-not-a-number", "GET", "/v1/reverse?lat=abc&lon=107.6", None, False, 400),
    ("reverse-out-of-range", "GET", "/v1/reverse?lat=95&lon=107.6", None, False, 400),
    ("reverse-swapped", "GET", "/v1/reverse?lat=107.59&lon=16.46", None, False, 400),
    ("reverse-unknown-parameter", "GET", "/v1/reverse?lat=16.46&lon=107.59&radius=3", None,
     False, 400),
    ("geocode-both-forms", "GET", "/v1/geocode?q=Hu%E1%BA%BF&commune=Thu%E1%BA%ADn%20H%C3%B3a",
     None, False, 400),
    ("geocode-limit", "GET", "/v1/geocode?q=Hu%E1%BA%BF&limit=0", None, False, 400),
    ("batch-items-not-a-list", "POST", "/v1/geocode/batch", {"items": "many"}, False, 400),
    # A bad item is answered in its place (200), with its own problem.
    ("batch-q-not-text", "POST", "/v1/geocode/batch", {"items": [{"q": 5}]}, False, 200),
    ("reports-no-key", "POST", "/v1/reports", {"category": "roads", **GOOD_POINT}, False, 401),
    ("reports-unknown-field", "POST", "/v1/reports",
     {"title": "x", "category": "roads", "description": "ổ gà", **GOOD_POINT}, True, 400),
    ("reports-not-json", "POST", "/v1/reports", "{category: roads", True, 400),
    ("reports-unknown-category", "POST", "/v1/reports",
     {"category": "dragons", "description": "rồng", **GOOD_POINT}, True, 422),
    ("reports-missing-location", "POST", "/v1/reports",
     {"category": "roads", "description": "ổ gà"}, True, 400),
    ("report-not-found", "GET", "/v1/reports/P-NOWHERE", None, False, 404),
    ("hotspots-resolution", "GET", "/v1/hotspots?res=99", None, False, 400),
    ("hotspots-misspelt", "GET", "/v1/hotspots?resolution=9", None, False, 400),
    ("coverage-model", "GET", "/v1/coverage?model=psychic", None, False, 400),
    ("scorecards-by", "GET", "/v1/scorecards?by=ward", None, False, 400),
    ("scorecards-order", "GET", "/v1/scorecards?from=2026-02-01&to=2026-01-01", None, False, 400),
    ("lang-unknown", "GET", "/v1/reverse?lat=16.46&lon=107.59&lang=fr", None, False, 400),
    ("no-such-url", "GET", "/v1/nothing-here", None, False, 404),
    ("ogc-collection", "GET", "/ogc/collections/dragons", None, False, 404),
    ("ogc-limit", "GET", "/ogc/collections/reports/items?limit=0", None, False, 400),
    ("ogc-unknown-parameter", "GET", "/ogc/collections/reports/items?colour=red", None, False,
     400),
    ("ogc-bbox", "GET", "/ogc/collections/reports/items?bbox=1,2,3", None, False, 400),
    ("ogc-datetime", "GET", "/ogc/collections/reports/items?datetime=yesterday", None, False, 400),
    ("ogc-crs", "GET", "/ogc/collections/reports/items?crs=EPSG:9210", None, False, 400),
    ("tiles-layer", "GET", "/tiles/nowhere/1/0/0.mvt", None, False, 404),
    ("tiles-zoom", "GET", "/tiles/communes-2025/99/0/0.mvt", None, False, 400),
    ("open311-status", "GET", "/open311/v2/requests.json?status=maybe", None, False, 400),
    ("open311-service", "GET", "/open311/v2/services/dragons.json", None, False, 404),
    ("open311-no-key", "POST", "/open311/v2/requests.json?service_code=roads", None, False, 403),
    ("open311-dates", "GET", "/open311/v2/requests.json?start_date=2025-02-01T00:00:00Z"
     "&end_date=2025-01-01T00:00:00Z", None, False, 400),
]


def _send(client: FlaskClient, reports_db: ReportsDB, case: tuple[str, str, str, Any, bool, int],
          language: dict[str, str], query: str = "") -> TestResponse:
    _, method, path, body, keyed, _ = case
    headers = {**language, **({"X-API-Key": reports_db.keys["client"]} if keyed else {})}
    url = path + (("&" if "?" in path else "?") + query if query else "")
    if isinstance(body, str):
        return client.open(url, method=method, data=body, headers=headers,
                           content_type="application/json")
    return client.open(url, method=method, json=body, headers=headers)


def _message(response: TestResponse) -> tuple[str, str | None]:
    """The detail and the field of a problem document, or of an Open311 error list."""
    body = json.loads(response.get_data(as_text=True))
    if isinstance(body, list):  # Open311: [{"code", "description": "field: detail"}]
        return str(body[0]["description"]), None
    if "results" in body:  # a batch: the first item's problem
        body = body["results"][0]["error"]
    return str(body["detail"]), body.get("field")


def _verbatim(english: str, case: tuple[str, str, str, Any, bool, int]) -> set[str]:
    """What may appear untranslated: the values the English detail quotes, the request's names."""
    kept: set[str] = set(re.findall(r"[\w.\-\[\]]+", case[2]))
    body = case[3]
    if isinstance(body, dict):
        kept.update(map(str, body))
        kept.update(str(value) for value in body.values())
    for part in [english, *english.split(": ", 1)[1:]]:
        found = template_of(part)
        if found:
            kept.update(found[1].values())
    return kept


def _english_left(vietnamese: str, kept: set[str]) -> list[str]:
    for value in sorted(kept, key=len, reverse=True):
        vietnamese = vietnamese.replace(value, " ")
    return [word for word in _WORD.findall(vietnamese) if word.lower() in ENGLISH]  # ASCII only


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
@pytest.mark.parametrize("ask_vietnamese", [{"headers": {"Accept-Language": "vi"}, "query": ""},
                                            {"headers": {}, "query": "lang=vi"}],
                         ids=["accept-language", "lang"])
def test_problems_in_both_languages(client: FlaskClient, reports_db: ReportsDB,
                                    case: tuple[str, str, str, Any, bool, int],
                                    ask_vietnamese: dict[str, Any]) -> None:
    if case[0] == "lang-unknown" and ask_vietnamese["query"]:
        pytest.skip("the case is itself a bad lang")
    english = _send(client, reports_db, case, {"Accept-Language": "en"})
    vietnamese = _send(client, reports_db, case, ask_vietnamese["headers"],
                       ask_vietnamese["query"])
    status = case[5]
    assert english.status_code == vietnamese.status_code == status, english.get_data()[:300]
    en_detail, en_field = _message(english)
    vi_detail, vi_field = _message(vietnamese)
    assert vi_field == en_field
    assert vi_detail != en_detail and _VIETNAMESE.search(vi_detail), (en_detail, vi_detail)
    left = _english_left(vi_detail, _verbatim(en_detail, case))
    assert not left, f"English left in {vi_detail!r}: {left}"


def test_english_is_the_api_default(client: FlaskClient) -> None:
    body = json.loads(client.get("/v1/reverse?lat=95&lon=107.6").get_data(as_text=True))
    assert body["detail"] == "lat=95.0 is outside -90..90" and body["title"] == "Invalid input"


def test_lang_is_no_unknown_parameter(client: FlaskClient) -> None:
    for path in ("/v1/reverse?lat=16.4637&lon=107.5909&lang=vi", "/ogc/collections?lang=en",
                 "/open311/v2/services.json?lang=vi", "/v1/hotspots/emerging?lang=en&period=x"):
        response = client.get(path)
        assert response.status_code in (200, 400), path
        if response.status_code == 400:  # refused for its own bad value, never for lang
            assert json.loads(response.get_data(as_text=True)).get("field") != "lang", path


@pytest.mark.parametrize(("query", "headers", "vietnamese"), [
    ("", {}, False),  # English unless asked: Open311 clients are programs
    ("?locale=vi", {}, True),
    ("?locale=vi_VN", {}, True),
    ("?locale=en-US", {"Accept-Language": "vi"}, False),
    ("", {"Accept-Language": "vi-VN,vi;q=0.9"}, True),
    ("?lang=vi", {}, True),
])
def test_open311_services_in_the_asked_language(client: FlaskClient, query: str,
                                                headers: dict[str, str],
                                                vietnamese: bool) -> None:
    response = client.get(f"/open311/v2/services.json{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    roads = next(s for s in response.get_json() if s["service_code"] == "urban_order")
    if vietnamese:
        assert roads["service_name"] == "Trật tự đô thị, lấn chiếm vỉa hè, lòng đường"
        assert roads["description"].endswith(
            "Xử lý trong vòng 10 ngày làm việc (không tính thứ Bảy, Chủ nhật và ngày lễ).")
        assert "Urban order and encroached pavements" in roads["keywords"]
    else:
        assert roads["service_name"] == "Urban order and encroached pavements"
        assert "Handled within 10 working days" in roads["description"]
