"""The operations console (/console): open reports on a map and in a list, a report's record,
moves by an agency or admin key, and the hotline intake form.

The page is a shell rendered here (menus from the database, every string from the gettext
catalogue); its scripts (``gis_service/static/console/``) call the public /v1 API like any
client, with the key the operator typed kept in ``sessionStorage`` only. Everything it loads is
served by this app (Leaflet from the maps' npm assets): it works offline.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, render_template, request
from flask_babel import get_locale
from marshmallow import Schema, fields, validate

from gis_service.maps.assets import ASSETS_URL, require_installed
from gis_service.reports.calendar import TIMEZONE
from gis_service.reports.console_choices import ConsoleChoices, console_choices
from gis_service.reports.lifecycle import OPEN_STATUSES, TRANSITIONS
from gis_service.web.console_strings import js_strings, status_labels
from gis_service.web.map_args import query_args
from gis_service.web.services import connection, services

#: As web.i18n.page_datetime writes a date and time, in Babel's (and so the script's) tokens.
DATETIME_PATTERNS = {"vi": "dd/MM/yyyy HH:mm", "en": "yyyy-MM-dd HH:mm"}
NUMBER_LOCALES = {"vi": "vi-VN", "en": "en-GB"}
STATIC = Path(__file__).resolve().parent.parent / "static" / "console"
blp = Blueprint("console_pages", __name__, static_folder=str(STATIC),
                static_url_path="/assets/console")


class ConsoleArgs(Schema):
    """The page takes its language only; its filters live in the page (unknown keys: 400)."""

    lang = fields.String(validate=validate.OneOf(["vi", "en"]))


def page_policy(tiles_url: str) -> str:
    """Scripts from this app only (no inline script: the page's data is a JSON block), and
    requests to this app only (and the tile server's images, when configured)."""
    tiles = urlsplit(tiles_url)
    tile_origin = f" {tiles.scheme}://{tiles.netloc}" if tiles.netloc else ""
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data:{tile_origin}; connect-src 'self'; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'self'")


def page_config(choices: ConsoleChoices, locale: str) -> dict[str, object]:
    """What the scripts need: words and formats, the lifecycle's moves, where the API is."""
    settings = services().settings
    root, generation = request.script_root, choices.generation
    return {"locale": locale, "strings": js_strings(), "statuses": status_labels(),
            "categories": {choice.code: choice.name for choice in choices.categories},
            "timezone": TIMEZONE, "datetime_pattern": DATETIME_PATTERNS[locale],
            "number_locale": NUMBER_LOCALES[locale],
            "transitions": {state: sorted(moves) for state, moves in TRANSITIONS.items()},
            "open_statuses": list(OPEN_STATUSES), "generation": generation,
            "api": f"{root}/v1", "wards_url": f"{root}/ogc/collections/communes-{generation}/items",
            "tiles_url": settings.tiles_url, "tiles_attribution": settings.tiles_attribution}


@blp.get("/console")
def page() -> Response:
    """The operations console (?lang=vi|en; Vietnamese unless the browser asks for English)."""
    query_args(ConsoleArgs, strict=True)
    require_installed()
    locale = str(get_locale())
    with connection() as conn:
        choices = console_choices(conn, vietnamese=locale == "vi")
    html = render_template("console.html", locale=locale, choices=choices,
                           statuses=status_labels(), open_statuses=OPEN_STATUSES,
                           config=page_config(choices, locale),
                           leaflet=request.script_root + ASSETS_URL + "/leaflet/dist")
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = page_policy(services().settings.tiles_url)
    response.headers["Cache-Control"] = "no-store"
    return response
