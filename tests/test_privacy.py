"""No reporter's phone, e-mail or name in any public output, and report points rounded to ~10 m.

The generated history (``history_db``: 37,000 reports) gives every reporter a recognisable fake
contact (gis_service.synthetic.texts: ``0900`` + six digits, ``resident+N@example.invalid``,
``Cư dân thử nghiệm N``). Every GET operation of /openapi.json is crawled with realistic
parameters (every third page of the report list, a sample of reports by id, hot spots, coverage and
its CSV, Open311 in JSON and XML), and the map pages, without a key, with a client key and with
an agency's key, and the bytes are searched. An agency's key does show the contact of that
agency's own reports (so the search is shown to find what is there); never another's.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from gis_service.auth import issue_key
from gis_service.db.schema import agency, api_key, api_key_usage, category, report, report_contact
from gis_service.synthetic.texts import (
    FAKE_EMAIL_DOMAIN,
    FAKE_EMAIL_PREFIX,
    FAKE_NAME_PREFIX,
    FAKE_PHONE_PREFIX,
)
from gis_service.web import create_app
from tests.conftest import HistoryDB

# Patterns that start with their literal part (the regex engine then skips ahead fast); the
# surroundings are checked after: a phone is not part of a longer number, word or fraction.
PHONE = re.compile(rf"{FAKE_PHONE_PREFIX}\d{{6}}")
EMAIL = re.compile(rf"@{re.escape(FAKE_EMAIL_DOMAIN)}")
NAME = re.compile(rf"{re.escape(FAKE_NAME_PREFIX.strip())}\s*\d*")
_LOCAL_PART = re.compile(r"[\w.+-]*$")
_NOT_BESIDE_A_PHONE = re.compile(r"[0-9A-Za-z.]")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
SAMPLE_REPORTS = 60
PAGE_SIZE = 500
PUBLIC_DECIMALS = 4


def readings(raw: bytes) -> list[str]:
    """``raw`` as UTF-8, and JSON-unescaped (``\\u01b0``) and HTML-unescaped when it has escapes."""
    text = raw.decode("utf-8", errors="replace")
    found = [text]
    if "\\u" in text:
        try:  # the JSON codec, at C speed (a page of reports has 10^5 escapes)
            found.append(json.dumps(json.loads(text), ensure_ascii=False))
        except ValueError:
            found.append(_JSON_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text))
    if "&" in text:
        found.append(html.unescape(text))
    return [unicodedata.normalize("NFC", reading) for reading in found]


def _found(text: str) -> Iterator[str]:
    for match in PHONE.finditer(text):
        before, after = text[match.start() - 1:match.start()], text[match.end():match.end() + 1]
        if not _NOT_BESIDE_A_PHONE.match(before) and not (after.isascii() and after.isalnum()):
            yield match.group(0)
    for match in EMAIL.finditer(text):
        local = _LOCAL_PART.search(text[max(0, match.start() - 80):match.start()])
        yield (local.group(0) if local else "") + match.group(0)
    yield from (match.group(0).strip() for match in NAME.finditer(text))


def contacts_in(raw: bytes) -> set[str]:
    """Every fake contact value in ``raw``, however it is written."""
    return {value for reading in readings(raw) for value in _found(reading)}


def test_the_search_finds_contacts_however_they_are_written() -> None:
    name, phone, email = (f"{FAKE_NAME_PREFIX}12", f"{FAKE_PHONE_PREFIX}000012",
                          f"{FAKE_EMAIL_PREFIX}12@{FAKE_EMAIL_DOMAIN}")
    assert contacts_in(json.dumps({"n": name, "p": phone}).encode()) == {name, phone}
    assert contacts_in(f"<a>{html.escape(email)}</a><b>{phone}</b>".encode()) == {email, phone}
    assert contacts_in(html.escape(name).encode("ascii", "xmlcharrefreplace")) == {name}
    assert contacts_in(b"p=0.09000123456, h3 8a0900123456fff, 16.0900001234") == set()


@dataclass
class Crawl:
    """What was fetched: every body, by the operation (OpenAPI path) it came from."""

    client: FlaskClient
    headers: dict[str, str]
    bodies: list[tuple[str, bytes]] = field(default_factory=list)
    operations: set[str] = field(default_factory=set)

    def get(self, operation: str, url: str, **query: Any) -> Any:
        response = self.client.get(url, query_string=query, headers=self.headers)
        assert response.status_code == 200, (url, query, response.get_data(as_text=True)[:500])
        self.bodies.append((url, response.data))
        self.operations.add(operation)
        return response


@dataclass(frozen=True)
class Keys:
    client: str
    agency: str
    agency_code: str
    agency_id: int


@pytest.fixture(scope="module")
def app(history_db: HistoryDB) -> Flask:
    return create_app(history_db.settings, engine=history_db.engine)


@pytest.fixture(scope="module")
def keys(history_db: HistoryDB) -> Iterator[Keys]:
    """A client key and the key of the agency with most reports; removed afterwards (with
    their usage counters), so history_db is left as it was."""
    with history_db.engine.begin() as conn:
        agency_id, code = conn.execute(
            select(agency.c.id, agency.c.code).join(report, report.c.agency_id == agency.c.id)
            .group_by(agency.c.id).order_by(func.count().desc()).limit(1)).one()
        client = issue_key(conn, name="privacy-client", role="client", rate_limit_per_minute=10**6)
        own = issue_key(conn, name="privacy-agency", role="agency", agency_code=code,
                        rate_limit_per_minute=10**6)
    yield Keys(client.key, own.key, code, agency_id)
    with history_db.engine.begin() as conn:
        ids = select(api_key.c.id).where(api_key.c.prefix.in_([client.prefix, own.prefix]))
        conn.execute(delete(api_key_usage).where(api_key_usage.c.api_key_id.in_(ids)))
        conn.execute(delete(api_key).where(api_key.c.prefix.in_([client.prefix, own.prefix])))


@dataclass(frozen=True)
class Dataset:
    sample_ids: list[str]
    all_reports: int
    categories: list[str]
    first_day: dt.datetime
    #: Each agency's reporters' contact values (an agency key may see its own).
    contacts_by_agency: dict[int, set[str]]
    points: dict[str, tuple[float, float]]


@pytest.fixture(scope="module")
def dataset(history_db: HistoryDB) -> Dataset:
    with history_db.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(report)).scalar_one()
        step = max(1, total // SAMPLE_REPORTS)
        sampled = conn.execute(
            select(report.c.public_id, func.ST_X(report.c.geom), func.ST_Y(report.c.geom))
            .where(report.c.id % step == 0).order_by(report.c.id).limit(SAMPLE_REPORTS)).all()
        contacts: dict[int, set[str]] = {}
        for agency_id, *values in conn.execute(
                select(report.c.agency_id, report_contact.c.name, report_contact.c.phone,
                       report_contact.c.email).join(report_contact)):
            contacts.setdefault(agency_id, set()).update(value for value in values if value)
        first_day = conn.execute(select(func.min(report.c.created_at))).scalar_one()
        codes = list(conn.execute(select(category.c.code).order_by(category.c.code)).scalars())
    return Dataset([row[0] for row in sampled], total, codes, first_day, contacts,
                   {row[0]: (row[1], row[2]) for row in sampled})


def test_the_dataset_has_recognisable_contacts(dataset: Dataset) -> None:
    values = set().union(*dataset.contacts_by_agency.values())
    assert dataset.all_reports >= 30_000
    assert sum(bool(PHONE.fullmatch(value)) for value in values) >= 1_000
    assert sum(value.endswith(f"@{FAKE_EMAIL_DOMAIN}") for value in values) >= 1_000
    assert sum(value.startswith(FAKE_NAME_PREFIX) for value in values) >= 1_000


def crawl_reports(crawl: Crawl, dataset: Dataset, *, every: int = 1) -> list[dict[str, Any]]:
    """Every ``every``-th page of GET /v1/reports (and the last), and a sample of reports by id."""
    last = -(-dataset.all_reports // PAGE_SIZE)
    listed: list[dict[str, Any]] = []
    for page in sorted({*range(1, last + 1, every), last}):
        body = crawl.get("/v1/reports", "/v1/reports", page=page, page_size=PAGE_SIZE).get_json()
        assert body["next_page"] == (page + 1 if page < last else None)
        listed += body["reports"]
    listed += [crawl.get("/v1/reports/{public_id}", f"/v1/reports/{public_id}").get_json()
               for public_id in dataset.sample_ids]
    return listed


def crawl_analyses(crawl: Crawl) -> None:
    crawl.get("/healthz", "/healthz")
    for output in ("geojson", "csv"):
        crawl.get("/v1/hotspots", "/v1/hotspots", res=8, format=output)
        crawl.get("/v1/coverage", "/v1/coverage", format=output)
    crawl.get("/v1/hotspots/emerging", "/v1/hotspots/emerging", res=7)
    for output in ("json", "csv"):
        crawl.get("/v1/coverage/summary", "/v1/coverage/summary", format=output)
    for output in ("json", "csv"):
        crawl.get("/v1/scorecards", "/v1/scorecards", by="agency", format=output)
    crawl.get("/v1/scorecards", "/v1/scorecards", by="commune", format="geojson")
    for page in ("/maps", "/maps/hotspots", "/maps/coverage", "/maps/boundaries", "/scorecards"):
        crawl.get(page, page)


def crawl_geocoding(crawl: Crawl, dataset: Dataset) -> None:
    for public_id in dataset.sample_ids[:10]:
        lon, lat = dataset.points[public_id]
        for output in ("json", "geojson"):
            crawl.get("/v1/reverse", "/v1/reverse", lat=lat, lon=lon, format=output)
    crawl.get("/v1/geocode", "/v1/geocode", q="Phường Vỹ Dạ, Thành phố Huế")


def crawl_open311(crawl: Crawl, dataset: Dataset) -> list[dict[str, Any]]:
    """Every Open311 document in JSON and XML; the service requests seen, as JSON."""
    requests: list[dict[str, Any]] = []
    windows: list[dict[str, str]] = [{}]
    start = dataset.first_day - dt.timedelta(days=1)
    while start < dt.datetime.now(dt.UTC):
        end = start + dt.timedelta(days=89)
        windows.append({"start_date": start.isoformat(), "end_date": end.isoformat()})
        start += dt.timedelta(days=89)
    for fmt in ("json", "xml"):
        crawl.get("/open311/v2/discovery.{fmt}", f"/open311/v2/discovery.{fmt}")
        crawl.get("/open311/v2/services.{fmt}", f"/open311/v2/services.{fmt}")
        for code in dataset.categories:
            crawl.get("/open311/v2/services/{service_code}.{fmt}",
                      f"/open311/v2/services/{code}.{fmt}")
        for window in windows:
            response = crawl.get("/open311/v2/requests.{fmt}", f"/open311/v2/requests.{fmt}",
                                 **window)
            if fmt == "json":
                requests += response.get_json()
        for public_id in dataset.sample_ids[:15]:
            one = crawl.get("/open311/v2/requests/{service_request_id}.{fmt}",
                            f"/open311/v2/requests/{public_id}.{fmt}")
            requests += one.get_json() if fmt == "json" else []
            crawl.get("/open311/v2/tokens/{token}.{fmt}", f"/open311/v2/tokens/{public_id}.{fmt}")
    return requests


def get_operations(client: FlaskClient) -> set[str]:
    spec = client.get("/openapi.json").get_json()
    return {path for path, item in spec["paths"].items() if "get" in item}


def leaked(crawl: Crawl, allowed: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for url, body in crawl.bodies:
        extra = sorted(contacts_in(body) - allowed)
        if extra:
            found.setdefault(url, []).extend(extra[:5])
    return found


def assert_rounded(reports: list[dict[str, Any]], requests: list[dict[str, Any]],
                   dataset: Dataset) -> None:
    """Report points in public outputs have at most 4 decimals (about 10 m), and they are the
    stored points rounded (the generator stores 6 decimals)."""
    points = [(r["id"], r["location"]["lon"], r["location"]["lat"]) for r in reports]
    points += [(r["service_request_id"], r["long"], r["lat"]) for r in requests]
    for public_id, lon, lat in points:
        assert round(lon, PUBLIC_DECIMALS) == lon and round(lat, PUBLIC_DECIMALS) == lat, public_id
        if public_id in dataset.points:
            stored_lon, stored_lat = dataset.points[public_id]
            assert (lon, lat) == (round(stored_lon, 4), round(stored_lat, 4))
    assert any(round(lon, 4) != lon for lon, _ in dataset.points.values())  # precision to lose


def assert_xml_rounded(crawl: Crawl) -> None:
    for url, body in crawl.bodies:
        if url.endswith(".xml") and b"<request>" in body:
            for element in ET.fromstring(body).iter():
                if element.tag in ("lat", "long") and element.text:
                    value = float(element.text)
                    assert round(value, PUBLIC_DECIMALS) == value, (url, element.text)


def test_no_public_output_carries_a_contact(app: Flask, dataset: Dataset) -> None:
    """Without a key: every GET operation of the document, every third page of the list (one
    code path decides for every row; 0.2 s a page), the maps."""
    with app.test_client() as client:
        crawl = Crawl(client, {})
        reports = crawl_reports(crawl, dataset, every=3)
        crawl_analyses(crawl)
        crawl_geocoding(crawl, dataset)
        requests = crawl_open311(crawl, dataset)
        assert crawl.operations == get_operations(client) | {
            "/maps", "/maps/hotspots", "/maps/coverage", "/maps/boundaries", "/scorecards"}
    assert len({r["id"] for r in reports}) >= dataset.all_reports // 3
    assert all("reporter" not in r for r in reports)
    assert leaked(crawl, allowed=set()) == {}
    assert_rounded(reports, requests, dataset)
    assert_xml_rounded(crawl)


def crawl_with_key(client: FlaskClient, key: str, dataset: Dataset) -> tuple[Crawl, list[Any]]:
    """What a key can change: the reports (every sixth page) and Open311's requests. The
    analyses and maps never read a key."""
    crawl = Crawl(client, {"X-API-Key": key})
    reports = crawl_reports(crawl, dataset, every=6)
    for fmt in ("json", "xml"):
        crawl.get("/open311/v2/requests.{fmt}", f"/open311/v2/requests.{fmt}")
        for public_id in dataset.sample_ids[:5]:
            crawl.get("/open311/v2/requests/{service_request_id}.{fmt}",
                      f"/open311/v2/requests/{public_id}.{fmt}")
    return crawl, reports


def test_a_client_key_shows_no_contact(app: Flask, keys: Keys, dataset: Dataset) -> None:
    with app.test_client() as client:
        crawl, reports = crawl_with_key(client, keys.client, dataset)
    assert len(reports) > 5 * PAGE_SIZE and all("reporter" not in r for r in reports)
    assert leaked(crawl, allowed=set()) == {}
    assert_rounded(reports, [], dataset)


def test_an_agency_key_sees_its_own_reporters_only(app: Flask, keys: Keys,
                                                   dataset: Dataset) -> None:
    with app.test_client() as client:
        crawl, reports = crawl_with_key(client, keys.agency, dataset)
    own = [r for r in reports if r["agency"]["code"] == keys.agency_code]
    others = [r for r in reports if r["agency"]["code"] != keys.agency_code]
    assert own and others
    # Its own reports carry their reporter (those that have a contact); no other report does.
    assert sum("reporter" in r for r in own) >= len(own) // 2
    assert all("reporter" not in r for r in others)
    # The search finds what is there: the agency's own reporters, in the list it was given.
    seen = set().union(*(contacts_in(body) for _, body in crawl.bodies))
    assert seen and seen <= dataset.contacts_by_agency[keys.agency_id]
    assert leaked(crawl, allowed=dataset.contacts_by_agency[keys.agency_id]) == {}
