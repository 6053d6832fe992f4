"""What snapping answers: the match kinds, the Snap and the tolerance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from gis_service.errors import InvalidInput
from gis_service.unit_ref import UnitRef

Match = Literal["inside", "nearest", "outside"]
MATCHES: tuple[Match, ...] = ("inside", "nearest", "outside")

DEFAULT_TOLERANCE_M = 2000.0
#: Larger tolerances would turn "nearest" into "anywhere in the country".
MAX_TOLERANCE_M = 100_000.0


@dataclass(frozen=True)
class Snap:
    """Where a point falls in one generation.

    ``distance_m`` is 0.0 when inside, the distance to the commune when nearest, None when
    outside. ``district`` is None in two-level generations (and when outside).
    """

    generation: str
    match: Match
    distance_m: float | None
    commune: UnitRef | None
    district: UnitRef | None
    province: UnitRef | None



def check_tolerance(tolerance_m: object) -> float:
    """The tolerance in metres as a float, or :class:`InvalidInput` naming ``tolerance_m``."""
    if isinstance(tolerance_m, bool) or not isinstance(tolerance_m, int | float):
        raise InvalidInput("tolerance_m must be a number of metres", field="tolerance_m")
    value = float(tolerance_m)
    if not (math.isfinite(value) and 0.0 <= value <= MAX_TOLERANCE_M):
        raise InvalidInput(f"tolerance_m must be between 0 and {MAX_TOLERANCE_M:g} metres",
                           field="tolerance_m")
    return value


