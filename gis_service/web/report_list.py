"""GET /v1/reports: the parsed query as a filter, the page as JSON with its links, exports."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from flask import Response, request, stream_with_context
from sqlalchemy import Engine

from gis_service.reports import queries
from gis_service.web import report_exports

EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json"}


def filters_from(args: dict[str, Any]) -> queries.ReportFilter:
    """The parsed query string (web.schemas.ReportListArgs) as the domain's filter."""
    return queries.ReportFilter(
        category=args.get("category"), statuses=args.get("status") or (),
        agency=args.get("agency"), unit=args.get("unit"), bbox=args.get("bbox"),
        created_from=args.get("from_"), created_to=args.get("to"), channel=args.get("channel"),
        overdue=args.get("overdue"), now=dt.datetime.now(dt.UTC), commune=args.get("commune"),
        q=args.get("q"))


def _page_link(page: int) -> str:
    query = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]
    return f"{request.path}?{urlencode([*query, ('page', str(page))])}"


def page_json(args: dict[str, Any], items: list[dict[str, Any]], *, total: int,
              more: bool) -> dict[str, Any]:
    page = args["page"]
    return {"page": page, "page_size": args["page_size"], "total": total,
            "next_page": page + 1 if more else None,
            "next": _page_link(page + 1) if more else None, "reports": items}


def export(engine: Engine, filters: queries.ReportFilter, args: dict[str, Any]) -> Response:
    """Every matching report as CSV or GeoJSON, streamed as it is read."""
    fmt = args["format"]
    chunks = (report_exports.csv_chunks if fmt == "csv" else report_exports.geojson_chunks)(
        engine, filters, args["sort"])
    response = Response(stream_with_context(chunks), content_type=EXPORT_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="reports.{fmt}"'
    return response


def report_list_formats(page_schema: type) -> dict[str, Any]:
    """The list's 200 documented in its three formats."""
    return {"responses": {200: {"content": {
        "application/json": {"schema": page_schema},
        "text/csv": {"schema": {"type": "string"}},
        "application/geo+json": {"schema": {"type": "object"}}}}}}
