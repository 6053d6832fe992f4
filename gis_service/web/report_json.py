"""Reports as JSON: public by default; contact details, original text and internal notes only
for those allowed to see them (the report's own agency, admins).

Every free text goes through gis_service.redaction (by way of reports.public_record).
"""

from __future__ import annotations

from typing import Any

from gis_service.redaction import redact, redact_text
from gis_service.reports.duplicates import DuplicateCandidate
from gis_service.reports.public_record import TimelineEvent, public_address, public_description
from gis_service.reports.queries import Contact, ReportRecord
from gis_service.timestamps import optional_timestamp_text, timestamp_text
from gis_service.unit_ref import UnitRef

# About 10 m: a public map shows the street, not the doorstep.
PUBLIC_DECIMALS = 4


_time = optional_timestamp_text


def rounded(value: float | None, decimals: int = PUBLIC_DECIMALS) -> float | None:
    """A public coordinate (about 10 m), None for a report not placed yet."""
    return None if value is None else round(value, decimals)


def _unit(unit: UnitRef) -> dict[str, str]:
    return {"code": unit.code, "name": unit.name, "type": unit.unit_type}


def event_json(event: TimelineEvent, *, internal: bool = False) -> dict[str, Any]:
    """One timeline entry; the internal note and the actor only when ``internal``."""
    body: dict[str, Any] = {
        "at": timestamp_text(event.at), "kind": event.kind, "from_status": event.from_status,
        "to_status": event.to_status,
        "agency": ({"code": event.agency_code, "name": event.agency_name}
                   if event.agency_code else None),
        "team": redact(event.team), "public_note": redact_text(event.public_note),
    }
    if internal:
        body["internal_note"] = event.internal_note
        body["actor"] = event.actor
    return body


def _private(record: ReportRecord, contact: Contact | None) -> dict[str, Any]:
    private: dict[str, Any] = {"original": {"description": record.description,
                                            "address": record.address}}
    if contact is not None:
        private["reporter"] = {"name": contact.name, "phone": contact.phone,
                               "email": contact.email}
    return private


def report_json(record: ReportRecord, contact: Contact | None = None, *,
                events: list[TimelineEvent] | None = None,
                internal: bool = False) -> dict[str, Any]:
    """The report, its public text redacted; ``events`` as its timeline when given.

    ``internal`` (own agency, admin) adds the original text, the internal notes and
    ``contact`` (when the report has one).
    """
    body: dict[str, Any] = {
        "id": record.public_id,
        "category": record.category,
        "description": public_description(record),
        "channel": record.channel,
        "status": record.status,
        "location": {
            "lat": rounded(record.lat),
            "lon": rounded(record.lon),
            "source": record.location_source, "precision": record.geocode_precision,
            "confidence": record.geocode_confidence, "address": public_address(record),
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
        "snap": {"match": record.snap_match, "distance_m": rounded(record.snap_distance_m, 1),
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
        "team": redact(record.team),
        "public_text": {"hidden": record.public_text_hidden,
                        "edited": record.public_description is not None
                        or record.public_address is not None},
    }
    if events is not None:
        body["events"] = [event_json(event, internal=internal) for event in events]
    if internal:
        body.update(_private(record, contact))
    return body


def duplicate_json(candidate: DuplicateCandidate) -> dict[str, Any]:
    return {"id": candidate.public_id, "category": candidate.category, "status": candidate.status,
            "created_at": timestamp_text(candidate.created_at),
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
