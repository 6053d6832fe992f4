"""Where people live, when no census says: a proxy for each ward's population.

No national census by ward (of the 3,321 units of the 2025 reform) is at hand, so a national
history weights the wards by a *proxy*: the ward's area times a density for its setting,

    weight = area_km2 x density(setting)

with the settings of the GSO's own split (phường and thị trấn urban, xã rural; the special
zones, đặc khu, count as rural). The densities are round figures of the 2019 census's national
picture (urban Vietnam ~ 2,000 people/km² over its wards, rural ~ 200 over its communes), not
measured per province: a proxy keeps cities denser than the countryside and big communes
weightier than small ones, and nothing more. A province's real census (Huế's, in
``admin_unit.population``) is not mixed in, so every ward is weighted by one rule.

>>> proxy = PopulationProxy()
>>> proxy.weights(np.array([1.0, 1.0]), np.array(["urban", "rural"], dtype=object)).tolist()
[2000.0, 200.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PopulationProxy:
    """People per km² by setting; a unit of neither setting (đặc khu) counts as rural."""

    urban_per_km2: float = 2_000.0
    rural_per_km2: float = 200.0

    def weights(self, area_km2: FloatArray, setting: npt.NDArray[np.object_]) -> FloatArray:
        """The proxy population of each unit (its area times its setting's density)."""
        density = np.where(setting == "urban", self.urban_per_km2, self.rural_per_km2)
        return np.asarray(area_km2, dtype=np.float64) * density

    def shares(self, area_km2: FloatArray, setting: npt.NDArray[np.object_]) -> FloatArray:
        """Each unit's share of the reports (the weights, normalised to sum to 1)."""
        weights = self.weights(area_km2, setting)
        return np.asarray(weights / weights.sum(), dtype=np.float64)
