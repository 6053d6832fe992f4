"""Map pages without a browser: local assets only, the asset route, tiles, drawing from frames."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import PurePosixPath

import folium
import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from gis_service.analysis.statistics.hotspots import CLASSES
from gis_service.config import ConfigError, Settings
from gis_service.maps import MapOptions, map_html
from gis_service.maps.assets import (
    ASSET_ROOT,
    ASSETS_URL,
    ROTATE_CSS,
    is_servable,
    local_links,
    missing_files,
    use_local_assets,
)
from gis_service.maps.boundaries import draw_boundaries
from gis_service.maps.coverage import draw_coverage, method_lines, quintile_legend
from gis_service.maps.hotspots import HotspotLayer, draw_hotspots
from gis_service.maps.layers import drawn_cells
from gis_service.web import create_app
from tests.conftest import IN_CI

EXTERNAL_URL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>)]*""", re.I)
TILES = "https://tiles.example.org/{z}/{x}/{y}.png"


def require_assets() -> None:
    """Skip without node_modules on a laptop; fail in CI, where ./manage installs them."""
    absent = missing_files()
    if absent:
        message = f"map assets not installed ({', '.join(absent)}): run npm ci"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def communes_frame() -> gpd.GeoDataFrame:
    """Four square communes, two urban and two rural, north of Huế's citadel."""
    boxes = [shapely.box(107.50 + 0.05 * i, 16.40, 107.55 + 0.05 * i, 16.45) for i in range(4)]
    return gpd.GeoDataFrame(
        {"id": range(4), "code": [f"c{i}" for i in range(4)], "name": [f"Xã <{i}>" for i in range(4)],
         "unit_type": ["Phường", "Phường", "Xã", "Xã"], "setting": ["urban", "urban", "rural", "rural"],
         "population": [1000, 2000, 3000, 4000], "area_km2": [30.0] * 4, "approximate": [False] * 4},
        geometry=boxes, crs=4326)


def cells_frame(counts: list[int], classes: list[str]) -> gpd.GeoDataFrame:
    centre = h3.latlng_to_cell(16.42, 107.55, 8)
    cells = sorted(h3.grid_disk(centre, 2))[: len(counts)]
    polygons = [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])
                for cell in cells]
    n = len(counts)
    return gpd.GeoDataFrame(
        {"cell": [h3.str_to_int(cell) for cell in cells], "count": counts,
         "z": np.linspace(-3, 3, n), "p": np.linspace(0.001, 0.9, n),
         "p_fdr": np.linspace(0.002, 1.0, n), "cls": classes},
        geometry=polygons, crs=4326)


def external_urls(page: str) -> set[str]:
    return set(EXTERNAL_URL.findall(page))


def test_every_resource_folium_links_has_a_local_file() -> None:
    links = local_links(list(folium.Map.default_js) + list(folium.Map.default_css))
    assert len(links) == len(folium.Map.default_js) + len(folium.Map.default_css)
    for _, url in links:
        relative = url.removeprefix(ASSETS_URL + "/")
        assert is_servable(relative), url


def test_an_unknown_folium_resource_fails_loudly_instead_of_using_a_cdn() -> None:
    with pytest.raises(KeyError, match="leaflet_new_plugin"):
        local_links([("leaflet_new_plugin", "https://cdn.example/x.js")])


def test_local_assets_leave_folium_defaults_for_other_maps_alone() -> None:
    before = list(folium.Map.default_js)
    fmap = use_local_assets(folium.Map(tiles=None), "/x")
    assert all(url.startswith("/x/") for _, url in fmap.default_js)
    assert folium.Map.default_js == before


@pytest.mark.parametrize(("path", "allowed"), [
    ("leaflet/dist/leaflet.js", True),
    ("leaflet/dist/images/layers.png", True),
    ("@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2", True),
    (ROTATE_CSS, True),
    ("leaflet/package.json", False),
    ("leaflet/dist/../package.json", False),
    ("/etc/passwd", False),
    ("jquery/src/core.js", False),
])
def test_only_the_vendored_folders_are_servable(path: str, allowed: bool) -> None:
    assert is_servable(path) is allowed


def test_stylesheets_find_every_font_and_image_they_load() -> None:
    """CSS url(...) references resolve to installed, servable files: icons work offline."""
    require_assets()
    for _, url in local_links(list(folium.Map.default_css)):
        relative = url.removeprefix(ASSETS_URL + "/")
        if relative == ROTATE_CSS:
            continue
        css = (ASSET_ROOT / relative).read_text(encoding="utf-8")
        for ref in re.findall(r"url\(['\"]?([^'\")]+)", css):
            if ref.startswith(("data:", "#")):
                continue
            target = PurePosixPath(relative).parent / ref.split("?")[0].split("#")[0]
            resolved = str(PurePosixPath(*_normalise(target.parts)))
            assert is_servable(resolved), (relative, ref)
            assert (ASSET_ROOT / resolved).is_file(), (relative, ref)


def _normalise(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            out.pop()
        elif part != ".":
            out.append(part)
    return out


@pytest.mark.parametrize(("value", "ok"), [
    ("", True),
    (TILES, True),
    ("/tiles/{z}/{x}/{y}.png", True),
    ("https://tiles.example.org/{z}/{x}.png", False),
    ("tiles.example.org/{z}/{x}/{y}.png", False),
])
def test_tiles_url_setting(value: str, ok: bool) -> None:
    env = {"GIS_TILES_URL": value}
    if ok:
        assert Settings.from_env(env).tiles_url == value
    else:
        with pytest.raises(ConfigError, match="GIS_TILES_URL"):
            Settings.from_env(env)


def test_boundaries_page_has_no_external_url_and_escapes_names() -> None:
    page = map_html(draw_boundaries(communes_frame(), generation="2025",
                                    known_generations=["2019", "2025"]))
    assert external_urls(page) == set()
    assert f'src="{ASSETS_URL}/leaflet/dist/leaflet.js"' in page
    assert "Xã <0>" not in page  # names reach the page only as escaped JSON
    assert page.count('"type": "Feature"') == 4


def test_tiles_are_the_only_external_url_when_configured() -> None:
    options = MapOptions(tiles_url=TILES, tiles_attribution="© Example")
    page = map_html(draw_boundaries(communes_frame(), generation="2025", options=options))
    assert external_urls(page) == {"https://tiles.example.org/{z}/{x}/{y}.png"}
    assert '"attribution": "\\u00a9 Example"' in page


def test_hotspot_page_draws_cells_with_reports_or_significance() -> None:
    classes = ["hot_99", "not_significant", "not_significant", "cold_95", "hot_90"]
    cells = cells_frame([9, 0, 2, 0, 4], classes)
    assert len(drawn_cells(cells)) == 4  # the empty, unremarkable cell is background
    other = cells_frame([1, 1, 1], ["not_significant"] * 3)
    fmap = draw_hotspots([HotspotLayer("All", cells), HotspotLayer("roads", other)],
                         communes_frame(), cell_column="cell")
    page = map_html(fmap)
    assert external_urls(page) == set()
    assert page.count('"type": "Feature"') == 4 + 3 + 4  # two cell layers, the outlines
    assert str(h3.int_to_str(int(cells["cell"].iloc[0]))) in page
    assert "gis-hex gis-hex-hot_99" in page
    assert "L.control.layers" in page


def test_hotspot_page_says_what_it_shows_and_links_the_other_measure() -> None:
    from gis_service.maps.hotspots import MEASURE_TITLES, HotspotFilters, _other_measure  # noqa: PLC0415

    cells = cells_frame([9, 0, 2], ["hot_99", "not_significant", "not_significant"])
    filters = HotspotFilters(resolution=8, categories=("roads",))
    page = map_html(draw_hotspots([HotspotLayer("All", cells)], communes_frame(),
                                  cell_column="cell", measure="excess",
                                  links=[_other_measure(filters)]))
    assert "Hot spots of reports in excess of residents" in MEASURE_TITLES["excess"]
    assert "Hot spots of reports in excess of residents" in page
    label, url = _other_measure(filters)
    assert "measure=count" in url and "res=8" in url and "category=roads" in url
    assert "measure=count" in page and "show raw counts" in page and "raw counts" in label
    assert "measure=excess" in _other_measure(HotspotFilters(measure="count"))[1]


def test_hotspot_page_with_no_cells_still_renders() -> None:
    empty = cells_frame([], [])
    page = map_html(draw_hotspots([HotspotLayer("All", empty)], communes_frame(),
                                  cell_column="cell"))
    assert "L.control.layers" in page


def test_every_class_has_a_colour() -> None:
    from gis_service.maps.classes import CLASS_COLOURS  # noqa: PLC0415

    assert set(CLASS_COLOURS) == set(CLASSES)


@pytest.fixture(scope="module")
def app(engine: Engine, settings: Settings) -> Flask:
    return create_app(settings, engine=engine)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def test_asset_route_serves_leaflet_and_refuses_the_rest(client: FlaskClient) -> None:
    require_assets()
    script = client.get(f"{ASSETS_URL}/leaflet/dist/leaflet.js")
    assert script.status_code == 200 and script.mimetype in ("text/javascript",
                                                             "application/javascript")
    assert b"Leaflet" in script.data[:2000]
    font = client.get(f"{ASSETS_URL}/@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2")
    assert font.status_code == 200
    rotate = client.get(f"{ASSETS_URL}/{ROTATE_CSS}")
    assert rotate.mimetype == "text/css" and b".fa-rotate-90{transform:rotate(90deg)}" in rotate.data
    for path in ("leaflet/package.json", "leaflet/dist/%2E%2E/package.json", "nothing/here.js"):
        response = client.get(f"{ASSETS_URL}/{path}")
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"


def test_maps_index_lists_the_pages(client: FlaskClient) -> None:
    page = client.get("/maps").get_data(as_text=True)
    for path in ("/maps/hotspots", "/maps/coverage", "/maps/boundaries"):
        assert f'href="{path}"' in page




def coverage_frame() -> gpd.GeoDataFrame:
    frame = communes_frame()
    return frame.assign(
        reports=[50.0, 10.0, 0.0, 3.0], rate_per_1000=[50.0, 5.0, 0.0, 0.75],
        rate_eb=[48.0, 6.0, 0.5, 0.9], rate_class=[4, 3, 1, 2], expected=[30.0, 20.0, 9.0, 8.0],
        observed_to_expected=[1.6, 0.5, 0.0, 0.4], under_reporting=[False, False, True, False],
        response_median_h=[12.0, 14.0, np.nan, 20.0], resolution_median_h=[90.0] * 4,
        share_within_deadline=[0.9, 0.8, np.nan, 0.7], satisfaction=[4.0, 3.5, np.nan, 3.0],
        reporting_rate=[1.3, 1.1, np.nan, 0.8], flag_model=["population_only"] * 4,
        reporting_rate_per_day=[0.21, 0.18, np.nan, 0.05],
        reporting_delay_days=[4.8, 5.6, np.nan, 20.0])


def test_coverage_page_splits_settings_and_outlines_flagged_communes() -> None:
    page = map_html(draw_coverage(coverage_frame(), lines=["a line"]))
    assert external_urls(page) == set()
    for name in ("Urban wards (phường, thị trấn)", "Rural communes (xã)", "Under-reporting (1)"):
        assert json.dumps(name) in page
    # Two urban and two rural communes, and the flagged one again as an outline.
    assert page.count('"type": "Feature"') == 2 + 2 + 1
    assert "gis-flag" in page and "#045a8d" not in page  # no commune in the 5th quintile
    assert [entry.label for entry in quintile_legend(coverage_frame())] == [
        "0.5 – 0.5", "0.9 – 0.9", "6.0 – 6.0", "48.0 – 48.0"]
    assert "Reports per day while open (LBG)" in page and "not calibrated" in page
    assert "significant under-reporting (model: residents only)" in page


def test_coverage_page_names_the_method_and_the_flag_model() -> None:
    """The panel names the reporting-rate method and the model that made the flags."""
    for model, label in (("population_only", "residents only"),
                         ("with_setting", "residents and setting")):
        frame = coverage_frame().assign(flag_model=model)
        frame.attrs["model"] = model
        page = map_html(draw_coverage(frame, lines=method_lines(model)))
        # The panel's HTML sits in a JavaScript string (escaped twice).
        assert "Liu, Bhandaram \\u0026amp; Garg" in page
        assert f"Under-reporting flags, model \\u0026#x27;{model}\\u0026#x27; ({label})" in page
        assert f"significant under-reporting (model: {label})" in page


@pytest.mark.parametrize(("path", "query", "field"), [
    ("/maps/hotspots", {"res": "6"}, "res"),
    ("/maps/hotspots", {"k": "9"}, "k"),
    ("/maps/hotspots", {"resolution": "9"}, "resolution"),
    ("/maps/hotspots", {"measure": "rate"}, "measure"),
    ("/maps/hotspots", {"from": "2026-01-01", "to": "2025-01-01"}, "from"),
    ("/maps/hotspots", {"from": "yesterday"}, "from"),
    ("/maps/hotspots", {"category": "no_such_category"}, "category"),
    # The page's own form sends empty fields: they are absent, not invalid.
    ("/maps/hotspots", {"res": "11", "k": "", "category": "", "from": "", "to": ""}, "res"),
    ("/maps/coverage", {"from": "2026-01-01", "to": "2025-01-01"}, "from"),
    ("/maps/coverage", {"attribution": "guess"}, "attribution"),
    ("/maps/coverage", {"model": "guess"}, "model"),
    ("/maps/boundaries", {"generation": "x" * 40}, "generation"),
])
def test_bad_parameters_are_400_problems(client: FlaskClient, path: str,
                                         query: dict[str, str], field: str) -> None:
    response = client.get(path, query_string=query)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["field"] == field


def test_the_page_policy_allows_only_the_app_and_the_tile_server() -> None:
    from gis_service.web.maps import page_policy  # noqa: PLC0415  # the app module, only here

    assert "img-src 'self' data:;" in page_policy("")
    policy = page_policy(TILES)
    assert "img-src 'self' data: https://tiles.example.org;" in policy
    assert "script-src 'self' 'unsafe-inline';" in policy and "default-src 'self'" in policy
