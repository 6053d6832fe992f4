"""The tiled map pages' rendering: parameters read or their problems shown on the page, the
page models of :mod:`gis_service.tiled_maps` put in the template, and responses compressed
with strong ETags.

A bad parameter is not a problem document here but the page itself, its form filled with what
was typed and the reason beside it, in the page's language (status 400: the request is still
wrong as written).
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import geopandas as gpd
from flask import Response, render_template, request
from flask_babel import get_locale
from marshmallow import Schema
from sqlalchemy import Connection
from werkzeug.exceptions import HTTPException

from gis_service.errors import GisError
from gis_service.maps.assets import ASSETS_URL, require_installed
from gis_service.reports.categories import list_categories
from gis_service.tiled_maps.cells import CellFilters, cell_frame, cell_tile
from gis_service.tiled_maps.pages import (
    Base,
    TiledPage,
    base_layer,
    coverage_values,
    hotspot_colours,
)
from gis_service.web.map_args import cell_filters, coverage_filters, query_args
from gis_service.web.map_words import boundary_words, cell_words, coverage_words
from gis_service.web.services import connection, services
from gis_service.web.tiles import tile_response

#: Pages and assets worth compressing (tiles come gzipped from their own cache).
COMPRESSIBLE = frozenset({"text/html", "text/css", "application/javascript", "text/javascript",
                          "application/json"})
PAGE_MAX_AGE_S = 60


@dataclass(frozen=True)
class PageInput:
    """The parsed query, or the problems that stopped it (field, reason)."""

    args: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)


def _reasons(messages: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    for by_field in messages.values():
        for name, reasons in (by_field.items() if isinstance(by_field, Mapping) else []):
            found.append((str(name), str(reasons[0] if isinstance(reasons, list) else reasons)))
    return found


def problems_of(error: Exception) -> list[tuple[str, str]]:
    """What a page shows of a refused request: (field, reason) pairs."""
    if isinstance(error, GisError):
        return [(error.field or "", error.detail)]
    data = getattr(error, "data", None)
    if isinstance(data, Mapping):
        return _reasons(data.get("messages", {})) or [("", str(error))]
    return [("", str(getattr(error, "description", error)))]


def parse_page(schema: type[Schema]) -> PageInput:
    """The page's query (unknown keys refused), or its problems."""
    try:
        return PageInput(query_args(schema, strict=True))
    except HTTPException as error:
        return PageInput(problems=problems_of(error))


def typed() -> dict[str, str]:
    """The query as typed (the form shows it back beside its problems)."""
    return {key: value for key, value in request.args.items() if key != "lang"}


def lang_links() -> dict[str, str]:
    """This page's URL in each language."""
    return {lang: "?" + urlencode({**typed(), "lang": lang}) for lang in ("vi", "en")}


def render_page(template: str, *, status: int = 200, problems: list[tuple[str, str]],
                **context: Any) -> Response:
    require_installed()
    html = render_template(template, locale=str(get_locale()), lang_links=lang_links(),
                           typed=typed(), assets=request.script_root + ASSETS_URL,
                           problems=problems, bad={name for name, _ in problems}, **context)
    return Response(html, status=status, mimetype="text/html")


@functools.lru_cache(maxsize=64)
def _gzipped(data: bytes) -> bytes:
    # mtime=0: the same bytes always compress alike, so their ETag is stable.
    return gzip.compress(data, compresslevel=6, mtime=0)


def finish(response: Response) -> Response:
    """gzip (when accepted) and a strong ETag of the bytes sent, then a 304 if the client
    has them; pages and assets of the maps blueprint pass here."""
    if response.status_code != 200 or response.mimetype not in COMPRESSIBLE:
        return response
    response.direct_passthrough = False
    data = response.get_data()
    if request.accept_encodings["gzip"] > 0 and len(data) > 512:
        response.set_data(_gzipped(data))
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    if response.cache_control.max_age is None:
        response.cache_control.public = True
        response.cache_control.max_age = PAGE_MAX_AGE_S
    response.make_conditional(request)  # a 304 when the client has these bytes
    return response


# -- the pages --------------------------------------------------------------------------------
def frame_store() -> Path:
    """Where this server's workers share their analysis frames (tiled_maps.frame_store)."""
    return services().settings.state_dir / "map-frames"


def _base(conn: Connection, generation: str | None = None) -> Base:
    settings = services().settings
    return base_layer(conn, generation, tiles_url=settings.tiles_url,
                      attribution=settings.tiles_attribution or "")


def _wards_url(generation: str) -> str:
    return f"{request.script_root}/tiles/boundaries-{generation}/{{z}}/{{x}}/{{y}}.mvt"


def _analysed(conn: Connection, given: PageInput, kind: str
              ) -> tuple[CellFilters, gpd.GeoDataFrame | None, list[tuple[str, str]]]:
    if given.problems:
        return CellFilters(kind=kind), None, given.problems
    filters = cell_filters(kind, given.args)
    try:
        return filters, cell_frame(conn, filters, store=frame_store()), []
    except GisError as error:  # e.g. an unknown category, too few periods
        return filters, None, problems_of(error)


def cell_page(kind: str, schema: type[Schema]) -> Response:
    """The hot spot (``kind="hotspots"``) or emerging hot spot page."""
    given = parse_page(schema)
    with connection() as conn:
        base = _base(conn)
        filters, frame, problems = _analysed(conn, given, kind)
        categories = [(item.code, item.name) for item in list_categories(conn)]
    cells_url = None if frame is None else (
        f"{request.script_root}/maps/{kind}/tiles/{{z}}/{{x}}/{{y}}.mvt?{filters.query()}")
    colours = hotspot_colours(kind)
    document = TiledPage(base, cells_url, colours, words=cell_words(kind),
                         wards_url=_wards_url(base.generation))
    return render_page("maps/cells.html", status=400 if problems else 200, kind=kind,
                       filters=filters, facts=None if frame is None else facts_of(frame),
                       words=document.words,
                       problems=problems, document=document.as_json(), categories=categories,
                       legend_rows=list(colours.items()), other_measure=_other_measure(filters))


def facts_of(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """The analysis' parameters as the panel states them (its period as instants)."""
    facts = dict(frame.attrs)
    for name in ("start", "end"):
        facts[name] = dt.datetime.fromisoformat(facts[name]) if facts.get(name) else None
    return facts


def _other_measure(filters: CellFilters) -> str:
    return "?" + filters.query(measure="count" if filters.measure == "excess" else "excess")


def coverage_page(schema: type[Schema]) -> Response:
    given = parse_page(schema)
    with connection() as conn:
        problems, communes = given.problems, None
        if not problems:
            try:
                communes = coverage_filters(given.args).communes(conn)
            except GisError as error:
                problems = problems_of(error)
        base = _base(conn, given.args.get("generation") if communes is not None else None)
    values = coverage_values(communes) if communes is not None else {}
    document = TiledPage(base, values=values, words=coverage_words(),
                         wards_url=_wards_url(base.generation))
    return render_page("maps/coverage.html", status=400 if problems else 200,
                       problems=problems, document=document.as_json(), args=given.args,
                       communes=communes)


def boundaries_page(schema: type[Schema]) -> Response:
    given = parse_page(schema)
    with connection() as conn:
        problems = given.problems
        try:
            base = _base(conn, given.args.get("generation"))
        except GisError as error:
            base, problems = _base(conn), problems_of(error)
    document = TiledPage(base, words=boundary_words(), wards_url=_wards_url(base.generation))
    return render_page("maps/boundaries.html", status=400 if problems else 200,
                       problems=problems, document=document.as_json(), base=base)


def cell_tile_response(kind: str, schema: type[Schema], z: int, x: int, y: int) -> Response:
    """A tile of a page's cells (its query is the page's filters); problems as JSON."""
    filters = cell_filters(kind, query_args(schema, strict=True))
    with connection() as conn:
        return tile_response(cell_tile(conn, filters, z, x, y, store=frame_store()))
