"""Vector tiles on a generated history: decoded with mapbox-vector-tile and read by GDAL's MVT
driver; report counts against the database; ETags, gzip, 304s; the cache invalidated by writes."""

from __future__ import annotations

import gzip
import json
import math
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from gis_service.db.schema import admin_unit, report
from gis_service.errors import InvalidInput, NotFound
from gis_service.tiles import service
from gis_service.tiles.grid import TileId, lonlat_bounds, tile_id
from gis_service.tiles.layers import REPORT_POINT_ZOOM, report_resolution
from gis_service.web import create_app
from tests.conftest import HistoryDB, problem
from tests.factories import add_report

# Đông Ba market and the citadel's east side.
LON, LAT = 107.585, 16.472


def tile_at(z: int, lon: float = LON, lat: float = LAT) -> TileId:
    size = 1 << z
    x = int((lon + 180) / 360 * size)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * size)
    return tile_id(z, x, y)


def url(layer: str, tile: TileId) -> str:
    return f"/tiles/{layer}/{tile.z}/{tile.x}/{tile.y}.mvt"


@pytest.fixture(scope="module")
def app(history_db: HistoryDB) -> Flask:
    return create_app(history_db.settings, engine=history_db.engine)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def decode(data: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = mapbox_vector_tile.decode(data)
    return decoded


def fetch(client: FlaskClient, layer: str, tile: TileId) -> dict[str, Any]:
    response = client.get(url(layer, tile))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == service.MVT
    return decode(response.get_data())


def reports_in(history_db: HistoryDB, bounds: tuple[float, float, float, float]) -> int:
    with history_db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(
            report.c.geom.op("&&")(func.ST_MakeEnvelope(*bounds, 4326)))).scalar_one())


def test_report_points_from_zoom_14_are_every_report_in_the_tile(
        client: FlaskClient, history_db: HistoryDB) -> None:
    tile = tile_at(REPORT_POINT_ZOOM)
    layer = fetch(client, "reports", tile)["reports"]
    expected = reports_in(history_db, lonlat_bounds(tile))
    assert expected > 0
    # Every report whose stored point is in the tile (rounding moves it at most ~6 m, well
    # inside the tile's 64-unit buffer, ~38 m at zoom 14).
    assert len(layer["features"]) == expected
    assert set(layer["features"][0]["properties"]) == {"id", "category", "status"}


def test_below_zoom_14_reports_are_counted_on_h3_parents(client: FlaskClient,
                                                         history_db: HistoryDB) -> None:
    tile = tile_at(12)
    layer = fetch(client, "reports", tile)["reports"]
    features = layer["features"]
    assert {f["properties"]["resolution"] for f in features} == {report_resolution(12)}
    column = report.c[f"h3_r{report_resolution(12)}"]
    with history_db.engine.connect() as conn:
        for feature in features[:20]:
            cell = int(feature["properties"]["cell"], 16)
            expected = conn.execute(select(func.count()).where(column == cell)).scalar_one()
            # Every report of the cell, also those outside the tile: the same count in each tile
            # the cell reaches into.
            assert feature["properties"]["count"] == expected
            assert feature["geometry"]["type"] == "Polygon"


def test_boundaries_and_hot_spots(client: FlaskClient) -> None:
    tile = tile_at(12)
    wards = fetch(client, "boundaries-2025", tile)["boundaries-2025"]["features"]
    assert wards and {"code", "name", "unit_type", "setting"} <= set(wards[0]["properties"])
    assert fetch(client, "boundaries-2019", tile)["boundaries-2019"]["features"]
    cells = fetch(client, "hotspots-r9", tile)["hotspots-r9"]["features"]
    assert cells and {"cell", "count", "z", "class"} == set(cells[0]["properties"])
    empty = client.get(url("reports", tile_id(8, 0, 0)))
    assert empty.status_code == 200 and decode(empty.get_data()) == {}


def test_strong_etags_gzip_and_304(client: FlaskClient) -> None:
    path = url("boundaries-2025", tile_at(13))
    plain = client.get(path)
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
    assert re.fullmatch(r'"[0-9a-f]{32}"', plain.headers["ETag"])
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    assert plain.headers["Cache-Control"].startswith("public, max-age=")
    assert plain.headers["Vary"] == "Accept-Encoding"
    again = client.get(path, headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    other = client.get(path, headers={"If-None-Match": '"0000"'})
    assert other.status_code == 200


def test_a_write_changes_the_tile(history_db: HistoryDB) -> None:
    """The cache is keyed by data version: a report or a boundary written (here in a rolled-back
    transaction, seen by the same connection) gives a new tile at once."""
    tile = tile_at(REPORT_POINT_ZOOM)
    with history_db.engine.connect() as conn:
        transaction = conn.begin()
        before = service.get_tile(conn, "reports", tile.z, tile.x, tile.y)
        assert service.get_tile(conn, "reports", tile.z, tile.x, tile.y) is before  # cached
        add_report(conn, lon=LON, lat=LAT)
        after = service.get_tile(conn, "reports", tile.z, tile.x, tile.y)
        assert len(decode(after.raw)["reports"]["features"]) == \
            len(decode(before.raw)["reports"]["features"]) + 1
        wards = service.get_tile(conn, "boundaries-2025", 12, tile.x >> 2, tile.y >> 2)
        conn.execute(update(admin_unit).values(name=admin_unit.c.name + " (đổi)"))
        renamed = service.get_tile(conn, "boundaries-2025", 12, tile.x >> 2, tile.y >> 2)
        assert renamed.etag != wards.etag
        assert all(f["properties"]["name"].endswith("(đổi)")
                   for f in decode(renamed.raw)["boundaries-2025"]["features"])
        transaction.rollback()


def test_tilejson_and_index(client: FlaskClient) -> None:
    index = json.loads(client.get("/tiles/").get_data())
    ids = {layer["id"] for layer in index["layers"]}
    assert {"boundaries-2025", "boundaries-2019", "reports", "hotspots-r8", "hotspots-r9"} <= ids
    for layer_id in ids:
        document = json.loads(client.get(f"/tiles/{layer_id}.json").get_data())
        assert document["tilejson"] == "3.0.0"
        assert document["tiles"][0].endswith(f"/tiles/{layer_id}/{{z}}/{{x}}/{{y}}.mvt")
        assert document["vector_layers"][0]["id"] == layer_id
        west, south, east, north = document["bounds"]
        assert 106.9 < west < east < 108.5 and 15.8 < south < north < 17.0


def test_bad_tiles_are_4xx_naming_the_part(client: FlaskClient) -> None:
    problem(client.get("/tiles/nowhere/1/0/0.mvt"), 404, "layer")
    problem(client.get("/tiles/nowhere.json"), 404, "layer")
    problem(client.get("/tiles/reports/3/8/0.mvt"), 400, "x")
    problem(client.get("/tiles/reports/3/0/8.mvt"), 400, "y")
    problem(client.get("/tiles/reports/23/0/0.mvt"), 400, "z")
    with pytest.raises(InvalidInput):
        tile_id(2, 4, 0)
    assert NotFound.status == 404


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL (gdal-bin) is not installed")
def test_gdal_reads_a_saved_tile(client: FlaskClient, tmp_path: Path,
                                 history_db: HistoryDB) -> None:
    """GDAL's MVT driver reads our bytes, places them where they belong (its georeferencing
    from z/x/y) and counts the same features."""
    tile = tile_at(REPORT_POINT_ZOOM)
    path = tmp_path / "reports.pbf"
    path.write_bytes(client.get(url("reports", tile)).get_data())
    output = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", "-oo", f"Z={tile.z}", "-oo", f"X={tile.x}",
         "-oo", f"Y={tile.y}", f"MVT:{path}"],
        capture_output=True, text=True, check=True, timeout=60).stdout
    count = int(re.search(r"Feature Count: (\d+)", output).group(1))  # type: ignore[union-attr]
    assert count >= reports_in(history_db, lonlat_bounds(tile))
    extent = re.search(r"Extent: \(([-\d.]+), ([-\d.]+)\) - \(([-\d.]+), ([-\d.]+)\)", output)
    assert extent is not None
    x1, _y1, x2, _y2 = (float(v) for v in extent.groups())
    # Web Mercator metres around Huế's longitude (107.58° E ≈ 11.976 Mm).
    assert 11.9e6 < x1 <= x2 < 12.0e6
