"""Reports as JSON: public by default; contact details only for those allowed to see them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gis_service.reports.duplicates import DuplicateCandidate
from gis_service.reports.queries import Contact, ReportRecord, UnitName

# About 10 m: a public map shows the street, not the doorstep.
PUBLIC_DECIMALS = 4


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _rounded(value: float | None, decimals: int) -> float | None:
    return None if value is None else round(value, decimals)


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
            "lat": _rounded(record.lat, PUBLIC_DECIMALS),
            "lon": _rounded(record.lon, PUBLIC_DECIMALS),
            "source": record.location_source, "precision": record.geocode_precision,
            "confidence": record.geocode_confidence, "address": record.address,
            "conflict": record.location_conflict,
        },
        "units": {
            "generation": record.generation,
            **{level: _unit(unit) for level, unit in record.units.items()},
        },
        "current_units": {
            "generation": record.current_generation,
            **{level: _unit(unit) for level, unit in record.current_units.items()},
        },
        "snap": {"match": record.snap_match, "distance_m": _rounded(record.snap_distance_m, 1),
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
            "created_at": candidate.created_at.isoformat(),
            "distance_m": round(candidate.distance_m, 1)}


def location_warnings(record: ReportRecord) -> list[dict[str, str]]:
    """What the submitter should know about where the report was put."""
    found = []
    if record.location_conflict:
        found.append({"code": "location_conflict",
                      "detail": "the point is not in the ward the address names; the point was "
                                "kept and staff will check it"})
    if record.status == "needs_location":
        found.append({"code": "needs_location",
                      "detail": "the address is too vague to route: the operations centre will "
                                "place the report, then route it to its ward"})
    return found
