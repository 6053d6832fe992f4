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

    @classmethod
    def join(cls, first: Outcome, second: Outcome, order: IntArray) -> Outcome:
        """Both outcomes' rows, concatenated and then reordered by ``order``."""
        return cls(*(np.concatenate([getattr(first, name), getattr(second, name)])[order]
                     for name in cls.__dataclass_fields__))


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


@dataclass(frozen=True)
class Timeline:
    """The candidate times of original reports before the cut at "now": when each would be
    answered, resolved and closed, and the draws that decide its path (rejected, reopened)."""

    response: IntArray
    resolved: IntArray
    closed: IntArray
    score: npt.NDArray[np.int8]
    rated: BoolArray
    reopened: BoolArray
    rejected: BoolArray

    @property
    def incident_closes(self) -> IntArray:
        """When residents stop reporting the incident: a rejected report ends it at the answer,
        any other at its resolution (the observation window of the reporting-rate estimate)."""
        return np.where(self.rejected, self.response, self.resolved)

    def take(self, rows: IntArray) -> Timeline:
        return Timeline(*(getattr(self, name)[rows] for name in self.__dataclass_fields__))


def timeline(rng: np.random.Generator, *, created: IntArray, category: IntArray,
             rural: BoolArray, profiles: Sequence[CategoryProfile], params: GeneratorParams
             ) -> Timeline:
    """Candidate response, resolution and closing times of reports made at ``created``."""
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
    return Timeline(response, resolved, closed, score, rated, reopened, rejected)


def originals(drawn: Timeline, now: int) -> Outcome:
    """The outcome as of ``now`` of original reports with candidate times ``drawn``."""
    response, resolved, closed = drawn.response, drawn.resolved, drawn.closed
    rejected, reopened = drawn.rejected, drawn.reopened
    # Cut at now, most decisive condition first.
    conditions = [response > now, rejected, resolved > now, closed > now, reopened]
    status = np.select(conditions, ["received", "rejected", "", "resolved", "reopened"],
                       "closed").astype(object)
    working = status == ""
    status[working] = _open_status(now, response[working], resolved[working])
    answered = response <= now
    done = answered & ~rejected & (resolved <= now)
    rated_by_now = done & (closed <= now) & drawn.rated
    finished = done & ~reopened & (closed <= now)
    return Outcome(
        status=status,
        first_response=np.where(answered, response, MISSING),
        resolved=np.where(done, resolved, MISSING),
        closed=np.where(finished, closed, MISSING),
        satisfaction=np.where(rated_by_now, drawn.score, 0).astype(np.int8),
    )


def duplicates(rng: np.random.Generator, created: IntArray, now: int) -> Outcome:
    """Duplicates are merged into their original a few hours after they arrive."""
    n = len(created)
    merged = created + _lognormal_seconds(rng, np.full(n, HOUR * MERGE_MEDIAN_HOURS), 0.8)
    return Outcome(
        status=np.full(n, "duplicate", dtype=object),
        first_response=np.where(merged <= now, merged, MISSING),
        resolved=np.full(n, MISSING, dtype=np.int64),
        closed=np.full(n, MISSING, dtype=np.int64),
        satisfaction=np.zeros(n, dtype=np.int8),
    )
