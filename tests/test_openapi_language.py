"""/docs' descriptions in Vietnamese (issue 15): every summary and description of
/openapi.json (the service, tags, operations, parameters, answers and every field) has a
Vietnamese translation in the ``openapi`` gettext domain, whose template is the English
document as generated now; ``lang=vi`` or ``Accept-Language: vi`` serves it translated and the
API's default stays English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask

from gis_service.web.apidoc_language import DOMAIN, TEMPLATE, texts
from gis_service.web.i18n import TRANSLATIONS

VI_PO = TRANSLATIONS / "vi" / "LC_MESSAGES" / f"{DOMAIN}.po"


def _ids(path: Path) -> dict[str, Any]:
    with path.open("rb") as source:
        return {message.id: message for message in read_po(source) if message.id}


@pytest.fixture(scope="module")
def english(app: Flask) -> dict[str, Any]:
    return app.test_client().get("/openapi.json").get_json()


def test_the_template_is_the_document_as_generated(english: dict[str, Any]) -> None:
    assert set(_ids(TEMPLATE)) == texts(english), \
        "openapi.pot is stale: python -m gis_service.web.apidoc_template, then translate"


def test_every_description_has_a_vietnamese_translation(english: dict[str, Any]) -> None:
    vietnamese = _ids(VI_PO)
    prose = texts(english)
    assert len(prose) > 400
    missing = sorted(text for text in prose if text not in vietnamese
                     or not vietnamese[text].string or vietnamese[text].fuzzy)
    assert missing == [], "no Vietnamese for these (translate them in openapi.po)"


def _summary(document: dict[str, Any]) -> str:
    return str(document["paths"]["/v1/reverse"]["get"]["summary"])


@pytest.mark.parametrize(("query", "headers"), [
    ("?lang=vi", {}), ("", {"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"}),
    ("?lang=vi", {"Accept-Language": "en"})])
def test_vietnamese_is_served_when_asked(app: Flask, english: dict[str, Any], query: str,
                                         headers: dict[str, str]) -> None:
    document = app.test_client().get("/openapi.json" + query, headers=headers).get_json()
    assert _summary(document) == "Gắn một điểm vào phường, xã, quận, huyện và tỉnh của một thế " \
                                 "hệ ranh giới."
    fields = document["components"]["schemas"]["GeocodeResult"]["properties"]
    assert fields["confidence"]["description"].startswith("0 đến 1")
    assert "Điểm và địa chỉ tiếng Việt" in document["info"]["description"]
    assert {tag["name"] for tag in document["tags"]} == {tag["name"] for tag in english["tags"]}
    # Data is never translated: the same paths, enums and examples as in English.
    assert document["paths"].keys() == english["paths"].keys()
    assert fields["precision"]["enum"] == ["point", "commune", "district", "province"]


def test_english_stays_the_default(app: Flask, english: dict[str, Any]) -> None:
    assert _summary(english).startswith("Snap a point")
    asked = app.test_client().get("/openapi.json?lang=en",
                                  headers={"Accept-Language": "vi"}).get_json()
    assert _summary(asked).startswith("Snap a point")


def test_the_docs_page_reads_the_document_in_its_language(app: Flask) -> None:
    page = app.test_client().get("/docs?lang=vi").get_data(as_text=True)
    assert "/openapi.json?lang=vi" in page
    assert "/openapi.json?" not in app.test_client().get("/docs").get_data(as_text=True)
