"""The tiled map pages in a real headless Chromium (``--headless=new``, fresh profile) against
the real app: ``gis-service serve`` (gunicorn) over the generated report history.

Checked on screen, not in the DOM (the cells are canvas tiles): the pixels of a hot cell's
colour are present where the analysis puts a hot cell, a click there opens a popup naming the
cell's ward, the open panel covers at most a quarter of a 1024×640 viewport and collapses,
ward names appear at city zoom, and nothing is asked of any other host. Screenshots at
1024×640 and 1600×1000 go to test-output/maps/ (git-ignored) for review. The time until the
res-10 page's first cell tiles are drawn is printed (no assertion: the machine is shared).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pytest
from PIL import Image
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from gis_service.config import PROJECT_ROOT
from gis_service.maps.assets import missing_files
from gis_service.maps.classes import CLASS_COLOURS
from gis_service.tiled_maps.cells import CellFilters, cell_frame
from tests import browser
from tests.conftest import IN_CI, HistoryDB
from tests.test_ogc_clients import _free_port, _wait_until_healthy

SCREENSHOTS = PROJECT_ROOT / "test-output" / "maps"
SMALL, LARGE = (1024, 640), (1600, 1000)
#: The land tones of our own base layer under the cells (tiled-map.js), and the cells' opacity.
LAND = {"urban": "#efe9dc", "rural": "#f3f2e6"}
CELL_OPACITY = 0.85
CITY_ZOOM = 14


def _require_browser() -> None:
    absent = browser.missing() + missing_files()
    if absent:
        message = f"browser test needs {', '.join(absent)} (scripts/system-packages.sh, npm ci)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def site(history_db: HistoryDB, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn serving the history database, with no tile server (our own base layer)."""
    _require_browser()
    port = _free_port()
    log = tmp_path_factory.mktemp("maps-server") / "gunicorn.log"
    env = {**os.environ, "DATABASE_URL": history_db.url, "GIS_THREADS": "4", "GIS_TILES_URL": ""}
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gis-service"), "serve", "--port", str(port),
             "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=handle)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base + "/healthz", process, log)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def driver(site: str) -> Iterator[Any]:
    with browser.chromium() as chromium:
        yield chromium


def viewport(driver: Any, size: tuple[int, int]) -> None:
    """The page's viewport exactly (a window size would include the browser's own frame)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False})


def wait_for_tiles(driver: Any, timeout: float = 60) -> float:
    """Wait until the page's own layer has drawn its visible tiles; the ms since navigation."""
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return window.gisCellsLoaded !== undefined"))
    return float(driver.execute_script("return window.gisCellsLoaded"))


def open_page(driver: Any, url: str, size: tuple[int, int] = SMALL) -> float:
    viewport(driver, size)
    browser.requested_urls(driver)
    driver.get(url)
    return wait_for_tiles(driver)


def move_to(driver: Any, lat: float, lon: float, zoom: int) -> None:
    driver.execute_script("window.gisCellsLoaded = undefined;"
                          "gisMap.setView([arguments[0], arguments[1]], arguments[2], "
                          "{animate: false});", lat, lon, zoom)
    wait_for_tiles(driver)


def pixels(driver: Any) -> np.ndarray:
    image = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    return np.asarray(image, dtype=np.int16)


def blended(colour: str, under: str, opacity: float = CELL_OPACITY) -> np.ndarray:
    def rgb(hex_colour: str) -> np.ndarray:
        return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)
    return np.round(opacity * rgb(colour) + (1 - opacity) * rgb(under))


def count_colour(image: np.ndarray, colour: np.ndarray, tolerance: int = 6) -> int:
    return int((np.abs(image - colour) <= tolerance).all(axis=2).sum())


def screenshot(driver: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def panel_share(driver: Any, size: tuple[int, int]) -> float:
    rect = driver.find_element(By.ID, "panel").rect
    return float(rect["width"] * rect["height"]) / (size[0] * size[1])


def click_at(driver: Any, lat: float, lon: float) -> None:
    point = driver.execute_script(
        "var p = gisMap.latLngToContainerPoint([arguments[0], arguments[1]]);"
        "return [p.x, p.y];", lat, lon)
    element = driver.find_element(By.ID, "map")
    size = element.size
    ActionChains(driver).move_to_element_with_offset(
        element, int(point[0] - size["width"] / 2), int(point[1] - size["height"] / 2)).click() \
        .perform()


def popup_text(driver: Any) -> str:
    # Until the popup shows text: while it fades in (or the page is busy, e.g. the server's
    # warm-up after start) selenium reads an undisplayed element's text as ''.
    WebDriverWait(driver, 10).until(
        lambda d: any(e.text for e in d.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content")))
    return str(driver.find_element(By.CSS_SELECTOR, ".leaflet-popup-content").text)


def assert_clean(driver: Any, site: str) -> None:
    assert browser.severe_messages(driver) == []
    assert browser.off_site(browser.requested_urls(driver), site) == []


def a_hot_cell(history_db: HistoryDB, resolution: int) -> Any:
    """The hot cell with the most reports whose neighbours are hot too (its centre then lies
    well inside a patch of one colour, away from the ward outlines)."""
    with history_db.engine.connect() as conn:
        frame = cell_frame(conn, CellFilters(resolution=resolution))
    hot = frame[frame["cls"] == "hot_99"].sort_values("count", ascending=False)
    assert len(hot), "the generated history has hot spots"
    return hot.iloc[0]


def test_hot_cells_render_and_a_click_names_their_ward(site: str, driver: Any,
                                                       history_db: HistoryDB) -> None:
    cell = a_hot_cell(history_db, 9)
    open_page(driver, f"{site}/maps/hotspots?res=9")
    assert_clean(driver, site)
    screenshot(driver, "hotspots-r9-1024x640")
    lat, lng = h3.cell_to_latlng(cell["cell"])
    move_to(driver, lat, lng, CITY_ZOOM)
    image = pixels(driver)
    hot = max(count_colour(image, blended(CLASS_COLOURS["hot_99"], land)) for land in LAND.values())
    print(f"hot_99 pixels on screen at zoom {CITY_ZOOM}: {hot}")
    assert hot >= 100
    labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".gis-ward-label")]
    assert cell["ward"] in labels
    click_at(driver, lat, lng)
    text = popup_text(driver)
    assert cell["ward"] in text and cell["cell"] in text
    screenshot(driver, "hotspots-r9-city-popup-1024x640")
    assert_clean(driver, site)


def test_the_panel_covers_at_most_a_quarter_and_collapses(site: str, driver: Any) -> None:
    for size in (SMALL, LARGE):
        for page in ("hotspots?res=8", "emerging?res=7", "coverage", "boundaries"):
            open_page(driver, f"{site}/maps/{page}", size)
            share = panel_share(driver, size)
            print(f"{page} at {size[0]}x{size[1]}: panel {share:.1%} of the viewport")
            assert share <= 0.25, (page, size, share)
            name = page.split("?")[0]
            screenshot(driver, f"{name}-{size[0]}x{size[1]}")
    driver.find_element(By.CSS_SELECTOR, "#panel summary").click()
    assert panel_share(driver, LARGE) < 0.02
    assert driver.find_element(By.ID, "panel").get_attribute("open") is None


def test_commune_pages_fill_their_wards_and_name_them_on_click(site: str, driver: Any,
                                                               history_db: HistoryDB) -> None:
    from gis_service.boundaries.frames import units_frame  # noqa: PLC0415

    with history_db.engine.connect() as conn:
        wards = units_frame(conn)
    urban = wards[wards["setting"] == "urban"].iloc[0]
    point = urban.geometry.representative_point()
    open_page(driver, f"{site}/maps/boundaries")
    move_to(driver, point.y, point.x, 13)
    image = pixels(driver)
    assert count_colour(image, blended("#c9b18a", LAND["urban"], 0.8), tolerance=8) >= 1000
    click_at(driver, point.y, point.x)
    assert urban["name"] in popup_text(driver)
    # Chromium asks for English (Accept-Language): lang=vi is the Vietnamese page.
    open_page(driver, f"{site}/maps/coverage?lang=vi")
    move_to(driver, point.y, point.x, 13)
    click_at(driver, point.y, point.x)
    text = popup_text(driver)
    assert urban["name"] in text and "1.000" in text  # Vietnamese digits: 1.000 dân
    assert_clean(driver, site)


def test_the_base_layer_draws_the_neighbouring_provinces(site: str, driver: Any) -> None:
    """Zoomed out, the land goes on north and south of Huế: the national layer's provinces
    in their own grey, with their names."""
    open_page(driver, f"{site}/maps/boundaries", LARGE)
    driver.execute_script("gisMap.setView([16.35, 107.6], 8, {animate: false});")
    WebDriverWait(driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".gis-province-label"))
    image = pixels(driver)
    neighbours = count_colour(image, blended("#e4e1d6", "#e4e1d6", 1.0), tolerance=3)
    print(f"neighbouring provinces' pixels at zoom 8: {neighbours}")
    assert neighbours >= 20_000
    names = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".gis-province-label")]
    assert any("Quảng Trị" in name for name in names), names
    assert any("Đà Nẵng" in name for name in names), names
    screenshot(driver, "boundaries-neighbours-1600x1000")
    assert_clean(driver, site)


def test_bad_parameters_show_the_page_in_the_browser(site: str, driver: Any) -> None:
    viewport(driver, SMALL)
    driver.get(f"{site}/maps/hotspots?res=6&lang=vi")
    alert = driver.find_element(By.CSS_SELECTOR, ".gis-problems").text
    assert "res" in alert and "không thể dùng" in alert
    assert driver.find_elements(By.CSS_SELECTOR, "form select[name=res]")
    screenshot(driver, "hotspots-bad-res-1024x640")
    browser.severe_messages(driver)  # the console's own line for the 400: read, not a fault
    browser.requested_urls(driver)


def test_res10_page_time_to_first_cells(site: str, driver: Any) -> None:
    """Printed, not asserted: navigation start to the first cell tiles drawn (ms), cold (the
    analysis and every tile made) and warm (the frame and tiles cached)."""
    cold = open_page(driver, f"{site}/maps/hotspots?res=10&k=1")
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    warm = open_page(driver, f"{site}/maps/hotspots?res=10&k=1")
    print(f"res 10 hot spot page: first cells drawn after {cold:.0f} ms cold, {warm:.0f} ms "
          "warm (server caches warm, browser cache cleared)")
    screenshot(driver, "hotspots-r10-1024x640")
    assert_clean(driver, site)
