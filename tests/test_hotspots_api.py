"""The hot spot API and endpoints on a generated history: the study area with its zeros, the
planted clusters, filters, emerging hot spots, GeoJSON and CSV, and the 400s."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

import h3
import numpy as np
import pytest
import shapely
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, select

from gis_service.analysis import emerging_hotspots, hotspots
from gis_service.analysis.grid import clear_caches
from gis_service.analysis.statistics.emerging import CATEGORIES
from gis_service.analysis.statistics.hotspots import CLASSES
from gis_service.db.schema import admin_unit, generation, report
from gis_service.errors import InvalidInput
from gis_service.reports.calendar import TZ as HUE
from gis_service.synthetic.places import ANCHORS
from gis_service.web import create_app
from tests.conftest import HistoryDB

STEADY = {"persistent_hot", "intensifying_hot", "diminishing_hot"}


@pytest.fixture
def db(history_db: HistoryDB) -> Iterator[Connection]:
    with history_db.engine.connect() as connection:
        yield connection


@pytest.fixture(scope="module")
def app(history_db: HistoryDB) -> Flask:
    return create_app(history_db.settings, engine=history_db.engine)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def province_cells(conn: Connection, resolution: int) -> set[str]:
    """Cells whose centre is in the active province, from its whole polygon (not the pieces
    the API uses)."""
    wkb = conn.execute(
        select(func.ST_AsBinary(admin_unit.c.geom))
        .join(generation, generation.c.id == admin_unit.c.generation_id)
        .where(generation.c.status == "active", admin_unit.c.level == "province")).scalar_one()
    return set(h3.geo_to_cells(shapely.from_wkb(bytes(wkb)), resolution))


def test_every_cell_of_the_service_area_is_there_with_its_zeros(db: Connection,
                                                                history_db: HistoryDB) -> None:
    clear_caches()
    frame = hotspots(db, resolution=8, k=1)
    cells = set(frame.cell)
    assert len(cells) == len(frame)
    assert province_cells(db, 8) <= cells
    # Cells outside the province are there only for the reports in them.
    assert (frame[~frame.cell.isin(province_cells(db, 8))]["count"] > 0).all()
    assert (frame["count"] == 0).sum() > len(frame) / 2
    assert int(frame["count"].sum()) == history_db.imported
    assert frame.crs.to_epsg() == 4326 and frame.geometry.is_valid.all()
    assert set(frame.cls) <= set(CLASSES)
    cell = frame.iloc[0]
    assert cell.geometry.contains(shapely.Point(h3.cell_to_latlng(cell.cell)[::-1]))


def test_the_planted_clusters_are_hot(db: Connection) -> None:
    frame = hotspots(db, resolution=9, k=1).set_index("cell")
    for anchor in ANCHORS:
        # h3 takes (lat, lng).
        found = frame.loc[h3.latlng_to_cell(anchor.lat, anchor.lon, 9)]
        assert found.cls == "hot_99", anchor.key
    quiet = frame[frame["count"] == 0]
    # An empty cell can be cold (residents there, no reports), rarely hot (beside a cluster).
    assert quiet.cls.str.startswith("hot").mean() < 0.01
    hot = frame[frame.cls.str.startswith("hot")]
    assert (hot.nbhd_count >= frame.attrs["min_count"]).all()
    assert (hot.ratio > 1).all() and (frame[frame.cls.str.startswith("cold")].ratio < 1).all()
    assert frame.attrs["resolution"] == 9 and frame.attrs["reports"] > 30_000
    assert frame.attrs["measure"] == "excess" and frame.attrs["inference"] == "exact"
    assert frame.attrs["chosen_by"] == "given"


def test_filters_count_what_sql_counts(db: Connection) -> None:
    start, end = dt.date(2025, 3, 1), dt.date(2025, 9, 1)
    frame = hotspots(db, resolution=7, categories=["sanitation", "roads"], channel="hotline",
                     start=start, end=end)
    expected = db.execute(
        select(func.count()).select_from(report).where(
            report.c.category.in_(["sanitation", "roads"]), report.c.channel == "hotline",
            report.c.created_at >= dt.datetime(2025, 3, 1, tzinfo=HUE),
            report.c.created_at < dt.datetime(2025, 9, 1, tzinfo=HUE))).scalar_one()
    assert 0 < frame["count"].sum() == expected
    assert frame.attrs["categories"] == ["roads", "sanitation"]
    duplicates = hotspots(db, resolution=7, status="duplicate")["count"].sum()
    # Duplicates are about half of the generated reports (reports arrive while an incident is
    # open, issue 19): some, and fewer than all.
    assert 0 < duplicates < hotspots(db, resolution=7)["count"].sum()


def test_decay_weights_and_wider_rings_still_find_the_market(db: Connection) -> None:
    market = next(anchor for anchor in ANCHORS if anchor.key == "dong_ba_market")
    frame = hotspots(db, resolution=8, k=3, weights="decay").set_index("cell")
    # Permutation p-values stop at 2 / 1000: after the FDR adjustment, 95% at best.
    assert frame.loc[h3.latlng_to_cell(market.lat, market.lon, 8)].cls.startswith("hot")
    assert frame.attrs["weights"] == "decay" and frame.attrs["inference"] == "permutation"


def test_emerging_hotspots_monthly(db: Connection) -> None:
    frame = emerging_hotspots(db, resolution=8, k=1, period="month").set_index("cell")
    assert set(frame.category) <= set(CATEGORIES)
    assert len(frame.attrs["periods"]) >= 24
    for key in ("dong_ba_market", "le_loi_pham_ngu_lao"):
        anchor = next(a for a in ANCHORS if a.key == key)
        cell = frame.loc[h3.latlng_to_cell(anchor.lat, anchor.lon, 8)]
        assert cell.category in STEADY, key
        assert cell.hot_periods >= 0.9 * len(frame.attrs["periods"])
    assert (frame.category == "no_pattern").mean() > 0.8
    assert np.isfinite(frame[["trend_tau", "trend_z", "trend_p", "z", "p"]]).all().all()
    assert frame.attrs["inference"] == "exact" and frame.attrs["measure"] == "excess"


def test_emerging_needs_ten_periods(db: Connection) -> None:
    with pytest.raises(InvalidInput) as raised:
        emerging_hotspots(db, resolution=8, start=dt.date(2025, 1, 1), end=dt.date(2025, 6, 1))
    assert raised.value.field == "period"


def test_unknown_category_is_invalid(db: Connection) -> None:
    with pytest.raises(InvalidInput) as raised:
        hotspots(db, resolution=8, categories=["roads", "dragons"])
    assert raised.value.field == "category" and "dragons" in raised.value.detail


def test_hotspots_endpoint_geojson(client: FlaskClient, db: Connection) -> None:
    response = client.get("/v1/hotspots?res=8&k=1&category=roads,sanitation&from=2025-01-01")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    body = response.get_json(force=True)
    frame = hotspots(db, resolution=8, k=1, categories=["roads", "sanitation"],
                     start=dt.date(2025, 1, 1))
    assert body["type"] == "FeatureCollection" and len(body["features"]) == len(frame)
    feature = body["features"][0]
    assert set(feature["properties"]) == {"id", "count", "expected", "nbhd_count",
                                          "nbhd_expected", "ratio", "z", "p", "p_fdr",
                                          "tested", "class"}
    assert feature["id"] == feature["properties"]["id"] == frame.cell.iloc[0]
    assert feature["geometry"]["type"] == "Polygon"
    assert sum(f["properties"]["count"] for f in body["features"]) == frame["count"].sum()
    assert body["parameters"]["categories"] == ["roads", "sanitation"]
    assert body["parameters"]["inference"] == "exact" and body["parameters"]["measure"] == "excess"


def test_hotspots_endpoint_csv(client: FlaskClient) -> None:
    response = client.get("/v1/hotspots?res=7&format=csv&category=roads&category=sanitation")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == ["id", "count", "expected", "nbhd_count", "nbhd_expected", "ratio",
                             "z", "p", "p_fdr", "tested", "class"]
    assert "attachment" in response.headers["Content-Disposition"]


def test_emerging_endpoint(client: FlaskClient) -> None:
    response = client.get("/v1/hotspots/emerging?res=7&period=month")
    assert response.status_code == 200
    body = response.get_json(force=True)
    properties = body["features"][0]["properties"]
    assert {"id", "count", "class", "trend_tau", "trend_p", "z", "p", "p_fdr"} <= set(properties)
    assert {f["properties"]["class"] for f in body["features"]} <= set(CATEGORIES)


@pytest.mark.parametrize(("query", "field"), [
    ("res=6", "res"),
    ("res=11", "res"),
    ("res=nine", "res"),
    ("k=0", "k"),
    ("k=6", "k"),
    ("from=2025-06-01&to=2025-01-01", "from"),
    ("from=2025-06-01&to=2025-06-01", "from"),
    ("from=yesterday", "from"),
    ("category=dragons", "category"),
    ("category=roads,", "category"),
    ("weights=gaussian", "weights"),
    ("channel=fax", "channel"),
    ("status=lost", "status"),
    ("format=xml", "format"),
    ("resolution=10", "resolution"),
    ("res=9&rings=2", "rings"),
    ("measure=rate", "measure"),
    ("inference=bayes", "inference"),
    ("inference=exact&weights=decay", "inference"),
    ("min_count=0", "min_count"),
    ("min_count=many", "min_count"),
    ("permutations=10", "permutations"),
    ("seed=-1", "seed"),
])
def test_bad_parameters_are_400_naming_the_field(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/v1/hotspots?{query}")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json(force=True)["field"] == field


@pytest.mark.parametrize(("query", "field"), [
    ("period=year", "period"),
    ("from=2025-01-01&to=2025-04-01", "period"),
    ("k=9", "k"),
    ("resolution=7", "resolution"),
    ("measure=rate", "measure"),
])
def test_bad_emerging_parameters_are_400(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/v1/hotspots/emerging?res=7&{query}")
    assert response.status_code == 400
    assert response.get_json(force=True)["field"] == field
