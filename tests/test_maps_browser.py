"""The map pages in a real headless Chromium, against the generated report history.

Each page must load with no script error, ask nothing of any host but the app, and draw as
many hexagons and commune shapes as the JSON API answers for the same filters. A screenshot
of each page is saved under test-output/maps/ for review.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from selenium.webdriver.common.by import By

from gis_service.boundaries.frames import units_frame
from gis_service.config import PROJECT_ROOT
from gis_service.maps.assets import missing_files
from gis_service.web import create_app
from tests import browser
from tests.conftest import IN_CI, HistoryDB

SCREENSHOTS = PROJECT_ROOT / "test-output" / "maps"
PERIOD = {"from": "2025-07-01", "to": "2026-07-01"}
HOTSPOT_FILTERS = {"res": "8", "k": "1", **PERIOD}
COVERAGE_FILTERS = {"generation": "2025", **PERIOD}
CATEGORY = "roads"
CATEGORY_NAME = "Potholes and damaged roads"


def _require_browser() -> None:
    absent = browser.missing() + missing_files()
    if absent:
        message = f"browser test needs {', '.join(absent)} (scripts/system-packages.sh, npm ci)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def app(history_db: HistoryDB) -> Flask:
    return create_app(history_db.settings, engine=history_db.engine)


@pytest.fixture(scope="module")
def site(app: Flask) -> Iterator[str]:
    _require_browser()
    with browser.live_server(app) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def driver(site: str) -> Iterator[Any]:
    with browser.chromium() as chromium:
        yield chromium


def api_features(app: Flask, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    response = app.test_client().get(path, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    features: list[dict[str, Any]] = response.get_json()["features"]
    return features


def open_page(driver: Any, site: str, path: str, params: dict[str, str]) -> None:
    """Load the page (scripts run before get() returns) with fresh logs, then check that it
    logged no error and asked nothing of any other host."""
    browser.severe_messages(driver)
    browser.requested_urls(driver)
    query = "&".join(f"{key}={value}" for key, value in params.items())
    driver.get(f"{site}{path}?{query}")
    assert driver.execute_script("return typeof L") == "object", "Leaflet did not load"
    assert browser.severe_messages(driver) == []
    urls = browser.requested_urls(driver)
    assert any(url.endswith("/leaflet/dist/leaflet.js") for url in urls)
    assert browser.off_site(urls, site) == []


def count(driver: Any, selector: str) -> int:
    found: int = driver.execute_script(
        "return document.querySelectorAll(arguments[0]).length", selector)
    return found


def click_layer(driver: Any, label_start: str) -> None:
    """Tick or untick the layer control entry whose label starts with ``label_start``."""
    for label in driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers label"):
        if label.text.strip().startswith(label_start):
            label.find_element(By.TAG_NAME, "input").click()
            return
    raise AssertionError(f"no layer named {label_start!r}")


def screenshot(driver: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def drawn_classes(features: list[dict[str, Any]], *, significant_only: bool) -> Counter[str]:
    """The classes of the cells the map draws from an API answer (see maps.layers.drawn_cells)."""
    return Counter(
        f["properties"]["class"] for f in features
        if f["properties"]["class"] != "not_significant"
        or (not significant_only and f["properties"]["count"] > 0))


def dom_classes(driver: Any) -> Counter[str]:
    found: list[str] = driver.execute_script(
        "return Array.from(document.querySelectorAll('path.gis-hex'), p => "
        "Array.from(p.classList).find(c => c.startsWith('gis-hex-')).slice(8))")
    return Counter(found)


def test_hotspot_page_draws_what_the_api_answers(app: Flask, site: str, driver: Any) -> None:
    open_page(driver, site, "/maps/hotspots", HOTSPOT_FILTERS)
    cells = api_features(app, "/v1/hotspots", HOTSPOT_FILTERS)
    expected = drawn_classes(cells, significant_only=False)
    assert sum(expected.values()) > 100 and expected["hot_99"] > 0
    assert dom_classes(driver) == expected
    communes = api_features(app, "/v1/coverage", COVERAGE_FILTERS)
    assert count(driver, "path.gis-commune") == len(communes) == 40
    screenshot(driver, "hotspots")

    click_layer(driver, CATEGORY_NAME)
    one = api_features(app, "/v1/hotspots", {**HOTSPOT_FILTERS, "category": CATEGORY})
    assert dom_classes(driver) == drawn_classes(one, significant_only=True)
    assert count(driver, "path.gis-commune") == 40
    screenshot(driver, f"hotspots-{CATEGORY}")


def test_coverage_page_draws_every_commune_and_toggles_settings(app: Flask, site: str,
                                                                driver: Any) -> None:
    open_page(driver, site, "/maps/coverage", COVERAGE_FILTERS)
    communes = api_features(app, "/v1/coverage", COVERAGE_FILTERS)
    settings = Counter(f["properties"]["setting"] for f in communes)
    flagged = sum(bool(f["properties"]["under_reporting"]) for f in communes)
    assert count(driver, "path.gis-commune") == len(communes) == 40
    assert count(driver, "path.gis-flag") == flagged
    screenshot(driver, "coverage")

    click_layer(driver, "Rural communes")
    assert count(driver, "path.gis-commune") == settings["urban"] > 0
    click_layer(driver, "Rural communes")
    click_layer(driver, "Urban wards")
    assert count(driver, "path.gis-commune") == settings["rural"] > 0
    screenshot(driver, "coverage-rural")


def test_boundaries_page_draws_every_commune(history_db: HistoryDB, site: str,
                                             driver: Any) -> None:
    open_page(driver, site, "/maps/boundaries", {"generation": "2019"})
    with history_db.engine.connect() as conn:
        communes = units_frame(conn, "2019")
    assert count(driver, "path.gis-commune") == len(communes) > 100
    screenshot(driver, "boundaries-2019")
