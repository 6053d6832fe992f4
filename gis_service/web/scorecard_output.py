"""Scorecards as HTTP bodies: nested JSON, flat CSV rows (nested names joined by ``_``, so
``resolution_hours_all_categories_pooled_median`` says what it pools) and GeoJSON by commune."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from typing import Any

from sqlalchemy import Connection

from gis_service.analysis import scorecards as library


def card_json(card: library.Scorecards) -> dict[str, Any]:
    """The whole card as JSON-ready values (datetimes left for ``json.dumps(default=str)``)."""
    return {"by": card.by, "from": card.start, "to": card.end, "now": card.now,
            "min_resolved": library.MIN_RESOLVED,
            "province": dataclasses.asdict(card.province),
            "province_on_time_by_category": {code: dataclasses.asdict(p) for code, p in
                                             card.province_on_time_by_category.items()},
            "cells": [dataclasses.asdict(cell) for cell in card.cells]}


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}_{key}" if prefix else str(key), out)
    else:
        out[prefix] = value.isoformat() if hasattr(value, "isoformat") else value


def flat(cell: library.Cell) -> dict[str, Any]:
    """One cell as one row of scalars."""
    out: dict[str, Any] = {}
    _flatten(dataclasses.asdict(cell), "", out)
    return out


def csv_text(card: library.Scorecards) -> str:
    """The province first, then each cell; columns are the union of every row's."""
    rows = [flat(card.province), *(flat(cell) for cell in card.cells)]
    columns = list(dict.fromkeys(name for row in rows for name in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def feature_collection(conn: Connection, card: library.Scorecards) -> str:
    """A by-commune card as GeoJSON text: a Feature per commune, its flat figures as properties."""
    geometries = library.commune_geometries(conn, card)
    features = ",".join(
        '{{"type":"Feature","id":{},"geometry":{},"properties":{}}}'.format(
            json.dumps(cell.key), geometries.get(cell.key, "null"),
            json.dumps(flat(cell), ensure_ascii=False))
        for cell in card.cells)
    parameters = json.dumps({"by": card.by, "from": card.start, "to": card.end, "now": card.now,
                             "min_resolved": library.MIN_RESOLVED}, default=str)
    return f'{{"type":"FeatureCollection","parameters":{parameters},"features":[{features}]}}'
