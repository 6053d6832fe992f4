"""Reports as JSON: public by default; contact details only for those allowed to see them."""

from __future__ import annotations

from typing import Any

from gis_service.reports.duplicates import DuplicateCandidate
from gis_service.reports.queries import Contact, ReportRecord, UnitName
from gis_service.timestamps import optional_timestamp_text, timestamp_text

# About 10 m: a public map shows the street, not the doorstep.
PUBLIC_DECIMALS = 4


_time = optional_timestamp_text


def _unit(unit: UnitName) -> dict[str, str]:
    return {"code": unit.code, "name": unit.name, "type": unit.unit_type}


def report_json(record: ReportRecord, contact: Contact | None = None) -> dict[str, Any]:
    """The report; ``contact`` is included only when the caller passes it (own agency, admin)."""
    body: dict[str, Any] = {
        "id": record.public_id,
        "category": record.category,
        "description": record.description,
        "channel": record.channel,
        "status": record.status,
        "location": {
            "lat": round(record.lat, PUBLIC_DECIMALS), "lon": round(record.lon, PUBLIC_DECIMALS),
            "source": record.location_source, "precision": record.geocode_precision,
            "confidence": record.geocode_confidence, "address": record.address,
        },
        "units": {
            "generation": record.generation,
            **{level: _unit(unit) for level, unit in record.units.items()},
        },
        "current_units": {
            "generation": record.current_generation,
            **{level: _unit(unit) for level, unit in record.current_units.items()},
        },
        "snap": {"match": record.snap_match, "distance_m": round(record.snap_distance_m, 1),
                 "near_boundary": record.near_boundary,
                 "neighbour": _unit(record.neighbour) if record.neighbour else None},
        "agency": {"code": record.agency_code, "name": record.agency_name},
        "routing_rule": record.routing_rule,
        "created_at": _time(record.created_at),
        "due_at": _time(record.due_at),
        "first_response_at": _time(record.first_response_at),
        "resolved_at": _time(record.resolved_at),
        "closed_at": _time(record.closed_at),
        "satisfaction": record.satisfaction,
        "duplicate_of": record.duplicate_of,
        "media_urls": list(record.media_urls),
    }
    if contact is not None:
        body["reporter"] = {"name": contact.name, "phone": contact.phone, "email": contact.email}
    return body


def duplicate_json(candidate: DuplicateCandidate) -> dict[str, Any]:
    return {"id": candidate.public_id, "category": candidate.category, "status": candidate.status,
            "created_at": timestamp_text(candidate.created_at),
            "distance_m": round(candidate.distance_m, 1)}
