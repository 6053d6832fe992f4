"""How well duplicate grouping finds the incidents: pairwise precision and recall against known
incident ids (the synthetic generator's), in dense and sparse places.

Every duplicate-based rate rests on the grouping: merging two incidents into one group makes
an incident look reported twice (the rate goes up), splitting one makes duplicates look like
new incidents (it goes down). Two groupings are scored:

- the **links** the estimators use (``duplicate_of``, set by staff when they mark a report a
  duplicate; on generated data, the generator's own links);
- the **intake rule** that proposes those links (:mod:`gis_service.reports.duplicates`: an open
  report of the same category within ``radius_m`` and ``window``, nearest first), applied as if
  staff always accepted the nearest proposal: :func:`rule_groups`.

Pairwise scores (as for clustering): over all pairs of reports, precision is the share of
pairs put in one group that are one incident, recall the share of pairs of one incident put
in one group.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from gis_service.reports.duplicates import RADIUS_M, WINDOW
from gis_service.reports.importing.format import ENCODING

IntArray = npt.NDArray[np.int64]
_METRES_PER_DEGREE = 111_320.0

__all__ = ["PairScores", "generated_reports", "grouping_quality", "pair_scores", "rule_groups"]


@dataclass(frozen=True)
class PairScores:
    """Pairwise precision and recall of a grouping, with the pair counts behind them."""

    precision: float
    recall: float
    grouped_pairs: int
    true_pairs: int


def _pairs(labels: IntArray) -> int:
    counts = np.unique(labels, return_counts=True)[1].astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def pair_scores(predicted: npt.ArrayLike, truth: npt.ArrayLike) -> PairScores:
    """Pairwise precision and recall of ``predicted`` group labels against ``truth``.

    >>> scores = pair_scores([1, 1, 1, 2], [7, 7, 8, 8])
    >>> round(scores.precision, 3), scores.recall
    (0.333, 0.5)
    """
    p, t = np.asarray(predicted), np.asarray(truth)
    _, p_codes = np.unique(p, return_inverse=True)
    _, t_codes = np.unique(t, return_inverse=True)
    both = p_codes.astype(np.int64) * (int(t_codes.max(initial=0)) + 1) + t_codes
    agreed, grouped, true = _pairs(both), _pairs(p_codes), _pairs(t_codes)
    return PairScores(precision=agreed / grouped if grouped else math.nan,
                      recall=agreed / true if true else math.nan,
                      grouped_pairs=grouped, true_pairs=true)


def _metres(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
            ) -> npt.NDArray[np.float64]:
    """Local equirectangular metres: over a province, off by well under 1% at 250 m."""
    scale = math.cos(math.radians(float(np.mean(lat))))
    return np.column_stack([lon * _METRES_PER_DEGREE * scale, lat * _METRES_PER_DEGREE])


def rule_groups(reports: pd.DataFrame, *, radius_m: float = RADIUS_M,
                window: dt.timedelta = WINDOW) -> IntArray:
    """Group reports as the intake rule would with staff accepting its nearest proposal.

    ``reports`` has ``lon``, ``lat``, ``category``, ``created_at`` and ``closes_at`` (when the
    report stopped being open: resolved, or rejected; NaT while open). In time order, a report
    joins the nearest earlier *original* of its category within ``radius_m`` and ``window``
    that is still open at its time; otherwise it is a new original. Returns each report's
    group (the row position of its original).
    """
    order = np.argsort(reports["created_at"].to_numpy(), kind="stable")
    created = reports["created_at"].to_numpy()[order]
    closes = reports["closes_at"].to_numpy()[order]
    category = reports["category"].to_numpy()[order]
    xy = _metres(reports["lon"].to_numpy(float)[order], reports["lat"].to_numpy(float)[order])
    group = _link_nearest_open(_candidate_pairs(xy, created, closes, category, radius_m=radius_m,
                                                window=window),
                               xy, len(order))
    out = np.empty(len(order), dtype=np.int64)
    out[order] = order[group]
    return out


def _candidate_pairs(xy: npt.NDArray[np.float64], created: npt.NDArray[np.datetime64],
                     closes: npt.NDArray[np.datetime64], category: npt.NDArray[np.object_], *,
                     radius_m: float, window: dt.timedelta) -> IntArray:
    """(earlier, later) pairs, rows in time order, that the rule could link: within the radius,
    same category, the later one made within the window and while the earlier one was open."""
    pairs = cKDTree(xy).query_pairs(radius_m, output_type="ndarray").astype(np.int64)
    pairs.sort(axis=1)
    first, later = pairs[:, 0], pairs[:, 1]
    span = np.timedelta64(int(window.total_seconds()), "s")
    # Open at the later report's time: NaT (still open) compares False, so ~(closes <= t) holds.
    keep = ((category[first] == category[later]) & (created[later] - created[first] <= span)
            & ~(closes[first] <= created[later]))
    kept: IntArray = pairs[keep]
    return kept


def _link_nearest_open(pairs: IntArray, xy: npt.NDArray[np.float64], size: int) -> IntArray:
    """Each row's group: the group of the nearest candidate that is itself an original (in
    time order, so a candidate's own fate is known when it is needed), else its own."""
    distance = ((xy[pairs[:, 0]] - xy[pairs[:, 1]]) ** 2).sum(axis=1)
    pairs = pairs[np.lexsort((distance, pairs[:, 1]))]
    group = np.arange(size, dtype=np.int64)
    original = np.ones(size, dtype=bool)
    for earlier, later in pairs.tolist():
        if original[later] and group[later] == later and original[earlier]:
            group[later], original[later] = earlier, False
    return group


def generated_reports(reports_path: Path, incidents_path: Path) -> pd.DataFrame:
    """A generated history's reports with what grouping needs: ``public_id``, ``lon``, ``lat``,
    ``category``, ``created_at``, ``closes_at``, ``link`` (the original's public id, by
    ``duplicate_of``), and the truth: ``incident_id`` and its commune's ``setting``."""
    reports = pd.read_csv(reports_path, dtype=str, keep_default_na=False, encoding=ENCODING)
    incidents = pd.read_csv(incidents_path, dtype=str, keep_default_na=False,
                            encoding=ENCODING).set_index("incident_id")
    resolved = pd.to_datetime(reports["resolved_at"].replace("", None), utc=True)
    answered = pd.to_datetime(reports["first_response_at"].replace("", None), utc=True)
    closes = resolved.where(reports["status"] != "rejected", answered)
    return pd.DataFrame({
        "public_id": reports["public_id"], "lon": reports["lon"].astype(float),
        "lat": reports["lat"].astype(float), "category": reports["category"],
        "created_at": pd.to_datetime(reports["created_at"], utc=True), "closes_at": closes,
        "link": reports["duplicate_of"].where(reports["duplicate_of"] != "", reports["public_id"]),
        "incident_id": reports["incident_id"],
        "setting": incidents["setting"].reindex(reports["incident_id"]).to_numpy()})


def grouping_quality(reports: pd.DataFrame, radii_m: Sequence[float] = (RADIUS_M,),
                     window: dt.timedelta = WINDOW) -> pd.DataFrame:
    """Pairwise precision and recall per setting of the ``duplicate_of`` links and of the intake
    rule at each radius (rows: grouping, setting, precision, recall, grouped_pairs, true_pairs).

    >>> grouping_quality(generated_reports(path, incidents), (250, 150))  # doctest: +SKIP
    """
    groupings = {"links": reports["link"].to_numpy()}
    for radius in radii_m:
        groupings[f"rule {radius:g} m"] = rule_groups(reports, radius_m=radius, window=window)
    rows = []
    for name, labels in groupings.items():
        for setting in ("urban", "rural"):
            mine = (reports["setting"] == setting).to_numpy()
            scores = pair_scores(labels[mine], reports["incident_id"].to_numpy()[mine])
            rows.append({"grouping": name, "setting": setting, **dataclasses.asdict(scores)})
    return pd.DataFrame(rows)
