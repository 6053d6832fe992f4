"""Open311 GeoReport v2 under /open311/v2: field by field against the specification, XML
equivalent to JSON, errors in Open311's form, reporters' contacts never shown, hostile form
posts refused, and the endpoints driven over real HTTP by an Open311 client from PyPI
(``georeport``). The API commits, so these tests use the ``reports_db`` database of its own."""

from __future__ import annotations

import datetime as dt
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import jsonschema
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from georeport import GeoReport
from sqlalchemy import create_engine, func, select, update
from werkzeug.serving import make_server

from gis_service.auth import issue_key, revoke_key
from gis_service.db.schema import REPORT_STATUSES, agency, category, report, report_contact, report_event
from gis_service.errors import GisError, InvalidInput, NotFound, Unprocessable
from gis_service.open311 import errors, params, render, schema
from gis_service.open311.service_requests import OPEN311_STATUS, PUBLIC_DECIMALS
from gis_service.reports.lifecycle import OPEN_STATUSES, transition
from gis_service.web import create_app
from gis_service.web.report_json import PUBLIC_DECIMALS as JSON_API_DECIMALS
from tests.conftest import ReportsDB, row_counts

BASE = "/open311/v2"
FORM = "application/x-www-form-urlencoded"
# In Phường Thuận Hóa, 2 km from where the /v1 tests report (their duplicate checks stay theirs).
HERE = {"lat": "16.46371234", "long": "107.59061234"}
CONTACT = {"email": "open311.resident@example.invalid", "first_name": "Trần Thị",
           "last_name": "Riêngtư", "phone": "0911311311"}
W3_HUE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$")
NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


# --- parsing, mapping and rendering, without a database --------------------------------------


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"lat": "16.47", "long": "107.6"}, "service_code"),
        ({"service_code": "roads"}, "lat"),
        ({"service_code": "roads", "lat": "16.47"}, "long"),
        ({"service_code": "roads", "long": "107.6"}, "lat"),
        ({"service_code": "roads", "lat": "abc", "long": "107.6"}, "lat"),
        ({"service_code": "roads", "lat": "nan", "long": "107.6"}, "lat"),
        ({"service_code": "roads", "lat": "16.47", "long": "1e309"}, "long"),
        ({"service_code": "roads", "lat": "107.6", "long": "16.47"}, "lat"),  # swapped
        ({"service_code": "roads", "address_id": "19777"}, "address_id"),
        ({"service_code": "roads", "address_string": "Huế", "media_url": "javascript:x"}, "media_url"),
    ],
)
def test_form_errors_name_the_parameter(form: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        params.new_report(form)
    assert caught.value.field == field


def test_a_form_becomes_a_report_with_a_private_contact() -> None:
    new = params.new_report({"service_code": "roads", **HERE, **CONTACT, "device_id": "x",
                             "attribute[WHISPAWN]": "1", "description": "Ổ gà"})
    assert (new.category, new.channel, new.description) == ("roads", "app", "Ổ gà")
    assert new.point is not None and (new.point.lat, new.point.lon) == (16.46371234, 107.59061234)
    assert new.reporter.name == "Trần Thị Riêngtư"
    assert (new.reporter.phone, new.reporter.email) == (CONTACT["phone"], CONTACT["email"])


@pytest.mark.parametrize(
    ("pairs", "field"),
    [
        ([("lat", "1"), ("lat", "2")], "lat"),
        ([("api_key", "a"), ("service_code", "x"), ("api_key", "a")], "api_key"),
        ([("description", "a\x00b")], "description"),
        ([("description", "x" * (params.MAX_VALUE_CHARS + 1))], "description"),
    ],
)
def test_repeated_keys_nul_and_huge_values_are_refused(pairs: list[tuple[str, str]],
                                                       field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        params.single_values(pairs)
    assert caught.value.field == field


def test_empty_values_count_as_absent() -> None:
    assert params.single_values([("lat", "16.4"), ("long", ""), ("status", "  ")]) == {"lat": "16.4"}


@pytest.mark.parametrize(
    "raw", [b"description=%FF%FE", b"\xff=1", "&".join(["a=1"] * (params.MAX_FIELDS + 1)).encode()])
def test_bodies_that_are_not_clean_utf8_forms_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidInput):
        params.decode_pairs(raw, where="body")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-01T00:00:00Z", dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),
        ("2025-01-01T07:00:00+07:00", dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),
        ("2025-01-01T07:00:00 07:00", dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),  # '+' lost
        ("2025-01-01", dt.datetime(2024, 12, 31, 17, tzinfo=dt.UTC)),  # midnight in Huế
    ],
)
def test_w3_dates(text: str, expected: dt.datetime) -> None:
    assert params.w3_datetime(text, "start_date") == expected


@pytest.mark.parametrize("text", ["2025-01-01T00:00:00", "yesterday", "2025-13-01T00:00:00Z"])
def test_dates_without_a_zone_or_unreadable_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        params.w3_datetime(text, "end_date")
    assert caught.value.field == "end_date"


def test_the_default_window_is_the_last_90_days() -> None:
    query = params.requests_query({}, NOW)
    assert (query.start, query.end) == (NOW - dt.timedelta(days=90), NOW)
    start = params.requests_query({"start_date": "2026-01-01T00:00:00Z"}, NOW)
    assert start.end - start.start == dt.timedelta(days=90)
    end = params.requests_query({"end_date": "2026-01-01T00:00:00Z"}, NOW)
    assert end.end == dt.datetime(2026, 1, 1, tzinfo=dt.UTC) and end.end - end.start == dt.timedelta(days=90)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-06-01T00:00:00Z"}, "end_date"),
        ({"start_date": "2025-02-01T00:00:00Z", "end_date": "2025-01-01T00:00:00Z"}, "end_date"),
        ({"status": "open,pending"}, "status"),
        ({"service_request_id": ",".join(f"PA-{n}" for n in range(1001))}, "service_request_id"),
    ],
)
def test_bad_filters_are_refused(query: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        params.requests_query(query, NOW)
    assert caught.value.field == field


def test_every_status_maps_to_open_or_closed() -> None:
    assert set(OPEN311_STATUS) == set(REPORT_STATUSES)
    assert {s for s, o in OPEN311_STATUS.items() if o == "open"} == set(OPEN_STATUSES)
    assert {OPEN311_STATUS[s] for s in ("resolved", "closed", "rejected", "duplicate")} == {"closed"}


def test_coordinates_are_rounded_like_the_json_api() -> None:
    assert PUBLIC_DECIMALS == JSON_API_DECIMALS == 4


@pytest.mark.parametrize(
    ("error", "status", "description"),
    [
        (InvalidInput("bad", field="lon"), 400, "long: bad"),
        (Unprocessable("outside", field="lat"), 400, "lat: outside"),
        (Unprocessable("unknown", field="category"), 400, "service_code: unknown"),
        (NotFound("no such", field="id"), 404, "service_request_id: no such"),
        (GisError("x"), 500, "x"),
    ],
)
def test_our_errors_become_open311_errors(error: GisError, status: int, description: str) -> None:
    mapped = errors.from_gis_error(error)
    assert (mapped.status, mapped.description) == (status, description)
    assert mapped.body() == [{"code": status, "description": description}]


def test_xml_escapes_markup_and_replaces_what_xml_cannot_carry() -> None:
    hostile = "<b>&amp;</b> \x01 ]]> \"'"
    xml = render.to_xml("service_requests", [{"description": hostile, "lat": 16.5, "x": None}])
    assert xml.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    request = ET.fromstring(xml).find("request")
    assert request is not None
    assert request.findtext("description") == hostile.replace("\x01", "\ufffd")
    assert (request.findtext("lat"), request.findtext("x")) == ("16.5", "")


# --- the endpoints ----------------------------------------------------------------------------


def openapi_to_json_schema(value: Any) -> Any:
    """OpenAPI 3.0's ``nullable`` as JSON Schema's ``type: [..., "null"]``."""
    if isinstance(value, dict):
        converted = {key: openapi_to_json_schema(item) for key, item in value.items()
                     if key not in ("nullable", "example")}
        if value.get("nullable") is True:
            converted["type"] = [value["type"], "null"]
        return converted
    if isinstance(value, list):
        return [openapi_to_json_schema(item) for item in value]
    return value


def conforms(body: Any, openapi_schema: dict[str, Any]) -> None:
    jsonschema.validate(body, openapi_to_json_schema(openapi_schema))


def xml_shape(element: ET.Element) -> Any:
    """XML back to the JSON shape (Spark convention), every scalar as text."""
    if element.tag in render.ITEM_TAGS:
        return [xml_shape(child) for child in element]
    if len(element):
        return {child.tag: xml_shape(child) for child in element}
    return element.text or ""


def text_shape(value: Any) -> Any:
    """JSON with every scalar as the text XML would carry."""
    if isinstance(value, dict):
        return {key: text_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [text_shape(item) for item in value]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def both(client: FlaskClient, path: str, **query: str) -> Any:
    """GET ``path`` as JSON and as XML; check both are well formed and say the same; the JSON."""
    as_json = client.get(f"{BASE}/{path}.json", query_string=query)
    as_xml = client.get(f"{BASE}/{path}.xml", query_string=query)
    assert as_json.status_code == as_xml.status_code == 200, as_json.get_data(as_text=True)
    assert as_json.headers["Content-Type"] == "application/json; charset=utf-8"
    assert as_xml.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert as_xml.data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    body = as_json.get_json()
    assert xml_shape(ET.fromstring(as_xml.data)) == text_shape(body)
    return body


def form_post(client: FlaskClient, body: str | bytes, fmt: str = "json",
              content_type: str = FORM, **headers: str) -> Any:
    return client.post(f"{BASE}/requests.{fmt}", data=body, content_type=content_type,
                       headers=headers)


def new_form(reports_db: ReportsDB, **change: str | None) -> dict[str, str]:
    form: dict[str, str | None] = {
        "api_key": reports_db.keys["client"], "jurisdiction_id": "hue.gov.vn",
        "service_code": "sanitation", **HERE, **CONTACT,
        "description": "Rác thải ùn ứ đầu kiệt <script>alert(1)</script> & \"quotes\"",
        "media_url": "https://example.invalid/photos/1.jpg", **change,
    }
    return {key: value for key, value in form.items() if value is not None}


def post(client: FlaskClient, reports_db: ReportsDB, fmt: str = "json", **change: str | None) -> Any:
    return form_post(client, urlencode(new_form(reports_db, **change)), fmt)


def created_id(response: Any) -> str:
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    conforms(body, schema.CREATED_LIST)
    return str(body[0]["service_request_id"])


def counts(reports_db: ReportsDB) -> tuple[int, ...]:
    """Reports, events and contacts stored."""
    return row_counts(reports_db.engine)[:3]


def assert_error(response: Any, status: int, parameter: str | None = None) -> None:
    """An Open311 error: the status, a list of one {code, description} naming ``parameter``."""
    assert response.status_code == status, response.get_data(as_text=True)
    if response.mimetype == "text/xml":
        root = ET.fromstring(response.data)
        assert root.tag == "errors" and [child.tag for child in root] == ["error"]
        code, description = root.findtext("error/code"), root.findtext("error/description") or ""
        assert code == str(status)
    else:
        assert response.mimetype == "application/json"
        body = response.get_json()
        conforms(body, schema.ERRORS)
        code, description = body[0]["code"], body[0]["description"]
        assert code == status
    if parameter is not None:
        assert description.startswith(f"{parameter}: "), description


def test_discovery(client: FlaskClient) -> None:
    body = both(client, "discovery")
    conforms(body, schema.DISCOVERY)
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith(BASE) and set(endpoint["formats"]) == {"text/xml", "application/json"}


def test_the_service_list_is_the_categories(client: FlaskClient, reports_db: ReportsDB) -> None:
    services = both(client, "services")
    conforms(services, schema.SERVICES)
    with reports_db.engine.connect() as conn:
        rows = conn.execute(select(category.c.code, category.c.name, category.c.category_group,
                                   category.c.name_vi).order_by(category.c.code)).all()
    assert [s["service_code"] for s in services] == [row.code for row in rows]
    for service, row in zip(services, rows, strict=True):
        assert (service["service_name"], service["group"]) == (row.name, row.category_group)
        assert service["metadata"] is False and service["type"] == "realtime"
        assert row.name_vi.split(",")[0] in service["keywords"]
        assert "Handled within" in service["description"]


def test_a_service_definition_has_no_attributes(client: FlaskClient) -> None:
    definition = both(client, "services/roads")
    conforms(definition, schema.SERVICE_DEFINITION)
    assert definition == {"service_code": "roads", "attributes": []}
    assert_error(client.get(f"{BASE}/services/no_such_thing.json"), 404, "service_code")
    assert_error(client.get(f"{BASE}/services/no_such_thing.xml"), 404, "service_code")


def test_a_posted_request_reads_back_field_by_field(client: FlaskClient,
                                                    reports_db: ReportsDB) -> None:
    before = counts(reports_db)
    response = post(client, reports_db)
    request_id = created_id(response)
    assert response.headers["Location"] == f"{BASE}/requests/{request_id}.json"
    assert counts(reports_db) == (before[0] + 1, before[1] + 2, before[2] + 1)
    assert "Handled within 10 working days" in response.get_json()[0]["service_notice"]

    listed = both(client, f"requests/{request_id}")
    conforms(listed, schema.ONE_REQUEST)
    item = listed[0]
    ours = client.get(f"/v1/reports/{request_id}").get_json()
    with reports_db.engine.connect() as conn:
        name = conn.execute(select(category.c.name).where(category.c.code == "sanitation")).scalar()
        agency_name = conn.execute(select(agency.c.name).join(report, report.c.agency_id == agency.c.id)
                                   .where(report.c.public_id == request_id)).scalar()
    assert item["service_request_id"] == request_id
    assert (item["status"], item["service_code"], item["service_name"]) == ("open", "sanitation", name)
    assert item["status_notes"].startswith("Received")
    assert item["description"] == new_form(reports_db)["description"]
    assert item["agency_responsible"] == agency_name == ours["agency"]["name"]
    assert item["service_notice"].startswith("Handled within 10 working days")
    for key in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3_HUE.match(item[key]), item[key]
    seconds = dt.timedelta(seconds=1)
    assert abs(dt.datetime.fromisoformat(item["requested_datetime"])
               - dt.datetime.fromisoformat(ours["created_at"])) < seconds
    assert abs(dt.datetime.fromisoformat(item["expected_datetime"])
               - dt.datetime.fromisoformat(ours["due_at"])) < seconds
    assert item["updated_datetime"] >= item["requested_datetime"]
    commune = ours["current_units"]["commune"]
    assert (item["address_id"], item["zipcode"]) == (commune["code"], None)
    assert item["address"].startswith(commune["name"])
    assert (item["lat"], item["long"]) == (16.4637, 107.5906) == (ours["location"]["lat"],
                                                                  ours["location"]["lon"])
    assert item["media_url"] == "https://example.invalid/photos/1.jpg"
    assert "16.4637123" not in str(listed) and "107.5906123" not in str(listed)


def test_a_token_is_the_request_id(client: FlaskClient, reports_db: ReportsDB) -> None:
    request_id = created_id(post(client, reports_db, fmt="json"))
    tokens = both(client, f"tokens/{request_id}")
    conforms(tokens, schema.TOKENS)
    assert tokens == [{"service_request_id": request_id, "token": request_id}]
    assert_error(client.get(f"{BASE}/tokens/PA-NOSUCHTOKEN.json"), 404, "token")
    assert_error(client.get(f"{BASE}/requests/PA-NOSUCHREPORT.xml"), 404, "service_request_id")


def test_post_in_xml_answers_in_xml(client: FlaskClient, reports_db: ReportsDB) -> None:
    response = post(client, reports_db, fmt="xml", service_code="roads", lat=None, long=None,
                    address_string="Kiệt 5 Nguyễn Sinh Cung, P. Vỹ Dạ")
    assert response.status_code == 201 and response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "service_requests"
    request_id = root.findtext("request/service_request_id") or ""
    assert request_id.startswith("PA-") and root.find("request/token") is None
    assert both(client, f"requests/{request_id}")[0]["address"] == "Kiệt 5 Nguyễn Sinh Cung, P. Vỹ Dạ"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_needs_a_valid_client_key_403(client: FlaskClient, reports_db: ReportsDB,
                                          fmt: str) -> None:
    with reports_db.engine.begin() as conn:
        revoked = issue_key(conn, name="open311-revoked", role="client")
        revoke_key(conn, revoked.prefix)
        agency_code = conn.execute(select(agency.c.code).limit(1)).scalar_one()
        agency_only = issue_key(conn, name="open311-agency", role="agency", agency_code=agency_code)
    before = counts(reports_db)
    for key in (None, "gis_nope_nope", revoked.key, agency_only.key):
        assert_error(post(client, reports_db, fmt=fmt, api_key=key), 403, "api_key")
    assert counts(reports_db) == before


@pytest.mark.parametrize(
    ("change", "status", "parameter"),
    [
        ({"service_code": "no_such_service"}, 400, "service_code"),  # POST: 400 (issue 18)
        ({"service_code": "sanitation' OR '1'='1"}, 400, "service_code"),
        ({"service_code": None}, 400, "service_code"),
        ({"lat": "21.0278", "long": "105.8342"}, 400, "lat"),  # Hà Nội: outside Huế
        ({"long": None}, 400, "long"),
        ({"lat": "1e309"}, 400, "lat"),
        ({"lat": "107.611", "long": "16.4779"}, 400, "lat"),  # swapped
        ({"lat": None, "long": None, "address_string": "qwertyuiop zxcvb"}, 400, "address_string"),
        ({"description": "x" * 4001}, 400, "description"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ],
)
def test_bad_posts_are_refused_and_leave_nothing(client: FlaskClient, reports_db: ReportsDB,
                                                change: dict[str, str | None], status: int,
                                                parameter: str) -> None:
    before = counts(reports_db)
    assert_error(post(client, reports_db, **change), status, parameter)
    assert counts(reports_db) == before


@pytest.mark.parametrize(
    ("body", "query", "content_type", "status", "parameter"),
    [
        ("&lat=16.48", "", FORM, 400, "lat"),  # lat twice
        ("&description=again", "", FORM, 400, "description"),
        ("", "api_key=gis_x_y", FORM, 400, "api_key"),  # in the query string and in the form
        ("", "", "application/json", 400, "body"),
        ("&note=a%00b", "", FORM, 400, "note"),
    ],
)
def test_hostile_form_posts_get_a_clear_4xx_and_leave_nothing(
        client: FlaskClient, reports_db: ReportsDB, *, body: str, query: str, content_type: str,
        status: int, parameter: str) -> None:
    before = counts(reports_db)
    raw = urlencode(new_form(reports_db)) + body
    response = client.post(f"{BASE}/requests.json?{query}", data=raw, content_type=content_type)
    assert_error(response, status, parameter)
    assert counts(reports_db) == before


def test_invalid_utf8_and_huge_bodies_are_refused(client: FlaskClient, reports_db: ReportsDB) -> None:
    before = counts(reports_db)
    raw = urlencode(new_form(reports_db, description=None)).encode() + b"&description=%C3%28"
    assert_error(form_post(client, raw), 400, "body")
    assert_error(form_post(client, raw + b"\xff\xfe", fmt="xml"), 400, "body")
    huge = urlencode(new_form(reports_db, description="x" * (10 * 1024 * 1024)))
    assert_error(form_post(client, huge), 413)
    assert counts(reports_db) == before


def test_sql_in_a_description_is_stored_as_text(client: FlaskClient, reports_db: ReportsDB) -> None:
    text = "'); DROP TABLE report; -- \" OR 1=1"
    request_id = created_id(post(client, reports_db, description=text))
    assert both(client, f"requests/{request_id}")[0]["description"] == text


def test_a_retried_post_with_an_idempotency_key_creates_one_request(
        client: FlaskClient, reports_db: ReportsDB) -> None:
    body = urlencode(new_form(reports_db, description="retry me"))
    before = counts(reports_db)[0]
    first = form_post(client, body, **{"Idempotency-Key": "open311-retry-1"})
    again = form_post(client, body, **{"Idempotency-Key": "open311-retry-1"})
    assert created_id(first) == created_id(again)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert counts(reports_db)[0] == before + 1
    other = urlencode(new_form(reports_db, description="something else"))
    assert_error(form_post(client, other, **{"Idempotency-Key": "open311-retry-1"}), 400,
                 "Idempotency-Key")


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(client: FlaskClient,
                                                              reports_db: ReportsDB) -> None:
    with reports_db.engine.begin() as conn:
        limited = issue_key(conn, name="open311-limited", role="client", rate_limit_per_minute=1)
    # Three at once: however a minute boundary falls, two of them share a minute.
    responses = [post(client, reports_db, api_key=limited.key, service_code=None) for _ in range(3)]
    assert {r.status_code for r in responses} == {400, 429}
    refused = next(r for r in responses if r.status_code == 429)
    assert_error(refused, 429, "api_key")
    assert 1 <= int(refused.headers["Retry-After"]) <= 61


def test_a_database_outage_is_503_with_retry_after(reports_db: ReportsDB) -> None:
    nowhere = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                            connect_args={"connect_timeout": 2})
    with create_app(reports_db.settings, engine=nowhere).test_client() as down:
        for fmt in ("json", "xml"):
            response = down.get(f"{BASE}/services.{fmt}")
            assert_error(response, 503)
            assert response.headers["Retry-After"].isdigit()
    nowhere.dispose()


def _report_id(reports_db: ReportsDB, public_id: str) -> int:
    with reports_db.engine.connect() as conn:
        return int(conn.execute(select(report.c.id).where(report.c.public_id == public_id)).scalar_one())


def ids(listed: list[dict[str, Any]]) -> list[str]:
    return [item["service_request_id"] for item in listed]


def test_get_requests_filters(client: FlaskClient, reports_db: ReportsDB) -> None:
    trash = created_id(post(client, reports_db))
    road = created_id(post(client, reports_db, service_code="roads"))
    resolved = created_id(post(client, reports_db, service_code="roads"))
    with reports_db.engine.begin() as conn:
        for status in ("accepted", "assigned", "in_progress", "resolved"):
            transition(conn, _report_id(reports_db, resolved), status, "test:staff",
                       "Ms Lan called 0911311311")

    assert ids(both(client, "requests", service_request_id=f"{trash}, {road}")) == [road, trash]
    everything = both(client, "requests")
    conforms(everything, schema.SERVICE_REQUESTS)
    assert {trash, road, resolved} <= set(ids(everything))
    assert ids(everything) == ids(sorted(everything, key=lambda r: r["requested_datetime"],
                                         reverse=True))
    roads = both(client, "requests", service_code="roads")
    assert road in ids(roads) and trash not in ids(roads)
    assert {r["service_code"] for r in roads} == {"roads"}
    assert {r["service_code"] for r in both(client, "requests", service_code="roads,sanitation")} \
        == {"roads", "sanitation"}

    closed = both(client, "requests", status="closed")
    assert resolved in ids(closed) and road not in ids(closed)
    assert {r["status"] for r in closed} == {"closed"}
    assert resolved not in ids(both(client, "requests", status="open"))
    assert {trash, resolved} <= set(ids(both(client, "requests", status="open,closed")))
    item = both(client, f"requests/{resolved}")[0]
    assert item["status"] == "closed" and item["status_notes"].startswith("Resolved by ")
    assert "0911311311" not in str(item)  # the staff's note is not published
    with reports_db.engine.connect() as conn:
        last = conn.execute(select(func.max(report_event.c.at)).where(
            report_event.c.report_id == _report_id(reports_db, resolved))).scalar_one()
    assert dt.datetime.fromisoformat(item["updated_datetime"]) == last.replace(microsecond=0)


def test_the_default_window_and_explicit_dates(client: FlaskClient, reports_db: ReportsDB) -> None:
    old = created_id(post(client, reports_db))
    moved_to = dt.datetime.now(dt.UTC) - dt.timedelta(days=200)
    with reports_db.engine.begin() as conn:
        conn.execute(update(report).where(report.c.public_id == old)
                     .values(created_at=moved_to, due_at=moved_to + dt.timedelta(days=14)))
    assert old not in ids(both(client, "requests"))
    window = {"start_date": (moved_to - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "end_date": (moved_to + dt.timedelta(days=1)).isoformat()}
    assert old in ids(both(client, "requests", **window))
    assert old in ids(both(client, "requests", start_date=window["start_date"]))
    # Asked for by id, the date window does not apply (the id overrides every other filter).
    assert ids(both(client, "requests", service_request_id=old)) == [old]

    bad = [({"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-12-01T00:00:00Z"}, "end_date"),
           ({"start_date": "last tuesday"}, "start_date"),
           ({"end_date": "2025-01-01T00:00:00"}, "end_date"),
           ({"status": "pending"}, "status")]
    for query, parameter in bad:
        for fmt in ("json", "xml"):
            assert_error(client.get(f"{BASE}/requests.{fmt}", query_string=query), 400, parameter)
    assert_error(client.get(f"{BASE}/requests.json?status=open&status=closed"), 400, "status")


def test_the_openapi_document_describes_open311_errors(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    tag = next(t for t in document["tags"] if t["name"] == "open311")
    assert "not problem+json" in tag["description"]
    post_doc = document["paths"]["/open311/v2/requests.{fmt}"]["post"]
    assert "application/x-www-form-urlencoded" in post_doc["requestBody"]["content"]
    assert post_doc["responses"]["403"]["content"]["application/json"]["schema"] == schema.ERRORS


# --- an Open311 client library from PyPI, over real HTTP ------------------------------------


@pytest.fixture(scope="module")
def live_url(app: Flask) -> Iterator[str]:
    """The app on a free loopback port (werkzeug's threaded server), for HTTP clients."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}{BASE}"
    server.shutdown()
    thread.join(timeout=10)


def as_client_text(value: Any) -> Any:
    """A JSON value as xmltodict reads the XML: strings, and None for empty elements."""
    if isinstance(value, dict):
        return {key: as_client_text(item) for key, item in value.items()}
    shaped = text_shape(value)
    return shaped or None


def test_the_georeport_client_library_reads_what_we_serve(
        live_url: str, reports_db: ReportsDB, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # loopback never goes through a proxy
    # georeport reads only; it posts nothing, so the request is created with requests (its HTTP
    # library), as an Open311 form post.
    created = requests.post(f"{live_url}/requests.json", data=new_form(reports_db), timeout=60)
    assert created.status_code == 201, created.text
    request_id = created.json()[0]["service_request_id"]
    refused = requests.post(f"{live_url}/requests.xml", data=new_form(reports_db, api_key="gis_a_b"),
                            timeout=60)
    assert refused.status_code == 403 and "<errors><error><code>403</code>" in refused.text
    with reports_db.engine.connect() as conn:
        codes = list(conn.execute(select(category.c.code).order_by(category.c.code)).scalars())

    seen = {}
    for fmt in ("json", "xml"):
        georeport = GeoReport(live_url, output_format=fmt)
        assert [s["service_code"] for s in georeport.get_service_list()] == codes
        assert georeport.get_service_definition("roads")["service_code"] == "roads"
        one = georeport.get_service_request(request_id)
        assert (one["service_request_id"], one["status"], one["service_code"]) == (
            request_id, "open", "sanitation")
        by_id = georeport.get_service_requests(service_request_id=request_id)
        # xmltodict reads a list of one request as that request.
        assert (by_id if isinstance(by_id, list) else [by_id]) == [one]
        today = dt.datetime.now(dt.UTC)
        recent = georeport.get_service_requests(
            service_code="sanitation", status="open",
            start_date=(today - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            end_date=(today + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        recent = recent if isinstance(recent, list) else [recent]
        assert request_id in ids(recent)
        assert {r["status"] for r in recent} == {"open"}
        with pytest.raises(requests.HTTPError) as missing:
            georeport.get_service_request("PA-NOSUCHREPORT")
        assert missing.value.response.status_code == 404
        seen[fmt] = dict(one)
    assert as_client_text(seen["json"]) == seen["xml"]


# --- privacy: last, so it crawls everything the tests above created -------------------------


def test_no_reporter_contact_appears_in_any_open311_output(client: FlaskClient,
                                                           reports_db: ReportsDB) -> None:
    own = created_id(post(client, reports_db))
    with reports_db.engine.connect() as conn:
        contacts = conn.execute(select(report_contact.c.name, report_contact.c.phone,
                                       report_contact.c.email)).all()
        public_ids = list(conn.execute(select(report.c.public_id)).scalars())
        codes = list(conn.execute(select(category.c.code)).scalars())
        oldest = conn.execute(select(func.min(report.c.created_at))).scalar_one()
    # Whole values (a name's parts alone can be street names: Nguyễn Sinh Cung), and ours.
    secrets = {value for row in contacts for value in row if value and len(value) >= 5}
    secrets |= {CONTACT["last_name"], CONTACT["phone"], CONTACT["email"]}
    assert CONTACT["phone"] in secrets and CONTACT["email"] in secrets and "Riêngtư" in secrets

    pages: list[str] = []
    paths = ["discovery", "services", *(f"services/{code}" for code in codes),
             *(f"requests/{public_id}" for public_id in public_ids),
             *(f"tokens/{public_id}" for public_id in public_ids)]
    start = oldest - dt.timedelta(days=1)
    windows: list[dict[str, str]] = [{}]
    while start < dt.datetime.now(dt.UTC):
        windows.append({"start_date": start.isoformat()})
        start += dt.timedelta(days=90)
    for fmt in ("json", "xml"):
        pages += [client.get(f"{BASE}/{path}.{fmt}").get_data(as_text=True) for path in paths]
        pages += [client.get(f"{BASE}/requests.{fmt}", query_string=window).get_data(as_text=True)
                  for window in windows]
        pages.append(post(client, reports_db, fmt=fmt).get_data(as_text=True))
        pages.append(post(client, reports_db, fmt=fmt, lat="1e309").get_data(as_text=True))
    crawled = "\n".join(pages)
    assert own in crawled and all(public_id in crawled for public_id in public_ids)
    leaked = sorted(secret for secret in secrets if secret in crawled)
    assert leaked == []
