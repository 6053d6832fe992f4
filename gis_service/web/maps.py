"""The map pages (/maps/...) and the scripts and stylesheets they load (/assets/maps/...).

Views hand the request to web.map_pages (parameters, a page model of gis_service.tiled_maps,
the template; a bad parameter is shown on the page with its form); the large layers come as
vector tiles (/tiles, and /maps/{hotspots,emerging}/tiles for the page's own cells). The
pages load nothing from outside the app and run no inline script: a Content-Security-Policy
tells the browser so too (tiles excepted, when configured).
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

from flask import Blueprint, Response, send_from_directory, url_for
from werkzeug.exceptions import NotFound

from gis_service.maps.assets import (
    ASSET_ROOT,
    ASSETS_URL,
    OWN_PREFIX,
    OWN_ROOT,
    ROTATE_CSS,
    is_servable,
    rotate_css,
)
from gis_service.web import map_pages
from gis_service.web.map_args import (
    TiledBoundariesArgs,
    TiledCoverageArgs,
    TiledEmergingArgs,
    TiledHotspotArgs,
)
from gis_service.web.services import services

blp = Blueprint("maps", __name__)

# Installed files change only with package-lock.json; a day of caching spares reloads.
ASSET_MAX_AGE_S = 86400


def page_policy(tiles_url: str) -> str:
    """Only this app's own scripts, styles, fonts and images (and the tile server's images)."""
    tiles = urlsplit(tiles_url)
    tile_origin = f" {tiles.scheme}://{tiles.netloc}" if tiles.netloc else ""
    return ("default-src 'self'; script-src 'self'; "
            "style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
            f"img-src 'self' data:{tile_origin}; connect-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'self'")


def _with_policy(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = page_policy(services().settings.tiles_url)
    return response


_INDEX = [
    ("maps.hotspots", "Hot spots",
     "Getis-Ord Gi* hot and cold spots of reports on H3 cells, excess over residents or raw "
     "counts"),
    ("maps.emerging", "Emerging hot spots",
     "ESRI's emerging hot spot patterns: each week or month tested, then a trend per cell"),
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
    """Hot spots (?res=&k=&weights=&measure=&inference=&min_count=&category=&channel=&status=
    &from=&to=&lang=, as /v1/hotspots), the cells drawn from tiles."""
    return _with_policy(map_pages.cell_page("hotspots", TiledHotspotArgs))


@blp.get("/maps/emerging")
def emerging() -> Response:
    """Emerging hot spots (as /v1/hotspots/emerging, and ?period=week|month)."""
    return _with_policy(map_pages.cell_page("emerging", TiledEmergingArgs))


@blp.get("/maps/<any(hotspots, emerging):kind>/tiles/<int:z>/<int:x>/<int:y>.mvt")
def cell_tile(kind: str, z: int, x: int, y: int) -> Response:
    """A tile of the page's cells (layer ``cells``: cell, count, z, class, ward, ward_code)."""
    schema = TiledHotspotArgs if kind == "hotspots" else TiledEmergingArgs
    return map_pages.cell_tile_response(kind, schema, z, x, y)


@blp.get("/maps/coverage")
def coverage() -> Response:
    """Coverage of a generation's communes (?generation=&from=&to=&category=&attribution=
    &model=&lang=, as /v1/coverage)."""
    return _with_policy(map_pages.coverage_page(TiledCoverageArgs))


@blp.get("/maps/boundaries")
def boundaries() -> Response:
    """Communes of a generation (?generation=, default the active one; &lang=)."""
    return _with_policy(map_pages.boundaries_page(TiledBoundariesArgs))


@blp.after_request
def _finish(response: Response) -> Response:
    return map_pages.finish(response)


@blp.get(f"{ASSETS_URL}/<path:filename>")
def asset(filename: str) -> Response:
    """A vendored script, stylesheet, font or image (see gis_service.maps.assets)."""
    if filename == ROTATE_CSS:
        return Response(rotate_css(), mimetype="text/css")
    if filename.startswith(OWN_PREFIX) and is_servable(filename):
        return send_from_directory(OWN_ROOT, filename.removeprefix(OWN_PREFIX),
                                   max_age=ASSET_MAX_AGE_S)
    if not is_servable(filename):
        raise NotFound()
    return send_from_directory(ASSET_ROOT, filename, max_age=ASSET_MAX_AGE_S)
