"""Scorecards on a planted history (tests/scorecard_history.py), against an independent pandas
implementation written here from the definitions (no code shared with the module), compared
exactly (counts equal, floats to 1e-9); working hours across Tết 2026; the HTTP endpoint's
forms and its 400s."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import math
import random
from collections.abc import Iterator
from typing import Any

import holidays
import numpy as np
import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from gis_service.analysis.scorecards import GROUPINGS, Scorecards, scorecards, wilson
from gis_service.config import Settings
from gis_service.db.engine import make_engine
from gis_service.db.scratch import scratch_database
from gis_service.reports.calendar import TZ
from gis_service.reports.working_hours import epoch_seconds, working_hours_between
from gis_service.web import create_app
from tests.conftest import problem
from tests.scorecard_history import NOW, plant_history

HUE = "Asia/Ho_Chi_Minh"
FROM, TO = dt.date(2026, 1, 1), dt.date(2026, 4, 18)
Z = 1.959963984540054
OPEN = ("received", "accepted", "assigned", "in_progress", "reopened")
URBAN_TYPES = ("Phường", "Thị trấn")


# -- the planted database ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def scorecard_db(server_url: str, settings: Settings) -> Iterator[Engine]:
    with scratch_database(server_url, settings, "test_scorecards") as url:
        engine = make_engine(url, settings)
        with engine.begin() as conn:
            plant_history(conn)
        yield engine
        engine.dispose()


@pytest.fixture(scope="module")
def cards(scorecard_db: Engine) -> dict[str, Scorecards]:
    with scorecard_db.connect() as conn:
        return {by: scorecards(conn, by=by, start=FROM, end=TO, now=NOW) for by in GROUPINGS}


# -- the independent implementation ------------------------------------------------------------

_REPORTS = """
SELECT r.id, r.public_id, r.status, r.category, r.channel, r.created_at, r.due_at,
       r.first_response_at, r.resolved_at, r.closed_at, r.satisfaction,
       a.code AS agency, u.code AS commune, u.unit_type
FROM report r JOIN agency a ON a.id = r.agency_id JOIN admin_unit u ON u.id = r.current_commune_id
WHERE r.created_at >= :start AND r.created_at < :end
"""
_EVENTS = "SELECT report_id, at, to_status FROM report_event WHERE kind = 'status'"


def ref_working(day: dt.date) -> bool:
    return bool(holidays.country_holidays("VN", years=day.year).is_working_day(day))


def ref_hours(start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Working hours by walking the days: the overlap with 07:00–11:30 and 13:30–17:00."""
    if pd.isna(start) or pd.isna(end):
        return math.nan
    a, b = start.tz_convert(HUE), end.tz_convert(HUE)
    total, day = 0.0, a.date()
    while day <= b.date():
        if ref_working(day):
            for open_h, close_h in ((7, 0), (11, 30)), ((13, 30), (17, 0)):
                lo = pd.Timestamp(dt.datetime.combine(day, dt.time(*open_h)), tz=HUE)
                hi = pd.Timestamp(dt.datetime.combine(day, dt.time(*close_h)), tz=HUE)
                total += max(0.0, (min(b, hi) - max(a, lo)).total_seconds() / 3600)
        day += dt.timedelta(days=1)
    return total


def ref_wilson(k: int, n: int) -> dict[str, Any]:
    if n == 0:
        return {"count": k, "total": n, "rate": None, "low": None, "high": None}
    p = k / n
    denominator = 1 + Z**2 / n
    centre = (p + Z**2 / (2 * n)) / denominator
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / denominator
    return {"count": k, "total": n, "rate": p, "low": max(0.0, centre - half),
            "high": min(1.0, centre + half)}


def _reopened_within_30_days(events: pd.DataFrame) -> set[int]:
    resolved = events[events["to_status"] == "resolved"]
    reopened = events[events["to_status"] == "reopened"]
    pairs = resolved.merge(reopened, on="report_id", suffixes=("_done", "_again"))
    close = pairs[(pairs["at_again"] >= pairs["at_done"])
                  & (pairs["at_again"] <= pairs["at_done"] + pd.Timedelta(days=30))]
    return set(close["report_id"])


@pytest.fixture(scope="module")
def history(scorecard_db: Engine) -> pd.DataFrame:
    """Every report in the window with its flags, computed in pandas from the raw rows."""
    start = pd.Timestamp(FROM, tz=HUE).to_pydatetime()
    end = pd.Timestamp(TO, tz=HUE).to_pydatetime()
    with scorecard_db.connect() as conn:
        frame = pd.read_sql(text(_REPORTS), conn, params={"start": start, "end": end})
        events = pd.read_sql(text(_EVENTS), conn)
    now = pd.Timestamp(NOW)
    frame["setting"] = np.where(frame["unit_type"].isin(URBAN_TYPES), "urban", "rural")
    frame["original"] = frame["status"] != "duplicate"
    done = frame["status"].isin(["resolved", "closed"])
    frame["completion"] = frame["resolved_at"].fillna(frame["closed_at"]).where(done)
    frame["completed"] = frame["original"] & frame["completion"].notna()
    frame["on_time"] = frame["completed"] & (frame["completion"] <= frame["due_at"])
    local_done = frame["completion"].dt.tz_convert(HUE).dt.date
    local_due = frame["due_at"].dt.tz_convert(HUE).dt.date
    frame["early"] = frame["completed"] & (local_done < local_due)
    frame["open"] = frame["status"].isin(OPEN)
    frame["overdue"] = frame["open"] & (frame["due_at"] < now)
    frame["response_h"] = [ref_hours(a, b) if keep else math.nan for a, b, keep in zip(
        frame["created_at"], frame["first_response_at"], frame["original"], strict=True)]
    frame["resolution_h"] = [ref_hours(a, b) if keep else math.nan for a, b, keep in zip(
        frame["created_at"], frame["completion"], frame["completed"], strict=True)]
    frame["overdue_days"] = [ref_hours(due, now) / 8 if late else math.nan
                             for due, late in zip(frame["due_at"], frame["overdue"], strict=True)]
    frame["age_days"] = [ref_hours(a, now) / 8 for a in frame["created_at"]]
    resolved_event = frame["id"].isin(events.loc[events["to_status"] == "resolved", "report_id"])
    frame["ever_resolved"] = frame["original"] & (resolved_event | frame["completed"])
    frame["reopened"] = frame["ever_resolved"] & frame["id"].isin(_reopened_within_30_days(events))
    frame["rating"] = frame["satisfaction"].where(frame["original"])
    return frame


def _hours(values: pd.Series) -> dict[str, Any]:
    present = values.dropna()
    if present.empty:
        return {"reports": 0, "median": None, "p90": None}
    return {"reports": len(present), "median": present.quantile(0.5),
            "p90": present.quantile(0.9)}


def _durations(group: pd.DataFrame, column: str) -> dict[str, Any]:
    return {"all_categories_pooled": _hours(group[column]),
            "by_category": {code: _hours(part[column])
                            for code, part in group.groupby("category")}}


def _standardised(group: pd.DataFrame, history: pd.DataFrame) -> dict[str, Any]:
    resolved = history[history["completed"]]
    rates = resolved.groupby("category")["on_time"].mean()
    overall = resolved["on_time"].mean()
    mine = group[group["completed"]]
    observed, expected = int(mine["on_time"].sum()), float(mine["category"].map(rates).sum())
    interval = ref_wilson(observed, len(mine))
    ratio = observed / expected
    low = interval["low"] * len(mine) / expected
    high = interval["high"] * len(mine) / expected
    return {"observed": observed, "expected": expected, "ratio": ratio, "ratio_low": low,
            "ratio_high": high, "rate": ratio * overall, "rate_low": low * overall,
            "rate_high": high * overall}


def _backlog(group: pd.DataFrame) -> dict[str, Any]:
    waiting = group[group["open"]]
    late = waiting["overdue_days"].dropna()
    oldest = None
    if len(waiting):
        first = waiting.sort_values(["created_at", "id"]).iloc[0]
        oldest = {"public_id": first["public_id"], "created_at": first["created_at"],
                  "due_at": first["due_at"], "age_working_days": first["age_days"],
                  "overdue_working_days": None if pd.isna(first["overdue_days"])
                  else first["overdue_days"]}
    return {"open": len(waiting), "not_yet_due": int((~waiting["overdue"]).sum()),
            "overdue_0_5": int((late <= 5).sum()),
            "overdue_5_20": int(((late > 5) & (late <= 20)).sum()),
            "overdue_over_20": int((late > 20).sum()), "oldest": oldest}


def expected_cell(group: pd.DataFrame, history: pd.DataFrame) -> dict[str, Any]:
    completed, on_time = int(group["completed"].sum()), int(group["on_time"].sum())
    early = int(group["early"].sum())
    rated = int(group["rating"].notna().sum())
    ever = int(group["ever_resolved"].sum())
    return {
        "too_few": completed < 20,
        "volume": {"reports": len(group), "originals": int(group["original"].sum()),
                   "duplicates": int((~group["original"]).sum()),
                   "by_channel": {c: int((group["channel"] == c).sum())
                                  for c in ("app", "web", "hotline")},
                   "by_category": group["category"].value_counts().sort_index().to_dict()},
        "on_time": {"on_time": ref_wilson(on_time, completed), "early": early,
                    "on_due_day": on_time - early, "late": completed - on_time,
                    "open_overdue": ref_wilson(int(group["overdue"].sum()),
                                               int(group["open"].sum()))},
        "standardised": _standardised(group, history),
        "first_response_hours": _durations(group, "response_h"),
        "resolution_hours": _durations(group, "resolution_h"),
        "backlog": _backlog(group),
        "reopened_30d": ref_wilson(int(group["reopened"].sum()), ever),
        "satisfaction": {"satisfied": ref_wilson(int((group["rating"] >= 4).sum()), rated),
                         "accepting": ref_wilson(int((group["rating"] >= 3).sum()), rated),
                         "coverage": ref_wilson(rated, ever)},
    }


_KEY_COLUMN = {"agency": "agency", "commune": "commune", "category": "category",
               "setting": "setting"}


def assert_same(actual: Any, expected: Any, where: str = "") -> None:
    """Equal, floats to 1e-9; ``expected``'s keys only (the card may say more)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        if where.endswith(("by_category", "by_channel")):
            assert set(actual) == set(expected), where
        for key, value in expected.items():
            assert_same(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, float | np.floating) and not isinstance(actual, bool):
        assert actual == pytest.approx(float(expected), rel=1e-9, abs=1e-9), where
    elif isinstance(expected, pd.Timestamp):
        assert actual == expected.to_pydatetime(), where
    else:
        assert actual == expected, where


# -- the tests ---------------------------------------------------------------------------------

def test_working_hours_across_tet_2026() -> None:
    at = [dt.datetime(2026, 2, 13, 16, 0, tzinfo=TZ),   # the last afternoon before Tết
          dt.datetime(2026, 2, 18, 10, 0, tzinfo=TZ),   # Mùng hai Tết
          dt.datetime(2026, 2, 23, 8, 0, tzinfo=TZ),    # the first morning back
          dt.datetime(2026, 2, 23, 12, 30, tzinfo=TZ)]  # the lunch break
    start, end = epoch_seconds(at[:3]), epoch_seconds([at[2], at[3], at[3]])
    # 1 h on Friday 13 + 1 h on Monday 23; Tết counts nothing; the lunch break counts nothing.
    assert working_hours_between(start, end).tolist() == [2.0, 4.5, 3.5]
    assert not any(ref_working(dt.date(2026, 2, day)) for day in range(16, 21))


def test_working_hours_match_a_day_by_day_walk() -> None:
    rng = random.Random(2026)
    base = dt.datetime(2026, 1, 20, tzinfo=TZ)
    pairs = []
    for _ in range(300):
        a = base + dt.timedelta(minutes=rng.randrange(60 * 24 * 50))
        pairs.append((a, a + dt.timedelta(minutes=rng.randrange(60 * 24 * 20))))
    got = working_hours_between(epoch_seconds([a for a, _ in pairs]),
                                epoch_seconds([b for _, b in pairs]))
    want = [ref_hours(pd.Timestamp(a), pd.Timestamp(b)) for a, b in pairs]
    assert got.tolist() == pytest.approx(want, rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("by", GROUPINGS)
def test_every_cell_matches_pandas(by: str, cards: dict[str, Scorecards],
                                   history: pd.DataFrame) -> None:
    card = cards[by]
    groups = dict(iter(history.groupby(_KEY_COLUMN[by])))
    assert {cell.key for cell in card.cells} == set(groups)
    for cell in card.cells:
        assert_same(dataclasses.asdict(cell), expected_cell(groups[cell.key], history), cell.key)
    assert_same(dataclasses.asdict(card.province), expected_cell(history, history), "province")


@pytest.mark.parametrize("by", GROUPINGS)
def test_ranks_match_pandas(by: str, cards: dict[str, Scorecards]) -> None:
    cells = cards[by].cells
    score = pd.Series({cell.key: (cell.on_time.on_time.rate if by == "category"
                                  else cell.standardised.ratio)
                       for cell in cells if not cell.too_few}, dtype=float)
    ranks = score.rank(method="min", ascending=False)
    assert {cell.key: cell.rank for cell in cells} == {
        cell.key: (None if cell.too_few else int(ranks[cell.key])) for cell in cells}
    assert [cell.rank for cell in cells if cell.rank is not None] == sorted(ranks.astype(int))


def test_planted_differences_show(cards: dict[str, Scorecards]) -> None:
    by_agency = {cell.key: cell for cell in cards["agency"].cells}
    fast, slow, hard, tiny = (by_agency[key] for key in ("sc-fast", "sc-slow", "sc-hard", "sc-tiny"))
    assert tiny.too_few and tiny.rank is None and cards["agency"].cells[-1].key == "sc-tiny"
    assert {fast.rank, hard.rank} == {1, 2} and slow.rank == 3
    # The hard-category agency is less often on time than the slow one, but only because its
    # category is hard: standardised, it ranks above.
    assert (hard.on_time.on_time.rate or 0) < (slow.on_time.on_time.rate or 0)
    assert (hard.standardised.ratio or 0) > (slow.standardised.ratio or 0)
    assert (hard.rank or 0) < (slow.rank or 0)
    assert (fast.satisfaction.satisfied.rate or 0) > (slow.satisfaction.satisfied.rate or 0)
    assert set(fast.resolution_hours.by_category) == {"sc-easy", "sc-hard", "sc-urgent"}
    settings = {cell.key for cell in cards["setting"].cells}
    assert settings == {"urban", "rural"}


def test_reports_before_the_window_are_left_out(cards: dict[str, Scorecards],
                                                scorecard_db: Engine) -> None:
    with scorecard_db.connect() as conn:
        everything = scorecards(conn, by="agency", now=NOW)
    assert everything.province.volume.reports == cards["agency"].province.volume.reports + 4


@pytest.mark.parametrize(("count", "total", "low", "high"), [
    (0, 10, 0.0, 0.27753), (10, 10, 0.72247, 1.0), (8, 10, 0.49016, 0.94331),
    (50, 100, 0.40383, 0.59617)])
def test_wilson_intervals(count: int, total: int, low: float, high: float) -> None:
    interval = wilson(count, total)
    assert (interval.low, interval.high) == pytest.approx((low, high), abs=1e-5)
    assert wilson(0, 0).rate is None


# -- the endpoint ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(scorecard_db: Engine, settings: Settings) -> Flask:
    return create_app(settings, engine=scorecard_db)


def test_json_by_agency(client: FlaskClient) -> None:
    response = client.get("/v1/scorecards?by=agency&from=2026-01-01&to=2026-04-18")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["by"] == "agency" and body["min_resolved"] == 20
    assert [cell["key"] for cell in body["cells"]][-1] == "sc-tiny"
    first = body["cells"][0]
    assert first["rank"] == 1 and "all_categories_pooled" in first["resolution_hours"]
    assert set(body["province_on_time_by_category"]) == {"sc-easy", "sc-hard", "sc-urgent"}


def test_csv_by_category(client: FlaskClient) -> None:
    response = client.get("/v1/scorecards?by=category&format=csv&from=2026-01-01")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0]["key"] == "province"
    assert {row["key"] for row in rows[1:]} == {"sc-easy", "sc-hard", "sc-urgent"}
    assert "resolution_hours_all_categories_pooled_median" in rows[0]


def test_geojson_by_commune(client: FlaskClient) -> None:
    response = client.get("/v1/scorecards?by=commune&format=geojson")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    body = json.loads(response.get_data(as_text=True))
    assert {feature["id"] for feature in body["features"]} == {"SCU1", "SCU2", "SCR1", "SCR2"}
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert feature["properties"]["setting"] in {"urban", "rural"}


@pytest.mark.parametrize(("query", "field"), [
    ("by=ward", "by"), ("from=2026-13-01", "from"), ("to=yesterday", "to"),
    ("from=2026-03-01&to=2026-02-01", "from"), ("color=red", "color"),
    ("format=geojson&by=agency", "format"), ("format=xml", "format"), ("lang=fr", "lang")])
def test_bad_input_is_a_400_naming_the_field(client: FlaskClient, query: str, field: str) -> None:
    problem(client.get(f"/v1/scorecards?{query}"), 400, field)


def test_the_page_marks_too_few_and_ranks_the_rest(client: FlaskClient) -> None:
    response = client.get("/scorecards?by=agency&from=2026-01-01&to=2026-04-18")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="vi">' in page and "quá ít" in page
    tiny = page.split("Agency sc-tiny")[0].rsplit("<tr", 1)[1]
    assert 'class="cell too-few"' in tiny and "—" in tiny
    assert page.index("Agency sc-slow") < page.index("Agency sc-tiny") < page.index("Toàn thành phố")
    assert "Phường đô thị và xã nông thôn" in page
