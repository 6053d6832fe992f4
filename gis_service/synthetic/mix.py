"""What kinds of incident happen where and when, and who answers them: one row per category.

Weights are shares of background incidents by setting (urban order and sanitation dominate
in wards; roads, water and power weigh more in rural communes). Seasonal amplitudes multiply
the category's rate at the peak of each bump (``1 + amplitude``). Response and resolution
medians are for urban wards; rural communes multiply them (see ``GeneratorParams``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: The codes of ``boundaries/reports/categories.toml`` (used when no list is given).
DEFAULT_CATEGORIES: tuple[str, ...] = (
    "sanitation", "urban_order", "roads", "street_lights", "drainage", "trees", "construction",
    "noise", "water_supply", "electricity", "public_health", "traffic_safety", "heritage", "other",
)


@dataclass(frozen=True)
class CategoryProfile:
    """How one category behaves in the model."""

    code: str
    urban_weight: float
    rural_weight: float
    tet: float = 0.0
    flood: float = 0.0
    summer: float = 0.0
    #: Who typically answers it (documentation of the timing choice; routing is the importer's).
    responder: str = "commune_committee"
    response_hours: float = 24.0
    resolution_days: float = 7.0


PROFILES: dict[str, CategoryProfile] = {p.code: p for p in (
    CategoryProfile("sanitation", 0.22, 0.20, tet=1.5, responder="sanitation_utility",
                    response_hours=8, resolution_days=1.5),
    CategoryProfile("urban_order", 0.17, 0.06, tet=0.6, response_hours=24, resolution_days=5),
    CategoryProfile("roads", 0.08, 0.13, flood=1.5, responder="road_management",
                    response_hours=24, resolution_days=12),
    CategoryProfile("street_lights", 0.07, 0.07, flood=0.3, responder="urban_works",
                    response_hours=12, resolution_days=3),
    CategoryProfile("drainage", 0.08, 0.10, flood=3.0, responder="sanitation_utility",
                    response_hours=12, resolution_days=5),
    CategoryProfile("trees", 0.05, 0.06, flood=1.2, responder="urban_works",
                    response_hours=8, resolution_days=2),
    CategoryProfile("construction", 0.06, 0.05, response_hours=24, resolution_days=8),
    CategoryProfile("noise", 0.06, 0.02, tet=0.5, response_hours=12, resolution_days=2),
    CategoryProfile("water_supply", 0.04, 0.08, flood=0.4, summer=0.5, responder="water_utility",
                    response_hours=4, resolution_days=1),
    CategoryProfile("electricity", 0.04, 0.08, flood=0.5, summer=0.6,
                    responder="electricity_utility", response_hours=2, resolution_days=0.5),
    CategoryProfile("public_health", 0.03, 0.04, flood=0.5, summer=2.0,
                    responder="health_department", response_hours=4, resolution_days=2),
    CategoryProfile("traffic_safety", 0.05, 0.05, tet=0.4, flood=0.4, responder="road_management",
                    response_hours=6, resolution_days=3),
    CategoryProfile("heritage", 0.02, 0.005, responder="heritage_centre", response_hours=48,
                    resolution_days=20),
    CategoryProfile("other", 0.03, 0.04, response_hours=24, resolution_days=7),
)}
#: Other spellings of the same categories (the names used while the file was being written).
ALIASES: dict[str, str] = {
    "rubbish": "sanitation", "encroachment": "urban_order", "pothole": "roads",
    "streetlight": "street_lights", "tree": "trees", "epidemic_risk": "public_health",
    "traffic_hazard": "traffic_safety",
}
#: Categories the model does not know (from a categories file) get a small flat share.
UNKNOWN_WEIGHT = 0.01

#: Category weights of cluster incidents, by the kind of place.
ANCHOR_MIX: dict[str, dict[str, float]] = {
    "market": {"sanitation": 0.35, "urban_order": 0.30, "traffic_safety": 0.08, "drainage": 0.07,
               "noise": 0.05, "public_health": 0.05, "street_lights": 0.05, "other": 0.05},
    "tourist": {"urban_order": 0.30, "sanitation": 0.25, "noise": 0.20, "traffic_safety": 0.08,
                "street_lights": 0.07, "heritage": 0.05, "other": 0.05},
    "heritage": {"heritage": 0.30, "sanitation": 0.20, "urban_order": 0.20, "trees": 0.10,
                 "traffic_safety": 0.10, "other": 0.10},
    "school": {"traffic_safety": 0.35, "urban_order": 0.25, "sanitation": 0.15, "street_lights": 0.10,
               "noise": 0.05, "other": 0.10},
    "transport": {"sanitation": 0.25, "urban_order": 0.25, "traffic_safety": 0.25, "roads": 0.10,
                  "noise": 0.05, "other": 0.10},
    "beach": {"sanitation": 0.45, "urban_order": 0.20, "noise": 0.10, "traffic_safety": 0.10,
              "trees": 0.05, "public_health": 0.05, "other": 0.05},
}


def profiles_for(codes: Sequence[str]) -> tuple[CategoryProfile, ...]:
    """The model's profile for each code (under the code given), a flat small one for codes
    it does not know."""
    return tuple(_profile(code) for code in codes)


def _profile(code: str) -> CategoryProfile:
    known = PROFILES.get(ALIASES.get(code, code))
    if known is None:
        return CategoryProfile(code, UNKNOWN_WEIGHT, UNKNOWN_WEIGHT)
    return dataclasses.replace(known, code=code)


def setting_weights(profiles: Sequence[CategoryProfile]) -> npt.NDArray[np.float64]:
    """Category shares of background incidents: row 0 urban, row 1 rural; rows sum to 1."""
    weights = np.array([[p.urban_weight for p in profiles], [p.rural_weight for p in profiles]])
    shares: npt.NDArray[np.float64] = weights / weights.sum(axis=1, keepdims=True)
    return shares


def anchor_weights(profiles: Sequence[CategoryProfile], kind: str) -> npt.NDArray[np.float64]:
    """Category shares of one kind of cluster; the setting's urban mix where none is known."""
    mix = ANCHOR_MIX[kind]
    weights = np.array([mix.get(ALIASES.get(p.code, p.code), 0.0) for p in profiles])
    shares: npt.NDArray[np.float64] = (setting_weights(profiles)[0] if weights.sum() == 0
                                       else weights / weights.sum())
    return shares
