"""The operations console end to end, in a real headless Chromium against the real app.

A hotline operator (a client key) types the caller's address, sees the geocoder's candidates
and their wards, picks one, chooses the category and submits with the caller's phone; the
report is in the list. The operator's key may not move it (the 403 is shown in Vietnamese).
Signed in as the report's agency, staff move it with a public and an internal note; the public
timeline then has the public note and neither the internal note nor the phone. Screenshots
go to test-output/console/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from gis_service.config import PROJECT_ROOT
from gis_service.maps.assets import missing_files
from gis_service.web import create_app
from tests import browser
from tests.conftest import IN_CI, ReportsDB
from tests.test_reports_api import agency_key, headers

SCREENSHOTS = PROJECT_ROOT / "test-output" / "console"
WAIT_S = 20
ADDRESS = "25 Nguyễn Sinh Cung, Vỹ Dạ"
CATEGORY = "water_supply"
PHONE = "0905 246 810"
PUBLIC_NOTE = "Đã tiếp nhận, đội cấp nước đến kiểm tra trong ngày"
INTERNAL_NOTE = "Người gọi nhờ gọi lại sau 14 giờ"


def _require_browser() -> None:
    absent = browser.missing() + missing_files()
    if absent:
        message = f"browser test needs {', '.join(absent)} (scripts/system-packages.sh, npm ci)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def console_app(reports_db: ReportsDB) -> Flask:
    return create_app(reports_db.settings, engine=reports_db.engine)


@pytest.fixture(scope="module")
def site(console_app: Flask) -> Iterator[str]:
    _require_browser()
    with browser.live_server(console_app) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def driver(site: str) -> Iterator[Any]:
    with browser.chromium() as chromium:
        yield chromium


def shot(driver: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def wait_for(driver: Any, condition: Any) -> Any:
    return WebDriverWait(driver, WAIT_S).until(condition)


def text_in(driver: Any, element_id: str, text: str) -> None:
    wait_for(driver, ec.text_to_be_present_in_element((By.ID, element_id), text))


def sign_in(driver: Any, key: str) -> None:
    field = driver.find_element(By.ID, "key")
    field.clear()
    field.send_keys(key)
    driver.find_element(By.ID, "signin-button").click()
    text_in(driver, "signin-state", "Đã đăng nhập bằng khóa")
    assert driver.find_element(By.ID, "key").get_attribute("value") == ""
    text_in(driver, "counts", "phản ánh phù hợp")  # the list is reloaded with the key


def submit_hotline_report(driver: Any) -> str:
    """Type the address, pick the first ward candidate, fill the form, submit: the new id."""
    driver.find_element(By.ID, "hotline-address").send_keys(ADDRESS)
    candidate = wait_for(driver, ec.element_to_be_clickable(
        (By.CSS_SELECTOR, "#hotline-candidates button.candidate")))
    assert "Phường Vỹ Dạ" in candidate.text
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane path"))
    shot(driver, "1-candidates")
    candidate.click()
    text_in(driver, "hotline-location", "Vị trí: ")
    Select(driver.find_element(By.ID, "hotline-category")).select_by_value(CATEGORY)
    form = driver.find_element(By.ID, "hotline-form")
    form.find_element(By.NAME, "description").send_keys("Mất nước từ sáng, cả kiệt 25")
    form.find_element(By.NAME, "name").send_keys("Trần Văn B")
    driver.find_element(By.ID, "hotline-phone").send_keys(PHONE)
    driver.find_element(By.ID, "hotline-submit").click()
    text_in(driver, "hotline-result", "Đã lưu phản ánh")
    shot(driver, "2-submitted")
    report_id: str = driver.find_element(By.ID, "hotline-result").get_attribute("data-report-id")
    return report_id


def open_in_list(driver: Any, report_id: str) -> None:
    """Open the report from the list and wait for its record (drawn afresh, not a previous one)."""
    driver.execute_script("document.getElementById('detail-title').textContent = ''")
    row = (By.CSS_SELECTOR, f'#reports tr[data-report-id="{report_id}"] button.report-link')
    # The list may be redrawn under the click (a filter or a sign-in reloads it): try again.
    WebDriverWait(driver, WAIT_S, ignored_exceptions=(NoSuchElementException,
                                                      StaleElementReferenceException)).until(
        lambda d: d.find_element(*row).click() or True)
    text_in(driver, "detail-title", report_id)


def move(driver: Any, status: str, public_note: str, internal_note: str) -> None:
    form = driver.find_element(By.ID, "move-form")
    Select(driver.find_element(By.ID, "move-status")).select_by_value(status)
    form.find_element(By.NAME, "public_note").send_keys(public_note)
    form.find_element(By.NAME, "internal_note").send_keys(internal_note)
    driver.find_element(By.ID, "move-button").click()


def public_json(driver: Any, site: str, path: str) -> dict[str, Any]:
    """What a browser without a key reads at ``path``."""
    driver.get(f"{site}{path}")
    body: dict[str, Any] = json.loads(driver.find_element(By.TAG_NAME, "body").text)
    return body


def test_a_hotline_report_from_the_form_to_the_public_timeline(
        driver: Any, site: str, console_app: Flask, reports_db: ReportsDB) -> None:
    browser.severe_messages(driver)
    browser.requested_urls(driver)
    driver.get(f"{site}/console?lang=vi")  # headless Chromium asks for en-US
    assert driver.execute_script("return typeof L") == "object", "Leaflet did not load"
    text_in(driver, "counts", "phản ánh phù hợp")
    hotline_key = reports_db.keys["client"]
    sign_in(driver, hotline_key)
    report_id = submit_hotline_report(driver)
    open_in_list(driver, report_id)
    assert "Phường Vỹ Dạ" in driver.find_element(By.ID, "detail-facts").text

    move(driver, "accepted", PUBLIC_NOTE, INTERNAL_NOTE)  # the operator's key may not
    text_in(driver, "message", "Khóa này không được phép thực hiện thao tác này.")
    assert "{" not in driver.find_element(By.ID, "message").text  # words, not raw JSON
    shot(driver, "3-refused")
    # The refused PATCH is the one failed load Chromium logs; no script error beside it.
    assert [m for m in browser.severe_messages(driver) if "status of 403" not in m] == []

    stored = console_app.test_client().get(f"/v1/reports/{report_id}").get_json()
    assert stored["channel"] == "hotline" and stored["category"] == CATEGORY
    own = agency_key(reports_db, stored["agency"]["code"])
    sign_in(driver, own)
    open_in_list(driver, report_id)
    move(driver, "accepted", PUBLIC_NOTE, INTERNAL_NOTE)
    text_in(driver, "message", "Đã chuyển sang: Đã nhận xử lý.")
    text_in(driver, "detail-timeline", INTERNAL_NOTE)  # the agency sees its internal note
    text_in(driver, "detail-answers", PUBLIC_NOTE)
    assert driver.execute_script("return sessionStorage.getItem('gis-console-key')") == own
    assert driver.execute_script("return document.cookie") == ""
    shot(driver, "4-moved")
    assert browser.severe_messages(driver) == []
    urls = browser.requested_urls(driver)
    assert browser.off_site(urls, site) == []
    assert not [url for url in urls if own in url or hotline_key in url]

    timeline = public_json(driver, site, f"/v1/reports/{report_id}/events")
    notes = [event["public_note"] for event in timeline["events"]]
    assert PUBLIC_NOTE in notes
    public = public_json(driver, site, f"/v1/reports/{report_id}")
    for text in (json.dumps(timeline, ensure_ascii=False), json.dumps(public, ensure_ascii=False)):
        assert INTERNAL_NOTE not in text and "0905" not in text and "internal_note" not in text
    private = console_app.test_client().get(f"/v1/reports/{report_id}", headers=headers(own))
    assert private.get_json()["reporter"]["phone"] == PHONE


def click_map_at(driver: Any, lat: float, lon: float) -> None:
    """Click the map at a point (Leaflet converts it to the pixel; offsets are from the centre)."""
    from selenium.webdriver.common.action_chains import ActionChains  # noqa: PLC0415

    driver.execute_script("PahtConsole.map.setView([arguments[0], arguments[1]], 15)", lat, lon)
    pane = driver.find_element(By.ID, "map")
    point = driver.execute_script(
        "var p = PahtConsole.map.latLngToContainerPoint([arguments[0], arguments[1]]);"
        "return [p.x, p.y];", lat, lon)
    size = pane.size
    ActionChains(driver).move_to_element_with_offset(
        pane, int(point[0] - size["width"] / 2), int(point[1] - size["height"] / 2)).click().perform()


def test_a_held_report_is_placed_by_a_click_on_the_map(
        driver: Any, site: str, console_app: Flask, reports_db: ReportsDB) -> None:
    """A hotline report naming only the city waits for a location; the operations centre finds
    it with the needs_location filter and places it with a click: it is routed to the ward."""
    held = console_app.test_client().post("/v1/reports", headers=headers(reports_db.keys["client"]),
                                          json={"category": "noise", "channel": "hotline",
                                                "address": "Thành phố Huế"}).get_json()["report"]
    assert held["status"] == "needs_location"
    browser.severe_messages(driver)  # the JSON pages of the test before ask for a favicon
    driver.get(f"{site}/console?lang=vi")
    sign_in(driver, reports_db.keys["admin"])
    driver.find_element(By.NAME, "needs_location").click()
    open_in_list(driver, held["id"])
    text_in(driver, "detail-title", "Chờ xác định vị trí")
    driver.find_element(By.ID, "place-button").click()
    text_in(driver, "message", "Nhấp vào bản đồ tại vị trí của phản ánh.")
    click_map_at(driver, 16.4779, 107.611)  # in Phường Vỹ Dạ
    text_in(driver, "message", "Đã đặt vị trí: chuyển đến")
    text_in(driver, "detail-title", "Đã tiếp nhận")
    shot(driver, "5-placed")
    placed = console_app.test_client().get(f"/v1/reports/{held['id']}").get_json()
    assert placed["status"] == "received" and placed["current_units"]["commune"]["name"] == "Phường Vỹ Dạ"
    where = placed["location"]
    assert abs(where["lat"] - 16.4779) < 0.001 and abs(where["lon"] - 107.611) < 0.001
    assert [e["kind"] for e in placed["events"]][-2:] == ["placed", "routed"]
    assert browser.severe_messages(driver) == []
