"""What happened to each report by "now": status, response and resolution times, rating.

Times are whole seconds on Vietnam's clock (UTC+7) since 1970-01-01; :data:`MISSING` marks a
time not (yet) reached. An original report's candidate timeline is drawn first (response after
a log-normal delay around its category's median, rural communes slower; resolution likewise;
closing a few days later), then cut at ``now``: a report whose response lies in the future is
still ``received``, one whose resolution does is ``accepted``/``assigned``/``in_progress``, and
so on. Satisfaction falls with the time to resolution relative to the category's urban median,
so rural slowness shows up in ratings too; a resident who rates 1 or 2 may reopen the report.
Duplicates are merged into their original after a short delay and carry no outcome of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gis_service.synthetic.mix import CategoryProfile
from gis_service.synthetic.params import GeneratorParams

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
MISSING = np.iinfo(np.int64).min
HOUR, DAY = 3600, 86400
# Mean satisfaction of a report resolved in exactly its category's urban median time.
SATISFACTION_AT_MEDIAN = 4.1
# Staff merge a duplicate into its original after a few hours (log-normal median).
MERGE_MEDIAN_HOURS = 3.0


@dataclass(frozen=True)
class Outcome:
    """Per report: status text, lifecycle times (or MISSING) and satisfaction (0 = none)."""

    status: npt.NDArray[np.object_]
    first_response: IntArray
    resolved: IntArray
    closed: IntArray
    satisfaction: npt.NDArray[np.int8]


def _lognormal_seconds(rng: np.random.Generator, median_s: npt.NDArray[np.float64], sigma: float
                       ) -> IntArray:
    return (median_s * np.exp(sigma * rng.standard_normal(len(median_s)))).astype(np.int64)


def _ratings(rng: np.random.Generator, elapsed_s: IntArray, urban_median_s: npt.NDArray[np.float64],
             params: GeneratorParams) -> npt.NDArray[np.int8]:
    slowness = np.log(np.maximum(elapsed_s, 60) / urban_median_s)
    mean = SATISFACTION_AT_MEDIAN - params.satisfaction_slope * slowness
    score = np.rint(mean + params.satisfaction_noise * rng.standard_normal(len(mean)))
    return np.clip(score, 1, 5).astype(np.int8)


def _open_status(now: int, response: IntArray, resolved: IntArray) -> npt.NDArray[np.object_]:
    """Status of reports answered but not yet resolved, by how far along the work is."""
    progress = (now - response) / np.maximum(resolved - response, 1)
    return np.select([progress < 0.1, progress < 0.3], ["accepted", "assigned"],
                     "in_progress").astype(object)


def simulate(rng: np.random.Generator, *, created: IntArray, category: IntArray,
             rural: BoolArray, duplicate: BoolArray, now: int,
             profiles: Sequence[CategoryProfile], params: GeneratorParams) -> Outcome:
    """The outcome of every report as of ``now``."""
    n = len(created)
    response_h = np.array([p.response_hours for p in profiles])[category]
    resolution_d = np.array([p.resolution_days for p in profiles])[category]
    response = created + _lognormal_seconds(
        rng, HOUR * response_h * np.where(rural, params.rural_response_factor, 1.0),
        params.response_sigma)
    resolved = response + _lognormal_seconds(
        rng, DAY * resolution_d * np.where(rural, params.rural_resolution_factor, 1.0),
        params.resolution_sigma)
    closed = resolved + (DAY * rng.exponential(params.close_delay_days, n)).astype(np.int64)
    score = _ratings(rng, resolved - created, HOUR * response_h + DAY * resolution_d, params)
    rated = rng.random(n) < np.where(rural, params.rural_rated_share, params.urban_rated_share)
    reopened = rated & (score <= 2) & (rng.random(n) < params.reopen_if_unhappy)
    rejected = rng.random(n) < params.rejected_share
    merged = created + _lognormal_seconds(rng, np.full(n, HOUR * MERGE_MEDIAN_HOURS), 0.8)

    # Cut at now, most decisive condition first.
    conditions = [
        duplicate,
        response > now,
        rejected,
        resolved > now,
        closed > now,
        reopened,
    ]
    status = np.select(conditions, ["duplicate", "received", "rejected", "", "resolved",
                                    "reopened"], "closed").astype(object)
    working = status == ""
    status[working] = _open_status(now, response[working], resolved[working])
    answered = ~duplicate & (response <= now)
    done = answered & ~rejected & (resolved <= now)
    rated_by_now = done & (closed <= now) & rated
    finished = done & ~reopened & (closed <= now)
    return Outcome(
        status=status,
        first_response=np.select([answered, duplicate & (merged <= now)], [response, merged],
                                 MISSING),
        resolved=np.where(done, resolved, MISSING),
        closed=np.where(finished, closed, MISSING),
        satisfaction=np.where(rated_by_now, score, 0).astype(np.int8),
    )
