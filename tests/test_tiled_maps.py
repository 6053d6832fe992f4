"""The tiled map pages without a browser: light pages with no cell geometry, compressed and
cached; cells as tiles that name their ward; bad parameters shown on the page with its form;
Vietnamese first, English on request. The browser tests are in tests/test_maps_browser.py."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import h3
import mapbox_vector_tile
import pytest
import shapely
import shapely.geometry
from flask import Flask
from flask.testing import FlaskClient

from gis_service.boundaries.frames import units_frame
from gis_service.tiled_maps.cells import CellFilters, cell_frame, with_wards
from gis_service.tiled_maps.frame_store import read_frame, write_frame
from gis_service.tiles.grid import TileId, lonlat_bounds
from gis_service.web import create_app
from tests.conftest import HistoryDB
from tests.test_maps import require_assets

#: The documents a page loads before its tiles: itself, its scripts and stylesheets.
PAGE_BUDGET_BYTES = 500_000
CONFIG = re.compile(r'<script type="application/json" id="map-config">(.*?)</script>', re.S)
LOADED = re.compile(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"')


@pytest.fixture(scope="module")
def app(history_db: HistoryDB) -> Flask:
    require_assets()
    return create_app(history_db.settings, engine=history_db.engine)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def page(client: FlaskClient, url: str, status: int = 200, **headers: str) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def config_of(html: str) -> dict[str, Any]:
    found = CONFIG.search(html)
    assert found, "no map-config document"
    document: dict[str, Any] = json.loads(found.group(1))
    return document


def weight(client: FlaskClient, url: str, *, gzipped: bool) -> dict[str, int]:
    """Bytes sent for the page and each script and stylesheet it loads (as sent: gzipped or
    not)."""
    headers = {"Accept-Encoding": "gzip"} if gzipped else {}
    response = client.get(url, headers=headers)
    sizes = {url: len(response.data)}
    html = gzip.decompress(response.data).decode() if gzipped else response.get_data(as_text=True)
    for asset in LOADED.findall(html):
        if asset.startswith("data:"):
            continue
        loaded = client.get(asset, headers=headers)
        assert loaded.status_code == 200, asset
        sizes[asset] = len(loaded.data)
    return sizes


@pytest.mark.parametrize("res", ["7", "8", "9", "10"])
def test_the_hotspot_page_is_light_at_every_resolution(client: FlaskClient, res: str) -> None:
    for gzipped in (False, True):
        sizes = weight(client, f"/maps/hotspots?res={res}", gzipped=gzipped)
        print(f"res {res} {'gzip' if gzipped else 'raw'}: {sum(sizes.values()):,} bytes", sizes)
        assert sum(sizes.values()) <= PAGE_BUDGET_BYTES, sizes
    html = page(client, f"/maps/hotspots?res={res}")
    document = config_of(html)
    # No cell geometry in the page: the cells are tiles of the page's own filters.
    assert "cells" not in json.dumps(document.get("values", {}))
    assert document["cells_url"].startswith("/maps/hotspots/tiles/{z}/{x}/{y}.mvt?")
    assert f"res={res}" in document["cells_url"]
    assert len(html) < 60_000
    # The province outline only, beside the few neighbouring provinces of the base layer.
    without_neighbours = {**document, "base": {**document["base"], "neighbours": None}}
    assert json.dumps(without_neighbours).count("Polygon") <= 1
    assert len(document["base"]["neighbours"]["features"]) <= 4


def test_pages_and_assets_are_compressed_and_cached(client: FlaskClient) -> None:
    for url in ("/maps/hotspots?res=8", "/assets/maps/leaflet/dist/leaflet.js",
                "/assets/maps/gis/tiled-map.js", "/maps/boundaries", "/maps/coverage"):
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, url
        assert response.headers["Content-Encoding"] == "gzip", url
        assert "Accept-Encoding" in response.headers["Vary"]
        assert response.cache_control.max_age and response.cache_control.max_age >= 60, url
        etag = response.headers["ETag"]
        again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
        assert again.status_code == 304, url
        plain = client.get(url)
        assert "Content-Encoding" not in plain.headers and plain.headers["ETag"] != etag


def test_the_page_says_which_view_it_shows_and_links_the_other(client: FlaskClient) -> None:
    html = page(client, "/maps/hotspots?res=8")
    view = re.search(r'<p class="gis-view" id="gis-view">(.*?)</p>', html, re.S)
    assert view and "dân số" in view.group(1)  # excess over residents, in Vietnamese
    link = re.search(r'<a href="(\?[^"]*)">', view.group(1))
    assert link and "measure=count" in link.group(1)
    raw = page(client, "/maps/hotspots" + link.group(1).replace("&amp;", "&"))
    assert "measure=excess" in raw or "measure=" not in re.sub(r"&amp;", "&", raw.split(
        'id="gis-view"')[1].split("</p>")[0])
    assert "diện tích" in raw.split('id="gis-view"')[1].split("</p>")[0]


def test_the_panel_states_the_inference_the_minimum_and_the_scale(client: FlaskClient) -> None:
    html = page(client, "/maps/hotspots?min_count=7&lang=en")
    facts = re.search(r'<p class="gis-facts">(.*?)</p>', html, re.S)
    assert facts, html[:3000]
    text = facts.group(1)
    assert "minimum count 7" in text and "Inference:" in text and "scale" in text
    assert "H3 resolution" in text
    emerging = page(client, "/maps/emerging?res=7&lang=en")
    facts = re.search(r'<p class="gis-facts">(.*?)</p>', emerging, re.S)
    assert facts and "periods of a month" in facts.group(1)
    assert "minimum count 5" in facts.group(1) or "minimum count" in facts.group(1)


def test_the_panel_states_the_predicted_recall_of_the_chosen_scale(
        client: FlaskClient, history_db: HistoryDB) -> None:
    """The scale's power (``parameters.power`` of /v1/hotspots) is on the page, in both
    languages, and is the frame's own figure."""
    with history_db.engine.connect() as conn:
        power = cell_frame(conn, CellFilters(resolution=10)).attrs["power"]
    en = page(client, "/maps/hotspots?res=10&lang=en")
    recall = re.search(r'<span class="gis-power">(.*?)</span>', en, re.S)
    assert recall and "Predicted recall" in recall.group(1), en[:3000]
    assert f"{power['predicted_recall']:.2f}" in recall.group(1)
    assert ("clusters can be missed" in recall.group(1)) == (not power["enough"])
    vi = page(client, "/maps/hotspots?res=10")
    recall = re.search(r'<span class="gis-power">(.*?)</span>', vi, re.S)
    assert recall and "Độ nhạy dự báo" in recall.group(1)
    assert f"{power['predicted_recall']:.2f}".replace(".", ",") in recall.group(1)
    emerging = page(client, "/maps/emerging?res=7&lang=en")
    assert re.search(r'<span class="gis-power">Predicted recall', emerging)


def test_the_coverage_panel_states_its_method_scale_and_minimum(client: FlaskClient) -> None:
    en = page(client, "/maps/coverage?lang=en")
    facts = re.search(r'<p class="gis-facts">(.*?)</p>', en, re.S)
    assert facts, en[:3000]
    text = facts.group(1)
    assert "Scale: the communes of the 2025 generation" in text
    assert "from residents alone" in text and "5.0 %" in text
    assert "No minimum count" in text
    setting = page(client, "/maps/coverage?lang=en&model=with_setting")
    assert "urban/rural setting; a flag" in setting
    vi = page(client, "/maps/coverage")
    assert "Thang đo:" in vi and "Phương pháp:" in vi and "5,0 %" in vi


def test_pages_are_vietnamese_first_with_numbers_the_vietnamese_way(client: FlaskClient) -> None:
    vi = page(client, "/maps/hotspots?res=8")
    assert '<html lang="vi">' in vi and "Điểm nóng" in vi
    reports = re.search(r'<p class="gis-facts">([\d.]+) ', vi)
    assert reports and "." in reports.group(1)  # 37.000, not 37,000
    en = page(client, "/maps/hotspots?res=8&lang=en")
    assert '<html lang="en">' in en and "Hot spots of reports" in en
    assert page(client, "/maps/hotspots?res=8", **{"Accept-Language": "en"}).count(
        "Hot spots of reports") >= 1


@pytest.mark.parametrize(("path", "query", "field"), [
    ("/maps/hotspots", "res=6", "res"),
    ("/maps/hotspots", "resolution=9", "resolution"),
    ("/maps/hotspots", "measure=rate", "measure"),
    ("/maps/hotspots", "from=2026-01-01&to=2025-01-01", "from"),
    ("/maps/hotspots", "category=no_such_category", "category"),
    ("/maps/hotspots", "seed=3", "seed"),
    ("/maps/emerging", "period=day", "period"),
    ("/maps/coverage", "model=guess", "model"),
    ("/maps/coverage", "colour=red", "colour"),
    ("/maps/boundaries", "generation=1999", "generation"),
])
def test_bad_parameters_are_shown_on_the_page_with_its_form(client: FlaskClient, path: str,
                                                            query: str, field: str) -> None:
    for lang, words in (("vi", "không thể dùng"), ("en", "could not be used")):
        html = page(client, f"{path}?{query}&lang={lang}", status=400)
        problems = re.search(r'<div class="gis-problems" role="alert">(.*?)</div>', html, re.S)
        assert problems and f"<code>{field}</code>" in problems.group(1), html[:3000]
        assert words in problems.group(1)
        assert '<form method="get"' in html
        name = field if field in ("res", "measure", "from", "category", "period", "model",
                                  "generation") else None
        if name:
            assert re.search(rf'name="{name}"[^>]*aria-invalid="true"', html), name


def test_cell_tiles_carry_the_ward_of_every_cell(client: FlaskClient,
                                                 history_db: HistoryDB) -> None:
    with history_db.engine.connect() as conn:
        frame = cell_frame(conn, CellFilters(resolution=9))
    hot = frame[frame["cls"].str.startswith("hot")]
    assert len(hot) and (hot["ward"] != "").all()
    cell = hot.iloc[0]
    lat, lng = h3.cell_to_latlng(cell["cell"])
    z = 13
    tile = _tile_of(lng, lat, z)
    response = client.get(f"/maps/hotspots/tiles/{z}/{tile.x}/{tile.y}.mvt?res=9")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    features = mapbox_vector_tile.decode(response.data)["cells"]["features"]
    by_cell = {f["properties"]["cell"]: f["properties"] for f in features}
    assert by_cell[cell["cell"]]["ward"] == cell["ward"]
    assert by_cell[cell["cell"]]["class"] == cell["cls"]
    assert all(p["ward"] and p["ward_code"] for p in by_cell.values())
    assert client.get(f"/maps/hotspots/tiles/{z}/{tile.x}/{tile.y}.mvt?res=6").status_code == 400


def _tile_of(lon: float, lat: float, z: int) -> TileId:
    import math  # noqa: PLC0415

    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    tile = TileId(z, x, y)
    west, south, east, north = lonlat_bounds(tile)
    assert west <= lon <= east and south <= lat <= north
    return tile


def test_a_cell_is_in_the_ward_holding_its_centre() -> None:
    wards = units_frame_like()
    cells = [h3.latlng_to_cell(16.425, 107.525, 9), h3.latlng_to_cell(16.425, 107.575, 9),
             h3.latlng_to_cell(16.0, 107.0, 9)]
    frame = with_wards(_cells(cells), wards)
    # The last is in neither: the nearest ward names it.
    assert frame["ward"].tolist() == ["Phường A", "Xã B", "Phường A"]
    assert frame["ward_code"].tolist() == ["a", "b", "a"]


def units_frame_like() -> Any:
    import geopandas as gpd  # noqa: PLC0415

    return gpd.GeoDataFrame({"code": ["a", "b"], "name": ["Phường A", "Xã B"]},
                            geometry=[shapely.box(107.50, 16.40, 107.55, 16.45),
                                      shapely.box(107.55, 16.40, 107.60, 16.45)], crs=4326)


def _cells(cells: list[str]) -> Any:
    import geopandas as gpd  # noqa: PLC0415

    polygons = [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)])
                for c in cells]
    return gpd.GeoDataFrame({"cell": cells}, geometry=polygons, crs=4326)


def test_base_layer_has_ward_labels_and_the_outline(client: FlaskClient,
                                                    history_db: HistoryDB) -> None:
    document = config_of(page(client, "/maps/boundaries"))
    with history_db.engine.connect() as conn:
        wards = units_frame(conn)
    labels = {label["code"]: label for label in document["base"]["labels"]}
    assert set(labels) == set(wards["code"])
    for row in wards.itertuples():
        label = labels[row.code]
        assert label["name"] == row.name
        assert row.geometry.covers(shapely.Point(label["lon"], label["lat"]))
    assert document["base"]["outline"]["type"] in ("LineString", "MultiLineString")
    assert document["wards_url"] == "/tiles/boundaries-2025/{z}/{x}/{y}.mvt"
    assert document["labelMinZoom"] == 12
    old = config_of(page(client, "/maps/boundaries?generation=2019"))
    assert len(old["base"]["labels"]) == 152


def test_base_layer_has_the_neighbouring_provinces_of_the_national_layer(
        client: FlaskClient) -> None:
    """Without a tile server the land goes on past Huế: the reference generation's provinces
    near the city (Quảng Trị to the north, Đà Nẵng to the south), never Huế itself, clipped
    near the page's box and light."""
    document = config_of(page(client, "/maps/hotspots?res=8"))
    neighbours = document["base"]["neighbours"]
    assert neighbours["type"] == "FeatureCollection"
    names = {f["properties"]["name"] for f in neighbours["features"]}
    assert any("Quảng Trị" in name for name in names), names
    assert any("Đà Nẵng" in name for name in names), names
    assert not any("Huế" in name for name in names), names
    west, south, east, north = document["base"]["bounds"]
    box = shapely.box(west - 0.51, south - 0.51, east + 0.51, north + 0.51)
    for feature in neighbours["features"]:
        shape = shapely.geometry.shape(feature["geometry"])
        assert box.covers(shape), feature["properties"]["name"]
        label = shapely.Point(feature["properties"]["lon"], feature["properties"]["lat"])
        assert shape.buffer(1e-3).covers(label)
    assert len(json.dumps(neighbours)) < 60_000


def test_no_neighbours_are_sent_when_a_tile_server_draws_the_base(history_db: HistoryDB) -> None:
    from gis_service.tiled_maps.pages import base_layer  # noqa: PLC0415

    with history_db.engine.connect() as conn:
        own = base_layer(conn)
        served = base_layer(conn, tiles_url="https://tiles.example/{z}/{x}/{y}.png")
    assert own.neighbours and served.neighbours is None


def test_coverage_page_carries_one_row_per_commune_not_geometry(client: FlaskClient) -> None:
    document = config_of(page(client, "/maps/coverage"))
    assert len(document["values"]) == 40
    row = next(iter(document["values"].values()))
    assert {"name", "rate", "rate_eb", "flag", "colour", "population"} <= set(row)
    assert "coordinates" not in json.dumps(document["values"])


@pytest.mark.parametrize(("path", "query", "field"), [
    ("/maps/hotspots", {"k": "9"}, "k"),
    ("/maps/hotspots", {"from": "yesterday"}, "from"),
    # The page's own form sends empty fields: they are absent, not invalid.
    ("/maps/hotspots", {"res": "11", "k": "", "category": "", "from": "", "to": ""}, "res"),
    ("/maps/coverage", {"from": "2026-01-01", "to": "2025-01-01"}, "from"),
    ("/maps/coverage", {"attribution": "guess"}, "attribution"),
    ("/maps/boundaries", {"generation": "x" * 40}, "generation"),
])
def test_bad_parameters_are_400_pages_naming_the_field(client: FlaskClient, path: str,
                                                       query: dict[str, str], field: str) -> None:
    """The page with its form and the problem, on the real boundaries."""
    response = client.get(path, query_string=query)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert f"<code>{field}</code>" in response.get_data(as_text=True)


def test_frames_are_shared_through_the_store_and_never_stale(tmp_path: Path,
                                                             history_db: HistoryDB) -> None:
    """A frame made by one worker is read by another (here: after the memory cache is
    emptied) with its attrs; a new data version is a new key, never the stored frame."""
    from gis_service.tiled_maps import cells as tiled_cells  # noqa: PLC0415

    filters = CellFilters(resolution=8, k=1)
    with history_db.engine.connect() as conn:
        made = cell_frame(conn, filters, store=tmp_path)
        assert len(list(tmp_path.glob("*.pickle"))) == 1
        tiled_cells._FRAMES.clear()
        again = cell_frame(conn, filters, store=tmp_path)
    assert again is not made  # read from the store, not memory
    assert again.attrs == made.attrs
    assert again.drop(columns="geometry").equals(made.drop(columns="geometry"))
    assert again.geometry.geom_equals(made.geometry).all()
    key = ("db", filters, "boundaries-1/reports-a")
    assert read_frame(tmp_path, key) is None
    write_frame(tmp_path, key, made.head(3))
    assert len(read_frame(tmp_path, key)) == 3  # type: ignore[arg-type]
    assert read_frame(tmp_path, ("db", filters, "boundaries-1/reports-b")) is None


def test_threads_missing_the_same_key_make_it_once() -> None:
    """The frame a cold page's tiles all ask for at once is made by one thread."""
    import threading  # noqa: PLC0415
    import time  # noqa: PLC0415

    from gis_service.analysis.cache import LruCache  # noqa: PLC0415

    cache: LruCache[str, int] = LruCache(4)
    made: list[int] = []

    def make() -> int:
        time.sleep(0.05)
        made.append(1)
        return 42

    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(cache.get_or_make("f", make)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [42] * 8 and made == [1]
    assert cache.get_or_make("g", lambda: 7) == 7  # other keys are made as before


def test_serve_warms_the_study_areas(app: Flask) -> None:
    """What each serve worker builds in the background: the area's polygons and ring-1
    weights, which an analysis over the area then cuts from."""
    from gis_service.analysis import grid  # noqa: PLC0415
    from gis_service.serving import warm_study_areas  # noqa: PLC0415

    grid.clear_caches()
    warm_study_areas(app, (8,))
    area = grid._LATEST[8]
    assert len(grid._AREA_WEIGHTS.get_or_make((f"{area.key}/8", 1, "binary"),
                                              lambda: pytest.fail("not warmed")).cells)
    assert len(grid._AREA_POLYGONS.get_or_make((area.key, 8), lambda: pytest.fail("not warmed")))


@pytest.mark.parametrize(("raw", "expected"), [("", ()), ("10", (10,)), ("7,8,9,10", (7, 8, 9, 10))])
def test_warm_resolutions_setting(raw: str, expected: tuple[int, ...]) -> None:
    from gis_service.config import Settings  # noqa: PLC0415

    assert Settings.from_env({"GIS_WARM_RESOLUTIONS": raw}).warm_resolutions == expected


def test_warm_resolutions_outside_the_analyses_fail_at_start() -> None:
    from gis_service.config import ConfigError, Settings  # noqa: PLC0415

    with pytest.raises(ConfigError, match="GIS_WARM_RESOLUTIONS"):
        Settings.from_env({"GIS_WARM_RESOLUTIONS": "6"})
