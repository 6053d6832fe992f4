"""Colours and labels of the Gi* classes (``hot_99`` ... ``cold_99``, ``not_significant``)."""

from __future__ import annotations

from gis_service.analysis.statistics.hotspots import NOT_SIGNIFICANT
from gis_service.maps.controls import LegendEntry

__all__ = ["CLASS_COLOURS", "NOT_SIGNIFICANT", "UNKNOWN_COLOUR", "class_label", "class_legend"]

# ColorBrewer RdBu: red for hot, blue for cold, darker for more confident.
CLASS_COLOURS = {
    "hot_99": "#b2182b",
    "hot_95": "#ef8a62",
    "hot_90": "#fddbc7",
    "not_significant": "#d9d9d9",
    "cold_90": "#d1e5f0",
    "cold_95": "#67a9cf",
    "cold_99": "#2166ac",
}
UNKNOWN_COLOUR = "#999999"


def class_label(cls: str) -> str:
    """Words for a class.

    >>> class_label("hot_95"), class_label("not_significant")
    ('Hot spot, 95% confidence', 'Not significant')
    """
    kind, _, level = cls.partition("_")
    if kind in ("hot", "cold") and level.isdigit():
        return f"{kind.capitalize()} spot, {level}% confidence"
    return cls.replace("_", " ").capitalize()


def class_legend() -> list[LegendEntry]:
    return [LegendEntry(class_label(cls), colour) for cls, colour in CLASS_COLOURS.items()]
