"""The map pages (/maps/...) and the scripts and stylesheets they load (/assets/maps/...).

Views parse the query string (web.map_args: a 400 problem names a bad field), call one map
builder from gis_service.maps and return its HTML. The pages load nothing from outside the app: a
Content-Security-Policy tells the browser so too (tiles excepted, when configured).
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

import folium
from flask import Blueprint, Response, request, send_from_directory, url_for
from werkzeug.exceptions import NotFound

from gis_service.maps import MapOptions, boundaries_map, coverage_map, hotspot_map, map_html
from gis_service.maps.assets import (
    ASSET_ROOT,
    ASSETS_URL,
    ROTATE_CSS,
    is_servable,
    require_installed,
    rotate_css,
)
from gis_service.web.map_args import (
    BoundariesMapArgs,
    CoverageMapArgs,
    HotspotMapArgs,
    coverage_filters,
    hotspot_filters,
    query_args,
)
from gis_service.web.services import connection, services

blp = Blueprint("maps", __name__)

# Installed files change only with package-lock.json; a day of caching spares reloads.
ASSET_MAX_AGE_S = 86400


def _options() -> MapOptions:
    return MapOptions.from_settings(services().settings,
                                    assets_url=request.script_root + ASSETS_URL)


def page_policy(tiles_url: str) -> str:
    """Only this app's own scripts, styles, fonts and images (and the tile server's images)."""
    tiles = urlsplit(tiles_url)
    tile_origin = f" {tiles.scheme}://{tiles.netloc}" if tiles.netloc else ""
    return ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
            f"img-src 'self' data:{tile_origin}; connect-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'self'")


def _page(fmap: folium.Map) -> Response:
    response = Response(map_html(fmap), mimetype="text/html")
    response.headers["Content-Security-Policy"] = page_policy(services().settings.tiles_url)
    return response


_INDEX = [
    ("maps.hotspots", "Hot spots",
     "Getis-Ord Gi* hot and cold spots of reports on H3 cells, a layer per category"),
    ("maps.coverage", "Coverage",
     "reports per 1,000 residents by commune, urban and rural, under-reporting flagged"),
    ("maps.boundaries", "Boundaries", "the communes of a generation, urban and rural"),
    ("scorecard_pages.page", "Scorecards",
     "agencies, wards and categories: on time, working hours, backlog, satisfaction"),
]


@blp.get("/maps")
def index() -> Response:
    """The list of map pages."""
    items = "".join(
        f'<li><a href="{html.escape(url_for(endpoint))}">{html.escape(title)}</a>: '
        f"{html.escape(about)}</li>"
        for endpoint, title, about in _INDEX
    )
    page = ("<!doctype html><html lang=en><meta charset=utf-8><title>gis-service maps</title>"
            f"<h1>Maps</h1><ul>{items}</ul></html>")
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


@blp.get("/maps/hotspots")
def hotspots() -> Response:
    """Hot spots (?res=&k=&weights=&category=&channel=&status=&from=&to=, as /v1/hotspots)."""
    filters = hotspot_filters(query_args(HotspotMapArgs, strict=True))
    require_installed()
    with connection() as conn:
        fmap = hotspot_map(conn, filters, options=_options())
    return _page(fmap)


@blp.get("/maps/coverage")
def coverage() -> Response:
    """Coverage of a generation's communes (?generation=&from=&to=&category=, as /v1/coverage)."""
    filters = coverage_filters(query_args(CoverageMapArgs))
    require_installed()
    with connection() as conn:
        fmap = coverage_map(conn, filters, options=_options())
    return _page(fmap)


@blp.get("/maps/boundaries")
def boundaries() -> Response:
    """Communes of a generation (?generation=, default the active one)."""
    args = query_args(BoundariesMapArgs)
    require_installed()
    with connection() as conn:
        fmap = boundaries_map(conn, args.get("generation"), options=_options())
    return _page(fmap)


@blp.get(f"{ASSETS_URL}/<path:filename>")
def asset(filename: str) -> Response:
    """A vendored script, stylesheet, font or image (see gis_service.maps.assets)."""
    if filename == ROTATE_CSS:
        return Response(rotate_css(), mimetype="text/css")
    if not is_servable(filename):
        raise NotFound()
    return send_from_directory(ASSET_ROOT, filename, max_age=ASSET_MAX_AGE_S)
