"""A scorecard cell as one flat row of scalars: nested names joined by ``_`` (so
``resolution_hours_all_categories_pooled_median`` says what it pools). The CSV rows, the
GeoJSON properties and the OGC collection's properties are these rows."""

from __future__ import annotations

import dataclasses
from typing import Any

from gis_service.analysis.scorecards import Cell


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}_{key}" if prefix else str(key), out)
    else:
        out[prefix] = value.isoformat() if hasattr(value, "isoformat") else value


def flat(cell: Cell) -> dict[str, Any]:
    """One cell as one row of scalars (datetimes as ISO text)."""
    out: dict[str, Any] = {}
    _flatten(dataclasses.asdict(cell), "", out)
    return out
