"""Coverage on the generated history (``history_db``): metrics for every commune, per-category
service levels, the duplicate-based reporting rates against the generator's truth, populated
cells without reports, crosswalk re-aggregation, and the HTTP endpoints."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, select, text, update
from sqlalchemy.sql.elements import ColumnElement

from gis_service.analysis import (
    coverage,
    coverage_by_category,
    coverage_summary,
    populated_gaps,
)
from gis_service.analysis.duplicate_grouping import generated_reports, pair_scores
from gis_service.analysis.reporting_process import (
    reporting_rate_regression,
    reporting_rates_in_time,
)
from gis_service.analysis.sql.coverage import Scope, report_units
from gis_service.boundaries import generations
from gis_service.db.schema import admin_unit, generation, report, report_contact
from gis_service.errors import InvalidInput, NotFound
from gis_service.web import create_app
from tests.conftest import HistoryDB

SETTINGS = ("urban", "rural")
# Reports shifted this far into the past leave every window the tests ask for.
AWAY = dt.timedelta(days=30 * 365)


@pytest.fixture(scope="module")
def truth(history_db: HistoryDB) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(history_db.history.truth_path.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def start(truth: dict[str, Any]) -> dt.date:
    return dt.date.fromisoformat(truth["start"])


@pytest.fixture(scope="module")
def wards(history_db: HistoryDB) -> gpd.GeoDataFrame:
    with history_db.engine.connect() as conn:
        return coverage(conn, generation="2025")


@pytest.fixture
def history_conn(history_db: HistoryDB) -> Iterator[Connection]:
    """A connection to the history in a transaction that is rolled back: for planted changes."""
    with history_db.engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


def _move_out(conn: Connection, generation_code: str, unit_code: str,
              which: ColumnElement[bool]) -> None:
    """Move the reports inside a commune matching ``which`` out of the history's time range."""
    polygon = (select(admin_unit.c.geom)
               .join(generation, generation.c.id == admin_unit.c.generation_id)
               .where(generation.c.code == generation_code, admin_unit.c.level == "commune",
                      admin_unit.c.code == unit_code).scalar_subquery())
    conn.execute(update(report).where(func.ST_Covers(polygon, report.c.geom), which)
                 .values(created_at=report.c.created_at - AWAY))


def _report_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(report)).scalar_one())


# -- the per-commune table ---------------------------------------------------------------------

def test_metrics_for_every_commune(history_db: HistoryDB, wards: gpd.GeoDataFrame) -> None:
    with history_db.engine.connect() as conn:
        codes = set(conn.execute(
            select(admin_unit.c.code).join(generation, generation.c.id == admin_unit.c.generation_id)
            .where(admin_unit.c.level == "commune", generation.c.code == "2025")).scalars())
        total = _report_count(conn)
    assert set(wards["code"]) == codes and len(wards) == 40
    assert wards.crs.to_epsg() == 4326 and wards.geometry.is_valid.all()
    assert wards["reports"].sum() == total
    required = ["rate_per_1000", "rate_eb", "rate_eb_local", "response_median_h", "response_p90_h",
                "resolution_median_h", "resolution_p90_h", "share_within_deadline",
                "satisfaction", "share_app", "share_web", "share_hotline", "expected",
                "reporting_rate", "reporting_rate_low", "reporting_rate_high", "response_index"]
    assert not wards[required].isna().any().any()
    assert (wards["response_p90_h"] >= wards["response_median_h"]).all()
    assert (wards["resolution_p90_h"] >= wards["resolution_median_h"]).all()
    assert wards[["share_app", "share_web", "share_hotline"]].sum(axis=1).to_numpy() == pytest.approx(1.0)
    assert wards["share_within_deadline"].between(0, 1).all()
    assert wards["satisfaction"].between(1, 5).all()
    # Smoothing pulls towards the mean: never outside the raw rates' range.
    raw = wards["rate_per_1000"]
    assert wards["rate_eb"].between(raw.min(), raw.max()).all()
    # The default model (residents alone) reproduces the province's total; the model with the
    # setting term each setting's (a log-link GLM reproduces sums only approximately under
    # NB: within 5%).
    assert (wards["flag_model"] == "population_only").all()
    assert wards["expected"].sum() == pytest.approx(wards["reports"].sum(), rel=0.05)
    with history_db.engine.connect() as conn:
        by_model = coverage(conn, generation="2025", model="with_setting")
    assert (by_model["flag_model"] == "with_setting").all()
    by_setting = by_model.groupby("setting")[["reports", "expected"]].sum()
    assert by_setting["expected"].to_numpy() == pytest.approx(by_setting["reports"].to_numpy(), rel=0.05)
    assert set(wards["rate_class"]) == {1, 2, 3, 4, 5}


def test_no_commune_is_flagged_without_cause_and_a_silenced_one_is(
        history_conn: Connection, start: dt.date) -> None:
    """With the setting in the model, the generator has no under-reporting communes beyond its
    random rates: at FDR 5% no more than one flag is expected. A 2019 commune left with 5% of
    its reports is flagged. (Rates vary widely around the setting's, busy places and all: the
    fitted NB size θ is about 7 over the 152 communes and 3 over the 40 wards, so a commune
    must be very quiet to stand out.)"""
    model = "with_setting"
    wards = coverage(history_conn, generation="2025", model=model)
    assert wards["under_reporting"].sum() <= 1
    communes = coverage(history_conn, generation="2019", start=start, model=model)
    assert communes["under_reporting"].sum() <= 1
    target = communes.sort_values("reports").iloc[-len(communes) // 4]["code"]
    _move_out(history_conn, "2019", target, report.c.id % 20 != 0)
    after = coverage(history_conn, generation="2019", start=start, model=model).set_index("code")
    assert after.loc[target, "reports"] < 0.1 * after.loc[target, "expected"]
    assert after.loc[target, "under_reporting"]
    assert after.loc[target, "q_under"] <= 0.05
    assert after["under_reporting"].sum() <= 2


def test_population_only_flags_show_the_urban_rural_gap(history_db: HistoryDB) -> None:
    """Without the setting term the rural communes' fewer reports per resident (fewer
    incidents per resident and a lower reporting rate, by the generator's design) show as
    observed below expected, urban above: the gap the planner asks about is on the map. Few
    communes are *flagged* even so: the model without the setting sees the gap as ordinary
    variation (a small NB size), and a flag needs a commune far below that; any flag is rural."""
    with history_db.engine.connect() as conn:
        communes = coverage(conn, generation="2019")
        summary = coverage_summary(conn, generation="2019").set_index(["metric", "setting"])
    ratio = communes.groupby("setting")["observed_to_expected"].median()
    # Medians of one history: rural well below expected, urban above, the gap several-fold.
    assert ratio["rural"] < 0.6 and ratio["urban"] > 1.2, ratio
    assert ratio["urban"] / ratio["rural"] > 4, ratio
    flagged = communes[communes["under_reporting"]]
    assert (flagged["setting"] == "rural").all()
    assert summary.loc[("under_reporting_communes", "rural"), "estimate"] == len(flagged)
    assert communes.attrs["methods"]["under_reporting"]["flag_model"] == "population_only"


def _raw_service_rows(conn: Connection) -> pd.DataFrame:
    rows = conn.execute(text(
        "SELECT a.code, r.category, "
        "extract(epoch FROM r.first_response_at - r.created_at) / 3600 AS response_h "
        "FROM report r JOIN admin_unit a ON a.id = r.current_commune_id "
        "WHERE r.status <> 'duplicate' AND r.first_response_at IS NOT NULL")).all()
    return pd.DataFrame(rows, columns=["code", "category", "response_h"]).astype({"response_h": float})


def test_per_category_medians_are_the_reports_own(history_db: HistoryDB) -> None:
    """The SQL percentiles against numpy's (linear interpolation = percentile_cont) on the raw rows."""
    with history_db.engine.connect() as conn:
        table = coverage_by_category(conn, generation="2025")
        raw = _raw_service_rows(conn)
        total = _report_count(conn)
    mine = table.set_index(["code", "category"])
    theirs = raw.groupby(["code", "category"])["response_h"]
    assert mine["response_median_h"].dropna().to_numpy() == pytest.approx(
        theirs.median().reindex(mine["response_median_h"].dropna().index).to_numpy(), rel=1e-9)
    assert mine["response_p90_h"].dropna().to_numpy() == pytest.approx(
        theirs.quantile(0.9).reindex(mine["response_p90_h"].dropna().index).to_numpy(), rel=1e-9)
    assert table["reports"].sum() == total


def test_category_mix_does_not_masquerade_as_slowness(history_conn: Connection,
                                                      wards: gpd.GeoDataFrame,
                                                      start: dt.date) -> None:
    """Keep only the slow categories of one urban ward (the others moved out of the window):
    its all-category median response rises a lot, as its mix got slower, while its per-category
    medians and the mix-adjusted index stay where they were."""
    before = coverage_by_category(history_conn, generation="2025", start=start)
    province = before.groupby("category")["province_response_median_h"].first()
    slow = sorted(province[province >= province.median()].index)
    urban = wards[wards["setting"] == "urban"].sort_values("reports").iloc[-1]
    _move_out(history_conn, "2025", urban["code"], report.c.category.not_in(slow))
    after = coverage(history_conn, generation="2025", start=start).set_index("code").loc[urban["code"]]
    assert after["response_median_h"] > 1.4 * urban["response_median_h"]
    assert after["response_index"] == pytest.approx(urban["response_index"], rel=0.15)
    per_category = coverage_by_category(history_conn, generation="2025", start=start)
    kept = per_category[(per_category["code"] == urban["code"]) & per_category["category"].isin(slow)]
    was = before.set_index(["code", "category"]).loc[
        [(urban["code"], c) for c in kept["category"]], "response_median_h"]
    assert kept["response_median_h"].to_numpy() == pytest.approx(was.to_numpy())


def test_rural_communes_answer_slower_for_the_same_categories(history_db: HistoryDB,
                                                               truth: dict[str, Any]) -> None:
    """The generator answers rural reports ``rural_response_factor`` (1.8) times slower in every
    category; the mix-adjusted indices see that within 15% (per-category medians of a few
    hundred log-normal delays, sigma 0.8: about 7% each)."""
    with history_db.engine.connect() as conn:
        summary = coverage_summary(conn, generation="2019").set_index(["metric", "setting"])
    ratio = summary.loc[("response_index", "urban/rural")]
    assert 1 / ratio["estimate"] == pytest.approx(truth["parameters"]["rural_response_factor"],
                                                  rel=0.15)
    assert ratio["low"] < ratio["estimate"] < ratio["high"] < 1
    rate = summary.loc[("rate_per_1000", "urban/rural")]
    assert rate["low"] > 2  # urban wards report several times more per resident
    for setting in SETTINGS:
        row = summary.loc[("share_within_deadline", setting)]
        assert 0 < row["low"] <= row["estimate"] <= row["high"] < 1


# -- reporting rates against the truth -----------------------------------------------------------

def _incident_truth(history_db: HistoryDB, truth: dict[str, Any], generation_code: str
                    ) -> pd.DataFrame:
    """Per commune of the generation the original reports are attributed to (by point, as the
    analysis attributes them): the exposure-weighted mean of the true rates of the incidents
    attributed to it, as the calibration study maps truth (a 2019 commune: its own rate, but
    for the few points GADM's overlaps give a neighbour)."""
    reports = pd.read_csv(history_db.history.reports_path, dtype=str, keep_default_na=False)
    incidents = pd.read_csv(history_db.history.incidents_path, dtype=str,
                            keep_default_na=False).set_index("incident_id")
    originals = reports[reports["status"] != "duplicate"]
    unit = admin_unit.alias("unit")
    with history_db.engine.connect() as conn:
        chosen = generations.by_code(conn, generation_code)
        units = report_units(Scope(chosen.id))
        placed = dict(conn.execute(
            select(report.c.public_id, unit.c.code)
            .select_from(units.join(report, report.c.id == units.c.report_id)
                         .join(unit, unit.c.id == units.c.unit_id))).all())
    seen = incidents.reindex(originals["incident_id"])
    end = pd.Timestamp(truth["end"] + "T00:00:00+07:00")
    closes = pd.to_datetime(seen["closes_at"].replace("", None)).fillna(end).clip(upper=end)
    exposure = (closes - pd.to_datetime(seen["first_report_at"])).dt.total_seconds() / 86400
    frame = pd.DataFrame({"code": originals["public_id"].map(placed).to_numpy(),
                          "exposure": exposure.to_numpy(),
                          "weighted": exposure.to_numpy() * seen["reports_per_day"].astype(float).to_numpy()})
    sums = frame.groupby("code")[["exposure", "weighted"]].sum()
    return sums.assign(truth=sums["weighted"] / sums["exposure"])


@pytest.mark.parametrize("generation", ["2019", "2025"])
def test_reporting_rates_in_time_recover_the_truth(history_db: HistoryDB, truth: dict[str, Any],
                                                   generation: str) -> None:
    """The full path (generator, importer, SQL, estimator) on the default history: per commune
    (2019) and per ward (2025, truth mapped by the incidents' attribution), the 95% profile
    intervals hold the truth for most units; the open days are the truth's exposure (the
    database knows the data's end only as its latest report, up to hours before the
    generator's midnight: windows still open lose that time, under 1% of a commune's days).

    One seed: the misses are binomial around 5%. Held by at least 90% of the 152 communes
    (16 misses or more: 1% for a calibrated interval) and 85% of the 40 wards (6 or more:
    1.4%); the ≥ 90% calibration over 50 seeds is tests/test_reporting_rates.py's."""
    expected = _incident_truth(history_db, truth, generation)
    with history_db.engine.connect() as conn:
        rates = reporting_rates_in_time(conn, generation=generation).set_index("code")
        by_setting = reporting_rates_in_time(conn, generation=generation, by="setting")
    assert rates["exposure_days"].to_numpy() == pytest.approx(
        # Up to a quarter of a day lost per commune by windows still open at the data's end.
        expected["exposure"].reindex(rates.index, fill_value=0).to_numpy(), rel=1e-2, abs=0.25)
    held = (rates["low"] <= expected["truth"]) & (expected["truth"] <= rates["high"])
    assert held.reindex(rates.index).mean() >= (0.90 if generation == "2019" else 0.85), (
        rates.join(expected[["truth"]])[["rate", "low", "high", "truth"]][~held])
    seen = rates[rates["rate"] > 0]
    assert seen["delay_days"].to_numpy() == pytest.approx(1 / seen["rate"].to_numpy())
    assert by_setting["further"].sum() == truth["totals"]["duplicates"]
    assert set(by_setting["setting"]) == set(SETTINGS)


def test_stored_duplicate_groups_are_the_incidents(history_db: HistoryDB) -> None:
    """The grouping the estimators read (``duplicate_of`` as imported) against the generator's
    incident ids: pairwise precision and recall 1, in dense (urban) and sparse (rural) places."""
    reports = generated_reports(history_db.history.reports_path,
                                history_db.history.incidents_path).set_index("public_id")
    original = report.alias("original")
    with history_db.engine.connect() as conn:
        stored = pd.DataFrame(conn.execute(
            select(report.c.public_id, func.coalesce(original.c.public_id, report.c.public_id))
            .outerjoin(original, original.c.id == report.c.duplicate_of)).all(),
            columns=["public_id", "group"]).set_index("public_id")
    joined = reports.join(stored, how="inner")
    assert len(joined) == len(reports)
    for setting in SETTINGS:
        mine = joined[joined["setting"] == setting]
        scores = pair_scores(mine["group"], mine["incident_id"])
        assert (scores.precision, scores.recall) == (1.0, 1.0), setting


def test_zero_truncated_rates_are_marked_not_calibrated(wards: gpd.GeoDataFrame,
                                                        history_db: HistoryDB) -> None:
    assert not wards["reporting_rate_calibrated"].any()
    assert wards.attrs["methods"]["reporting_rate"]["calibrated"] is False
    assert wards.attrs["methods"]["reporting_rate_per_day"]["calibrated"] is True
    with history_db.engine.connect() as conn:
        summary = coverage_summary(conn, generation="2025")
    calibrated = summary.groupby("metric")["calibrated"].first()
    assert calibrated["reporting_rate"] is False
    assert calibrated["reporting_rate_per_day"] is True
    assert calibrated["reporting_delay_days"] is True
    assert calibrated["rate_per_1000"] is None


def test_rate_regression_on_ward_covariates(history_db: HistoryDB) -> None:
    """The generator's urban rate is 0.2 a day against 0.06 rural (ratio 3.3) and does not
    depend on density: the urban term holds 3.3 and the density term holds 1."""
    with history_db.engine.connect() as conn:
        fit = reporting_rate_regression(conn, generation="2019").set_index("term")
    assert list(fit.index) == ["intercept", "urban", "log_density"]
    assert fit.loc["urban", "low"] < 0.2 / 0.06 < fit.loc["urban", "high"]
    assert fit.loc["log_density", "low"] < 1.0 < fit.loc["log_density", "high"]
    with history_db.engine.connect() as conn:
        summary = coverage_summary(conn, generation="2019")
    rows = summary[summary["metric"] == "reporting_rate_ratio"].set_index("setting")
    assert list(rows.index) == ["intercept", "urban", "log_density"]
    assert rows["estimate"].to_numpy() == pytest.approx(fit["rate_ratio"].to_numpy())
    assert rows["calibrated"].isna().all()


# -- populated cells without reports -------------------------------------------------------------

def test_populated_cells_without_reports(history_db: HistoryDB) -> None:
    with history_db.engine.connect() as conn:
        gaps = populated_gaps(conn, generation="2025", resolution=9, threshold=0.0005)
        cells_with_reports = {format(int(c), "x") for c in conn.execute(
            select(report.c.h3_r9).distinct()).scalars()}
    assert len(gaps) and (gaps["reports"] == 0).all()
    assert (gaps["population_share"] >= 0.0005).all()
    assert gaps.groupby("setting")["residents"].sum()["rural"] > 0
    # A hexagon with a report anywhere in it is not a gap of a commune holding that report's
    # point; gap hexagons that do hold reports straddle a boundary (the report is next door).
    with_reports = gaps[gaps["cell"].isin(cells_with_reports)]
    assert len(with_reports) < 0.05 * len(gaps)
    assert gaps.crs.to_epsg() == 4326


def test_areal_weights_add_up(history_db: HistoryDB, wards: gpd.GeoDataFrame) -> None:
    from gis_service.analysis import cell_coverage  # noqa: PLC0415

    with history_db.engine.connect() as conn:
        cells = cell_coverage(conn, generation="2025", resolution=8)
    shares = cells.groupby("code")["population_share"].sum()
    assert shares.to_numpy() == pytest.approx(1.0, abs=1e-3)
    residents = cells.groupby("code")["residents"].sum()
    assert residents.to_numpy() == pytest.approx(
        wards.set_index("code")["population"].reindex(residents.index).to_numpy(), rel=1e-3)
    assert cells["reports"].sum() == wards["reports"].sum()


# -- across generations --------------------------------------------------------------------------

def test_crosswalk_reaggregation_conserves_totals(history_db: HistoryDB,
                                                  wards: gpd.GeoDataFrame) -> None:
    """Counts filed under the 2019 communes, spread onto the 2025 wards by the crosswalk, keep
    the total; Huế's 2025 wards are unions of whole 2019 communes, so nearly every report lands
    where its own point says."""
    with history_db.engine.connect() as conn:
        total = _report_count(conn)
        spread = coverage(conn, generation="2025", attribution="crosswalk").set_index("code")
        old = coverage(conn, generation="2019", attribution="crosswalk")
        exact_old = coverage(conn, generation="2019")
    assert spread["reports"].sum() == pytest.approx(total)
    assert old["reports"].sum() == pytest.approx(total)
    assert exact_old["reports"].sum() == total
    point = wards.set_index("code")["reports"]
    moved = (spread["reports"] - point.reindex(spread.index)).abs().sum() / 2
    assert moved < 0.02 * total
    assert spread.attrs["attribution"] == "crosswalk"


def test_bad_parameters(history_db: HistoryDB) -> None:
    with history_db.engine.connect() as conn:
        with pytest.raises(NotFound):
            coverage(conn, generation="1990")
        with pytest.raises(InvalidInput, match="from must be before to") as info:
            coverage(conn, start=dt.date(2025, 2, 1), end=dt.date(2025, 1, 1))
        assert info.value.field == "from"
        with pytest.raises(InvalidInput, match="snow") as info:
            coverage(conn, categories=["roads", "snow"])
        assert info.value.field == "category"
        with pytest.raises(InvalidInput):
            coverage(conn, attribution="nearest")
        with pytest.raises(InvalidInput):
            populated_gaps(conn, resolution=12)


# -- HTTP ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(history_db: HistoryDB) -> Flask:
    return create_app(history_db.settings, engine=history_db.engine)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


@pytest.fixture(scope="module")
def contacts(history_db: HistoryDB) -> list[str]:
    with history_db.engine.connect() as conn:
        rows = conn.execute(select(report_contact.c.name, report_contact.c.phone,
                                   report_contact.c.email).limit(500)).all()
    return [value for row in rows for value in row if value]


def _no_contact(body: str, contacts: list[str]) -> None:
    assert contacts
    assert not [value for value in contacts if value in body]
    assert "example.invalid" not in body and "Cư dân thử nghiệm" not in body


def test_coverage_geojson_and_csv(client: FlaskClient, wards: gpd.GeoDataFrame,
                                  contacts: list[str]) -> None:
    response = client.get("/v1/coverage?generation=2025")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/geo+json"
    body = response.get_data(as_text=True)
    document = json.loads(body)
    assert len(document["features"]) == len(wards)
    feature = document["features"][0]
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    for key in ("reports", "rate_eb", "response_median_h", "under_reporting", "reporting_rate_low"):
        assert key in feature["properties"]
    # Every documented property is there (the OpenAPI schema names them).
    documented = client.get("/openapi.json").get_json()["components"]["schemas"]
    names = set(documented["CoverageProperties"]["properties"])
    assert {"flag_model", "reporting_rate_per_day", "reporting_delay_days_high",
            "reporting_rate_calibrated"} <= names
    assert names <= set(feature["properties"])
    assert feature["properties"]["flag_model"] == "population_only"
    assert document["parameters"]["methods"]["reporting_rate"]["calibrated"] is False
    other = client.get("/v1/coverage?generation=2025&model=with_setting").get_json()
    assert other["features"][0]["properties"]["flag_model"] == "with_setting"
    assert other["parameters"]["model"] == "with_setting"
    _no_contact(body, contacts)
    exported = client.get("/v1/coverage?generation=2025&from=2025-07-01&to=2026-01-01&format=csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert len(rows) == len(wards) and "geometry" not in rows[0]
    assert sum(float(r["reports"]) for r in rows) < wards["reports"].sum()
    _no_contact(exported.get_data(as_text=True), contacts)


def test_summary_json_and_csv(client: FlaskClient, contacts: list[str]) -> None:
    response = client.get("/v1/coverage/summary?generation=2019&category=sanitation,roads")
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = json.loads(response.get_data(as_text=True))["rows"]
    settings = {row["setting"] for row in rows if row["metric"] == "rate_per_1000"}
    assert settings == {"urban", "rural", "urban/rural"}
    assert all(row["low"] <= row["estimate"] <= row["high"] for row in rows
               if row["low"] is not None)
    body = json.loads(response.get_data(as_text=True))
    assert body["methods"]["reporting_rate"]["calibrated"] is False
    assert body["parameters"]["model"] == "population_only"
    rates = {row["setting"]: row for row in rows if row["metric"] == "reporting_rate_per_day"}
    assert set(rates) == {"urban", "rural", "urban/rural"}
    assert all(row["calibrated"] is True for row in rates.values())
    exported = client.get("/v1/coverage/summary?format=csv")
    assert exported.mimetype == "text/csv"
    assert exported.get_data(as_text=True).startswith("metric,setting,estimate,low,high,interval")
    _no_contact(exported.get_data(as_text=True), contacts)


@pytest.mark.parametrize(("query", "status", "field"), [
    ("generation=1990", 404, "generation"),
    ("from=2025-03-01&to=2025-01-01", 400, "from"),
    ("category=roads,snow", 400, "category"),
    ("from=yesterday", 400, "from"),
    ("format=xml", 400, "format"),
    ("model=setting", 400, "model"),
])
def test_bad_parameters_are_problems(client: FlaskClient, query: str, status: int, field: str) -> None:
    for path in ("/v1/coverage", "/v1/coverage/summary"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == status, (path, query, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["field"] == field


def test_the_statistics_are_not_constant(wards: gpd.GeoDataFrame) -> None:
    """Guard against a silently failing join: the indices and rates vary between wards."""
    for column in ("rate_eb", "response_index", "reporting_rate", "share_hotline"):
        assert np.nanstd(wards[column].to_numpy(dtype=float)) > 0, column


def test_a_period_without_reports_is_answered_not_an_error(client: FlaskClient) -> None:
    quiet = {"from": "2001-01-01", "to": "2001-02-01"}
    summary = client.get("/v1/coverage/summary", query_string=quiet)
    assert summary.status_code == 200, summary.get_data(as_text=True)
    communes = client.get("/v1/coverage", query_string=quiet)
    assert communes.status_code == 200
    assert all(f["properties"]["reports"] == 0 for f in communes.get_json()["features"])
