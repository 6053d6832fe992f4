"""The report list as CSV or GeoJSON: public fields, redacted text, streamed.

Rows come from :func:`gis_service.reports.queries.stream_reports` (a server-side cursor read a
batch at a time) and leave as they are read, so an export of 100,000 reports holds one batch
in memory (benchmarks/report_export.py measures it). The connection is opened by the generator
itself: it lives as long as the response is being sent.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine

from gis_service.reports import queries
from gis_service.reports.public_record import public_address, public_description
from gis_service.web.report_json import PUBLIC_DECIMALS

CSV_COLUMNS = (
    "id", "category", "status", "channel", "created_at", "due_at", "first_response_at",
    "resolved_at", "closed_at", "agency", "commune_code", "commune", "lat", "lon", "description",
    "address", "satisfaction", "duplicate_of",
)
#: Rows written to the CSV buffer before it is flushed to the client.
FLUSH_EVERY = 500


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def public_fields(record: queries.ReportRecord) -> dict[str, Any]:
    """The flat public fields of one report (the CSV row; the GeoJSON properties)."""
    commune = record.current_units.get("commune")
    return {
        "id": record.public_id, "category": record.category, "status": record.status,
        "channel": record.channel, "created_at": _time(record.created_at),
        "due_at": _time(record.due_at), "first_response_at": _time(record.first_response_at),
        "resolved_at": _time(record.resolved_at), "closed_at": _time(record.closed_at),
        "agency": record.agency_code, "commune_code": commune.code if commune else None,
        "commune": commune.name if commune else None,
        "lat": round(record.lat, PUBLIC_DECIMALS), "lon": round(record.lon, PUBLIC_DECIMALS),
        "description": public_description(record), "address": public_address(record),
        "satisfaction": record.satisfaction, "duplicate_of": record.duplicate_of,
    }


def csv_chunks(engine: Engine, filters: queries.ReportFilter, sort: str) -> Iterator[str]:
    """The CSV, header first, in chunks of :data:`FLUSH_EVERY` rows."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    with engine.connect() as conn:
        for n, record in enumerate(queries.stream_reports(conn, filters, sort=sort), start=1):
            writer.writerow(public_fields(record))
            if n % FLUSH_EVERY == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


def _feature(record: queries.ReportRecord) -> str:
    properties = public_fields(record)
    point = [properties.pop("lon"), properties.pop("lat")]
    return json.dumps({"type": "Feature", "id": record.public_id,
                       "geometry": {"type": "Point", "coordinates": point},
                       "properties": properties}, ensure_ascii=False)


def geojson_chunks(engine: Engine, filters: queries.ReportFilter, sort: str) -> Iterator[str]:
    """A FeatureCollection of points, one feature per chunk."""
    yield '{"type":"FeatureCollection","features":['
    with engine.connect() as conn:
        for n, record in enumerate(queries.stream_reports(conn, filters, sort=sort)):
            yield ("," if n else "") + _feature(record)
    yield "]}"
