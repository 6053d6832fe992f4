"""Languages: Vietnamese and English through Flask-Babel's gettext catalogues.

The locale of a request is its ``lang`` query parameter (``vi`` or ``en``), else the best
match of its ``Accept-Language`` header, else Vietnamese on pages (the map and scorecard pages)
and English on the JSON API (whose callers are programs that predate the translations).
Catalogues live in ``gis_service/translations/<locale>/LC_MESSAGES/messages.po``; the
compiled ``.mo`` files are not kept in git: ``./manage`` compiles them, and :func:`init_app`
compiles any that are missing or older than their ``.po`` (an install without ``./manage``).

Pages format numbers, dates and times through Babel for the locale: in Vietnamese
``1.234,5``, ``07/12/2026`` and times in Huế's zone (Asia/Ho_Chi_Minh).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request
from flask_babel import Babel, format_datetime, format_decimal, get_locale

from gis_service.reports.calendar import TIMEZONE

LOCALES = ("vi", "en")
PAGE_LOCALE, API_LOCALE = "vi", "en"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
#: Blueprints whose answers are pages for people (Vietnamese unless asked otherwise).
PAGE_BLUEPRINTS = frozenset({"maps", "scorecard_pages"})
#: Vietnamese writes dates day first; English keeps the ISO order.
_DATE_PATTERNS = {"vi": "dd/MM/yyyy", "en": "yyyy-MM-dd"}
log = logging.getLogger(__name__)


def select_locale() -> str:
    """``lang`` if it names a locale we have, else ``Accept-Language``, else by audience."""
    try:
        asked = request.args.get("lang")
    except UnicodeDecodeError:  # a query string that is not UTF-8: its 400 is being rendered
        asked = None
    if asked in LOCALES:
        return asked
    best = request.accept_languages.best_match(LOCALES)
    if best:
        return str(best)
    return PAGE_LOCALE if request.blueprint in PAGE_BLUEPRINTS else API_LOCALE


def compile_catalogues(root: Path = TRANSLATIONS) -> list[Path]:
    """Compile every ``.po`` under ``root`` whose ``.mo`` is missing or older; return those."""
    written = []
    for po in sorted(root.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalogue = read_po(source)
        with mo.open("wb") as target:
            write_mo(target, catalogue)
        written.append(mo)
    return written


def init_app(app: Flask) -> None:
    """Flask-Babel on the app, with the catalogues compiled and the page formatters as filters."""
    try:
        compile_catalogues()
    except OSError as error:  # a read-only install: ./manage or the package had to compile
        log.warning("translations not compiled: %s", error)
    Babel(app, locale_selector=select_locale, default_locale=PAGE_LOCALE,
          default_timezone=TIMEZONE, default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.filters.update(number=page_number, percent=page_percent, date=page_date,
                                 datetime=page_datetime)


def _locale() -> str:
    return str(get_locale() or PAGE_LOCALE)


def page_number(value: float | None, decimals: int = 1) -> str:
    """A number the locale's way (``1.234,5`` in Vietnamese); an em dash for none."""
    if value is None:
        return "—"
    return str(format_decimal(value, format="#,##0." + "0" * decimals if decimals else "#,##0"))


def page_percent(rate: float | None, decimals: int = 1) -> str:
    """A rate in [0, 1] as a percentage (``76,5 %`` in Vietnamese)."""
    return "—" if rate is None else f"{page_number(100 * rate, decimals)} %"


def page_date(value: dt.datetime | None) -> str:
    """The date in Huế (``dd/mm/yyyy`` in Vietnamese)."""
    if value is None:
        return "—"
    return str(format_datetime(value, _DATE_PATTERNS.get(_locale(), "yyyy-MM-dd")))


def page_datetime(value: dt.datetime | None) -> str:
    """Date and time in Huế (``07/12/2026 14:05`` in Vietnamese)."""
    if value is None:
        return "—"
    return str(format_datetime(value, _DATE_PATTERNS.get(_locale(), "yyyy-MM-dd") + " HH:mm"))
