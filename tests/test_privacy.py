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
from urllib.parse import urlencode

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
from tests.conftest import HistoryDB, ReportsDB

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


def crawl_reports(crawl: Crawl, dataset: Dataset, *, every: int = 1,
                  exports: bool = False) -> list[dict[str, Any]]:
    """Every ``every``-th page of GET /v1/reports (and the last), a sample of reports by id and
    their timelines, and (``exports``) the whole list as CSV and GeoJSON."""
    last = -(-dataset.all_reports // PAGE_SIZE)
    listed: list[dict[str, Any]] = []
    for page in sorted({*range(1, last + 1, every), last}):
        body = crawl.get("/v1/reports", "/v1/reports", page=page, page_size=PAGE_SIZE).get_json()
        assert body["next_page"] == (page + 1 if page < last else None)
        assert body["total"] == dataset.all_reports
        listed += body["reports"]
    listed += [crawl.get("/v1/reports/{public_id}", f"/v1/reports/{public_id}").get_json()
               for public_id in dataset.sample_ids]
    for public_id in dataset.sample_ids:
        crawl.get("/v1/reports/{public_id}/events", f"/v1/reports/{public_id}/events")
    for fmt in ("csv", "geojson") if exports else ():
        crawl.get("/v1/reports", "/v1/reports", format=fmt)
    return listed


def crawl_analyses(crawl: Crawl, **emerging: Any) -> None:
    crawl.get("/healthz", "/healthz")
    crawl.get("/livez", "/livez")
    for output in ("geojson", "csv"):
        crawl.get("/v1/hotspots", "/v1/hotspots", res=8, format=output)
        crawl.get("/v1/coverage", "/v1/coverage", format=output)
    crawl.get("/v1/hotspots/emerging", "/v1/hotspots/emerging", **(emerging or {"res": 7}))
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


#: GET operations that answer only with a key (401 without): crawled with the agency's key.
KEY_ONLY = {"/v1/agencies/{code}/deliveries"}


def test_no_public_output_carries_a_contact(app: Flask, dataset: Dataset) -> None:
    """Without a key: every GET operation of the document, every third page of the list (one
    code path decides for every row; 0.2 s a page), the maps."""
    with app.test_client() as client:
        crawl = Crawl(client, {})
        reports = crawl_reports(crawl, dataset, every=3, exports=True)
        crawl_analyses(crawl)
        crawl_geocoding(crawl, dataset)
        requests = crawl_open311(crawl, dataset)
        assert crawl.operations == get_operations(client) - KEY_ONLY | {
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
        crawl.get("/v1/agencies/{code}/deliveries", f"/v1/agencies/{keys.agency_code}/deliveries")
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


# --- free text: descriptions, addresses, public notes and teams that hold PII (issue 14) ------

#: A category only this section files, spread over Huế so none is another's duplicate.
TEXT_CATEGORY = "other"
_BETWEEN_DIGITS = re.compile(r"(?<=\d)[\s.\-()\u00a0\u200b+]+(?=\d)")


def compacted(text: str) -> str:
    """``text`` with the separators between digits removed (0905.111 222 -> 0905111222)."""
    return _BETWEEN_DIGITS.sub("", text)


def pii_needles(values: tuple[str, ...]) -> set[str]:
    """What must not appear of each value: phones and IDs by their last 9 digits, e-mail
    addresses by their local part, names as written (lower case)."""
    needles: set[str] = set()
    for value in values:
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 9:
            needles.add(digits[-9:])
        elif "@" in value or " at " in value or "[at]" in value or "(at)" in value \
                or "{at}" in value or "a còng" in value:
            needles.add(re.split(r"[@\s\[({]", value, maxsplit=1)[0].lower())
        else:
            needles.add(value.lower())
    return needles


def pii_in(raw: bytes, needles: set[str]) -> set[str]:
    return {needle for reading in readings(raw) for text in (reading.lower(), compacted(reading))
            for needle in needles if needle in text}


@dataclass(frozen=True)
class TextDataset:
    dataset: Dataset
    needles: set[str]


def _file_texts(client: FlaskClient, reports_db: ReportsDB) -> list[str]:
    """The corpus as reports: descriptions and addresses, some answered with public notes and
    teams that quote it, some edited by the agency, a few through Open311."""
    from tests.redaction_corpus import PII_TEXTS  # noqa: PLC0415
    from tests.test_reports_api import agency_key  # noqa: PLC0415

    filed: list[str] = []
    key = {"X-API-Key": reports_db.keys["client"]}
    for n, (text, _) in enumerate(PII_TEXTS):
        point = {"lat": 16.40 + (n % 12) * 0.01, "lon": 107.52 + (n // 12) * 0.01}
        body = {"category": TEXT_CATEGORY, "description": text, **point,
                **({"address": text[:300]} if n % 2 else {})}
        created = client.post("/v1/reports", json=body, headers=key).get_json()["report"]
        filed.append(created["id"])
        staff = {"X-API-Key": agency_key(reports_db, created["agency"]["code"])}
        url = f"/v1/reports/{created['id']}"
        if n % 3 == 0:
            client.patch(url, json={"status": "accepted", "public_note": text}, headers=staff)
            client.patch(url, json={"status": "assigned", "team": text[:200]}, headers=staff)
        if n % 7 == 0:
            client.post(url + "/public-text", json={"reason": text, "description": text},
                        headers=staff)
    for text, _ in PII_TEXTS[:10]:
        form = urlencode({"api_key": reports_db.keys["client"], "service_code": TEXT_CATEGORY,
                          "lat": "16.46", "long": "107.59", "description": text,
                          "address_string": text[:200]})
        client.post("/open311/v2/requests.json", data=form,
                    content_type="application/x-www-form-urlencoded")
    return filed


@pytest.fixture(scope="module")
def text_app(reports_db: ReportsDB) -> Flask:
    return create_app(reports_db.settings, engine=reports_db.engine)


@pytest.fixture(scope="module")
def text_dataset(text_app: Flask, reports_db: ReportsDB) -> TextDataset:
    from tests.redaction_corpus import PII_TEXTS  # noqa: PLC0415

    with text_app.test_client() as client:
        filed = _file_texts(client, reports_db)
    with reports_db.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(report)).scalar_one()
        first_day = conn.execute(select(func.min(report.c.created_at))).scalar_one()
        codes = list(conn.execute(select(category.c.code).order_by(category.c.code)).scalars())
        points = {row[0]: (row[1], row[2]) for row in conn.execute(
            select(report.c.public_id, func.ST_X(report.c.geom), func.ST_Y(report.c.geom))
            .where(report.c.public_id.in_(filed[::6])))}
    needles = set().union(*(pii_needles(values) for _, values in PII_TEXTS))
    return TextDataset(Dataset(filed[::6], total, codes, first_day, {}, points), needles)


def test_the_text_search_finds_pii_however_it_is_written() -> None:
    needles = pii_needles(("0905 111 222", "lan [at] gmail [dot] com", "Lê Thị C"))
    assert needles == {"905111222", "lan", "lê thị c"}
    assert pii_in("gọi +84.905.111-222".encode(), needles) == {"905111222"}
    assert pii_in(json.dumps({"d": "Tôi là Lê Thị C"}).encode(), needles) == {"lê thị c"}
    assert pii_in(b"[so dien thoai] 16.4637", needles) == set()


def test_no_public_output_carries_pii_from_free_text(text_app: Flask, text_dataset: TextDataset,
                                                     reports_db: ReportsDB) -> None:
    """Every GET operation of the document (the exports too), the maps and Open311 in JSON and
    XML, without a key and with a client key: none of the corpus' contact details, with or
    without separators. The agency's own key does see them (the originals are kept)."""
    dataset = text_dataset.dataset
    found: dict[str, set[str]] = {}
    with text_app.test_client() as client:
        crawl = Crawl(client, {})
        crawl_reports(crawl, dataset, exports=True)
        # Reports of today only: weekly periods over the last twelve weeks.
        twelve_weeks = (dt.date.today() - dt.timedelta(weeks=12)).isoformat()
        crawl_analyses(crawl, res=7, period="week", **{"from": twelve_weeks})
        crawl_geocoding(crawl, dataset)
        crawl_open311(crawl, dataset)
        assert crawl.operations == get_operations(client) - KEY_ONLY | {
            "/maps", "/maps/hotspots", "/maps/coverage", "/maps/boundaries", "/scorecards"}
        for url, body in crawl.bodies:
            leaks = pii_in(body, text_dataset.needles)
            if leaks:
                found.setdefault(url, set()).update(leaks)
        keyed = Crawl(client, {"X-API-Key": reports_db.keys["client"]})
        crawl_reports(keyed, dataset)
        for url, body in keyed.bodies:
            found.setdefault(url, set()).update(pii_in(body, text_dataset.needles))
        # The search finds what is there: an admin sees the stored originals.
        admin = {"X-API-Key": reports_db.keys["admin"]}
        originals = [client.get(f"/v1/reports/{public_id}", headers=admin).data
                     for public_id in dataset.sample_ids]
    assert {url: leaks for url, leaks in found.items() if leaks} == {}
    assert len(set().union(*(pii_in(body, text_dataset.needles) for body in originals))) >= 10


def test_generated_texts_survive_redaction(history_db: HistoryDB) -> None:
    """The false-positive rate on a large PII-free corpus: the generated history's 37,000
    descriptions and addresses (house numbers, kiệt, hẻm, villages) as redaction leaves them."""
    from gis_service.redaction import redact  # noqa: PLC0415

    with history_db.engine.connect() as conn:
        texts = [text for row in conn.execute(select(report.c.description, report.c.address))
                 for text in row if text]
    changed = [(text, redact(text)) for text in texts if redact(text) != text]
    assert len(texts) >= 30_000
    assert changed == [], (len(changed), len(texts), sorted({b for _, b in changed})[:40])
