"""The words the map pages' script writes (tooltips, class names), in the page's language."""

from __future__ import annotations

from flask_babel import gettext

from gis_service.analysis.statistics.emerging import CATEGORIES as EMERGING_CATEGORIES
from gis_service.maps.classes import CLASS_COLOURS


def class_names() -> dict[str, str]:
    """The Gi* classes in words."""
    names = {"not_significant": gettext("Not significant")}
    for cls in CLASS_COLOURS:
        kind, _, level = cls.partition("_")
        if kind == "hot":
            names[cls] = gettext("Hot spot, %(level)s%% confidence", level=level)
        elif kind == "cold":
            names[cls] = gettext("Cold spot, %(level)s%% confidence", level=level)
    return names


def pattern_names() -> dict[str, str]:
    """ESRI's emerging hot spot patterns in words (their codes as ESRI names them)."""
    patterns = {"new": gettext("new"), "consecutive": gettext("consecutive"),
                "intensifying": gettext("intensifying"), "persistent": gettext("persistent"),
                "diminishing": gettext("diminishing"), "sporadic": gettext("sporadic"),
                "oscillating": gettext("oscillating"), "historical": gettext("historical")}
    names = {"no_pattern": gettext("No pattern")}
    for code in EMERGING_CATEGORIES:
        pattern, _, kind = code.rpartition("_")
        if pattern in patterns:
            label = gettext("hot spot") if kind == "hot" else gettext("cold spot")
            names[code] = f"{label}: {patterns[pattern]}"
    return names


def _common() -> dict[str, str]:
    return {"ward": gettext("Ward or commune"), "reports": gettext("Reports"),
            "outside": gettext("outside every ward")}


def cell_words(kind: str) -> dict[str, str]:
    return {**_common(), "cell": gettext("H3 cell"), "z": gettext("Gi* z"),
            "class": gettext("Class"),
            **(pattern_names() if kind == "emerging" else class_names())}


def coverage_words() -> dict[str, str]:
    return {**_common(), "population": gettext("Population"),
            "rate": gettext("Reports per 1,000 residents"),
            "rate_eb": gettext("Per 1,000, smoothed (EB)"),
            "flag": gettext("Under-reporting (FDR 5%)"), "yes": gettext("yes"),
            "no": gettext("no"), "urban": gettext("Urban ward"),
            "rural": gettext("Rural commune")}


def boundary_words() -> dict[str, str]:
    return {**_common(), "code": gettext("GSO code"), "urban": gettext("Urban ward"),
            "rural": gettext("Rural commune")}
