"""Who may do what: every write refuses missing, wrong and revoked keys; an agency reads the
contact of, and changes, only its own agency's reports; keys are stored hashed and compared in
constant time; per-key rate limits answer 429 with Retry-After on reads and writes alike."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gis_service import auth
from gis_service.auth import IssuedKey, authenticate, issue_key, revoke_key
from gis_service.db.schema import (
    agency,
    api_key,
    api_key_usage,
)
from gis_service.errors import Unauthorized
from tests.conftest import ReportsDB, nothing_left

# Phường Hương An: away from where the other API tests report (their duplicate checks).
HERE = {"lat": 16.5012, "lon": 107.5503}
NEW = {"category": "roads", "description": "Ổ gà giữa đường", **HERE,
       "reporter": {"name": "Người Báo Tin", "phone": "0977000111",
                    "email": "access.resident@example.invalid"}}
FORM = "application/x-www-form-urlencoded"


def issue(reports_db: ReportsDB, role: str, agency_code: str | None = None,
          limit: int = 100_000) -> IssuedKey:
    with reports_db.engine.begin() as conn:
        return issue_key(conn, name=f"access-{role}", role=role, agency_code=agency_code,
                         rate_limit_per_minute=limit)


@pytest.fixture(scope="module")
def stored(app: Flask, reports_db: ReportsDB) -> dict[str, Any]:
    """A report submitted by a client, and the code of the agency it was routed to."""
    key = issue(reports_db, "client").key
    with app.test_client() as client:
        response = client.post("/v1/reports", json=NEW, headers={"X-API-Key": key})
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json()["report"])


@pytest.fixture(scope="module")
def agency_keys(reports_db: ReportsDB, stored: dict[str, Any]) -> tuple[str, str]:
    """The key of the stored report's own agency, and another agency's."""
    own = stored["agency"]["code"]
    with reports_db.engine.connect() as conn:
        other = conn.execute(select(agency.c.code).where(agency.c.code != own)
                             .order_by(agency.c.code).limit(1)).scalar_one()
    return issue(reports_db, "agency", own).key, issue(reports_db, "agency", other).key


def bad_keys(reports_db: ReportsDB) -> dict[str, dict[str, str]]:
    """Headers with no key, malformed, unknown and wrong keys, and a revoked one."""
    real = issue(reports_db, "admin")
    revoked = issue(reports_db, "admin")
    with reports_db.engine.begin() as conn:
        revoke_key(conn, revoked.prefix)
    wrong_secret = f"gis_{real.prefix}_{'x' * 43}"
    return {
        "missing": {},
        "empty": {"X-API-Key": ""},
        "malformed": {"X-API-Key": "not-a-key"},
        "unknown": {"X-API-Key": "gis_00000000_" + "y" * 43},
        "wrong secret": {"X-API-Key": wrong_secret},
        "wrong bearer": {"Authorization": f"Bearer {wrong_secret}"},
        "revoked": {"X-API-Key": revoked.key},
    }


WRITES: list[tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    ("post", "/v1/reports", lambda _: {"json": NEW}),
    ("patch", "/v1/reports/{id}", lambda _: {"json": {"status": "accepted"}}),
    ("post", "/v1/reports/{id}/rating", lambda _: {"json": {"satisfaction": 5}}),
]


def test_every_write_refuses_missing_wrong_and_revoked_keys(
        client: FlaskClient, reports_db: ReportsDB, stored: dict[str, Any]) -> None:
    refused = 0
    with nothing_left(reports_db):
        for name, headers in bad_keys(reports_db).items():
            for method, path, body in WRITES:
                url = path.format(id=stored["id"])
                response = getattr(client, method)(url, headers=headers, **body(stored))
                assert response.status_code == 401, (name, method, url, response.get_json())
                assert response.get_json()["field"] == "api_key"
                refused += 1
            # Open311: in the form or the header, and 403 as its specification has it.
            key = headers.get("X-API-Key")
            form = {"service_code": "roads", "lat": str(HERE["lat"]), "long": str(HERE["lon"]),
                    **({"api_key": key} if key else {})}
            response = client.post("/open311/v2/requests.json", data=urlencode(form),
                                   content_type=FORM, headers=headers)
            assert response.status_code == 403, (name, response.get_json())
            assert response.get_json()[0]["description"].startswith("api_key: ")
            refused += 1
    assert refused == 7 * 4
    assert client.get(f"/v1/reports/{stored['id']}").get_json()["status"] == "received"


def test_roles_decide_who_writes(client: FlaskClient, reports_db: ReportsDB,
                                 stored: dict[str, Any], agency_keys: tuple[str, str]) -> None:
    own, _ = agency_keys
    client_key = issue(reports_db, "client").key
    url = f"/v1/reports/{stored['id']}"
    with nothing_left(reports_db):
        assert client.post("/v1/reports", json=NEW, headers={"X-API-Key": own}).status_code == 403
        assert client.patch(url, json={"status": "accepted"},
                            headers={"X-API-Key": client_key}).status_code == 403
        assert client.post(url + "/rating", json={"satisfaction": 5},
                           headers={"X-API-Key": own}).status_code == 403
        form = urlencode({"api_key": own, "service_code": "roads", "lat": str(HERE["lat"]),
                          "long": str(HERE["lon"])})
        assert client.post("/open311/v2/requests.json", data=form,
                           content_type=FORM).status_code == 403


def test_an_agency_reads_and_changes_only_its_own_reports(
        client: FlaskClient, reports_db: ReportsDB, stored: dict[str, Any],
        agency_keys: tuple[str, str]) -> None:
    own, other = agency_keys
    url = f"/v1/reports/{stored['id']}"
    listed = {"unit": stored["current_units"]["commune"]["code"], "category": "roads"}

    def listing(key: str) -> dict[str, Any]:
        page = client.get("/v1/reports", query_string=listed, headers={"X-API-Key": key})
        return next(r for r in page.get_json()["reports"] if r["id"] == stored["id"])

    seen = client.get(url, headers={"X-API-Key": other})
    assert seen.status_code == 200 and "reporter" not in seen.get_json()
    assert "reporter" not in listing(other)
    assert "0977000111" not in seen.get_data(as_text=True)
    with nothing_left(reports_db):
        refused = client.patch(url, json={"status": "accepted", "note": "not ours"},
                               headers={"X-API-Key": other})
        assert refused.status_code == 403 and refused.get_json()["field"] == "id"
    assert client.get(url).get_json()["status"] == "received"
    # Its own agency sees the reporter, and may move the report on.
    assert client.get(url, headers={"X-API-Key": own}).get_json()["reporter"] == NEW["reporter"]
    assert listing(own)["reporter"] == NEW["reporter"]
    moved = client.patch(url, json={"status": "accepted"}, headers={"X-API-Key": own})
    assert moved.status_code == 200 and moved.get_json()["status"] == "accepted"


def test_keys_are_stored_hashed(reports_db: ReportsDB) -> None:
    issued = [issue(reports_db, role) for role in ("client", "admin")]
    with reports_db.engine.connect() as conn:
        rows = conn.execute(select(api_key)).all()
        stored_hash = dict(conn.execute(select(api_key.c.prefix, api_key.c.secret_hash)).all())
    text = "\n".join(str(value) for row in rows for value in row)
    for key in issued:
        secret = key.key.split("_", 2)[2]
        assert len(secret) >= 40 and secret not in text and key.key not in text
        assert stored_hash[key.prefix] == hashlib.sha256(secret.encode()).hexdigest()


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every hmac.compare_digest call made by gis_service.auth, with its arguments."""
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def recording(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    # auth's own name for the module, so only its comparisons are seen.
    monkeypatch.setattr(auth, "hmac", SimpleNamespace(compare_digest=recording))
    return calls


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_keys_are_compared_in_constant_time(reports_db: ReportsDB,
                                            comparisons: list[tuple[str, str]]) -> None:
    key = issue(reports_db, "client")
    secret = key.key.split("_", 2)[2]
    with reports_db.engine.connect() as conn:
        assert authenticate(conn, key.key).role == "client"
        assert comparisons[-1] == (sha256(secret), sha256(secret))
        for presented, compared in ((f"gis_{key.prefix}_wrong", "wrong"),  # known prefix
                                    ("gis_ffffffff_" + secret, secret),  # unknown prefix
                                    ("not-a-key", "")):  # malformed: still one comparison
            count = len(comparisons)
            with pytest.raises(Unauthorized):
                authenticate(conn, presented)
            assert len(comparisons) == count + 1
            expected = sha256(secret) if presented.startswith(f"gis_{key.prefix}_") else auth._DUMMY_HASH
            assert comparisons[-1] == (sha256(compared), expected)


def test_the_api_compares_through_hmac(client: FlaskClient, reports_db: ReportsDB,
                                       comparisons: list[tuple[str, str]]) -> None:
    key = issue(reports_db, "client")
    assert client.get("/v1/reports?page_size=1", headers={"X-API-Key": key.key}).status_code == 200
    assert client.get("/v1/reports?page_size=1",
                      headers={"X-API-Key": "gis_ffffffff_nope"}).status_code == 401
    secret = key.key.split("_", 2)[2]
    assert comparisons == [(sha256(secret), sha256(secret)), (sha256("nope"), auth._DUMMY_HASH)]


def _windows(reports_db: ReportsDB, key: IssuedKey) -> int:
    with reports_db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(api_key_usage.join(api_key))
                                .where(api_key.c.prefix == key.prefix)).scalar_one())


def limited_statuses(reports_db: ReportsDB, role: str, agency_code: str | None,
                     send: Callable[[str], Any]) -> list[Any]:
    """Four requests with a key allowed two a minute (again if a minute boundary split them)."""
    for _attempt in range(3):
        key = issue(reports_db, role, agency_code, limit=2)
        responses = [send(key.key) for _ in range(4)]
        if _windows(reports_db, key) == 1:
            break
    return responses


@pytest.mark.parametrize("operation", ["read one", "rate", "patch", "open311 post"])
def test_rate_limits_answer_429_with_retry_after(client: FlaskClient, reports_db: ReportsDB,
                                                 stored: dict[str, Any], operation: str) -> None:
    url = f"/v1/reports/{stored['id']}"
    form = {"service_code": "roads", "lat": str(HERE["lat"]), "long": str(HERE["lon"])}
    senders: dict[str, tuple[str, Callable[[str], Any]]] = {
        "read one": ("client", lambda key: client.get(url, headers={"X-API-Key": key})),
        # Not resolved, so 409 until the limit: the key is counted before the report is read.
        "rate": ("client", lambda key: client.post(url + "/rating", json={"satisfaction": 5},
                                                   headers={"X-API-Key": key})),
        "patch": ("agency", lambda key: client.patch(url, json={"status": "lost"},
                                                     headers={"X-API-Key": key})),
        "open311 post": ("client", lambda key: client.post(
            "/open311/v2/requests.json", data=urlencode({**form, "api_key": key, "lat": "x"}),
            content_type=FORM)),
    }
    role, send = senders[operation]
    with nothing_left(reports_db):
        responses = limited_statuses(reports_db, role, stored["agency"]["code"] if role == "agency"
                                     else None, send)
    statuses = [response.status_code for response in responses]
    assert statuses[2:] == [429, 429] and 429 not in statuses[:2], statuses
    for refused in responses[2:]:
        assert 1 <= int(refused.headers["Retry-After"]) <= 61
