"""Agency scorecards: how each agency, ward or category handles the reports it receives.

The reports counted are those **created** in ``[start, end)`` (Huế dates mean midnight in
Huế); statuses are as they are now, and "now" (``now``) is when the card is made. Reports
marked ``duplicate`` are counted in the volume only: the original is handled, not the copy.
Cells are an agency (the report's routed agency), a commune of the current generation (the
report's ward, with its urban or rural *setting*), a category, or a setting (urban wards
against rural communes, on the same footing). Definitions:

- **volume**: reports created (duplicates included, and counted apart), by channel and by
  category.
- **resolved**: reports whose handling is complete (status ``resolved`` or ``closed``); their
  *completion* is ``resolved_at``, or ``closed_at`` for a report closed without ever being
  marked resolved. A report reopened and not yet resolved again is open, not resolved.
- **on-time**: resolved reports completed at or before ``due_at``, over resolved reports.
  Split into *early* (completed on a Huế date before the due date), *on the due day* (the due
  date, at or before ``due_at``) and *late* (after ``due_at``). Beside it, the **share of open
  reports already overdue** (``due_at`` before now).
- **time to first response** (``first_response_at`` − ``created_at``, over reports with a
  response) and **time to resolution** (completion − ``created_at``, over resolved reports):
  median and 90th percentile (linear interpolation) in **working hours**
  (:mod:`gis_service.reports.working_hours`: 8 hours a working day, 07:00–11:30 and
  13:30–17:00 Huế time, on the deadlines' calendar, so Tết and weekends count nothing).
  Always given **per category**, beside a figure labelled ``all_categories_pooled`` (a pool
  over the cell's category mix, not comparable between cells with different mixes).
- **backlog**: reports open now (received, accepted, assigned, in progress, reopened),
  bucketed against ``due_at``: ``not_yet_due``, and overdue by ``0–5``, ``5–20`` and ``> 20``
  working days (working hours past ``due_at`` / 8; a bucket's upper bound is inclusive), with
  the **oldest open report** (earliest created) and its age in working days.
- **reopen rate**: reports resolved at least once (a ``resolved`` event, or a completion) that
  were reopened within 30 days (calendar days) after a resolution, over those resolved at
  least once.
- **satisfaction**: among rated reports (the latest rating, 1–5), the share *satisfied* (4–5)
  and the share *accepting* (3–5: Huế's "satisfied + acceptable"), always beside the **rating
  coverage**: rated over resolved at least once.
- **small numbers**: a cell with fewer than :data:`MIN_RESOLVED` (20) resolved reports is
  ``too_few``: its figures are given with their intervals but it is never ranked. Every rate
  carries a 95% **Wilson** score interval.
- **fair comparison** (indirect standardisation): the province-wide on-time rate of each
  category (over every cell) gives each cell an **expected** number of on-time reports for
  its own category mix (Σ resolved in category × the province's rate for it); the
  **observed/expected** ratio (1 = as punctual as the province would be with the same
  categories) comes with an interval (the Wilson interval of the observed rate, times resolved
  / expected, the province's rates taken as known), and the **standardised on-time rate** is
  the ratio times the province's overall on-time rate. Cells are **ranked** (1 = best) by that
  ratio, or, in the by-category card where there is no mix to correct for, by the on-time rate.

>>> card = scorecards(conn, by="agency")
>>> ranked = [cell for cell in card.cells if cell.rank is not None]
>>> ranked[0].rank, ranked[0].too_few, ranked[0].standardised.ratio >= ranked[-1].standardised.ratio
(1, False, True)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from gis_service.analysis.selection import TimeBound, as_instant
from gis_service.analysis.sql import scorecards as sql
from gis_service.db.schema import CHANNELS
from gis_service.errors import InvalidInput
from gis_service.reports.lifecycle import OPEN_STATUSES
from gis_service.reports.working_hours import (
    HOURS_PER_DAY,
    day_range,
    local_dates,
    working_clock,
)

GROUPINGS = ("agency", "commune", "category", "setting")
#: Fewer resolved reports than this in a cell: shown as too few, never ranked.
MIN_RESOLVED = 20
#: The 97.5th percentile of the standard normal: 95% two-sided intervals.
Z95 = 1.959963984540054
#: Upper bounds (inclusive) of the overdue buckets, in working days past ``due_at``.
OVERDUE_BUCKETS = (("overdue_0_5", 5.0), ("overdue_5_20", 20.0), ("overdue_over_20", math.inf))
SATISFIED_FROM, ACCEPTING_FROM = 4, 3
POOLED = "all_categories_pooled"

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]


# -- the figures -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Proportion:
    """``count`` of ``total`` with its 95% Wilson interval (None when ``total`` is 0)."""

    count: int
    total: int
    rate: float | None
    low: float | None
    high: float | None


def wilson(count: int, total: int, z: float = Z95) -> Proportion:
    """The Wilson score interval of ``count`` successes in ``total`` trials.

    >>> wilson(8, 10).low, wilson(8, 10).high  # doctest: +ELLIPSIS
    (0.4901..., 0.9433...)
    """
    if total == 0:
        return Proportion(count, total, None, None, None)
    p = count / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z / (1 + z * z / total) * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return Proportion(count, total, p, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Hours:
    """Median and 90th percentile of working hours over ``reports`` (None when none)."""

    reports: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Durations:
    """Per category, and pooled over the cell's categories (labelled so)."""

    all_categories_pooled: Hours
    by_category: dict[str, Hours]


@dataclass(frozen=True)
class Volume:
    reports: int
    originals: int
    duplicates: int
    by_channel: dict[str, int]
    by_category: dict[str, int]


@dataclass(frozen=True)
class OnTime:
    on_time: Proportion
    early: int
    on_due_day: int
    late: int
    open_overdue: Proportion


@dataclass(frozen=True)
class Standardised:
    """Indirect standardisation of the on-time rate by the province's category rates."""

    observed: int
    expected: float | None
    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None
    rate: float | None
    rate_low: float | None
    rate_high: float | None


@dataclass(frozen=True)
class OldestOpen:
    public_id: str
    created_at: dt.datetime
    due_at: dt.datetime
    age_working_days: float
    overdue_working_days: float | None


@dataclass(frozen=True)
class Backlog:
    open: int
    not_yet_due: int
    overdue_0_5: int
    overdue_5_20: int
    overdue_over_20: int
    oldest: OldestOpen | None


@dataclass(frozen=True)
class Satisfaction:
    satisfied: Proportion
    accepting: Proportion
    coverage: Proportion


@dataclass(frozen=True)
class Cell:
    """One agency's, commune's, category's or setting's card."""

    key: str
    name: str
    setting: str | None
    too_few: bool
    rank: int | None
    volume: Volume
    on_time: OnTime
    standardised: Standardised
    first_response_hours: Durations
    resolution_hours: Durations
    backlog: Backlog
    reopened_30d: Proportion
    satisfaction: Satisfaction


@dataclass(frozen=True)
class Scorecards:
    """The cells of one grouping, best first (unranked cells last), and the province's card."""

    by: str
    start: dt.datetime | None
    end: dt.datetime | None
    now: dt.datetime
    province: Cell
    province_on_time_by_category: dict[str, Proportion]
    cells: list[Cell]


# -- the reports as columns ------------------------------------------------------------------

#: What :func:`gis_service.analysis.sql.scorecards.report_columns` returns: a list per column.
Fetched = dict[str, list[Any]]


@dataclass(frozen=True)
class _Columns:
    """Per-report arrays, every metric's flags computed once for all reports."""

    raw: Fetched
    category: npt.NDArray[np.str_]
    channel: npt.NDArray[np.str_]
    original: BoolArray
    completed: BoolArray
    on_time: BoolArray
    early: BoolArray
    open: BoolArray
    overdue: BoolArray
    response_h: FloatArray
    resolution_h: FloatArray
    overdue_days: FloatArray
    age_days: FloatArray
    created_s: FloatArray
    ever_resolved: BoolArray
    reopened: BoolArray
    rating: FloatArray


def _floats(values: list[Any]) -> FloatArray:
    return np.array(values, dtype=np.float64)  # None becomes NaN


def _columns(raw: Fetched, now: dt.datetime) -> _Columns:
    status = np.array(raw["status"], dtype=str)
    created, due = _floats(raw["created_s"]), _floats(raw["due_s"])
    responded, done = _floats(raw["responded_s"]), _floats(raw["completed_s"])
    now_s = np.full(len(status), now.timestamp())
    first, last = day_range(created, due, responded, done, now_s)
    clock = {name: working_clock(values, first, last) for name, values in
             (("created", created), ("due", due), ("responded", responded), ("done", done),
              ("now", now_s))}
    original = status != "duplicate"
    completed = original & ~np.isnan(done)
    on_time = completed & (done <= due)  # NaN compares False
    is_open = np.isin(status, OPEN_STATUSES)
    overdue = is_open & (due < now_s)
    ever_resolved = original & (np.array(raw["resolved_event"], dtype=bool) | completed)
    return _Columns(
        raw=raw, category=np.array(raw["category"], dtype=str),
        channel=np.array(raw["channel"], dtype=str),
        original=original, completed=completed, on_time=on_time,
        early=completed & (local_dates(done) < local_dates(due)), open=is_open, overdue=overdue,
        response_h=np.where(original, clock["responded"] - clock["created"], np.nan),
        resolution_h=np.where(completed, clock["done"] - clock["created"], np.nan),
        overdue_days=np.where(overdue, (clock["now"] - clock["due"]) / HOURS_PER_DAY, np.nan),
        age_days=(clock["now"] - clock["created"]) / HOURS_PER_DAY, created_s=created,
        ever_resolved=ever_resolved,
        reopened=ever_resolved & np.array(raw["reopened_30d"], dtype=bool),
        rating=np.where(original, _floats(raw["satisfaction"]), np.nan))


# -- one cell --------------------------------------------------------------------------------

def _count(flags: BoolArray, idx: IndexArray) -> int:
    return int(flags[idx].sum())


def _hours(values: FloatArray) -> Hours:
    present = values[~np.isnan(values)]
    if not len(present):
        return Hours(0, None, None)
    median, p90 = np.percentile(present, [50, 90])
    return Hours(len(present), float(median), float(p90))


def _durations(values: FloatArray, cols: _Columns, idx: IndexArray) -> Durations:
    categories = cols.category[idx]
    return Durations(_hours(values[idx]), {
        code: _hours(values[idx[categories == code]]) for code in sorted(set(categories.tolist()))})


def _tally(labels: npt.NDArray[np.str_], order: Sequence[str] | None = None) -> dict[str, int]:
    codes, counts = np.unique(labels, return_counts=True)
    found = dict(zip(codes.tolist(), (int(n) for n in counts), strict=True))
    return found if order is None else {code: found.get(code, 0) for code in order}


def _volume(cols: _Columns, idx: IndexArray) -> Volume:
    originals = _count(cols.original, idx)
    return Volume(len(idx), originals, len(idx) - originals, _tally(cols.channel[idx], CHANNELS),
                  _tally(cols.category[idx]))


def _on_time(cols: _Columns, idx: IndexArray) -> OnTime:
    resolved, on_time, early = (_count(flags, idx) for flags in
                                (cols.completed, cols.on_time, cols.early))
    return OnTime(wilson(on_time, resolved), early, on_time - early, resolved - on_time,
                  wilson(_count(cols.overdue, idx), _count(cols.open, idx)))


def _standardised(cols: _Columns, idx: IndexArray, reference: _Reference) -> Standardised:
    resolved = idx[cols.completed[idx]]
    observed = _count(cols.on_time, resolved)
    expected = float(sum(reference.category_rate[code] for code in cols.category[resolved]))
    if expected <= 0:
        return Standardised(observed, expected if len(resolved) else None,
                            None, None, None, None, None, None)
    interval = wilson(observed, len(resolved))
    scale = len(resolved) / expected
    ratio, low, high = observed / expected, (interval.low or 0.0) * scale, (interval.high or 0.0) * scale
    overall = reference.overall_rate
    return Standardised(observed, expected, ratio, low, high, ratio * overall, low * overall,
                        high * overall)


def _oldest(cols: _Columns, idx: IndexArray) -> OldestOpen | None:
    waiting = idx[cols.open[idx]]
    if not len(waiting):
        return None
    first = int(waiting[np.argmin(cols.created_s[waiting])])
    overdue = cols.overdue_days[first]
    return OldestOpen(cols.raw["public_id"][first], cols.raw["created_at"][first],
                      cols.raw["due_at"][first], float(cols.age_days[first]),
                      None if np.isnan(overdue) else float(overdue))


def _backlog(cols: _Columns, idx: IndexArray) -> Backlog:
    days = cols.overdue_days[idx[cols.overdue[idx]]]
    buckets, lower = {}, -math.inf
    for name, upper in OVERDUE_BUCKETS:
        buckets[name] = int(((days > lower) & (days <= upper)).sum())
        lower = upper
    waiting = _count(cols.open, idx)
    return Backlog(waiting, waiting - len(days), buckets["overdue_0_5"], buckets["overdue_5_20"],
                   buckets["overdue_over_20"], _oldest(cols, idx))


def _satisfaction(cols: _Columns, idx: IndexArray) -> Satisfaction:
    ratings = cols.rating[idx]
    rated = int((~np.isnan(ratings)).sum())
    return Satisfaction(wilson(int((ratings >= SATISFIED_FROM).sum()), rated),
                        wilson(int((ratings >= ACCEPTING_FROM).sum()), rated),
                        wilson(rated, _count(cols.ever_resolved, idx)))


@dataclass(frozen=True)
class _Reference:
    """The province's on-time rates: per category, and overall."""

    category_rate: dict[str, float]
    overall_rate: float
    by_category: dict[str, Proportion]


def _reference(cols: _Columns) -> _Reference:
    by_category = {code: wilson(int((cols.on_time & (cols.category == code)).sum()),
                                int((cols.completed & (cols.category == code)).sum()))
                   for code in sorted(set(cols.category[cols.completed].tolist()))}
    overall = wilson(int(cols.on_time.sum()), int(cols.completed.sum()))
    return _Reference({code: p.rate or 0.0 for code, p in by_category.items()},
                      overall.rate or 0.0, by_category)


@dataclass(frozen=True)
class _Label:
    key: str
    name: str
    setting: str | None


def _cell(cols: _Columns, idx: IndexArray, label: _Label, reference: _Reference) -> Cell:
    on_time = _on_time(cols, idx)
    return Cell(
        key=label.key, name=label.name, setting=label.setting,
        too_few=on_time.on_time.total < MIN_RESOLVED, rank=None, volume=_volume(cols, idx),
        on_time=on_time, standardised=_standardised(cols, idx, reference),
        first_response_hours=_durations(cols.response_h, cols, idx),
        resolution_hours=_durations(cols.resolution_h, cols, idx),
        backlog=_backlog(cols, idx), reopened_30d=wilson(_count(cols.reopened, idx),
                                                         _count(cols.ever_resolved, idx)),
        satisfaction=_satisfaction(cols, idx))


# -- groupings and ranks ---------------------------------------------------------------------

_UNKNOWN_SETTING = "unknown"


#: Per grouping: the columns of a cell's key, its name, and its setting (None: no setting).
_KEY_COLUMNS = {"agency": ("agency_code", "agency_name", None),
                "commune": ("commune_code", "commune_name", "setting"),
                "category": ("category", "category_name", None),
                "setting": ("setting", "setting", "setting")}


def _groups(raw: Fetched, by: str) -> list[tuple[_Label, IndexArray]]:
    """Each cell's label and report positions (ascending, so in id order)."""
    key_column, name_column, setting_column = _KEY_COLUMNS[by]
    keys = np.array([key or _UNKNOWN_SETTING for key in raw[key_column]], dtype=str)
    if not len(keys):
        return []
    codes, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    members = np.split(np.argsort(inverse, kind="stable"),
                       np.cumsum(np.bincount(inverse))[:-1])
    return [(_Label(str(code), str(raw[name_column][at] or code),
                    (raw[setting_column][at] or _UNKNOWN_SETTING) if setting_column else None),
             idx.astype(np.intp))
            for code, at, idx in zip(codes.tolist(), first.tolist(), members, strict=True)]


def _score(cell: Cell, by: str) -> float | None:
    if cell.too_few:
        return None
    return cell.on_time.on_time.rate if by == "category" else cell.standardised.ratio


def _ranked(cells: list[Cell], by: str) -> list[Cell]:
    """Competition ranks (1 = best, ties share a rank); too-few cells get none."""
    scores = {cell.key: _score(cell, by) for cell in cells}
    known = [score for score in scores.values() if score is not None]
    ranked = [_with_rank(cell, scores[cell.key], known) for cell in cells]
    return sorted(ranked, key=lambda c: (c.rank is None, c.rank or 0, c.key))


def _with_rank(cell: Cell, score: float | None, known: list[float]) -> Cell:
    if score is None:
        return cell
    return dataclasses.replace(cell, rank=1 + sum(other > score for other in known))


def _check(by: str, start: TimeBound | None, end: TimeBound | None
           ) -> tuple[dt.datetime | None, dt.datetime | None]:
    if by not in GROUPINGS:
        raise InvalidInput(f"by must be one of {', '.join(GROUPINGS)}", field="by")
    begin, finish = as_instant(start), as_instant(end)
    if begin is not None and finish is not None and begin >= finish:
        raise InvalidInput("from must be before to", field="from")
    return begin, finish


def scorecards(conn: Connection, *, by: str = "agency", start: TimeBound | None = None,
               end: TimeBound | None = None, now: dt.datetime | None = None) -> Scorecards:
    """The scorecard of every agency, commune, category or setting (``by``) for the reports
    created in ``[start, end)``, as of ``now`` (default: the current time); see the module
    docstring for every definition.

    >>> card = scorecards(conn, by="setting")
    >>> sorted(cell.key for cell in card.cells), card.province.volume.reports > 0
    (['rural', 'urban'], True)
    """
    begin, finish = _check(by, start, end)
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise InvalidInput("now needs a time zone", field="now")
    raw = sql.report_columns(conn, sql.Scope(begin, finish))
    cols = _columns(raw, now)
    reference = _reference(cols)
    everything = np.arange(len(cols.category), dtype=np.intp)
    province = _cell(cols, everything, _Label("province", "province", None), reference)
    cells = [_cell(cols, idx, label, reference) for label, idx in _groups(raw, by)]
    return Scorecards(by, begin, finish, now, province, reference.by_category,
                      _ranked(cells, by))




def commune_geometries(conn: Connection, card: Scorecards) -> dict[str, str]:
    """The polygons (GeoJSON text) of the communes a by-commune card covers, by code."""
    return sql.commune_polygons(conn, sql.Scope(card.start, card.end))


__all__ = ["GROUPINGS", "MIN_RESOLVED", "Cell", "Proportion", "Scorecards", "commune_geometries",
           "scorecards", "wilson"]
