"""OGC API – Features (Part 1 Core, GeoJSON, OpenAPI 3.0, HTML; Part 2 CRS) request handling,
written without Flask: each handler takes a connection, the API's base URL and the query
arguments, and returns an :class:`OgcResponse` that the web layer sends as it is.

>>> landing_page("http://127.0.0.1:8000/ogc", Args({}, {})).media_type
'application/json'
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection

from gis_service.data_versions import read_versions
from gis_service.errors import NotFound
from gis_service.ogc import collections as catalogue
from gis_service.ogc import html
from gis_service.ogc.crs import CRS84_URI, crs_uris, parse_crs
from gis_service.ogc.openapi import openapi_document
from gis_service.ogc.params import (
    FEATURE_PARAMETERS,
    PAGE_PARAMETERS,
    Args,
    ItemsQuery,
    items_query,
    parse_format,
    refuse_unknown,
)

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


@dataclass(frozen=True)
class OgcResponse:
    body: str
    media_type: str
    headers: Mapping[str, str] = field(default_factory=dict)


def _link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def _self_and_alternate(href: str, media_type: str, form: str) -> list[dict[str, str]]:
    """This document's link in the format sent, and the other format's."""
    as_json = _link(f"{href}?f=json", "self" if form == "json" else "alternate", media_type,
                    "this document as JSON")
    as_html = _link(f"{href}?f=html", "self" if form == "html" else "alternate", HTML,
                    "this document as HTML")
    return [as_json, as_html]


def _send(document: dict[str, Any], form: str, media_type: str = JSON,
          headers: Mapping[str, str] | None = None) -> OgcResponse:
    if form == "html":
        return OgcResponse(html.page(document), HTML, headers or {})
    return OgcResponse(json.dumps(document, ensure_ascii=False), media_type, headers or {})


def _page_form(args: Args) -> str:
    refuse_unknown(args.every, PAGE_PARAMETERS)
    return parse_format(args.one("f"), args.accept_html)


def landing_page(base: str, args: Args) -> OgcResponse:
    """``/ogc``: what the API is and where its parts are."""
    form = _page_form(args)
    return _send({
        "title": "gis-service · OGC API – Features",
        "description": "Huế's communes and wards, public field reports and hot spots, for GIS "
                       "clients (QGIS, GDAL, ArcGIS, OWSLib).",
        "links": [*_self_and_alternate(base, JSON, form),
                  _link(f"{base}/api", "service-desc", OPENAPI, "the API definition (OpenAPI 3.0)"),
                  _link(f"{base}/api?f=html", "service-doc", HTML, "the API definition as HTML"),
                  _link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
                  _link(f"{base}/collections", "data", JSON, "the collections")],
    }, form)


def conformance(base: str, args: Args) -> OgcResponse:
    form = _page_form(args)
    return _send({"links": _self_and_alternate(f"{base}/conformance", JSON, form),
                  "conformsTo": CONFORMANCE}, form)


def api_document(base: str, args: Args) -> OgcResponse:
    form = _page_form(args)
    document = openapi_document(base)
    if form == "html":
        return _send({"title": "OpenAPI definition", "links": [
            _link(f"{base}/api?f=json", "alternate", OPENAPI, "as JSON")],
            "openapi": document}, form)
    return OgcResponse(json.dumps(document, ensure_ascii=False), OPENAPI)


def _extent_json(extent: catalogue.Extent) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if extent.bbox is not None:
        found["spatial"] = {"bbox": [list(extent.bbox)], "crs": CRS84_URI}
    if extent.start is not None or extent.end is not None:
        found["temporal"] = {"interval": [[extent.start, extent.end]], "trs": GREGORIAN}
    return found


def _collection_json(conn: Connection, base: str, collection: catalogue.Collection,
                     form: str) -> dict[str, Any]:
    href = f"{base}/collections/{collection.id}"
    versions = read_versions(conn)
    return {
        "id": collection.id, "title": collection.title, "description": collection.description,
        "itemType": "feature",
        "links": [*_self_and_alternate(href, JSON, form),
                  _link(f"{href}/items?f=json", "items", GEOJSON, "the features as GeoJSON"),
                  _link(f"{href}/items?f=html", "items", HTML, "the features as HTML")],
        "extent": _extent_json(catalogue.extent(conn, collection, versions)),
        "crs": crs_uris(), "storageCrs": CRS84_URI,
    }


def collections(conn: Connection, base: str, args: Args) -> OgcResponse:
    form = _page_form(args)
    found = [_collection_json(conn, base, c, form) for c in catalogue.all_collections(conn)]
    return _send({"links": _self_and_alternate(f"{base}/collections", JSON, form),
                  "collections": found, "crs": crs_uris()}, form)


def collection(conn: Connection, base: str, collection_id: str, args: Args) -> OgcResponse:
    form = _page_form(args)
    found = catalogue.find_collection(conn, collection_id)
    return _send(_collection_json(conn, base, found, form), form)


def _items_href(href: str, args: Args, **replace: object) -> str:
    kept = [(name, value) for name, values in args.every.items() if name not in replace
            for value in values]
    kept.extend((name, str(value)) for name, value in replace.items())
    return f"{href}?{urlencode(kept)}"


def _paging_links(href: str, args: Args, query: ItemsQuery, matched: int,
                  returned: int) -> list[dict[str, str]]:
    media = HTML if query.format == "html" else GEOJSON
    links = [_link(_items_href(href, args), "self", media, "this page"),
             _link(_items_href(href, args, f="html" if query.format == "json" else "json"),
                   "alternate", GEOJSON if query.format == "html" else HTML, "this page")]
    if query.offset + returned < matched:
        links.append(_link(_items_href(href, args, offset=query.offset + query.limit), "next",
                           media, "the next page"))
    if query.offset > 0:
        links.append(_link(_items_href(href, args, offset=max(0, query.offset - query.limit)),
                           "prev", media, "the previous page"))
    return links


def _timestamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def items(conn: Connection, base: str, collection_id: str, args: Args) -> OgcResponse:
    """``/collections/{id}/items``: one page of features, GeoJSON with paging links."""
    found = catalogue.find_collection(conn, collection_id)
    query = items_query(args, found.filters)
    versions = read_versions(conn)
    page = catalogue.page(conn, found, versions, query)
    matched = catalogue.matched(conn, found, versions, query)
    href = f"{base}/collections/{found.id}/items"
    meta = {"numberMatched": matched, "numberReturned": page.returned,
            "timeStamp": _timestamp(),
            "links": [*_paging_links(href, args, query, matched, page.returned),
                      _link(f"{base}/collections/{found.id}", "collection", JSON,
                            "the collection")]}
    headers = {"Content-Crs": f"<{query.crs.uri}>"}
    if query.format == "html":
        document = {"title": found.title, **meta, "features": json.loads(page.features)}
        return _send(document, "html", headers=headers)
    head = json.dumps({"type": "FeatureCollection"}, ensure_ascii=False)[:-1]
    body = f'{head}, "features": {page.features}, {json.dumps(meta, ensure_ascii=False)[1:]}'
    return OgcResponse(body, GEOJSON, headers)


def item(conn: Connection, base: str, collection_id: str, feature_id: str,
         args: Args) -> OgcResponse:
    """``/collections/{id}/items/{featureId}``: one feature, or a 404 naming it."""
    found = catalogue.find_collection(conn, collection_id)
    refuse_unknown(args.every, FEATURE_PARAMETERS)
    form = parse_format(args.one("f"), args.accept_html)
    crs = parse_crs(args.one("crs"), "crs")
    text = catalogue.feature(conn, found, read_versions(conn), feature_id, crs)
    if text is None:
        raise NotFound(f"không có đối tượng {feature_id[:80]!r} · no feature "
                       f"{feature_id[:80]!r} in {found.id}", field="featureId")
    feature = json.loads(text)
    href = f"{base}/collections/{found.id}/items/{feature_id}"
    feature["links"] = [*_self_and_alternate(href, GEOJSON, form),
                        _link(f"{base}/collections/{found.id}", "collection", JSON,
                              "the collection")]
    return _send(feature, form, GEOJSON, {"Content-Crs": f"<{crs.uri}>"})


def accepts_html(accept: Sequence[tuple[str, float]]) -> bool:
    """Whether an Accept header's best match is HTML (a browser), not JSON."""
    best = {media: quality for media, quality in accept}
    html_q = max(best.get("text/html", 0.0), best.get("application/xhtml+xml", 0.0))
    json_q = max((q for m, q in best.items() if "json" in m), default=0.0)
    return html_q > json_q
