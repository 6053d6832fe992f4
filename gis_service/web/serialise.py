"""Plain functions turning domain results into JSON-ready dicts (fast; documented in schemas.py)."""

from __future__ import annotations

from typing import Any

from gis_service.batch import BatchOutcome
from gis_service.errors import GisError
from gis_service.spatial.reverse import ReverseResult
from gis_service.unit_ref import UnitRef


def unit_json(unit: UnitRef) -> dict[str, Any]:
    body: dict[str, Any] = {"id": unit.id, "code": unit.code, "name": unit.name,
                            "type": unit.unit_type, "level": unit.level}
    if unit.level == "commune":
        body["setting"] = unit.setting
        body["approximate"] = unit.approximate
    return body


def reverse_json(result: ReverseResult) -> dict[str, Any]:
    snap = result.snap
    units = {
        level: unit_json(unit)
        for level, unit in (("province", snap.province), ("district", snap.district),
                            ("commune", snap.commune))
        if unit is not None
    }
    near = result.near_boundary
    return {
        "query": {"lat": result.query.lat, "lon": result.query.lon},
        "generation": snap.generation,
        "match": snap.match,
        "distance_m": None if snap.distance_m is None else round(snap.distance_m, 1),
        "near_boundary": None if near is None else {
            "distance_m": round(near.distance_m, 1), "unit": unit_json(near.unit)},
        "units": units,
    }


def reverse_geojson(result: ReverseResult, commune_geometry: dict[str, Any] | None) -> dict[str, Any]:
    """A FeatureCollection of one Feature: the matched commune's polygon (or none) and the answer."""
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": commune_geometry,
                      "properties": reverse_json(result)}],
    }


def error_json(error: GisError) -> dict[str, Any]:
    """A problem document for one item of a batch (the same fields as a whole-request error)."""
    body: dict[str, Any] = {"type": "about:blank", "title": error.title, "status": error.status,
                            "detail": error.detail, "code": error.code}
    if error.field is not None:
        body["field"] = error.field
    return body


def batch_outcome_json(outcome: BatchOutcome) -> dict[str, Any]:
    body: dict[str, Any] = {"position": outcome.position, "id": outcome.id, "kind": outcome.kind}
    if outcome.error is not None:
        body["error"] = error_json(outcome.error)
    elif outcome.reverse is not None:
        body["result"] = reverse_json(outcome.reverse)
    else:
        body["results"] = [result.to_dict() for result in outcome.forward or []]
    return body
