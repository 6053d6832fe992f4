"""HTML views of the OGC API's documents, for people who open the API in a browser: the
title, the description, every link, and the features' properties as a table."""

from __future__ import annotations

import json
from html import escape
from typing import Any


def _links(links: list[dict[str, str]]) -> str:
    items = "".join(f'<li><a href="{escape(link["href"])}">{escape(link.get("title", ""))}</a>'
                    f' <small>({escape(link["rel"])}, {escape(link.get("type", ""))})</small></li>'
                    for link in links)
    return f"<ul>{items}</ul>"


def _table(features: list[dict[str, Any]]) -> str:
    if not features:
        return "<p>Không có đối tượng nào · no features.</p>"
    names = list(features[0].get("properties", {}))
    head = "".join(f"<th>{escape(name)}</th>" for name in ["id", *names])
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(str(value))}</td>"
                         for value in [f.get("id"), *(f["properties"].get(n) for n in names)])
        + "</tr>" for f in features)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _collections(collections: list[dict[str, Any]]) -> str:
    items = "".join(
        f"<li><h2>{escape(c['title'])}</h2><p>{escape(c['description'])}</p>"
        f"{_links(c['links'])}</li>" for c in collections)
    return f"<ul>{items}</ul>"


def _body(document: dict[str, Any]) -> str:
    parts = [f"<p>{escape(document['description'])}</p>" if "description" in document else ""]
    if "numberMatched" in document:
        parts.append(f"<p>{document['numberReturned']} / {document['numberMatched']}</p>")
    parts.append(_links(document.get("links", [])))
    if "conformsTo" in document:
        parts.append(_links([{"href": uri, "rel": "conformsTo", "title": uri}
                             for uri in document["conformsTo"]]))
    if "collections" in document:
        parts.append(_collections(document["collections"]))
    if "features" in document:
        parts.append(_table(document["features"]))
    if document.get("type") == "Feature":
        parts.append(_table([document]))
    if "openapi" in document:
        parts.append(f"<pre>{escape(json.dumps(document['openapi'], indent=1))}</pre>")
    return "".join(parts)


def page(document: dict[str, Any]) -> str:
    """The document as a self-contained HTML page (no scripts, no outside resources)."""
    title = str(document.get("title") or document.get("id") or "OGC API – Features")
    return ("<!doctype html><html lang=vi><meta charset=utf-8>"
            f"<title>{escape(title)}</title><style>body{{font-family:sans-serif;margin:1em}}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}</style>"
            f"<h1>{escape(title)}</h1>{_body(document)}</html>")
