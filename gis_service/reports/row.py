"""The one description of a stored report's row: which column is filled from what.

Single-report intake (:mod:`gis_service.reports.intake`) and the bulk importer
(:mod:`gis_service.reports.importing.sql`) both build their ``INSERT`` from these functions, so
a report stores the same whichever way it came. Each value is either a Python value (intake)
or a SQL expression over the importer's staging tables (import): SQLAlchemy binds the first and
inlines the second, and every rule below (the point's SRID, a distance of 0 when inside, the
neighbour flag) is written once for both.

>>> sorted(routing_columns(agency_id=3, rule_id=None, due_at=None))
['agency_id', 'due_at', 'routing_rule_id']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement

#: A column's value: a Python value, or a SQL expression over staged rows.
Value = Any


@dataclass(frozen=True)
class Units:
    """The units a point snapped to in one generation (ids, or expressions giving them)."""

    generation_id: Value
    commune_id: Value
    district_id: Value
    province_id: Value


def content_columns(*, public_id: Value, category: Value, description: Value, channel: Value,
                    address: Value, media_urls: Value, search_text: Value,
                    created_at: Value) -> dict[str, Value]:
    """What the reporter said, when, and by which channel: every report has these."""
    return {"public_id": public_id, "category": category, "description": description,
            "channel": channel, "address": address, "media_urls": media_urls,
            "search_text": search_text, "created_at": created_at}


def location_columns(*, lon: Value, lat: Value, source: Value, cells: Mapping[int, Value],
                     then: Units, current: Units, match: Value, distance_m: Value,
                     neighbour_id: Value) -> dict[str, Value]:
    """A placed report's point, H3 cells, units in the generation valid when it was made
    (``then``) and in the current one, its snap, and the neighbouring commune it is near."""
    return {
        "geom": func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326),
        "location_source": source,
        **{f"h3_r{res}": cell for res, cell in cells.items()},
        "snap_generation_id": then.generation_id, "commune_id": then.commune_id,
        "district_id": then.district_id, "province_id": then.province_id,
        "current_generation_id": current.generation_id,
        "current_commune_id": current.commune_id, "current_district_id": current.district_id,
        "current_province_id": current.province_id,
        # A point inside its commune is 0 m from it; the snap says None.
        "snap_match": match, "snap_distance_m": func.coalesce(distance_m, 0.0),
        "near_boundary": _is_set(neighbour_id), "neighbour_commune_id": neighbour_id,
    }


def routing_columns(*, agency_id: Value, rule_id: Value, due_at: Value) -> dict[str, Value]:
    """Who answers the report, by which rule, and by when."""
    return {"agency_id": agency_id, "routing_rule_id": rule_id, "due_at": due_at}


def _is_set(value: Value) -> Value:
    if isinstance(value, ColumnElement):
        return value.is_not(None)
    return value is not None
