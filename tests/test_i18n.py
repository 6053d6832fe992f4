"""Languages: every gettext and template string has a Vietnamese translation (the catalogue
is parsed with babel.messages, against a fresh extraction from the sources), the locale is
chosen by ``lang``, then ``Accept-Language``, then by audience, and pages format numbers and
dates the Vietnamese way in Huế's time zone."""

from __future__ import annotations

import configparser
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from babel.support import Translations
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from gis_service.config import Settings
from gis_service.web import create_app
from gis_service.web.i18n import (
    TRANSLATIONS,
    compile_catalogues,
    page_date,
    page_datetime,
    page_number,
    page_percent,
)
from tests.conftest import problem

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}
VI_PO = TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po"


def _method_map() -> list[tuple[str, str]]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "babel.cfg", encoding="utf-8")
    methods = (section.split(":", 1) for section in parser.sections())
    return [(pattern.strip(), method.strip()) for method, pattern in methods]


def _extracted() -> set[str]:
    messages = extract_from_dir(ROOT / "gis_service", method_map=_method_map(),
                                keywords=KEYWORDS)
    return {message if isinstance(message, str) else message[0]
            for _, _, message, _, _ in messages}


def _catalogue(path: Path) -> dict[str, object]:
    with path.open("rb") as source:
        catalogue = read_po(source)
    return {message.id: message for message in catalogue if message.id}


def test_every_message_has_a_vietnamese_translation() -> None:
    extracted = _extracted()
    assert "Agency scorecards" in extracted and "Invalid input" in extracted
    vietnamese = _catalogue(VI_PO)
    missing = sorted(m for m in extracted if m not in vietnamese
                     or not getattr(vietnamese[m], "string", "")
                     or getattr(vietnamese[m], "fuzzy", False))
    assert not missing, f"no Vietnamese for: {missing} (pybabel update, then translate)"


def test_the_catalogues_are_consistent() -> None:
    with VI_PO.open("rb") as source:
        catalogue = read_po(source)
    assert not catalogue.fuzzy
    problems = [(message.id, errors) for message, errors in catalogue.check()]
    assert not problems  # placeholders (python-format) agree between English and Vietnamese
    template = _catalogue(TRANSLATIONS / "messages.pot")
    assert set(template) == _extracted(), "messages.pot is stale: run pybabel extract"


def test_catalogues_compile(tmp_path: Path) -> None:
    copy = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, copy, ignore=shutil.ignore_patterns("*.mo"))
    assert [p.relative_to(copy) for p in compile_catalogues(copy)] == [
        Path("vi/LC_MESSAGES/messages.mo")]
    assert compile_catalogues(copy) == []  # up to date: nothing rewritten
    translations = Translations.load(str(copy), ["vi"])
    assert translations.gettext("Invalid input") == "Dữ liệu đầu vào không hợp lệ"


# -- through the app -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(engine: Engine) -> Flask:
    """The app on the session's empty database: pages render with no reports."""
    return create_app(Settings.from_env(), engine=engine)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


@pytest.mark.parametrize(("query", "headers", "lang", "title"), [
    ("", {}, "vi", "Bảng đánh giá kết quả xử lý phản ánh"),
    ("?lang=en", {}, "en", "Agency scorecards"),
    ("", {"Accept-Language": "en-GB,en;q=0.8"}, "en", "Agency scorecards"),
    ("?lang=vi", {"Accept-Language": "en"}, "vi", "Bảng đánh giá kết quả xử lý phản ánh"),
    ("", {"Accept-Language": "fr"}, "vi", "Bảng đánh giá kết quả xử lý phản ánh"),
])
def test_the_page_language(client: FlaskClient, query: str, headers: dict[str, str], lang: str,
                           title: str) -> None:
    response = client.get(f"/scorecards{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    page = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in page and f"<h1>{title}</h1>" in page
    assert "http://" not in page and "https://" not in page  # offline: nothing from outside


@pytest.mark.parametrize(("path", "headers", "status", "title"), [
    ("/v1/scorecards?by=ward", {}, 400, "Invalid input"),
    ("/v1/scorecards?by=ward", {"Accept-Language": "vi"}, 400, "Dữ liệu đầu vào không hợp lệ"),
    ("/v1/scorecards?by=ward&lang=vi", {}, 400, "Dữ liệu đầu vào không hợp lệ"),
    ("/scorecards?by=ward", {}, 400, "Dữ liệu đầu vào không hợp lệ"),
    ("/scorecards?by=ward&lang=en", {}, 400, "Invalid input"),
    ("/v1/nothing-here", {"Accept-Language": "vi"}, 404, "Không tìm thấy"),
])
def test_problem_titles_follow_the_language(client: FlaskClient, path: str,
                                            headers: dict[str, str], status: int,
                                            title: str) -> None:
    body = problem(client.get(path, headers=headers), status)
    assert body["title"] == title


def test_stock_details_are_translated(client: FlaskClient) -> None:
    body = problem(client.get("/v1/nothing-here", headers={"Accept-Language": "vi"}), 404)
    assert body["detail"] == "Không có nội dung nào tại địa chỉ này."
    assert problem(client.get("/v1/nothing-here"), 404)["detail"] == "There is nothing at this URL."


def test_vietnamese_formats(app: Flask) -> None:
    evening = dt.datetime(2026, 2, 3, 20, 5, tzinfo=dt.UTC)  # 03:05 on 4 February in Huế
    with app.test_request_context("/scorecards"):
        assert page_number(1234.5) == "1.234,5"
        assert page_number(1234567, 0) == "1.234.567"
        assert page_percent(0.765) == "76,5 %"
        assert page_date(evening) == "04/02/2026"
        assert page_datetime(evening) == "04/02/2026 03:05"
        assert page_number(None) == "—"
    with app.test_request_context("/scorecards?lang=en"):
        assert page_number(1234.5) == "1,234.5"
        assert page_date(evening) == "2026-02-04"
