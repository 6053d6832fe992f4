"""Finding reports (issue 14): filters, diacritic-blind search over the redacted public text
(with its index), sorting, totals and links, unknown parameters, and streamed exports."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, select, text

from gis_service.db.schema import report
from gis_service.reports import queries
from tests.conftest import ReportsDB, problem
from tests.test_reports_api import NEW, headers

# Its own category, so the counts below are this module's reports alone.
CATEGORY = "electricity"
WORDS = "Dây điện võng thấp ở kiệt 114 Đặng Huy Trứ, gọi 0914 222 333"


@pytest.fixture(scope="module")
def filed(reports_db: ReportsDB, app: Any) -> list[dict[str, Any]]:
    """Three reports: two by app (one with the words), one by hotline."""
    bodies = [
        {**NEW, "category": CATEGORY, "description": WORDS},
        {**NEW, "category": CATEGORY, "description": "Mất điện cả khu", "lat": 16.4640},
        {**NEW, "category": CATEGORY, "channel": "hotline", "description": "Trụ điện nghiêng",
         "address": "Kiệt 7 Điện Biên Phủ"},
    ]
    with app.test_client() as client:
        return [client.post("/v1/reports", json=body, headers=headers(reports_db.keys["client"]))
                .get_json()["report"] for body in bodies]


def listed(client: FlaskClient, **query: Any) -> dict[str, Any]:
    response = client.get("/v1/reports", query_string={"category": CATEGORY, **query})
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [r["id"] for r in body["reports"]]


def test_words_are_found_without_diacritics_in_the_public_text_only(
        client: FlaskClient, filed: list[dict[str, Any]]) -> None:
    for words in ("kiet 114 dang huy tru", "KIỆT 114", "Day dien vong", "dien bien phu"):
        found = ids(listed(client, q=words))
        assert found == [filed[2]["id"]] if "bien" in words else found == [filed[0]["id"]], words
    # The phone number is redacted, so it cannot be searched for.
    for number in ("0914 222 333", "0914222333", "222 333"):
        assert listed(client, q=number)["total"] == 0
    assert listed(client, q="100%")["total"] == 0  # wildcards are searched as written


def test_filters_sort_total_and_next(client: FlaskClient, filed: list[dict[str, Any]]) -> None:
    assert listed(client)["total"] == 3
    assert ids(listed(client, channel="hotline")) == [filed[2]["id"]]
    assert listed(client, status="received,accepted")["total"] == 3
    assert listed(client, status=["rejected", "closed"])["total"] == 0
    assert listed(client, overdue="true")["total"] == 0
    assert listed(client, overdue="false")["total"] == 3
    commune = filed[0]["current_units"]["commune"]["code"]
    assert listed(client, commune=commune)["total"] >= 1
    assert ids(listed(client, sort="created_at")) == [r["id"] for r in filed]
    assert ids(listed(client, sort="-created_at")) == [r["id"] for r in reversed(filed)]
    first = listed(client, page_size=2, sort="due_at")
    assert first["total"] == 3 and first["next_page"] == 2
    following = client.get(first["next"]).get_json()
    assert following["next"] is None and len(following["reports"]) == 1
    assert set(ids(first) + ids(following)) == {r["id"] for r in filed}


@pytest.mark.parametrize(("query", "field"), [
    ({"stauts": "received"}, "stauts"), ({"status": "lost"}, "status"),
    ({"overdue": "maybe"}, "overdue"), ({"sort": "priority"}, "sort"),
    ({"format": "xlsx"}, "format"), ({"q": "a"}, "q"), ({"channel": "fax"}, "channel"),
])
def test_bad_and_unknown_parameters_are_named(client: FlaskClient, query: dict[str, str],
                                              field: str) -> None:
    body = problem(client.get("/v1/reports", query_string=query), 400)
    assert field in json.dumps(body), body


def test_the_search_uses_its_index(reports_db: ReportsDB) -> None:
    """EXPLAIN of the filter as the list runs it: a bitmap scan of ix_report_search_text.
    Sequential scans are turned off so that the plan on a small table shows what the index
    can do (on a large one the planner picks it unprompted)."""
    with reports_db.engine.connect() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = explain(conn, queries.ReportFilter(q="kiet 114"))
    assert "ix_report_search_text" in plan, plan


def explain(conn: Connection, filters: queries.ReportFilter) -> str:
    query = select(report.c.id).where(queries.matches_words(filters.q or ""))
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    return "\n".join(conn.execute(text("EXPLAIN " + sql)).scalars())


def test_exports_are_streamed_with_public_fields(client: FlaskClient,
                                                 filed: list[dict[str, Any]]) -> None:
    response = client.get("/v1/reports", query_string={"category": CATEGORY, "format": "csv"})
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {row["id"] for row in rows} == {r["id"] for r in filed}
    text_ = response.get_data(as_text=True)
    assert "0914" not in text_ and "[số điện thoại]" in text_
    geojson = client.get("/v1/reports", query_string={"category": CATEGORY, "format": "geojson",
                                                      "q": "kiet 114"})
    assert geojson.is_streamed and geojson.mimetype == "application/geo+json"
    features = json.loads(geojson.get_data(as_text=True))["features"]
    assert [f["id"] for f in features] == [filed[0]["id"]]
    assert features[0]["geometry"]["coordinates"] == [filed[0]["location"]["lon"],
                                                       filed[0]["location"]["lat"]]
    assert "0914" not in json.dumps(features, ensure_ascii=False)


def test_stream_reports_reads_in_batches(engine: Engine) -> None:
    """The export's reader is a generator over a server-side cursor (an empty database here:
    the generator itself is what is checked; benchmarks/report_export.py measures memory)."""
    with engine.connect() as conn:
        rows = queries.stream_reports(conn, queries.ReportFilter(), batch=10)
        assert iter(rows) is rows
        assert list(rows) == []


def test_open311_pages_beyond_its_first_thousand(client: FlaskClient,
                                                 filed: list[dict[str, Any]]) -> None:
    query = {"service_code": CATEGORY, "page_size": "1"}
    pages = [client.get("/open311/v2/requests.json", query_string={**query, "page": str(page)})
             .get_json() for page in (1, 2, 3, 4)]
    assert [[r["service_request_id"] for r in page] for page in pages] == [
        [filed[2]["id"]], [filed[1]["id"]], [filed[0]["id"]], []]
    for bad in ({"page": "0"}, {"page_size": "1001"}, {"page": "x"}):
        answer = client.get("/open311/v2/requests.json", query_string=bad)
        assert answer.status_code == 400
        assert answer.get_json()[0]["description"].startswith(next(iter(bad)))
