"""The generator's reporting process alone, per incident and in numpy: no places, texts or
files. For studies that need many seeds fast (the calibration of the reporting-rate
estimators): incidents happen, residents report each at its commune's rate while it is open,
and the original report's lifecycle closes it, exactly as :mod:`gis_service.synthetic.simulate`
draws them (same :class:`GeneratorParams`, same lifecycle), without placing anything on a map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gis_service.synthetic import lifecycle, mix
from gis_service.synthetic.params import GeneratorParams
from gis_service.synthetic.world import DAY

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Arrivals:
    """Every incident of one run: its commune and category, whether it was reported before
    the end of the data, the days it was then observed open, and the reports seen about it
    (0, or the original plus the further ones in its window)."""

    commune: IntArray
    category: IntArray
    reported: BoolArray
    exposure_days: FloatArray
    reports: IntArray

    @property
    def further(self) -> IntArray:
        further: IntArray = np.maximum(self.reports - 1, 0)
        return further


def simulate_arrivals(rng: np.random.Generator, *, rate: FloatArray, rural: BoolArray,
                      expected_incidents: FloatArray, days: float, params: GeneratorParams,
                      categories: Sequence[str] = mix.DEFAULT_CATEGORIES) -> Arrivals:
    """Incidents per commune (Poisson, uniform over ``[0, days)``), each reported at its
    commune's ``rate`` (reports per day) while open; the data end at ``days``.

    >>> rng = np.random.default_rng(1)
    >>> found = simulate_arrivals(rng, rate=np.array([0.2]), rural=np.array([False]),
    ...                           expected_incidents=np.array([1000.0]), days=365,
    ...                           params=GeneratorParams())
    >>> bool(0.5 < found.reported.mean() < 0.8)
    True
    """
    profiles = mix.profiles_for(tuple(categories))
    counts = rng.poisson(expected_incidents)
    commune = np.repeat(np.arange(len(counts)), counts).astype(np.int64)
    shares = mix.setting_weights(profiles)[rural[commune].astype(np.int64)]
    category = (rng.random(len(commune))[:, None] > np.cumsum(shares, axis=1)[:, :-1]).sum(axis=1)
    occurred = rng.random(len(commune)) * days
    delay = rng.exponential(1.0 / rate[commune])
    lifetime = rng.exponential(params.unreported_lifetime_days, len(commune))
    first = occurred + delay
    reported = (delay < lifetime) & (first < days)
    drawn = lifecycle.timeline(rng, created=(DAY * first).astype(np.int64),
                               category=category.astype(np.int64), rural=rural[commune],
                               profiles=profiles, params=params)
    closes = drawn.incident_closes / DAY
    exposure = np.where(reported, np.minimum(closes, days) - first, 0.0)
    further = rng.poisson(rate[commune] * exposure)
    return Arrivals(commune=commune, category=category.astype(np.int64), reported=reported,
                    exposure_days=exposure,
                    reports=np.where(reported, 1 + further, 0).astype(np.int64))
