"""The OpenAPI document in the reader's language (issue 15): ``/openapi.json?lang=vi`` or
``Accept-Language: vi``, and so ``/docs``, whose page reads it.

The prose of the document (its ``summary`` and ``description`` texts: the service, the tags,
the operations, the parameters, the answers and every field) is written in English beside the
code that it describes; the Vietnamese comes from its own gettext domain, ``openapi``, whose
template is extracted from the generated English document rather than from the sources (most of
its texts are marshmallow metadata, which Babel's extractors cannot see). Run
``python -m gis_service.web.apidoc_template`` after changing a description, then translate the
new entries of ``vi/LC_MESSAGES/openapi.po``; ``tests/test_openapi_language.py`` fails on a
stale template or an untranslated entry. English stays the API's default (README, "Languages").
Values (examples, enums, defaults) are data and are never translated.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from babel.support import NullTranslations, Translations

from gis_service.web.i18n import API_LOCALE, TRANSLATIONS

DOMAIN = "openapi"
TEMPLATE = TRANSLATIONS / f"{DOMAIN}.pot"
#: The keys whose string values are prose; the values under the others' keys are data.
PROSE = frozenset({"summary", "description"})
_DATA = frozenset({"example", "examples", "enum", "default"})


def _walk(node: Any, text: Callable[[str], str]) -> Any:
    """``node`` with every prose string replaced by ``text(string)``."""
    if isinstance(node, list):
        return [_walk(item, text) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: (text(value) if key in PROSE and isinstance(value, str)
                  else value if key in _DATA else _walk(value, text))
            for key, value in node.items()}


def texts(document: dict[str, Any]) -> set[str]:
    """Every prose string of the document.

    >>> sorted(texts({"info": {"description": "A"}, "paths": {"/x": {"get": {
    ...     "summary": "B", "parameters": [{"example": {"description": "data"}}]}}}}))
    ['A', 'B']
    """
    found: set[str] = set()

    def keep(value: str) -> str:
        found.add(value)
        return value

    _walk(document, keep)
    return found


def translated(document: dict[str, Any], gettext: Callable[[str], str]) -> dict[str, Any]:
    """A copy of the document with its prose through ``gettext``.

    >>> translated({"summary": "Health", "example": {"summary": "Health"}},
    ...            {"Health": "Tình trạng"}.get)
    {'summary': 'Tình trạng', 'example': {'summary': 'Health'}}
    """
    copy: dict[str, Any] = _walk(document, lambda value: gettext(value) or value)
    return copy


@cache
def _catalogue(locale: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS), [locale], domain=DOMAIN)


def localised(document: dict[str, Any], locale: str) -> dict[str, Any]:
    """The document in ``locale`` (English, the msgids' language, as it is)."""
    if locale == API_LOCALE:
        return document
    return translated(document, _catalogue(locale).gettext)


def write_template(document: dict[str, Any], path: Path = TEMPLATE) -> int:
    """Write the domain's template (``openapi.pot``) from the English document; return its size."""
    catalogue = Catalog(domain=DOMAIN, project="gis-service")
    for text in sorted(texts(document)):
        catalogue.add(text)
    with path.open("wb") as target:
        write_po(target, catalogue, omit_header=True, sort_output=True, width=0)
    return len(catalogue)
