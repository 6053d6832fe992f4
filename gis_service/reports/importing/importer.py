"""Bulk import of reports from a file: all or nothing, set-based, every row accounted for.

:func:`import_reports` reads a CSV or GeoJSON file in the import format
(:mod:`gis_service.reports.importing.format`), checks and types every row in Python over whole
columns (:mod:`~gis_service.reports.importing.validate`), computes the H3 cells
(:mod:`~gis_service.reports.importing.cells`), COPYs the rows into a temporary staging table
(:mod:`~gis_service.reports.importing.stage`), and does the rest in SQL, one statement per step
(:mod:`~gis_service.reports.importing.sql`): snapping to the generation valid on each report's
date (in Huế's time) and to the current one, routing, deadlines, the near-boundary flag, then
the ``report``, ``report_contact`` and ``report_event`` rows.

Everything runs in the caller's transaction, inside a savepoint: an error (or ``strict`` with
any rejected row) leaves the database and the transaction as they were. Rows already stored
(same ``public_id``) are skipped, so importing a file again after a crash or a partial run
completes it without duplicating anything. Rows that cannot be stored are listed in the
summary with their row number and reason; the others are imported.

The whole file is held in memory while it is checked (about 1.6 GB for a million rows), so
files of several million reports should be split; each part is then its own all-or-nothing
unit, and duplicates may point at originals imported by an earlier part.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, func, literal, select

from gis_service.boundaries import generations
from gis_service.cells import cells_for_points
from gis_service.db.schema import calendar_day, category
from gis_service.errors import DataError
from gis_service.reports.calendar import ensure_calendar
from gis_service.reports.importing import sql as import_sql
from gis_service.reports.importing import summary as why
from gis_service.reports.importing.offline import bring_online, take_offline
from gis_service.reports.importing.read import ROW, read_rows
from gis_service.reports.importing.stage import Staging, analyze, copy_rows
from gis_service.reports.importing.summary import ImportSummary, Rejection
from gis_service.reports.importing.validate import Reference, Validated, local_days, validate
from gis_service.spatial.proximity import NEAR_BOUNDARY_M
from gis_service.spatial.types import DEFAULT_TOLERANCE_M, check_tolerance

#: The steps in order, as :data:`Progress` callbacks and ``ImportSummary.steps`` name them.
STEPS = ("read", "validate", "h3", "copy", "skip_stored", "snap", "place", "route", "due",
         "duplicates", "near_boundary", "insert_reports", "insert_contacts", "insert_events",
         "rebuild")
#: Called after each step with (step name, steps done, steps in all).
Progress = Callable[[str, int, int], None]
# Bulk statements hash a million rows: give them memory, and more time than an API request.
_BULK_SETTINGS = {"work_mem": "256MB", "statement_timeout": "15min"}
# Routing without merge joins: the planner took the rules' few (unit, category) keys for
# thousands and sorted three (report, unit) pairs per report to merge them; hashing routed a
# million reports in 6.8 s instead of 10.2 s.
_ROUTING_SETTINGS = {"enable_mergejoin": "off"}
# The offline mode's index builds sort a million rows each.
_REBUILD_SETTINGS = {"maintenance_work_mem": "512MB"}
# Calendar days needed after a report for the longest working-day deadline: two calendar days
# per working day covers weekends and Tết with room to spare.
_CALENDAR_DAYS_PER_WORKING_DAY = 2
_CALENDAR_SLACK_DAYS = 30


class ImportRejected(DataError):
    """``strict`` import of a file with rejected rows: nothing was written."""

    def __init__(self, summary: ImportSummary) -> None:
        first = summary.rejections[0]
        super().__init__(
            f"{summary.rejected:,} of {summary.rows:,} rows rejected (strict: nothing imported); "
            f"first: row {first.row}: {first.reason}: {first.detail}", field="file")
        self.summary = summary


@dataclass
class _Clock:
    """Times each step and tells the progress callback."""

    progress: Progress | None
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - began
        if self.progress is not None:
            self.progress(name, STEPS.index(name) + 1, len(STEPS))


def import_reports(
    conn: Connection,
    path: Path | str,
    *,
    batch_label: str | None = None,
    strict: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    near_boundary_m: float = NEAR_BOUNDARY_M,
    offline: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a CSV or GeoJSON file of reports in the caller's transaction; never commits.

    ``batch_label`` is stored in ``report.import_batch`` (default: the file's name) and names
    the importer in the events (``import:<label>``). With ``strict`` any rejected row raises
    :class:`ImportRejected` and nothing is written. Needs the categories, agencies and an
    active boundary generation (``gis-service reports load-config``); extends the working-day
    calendar when the file's dates need it. ``offline`` locks the report tables for the whole
    import and rebuilds their indexes and foreign keys once instead of maintaining them row by
    row (:mod:`~gis_service.reports.importing.offline`): for first loads and large back-fills.

    >>> with engine.begin() as conn:  # doctest: +SKIP
    ...     print(import_reports(conn, "history.csv").describe())
    history.csv (batch 'history.csv'): 2,013 rows, 2,013 imported, 0 already present, 0 rejected; ...
    """
    path = Path(path)
    batch = batch_label or path.name
    tolerance = check_tolerance(tolerance_m)
    clock = _Clock(progress)
    with clock.step("read"):
        raw = read_rows(path)
    reference = _reference(conn)
    with clock.step("validate"):
        checked = validate(raw, reference)
    with clock.step("h3"):
        rows = checked.rows
        for res, cells in cells_for_points(rows["lon"].to_numpy(), rows["lat"].to_numpy()).items():
            rows[f"h3_r{res}"] = cells
    with conn.begin_nested():
        notes = _ensure_calendar(conn, checked)
        outcome = _stage_and_insert(conn, checked, clock, batch=batch, tolerance_m=tolerance,
                                    near_boundary_m=near_boundary_m, strict=strict,
                                    offline=offline)
        rejections = _explain_orphans(raw.frame, checked.rejections + outcome.rejections)
        summary = ImportSummary(
            source=path.name, batch=batch, rows=raw.count, imported=outcome.imported,
            already_present=outcome.already_present, rejections=rejections,
            events=outcome.events, contacts=outcome.contacts, steps=clock.seconds, notes=notes)
        if strict and summary.rejections:
            raise ImportRejected(summary)  # leaving the savepoint rolls it back
    return summary


def _explain_orphans(frame: pd.DataFrame, rejections: tuple[Rejection, ...]
                     ) -> tuple[Rejection, ...]:
    """Sorted rejections; a duplicate orphaned by the rejection of its original says so."""
    rejected = frame[frame[ROW].isin({r.row for r in rejections})]
    row_of = rejected.drop_duplicates("public_id").set_index("public_id")[ROW].to_dict()
    original_of = frame.set_index(ROW)["duplicate_of"].to_dict()

    def explained(rejection: Rejection) -> Rejection:
        original = original_of.get(rejection.row, "")
        if rejection.reason != why.DUPLICATE_OF_UNKNOWN or original not in row_of:
            return rejection
        return Rejection(rejection.row, rejection.reason,
                         f"duplicate_of {original!r} is row {row_of[original]}, which was rejected")

    return tuple(explained(r) for r in sorted(rejections))


def _reference(conn: Connection) -> Reference:
    codes = frozenset(conn.execute(select(category.c.code)).scalars())
    if not codes:
        raise DataError("no report categories are loaded: run gis-service reports load-config "
                        "first", field="category")
    published = tuple(g for g in generations.list_generations(conn) if g.status != "draft")
    return Reference(codes, published)


def _ensure_calendar(conn: Connection, checked: Validated) -> tuple[str, ...]:
    """Extend the working-day calendar to the years the file's deadlines need, if it falls short."""
    if checked.rows.empty:
        return ()
    days = local_days(checked.rows["created_at"])
    longest = conn.execute(
        select(func.max(category.c.deadline_amount)).where(category.c.deadline_unit == "working_days")
    ).scalar() or 0
    first = days.min().astype(dt.date)
    last = days.max().astype(dt.date) + dt.timedelta(
        days=_CALENDAR_DAYS_PER_WORKING_DAY * int(longest) + _CALENDAR_SLACK_DAYS)
    covered = conn.execute(select(func.min(calendar_day.c.day), func.max(calendar_day.c.day))).one()
    if covered[0] is not None and covered[0] <= first and last <= covered[1]:
        return ()
    fill = ensure_calendar(conn, first.year, last.year)
    return (f"working-day calendar extended: {fill.describe()}",)


@contextmanager
def _local_settings(conn: Connection, settings: dict[str, str]) -> Iterator[None]:
    """Transaction-local settings for the statements of the block, restored afterwards.

    Not restored after an error: the savepoint around the import is rolled back then, and with
    it these settings (and a failed transaction would refuse the statements anyway).
    """
    before = {name: conn.execute(select(func.current_setting(literal(name)))).scalar_one()
              for name in settings}
    for name, value in settings.items():
        conn.execute(select(func.set_config(literal(name), literal(value), literal(True))))
    yield
    for name, value in before.items():
        conn.execute(select(func.set_config(literal(name), literal(value), literal(True))))


@dataclass(frozen=True)
class _Outcome:
    imported: int
    already_present: int
    rejections: tuple[Rejection, ...]
    events: int
    contacts: int


def _stage_and_insert(conn: Connection, checked: Validated, clock: _Clock, *, batch: str,
                      tolerance_m: float, near_boundary_m: float, strict: bool,
                      offline: bool) -> _Outcome:
    """Everything after the Python checks: staging, the SQL steps, the inserts.

    With ``strict``, a file with any rejected row stops before the inserts (its summary still
    lists every rejection, those the SQL steps found included).
    """
    if checked.rows.empty:
        return _Outcome(0, 0, (), 0, 0)
    current = generations.active(conn)
    st = Staging.named()
    with _local_settings(conn, _BULK_SETTINGS):
        # Locked first, so that nothing changes the tables between the checks and the inserts.
        taken = take_offline(conn) if offline else None
        st.create(conn)
        with clock.step("copy"):
            copy_rows(conn, st.rows, checked.rows)
            analyze(conn, st.rows)
        with clock.step("skip_stored"):
            stored = import_sql.drop_stored(conn, st)
        with clock.step("snap"):
            used = import_sql.generations_used(conn, st)
            import_sql.snap(conn, st, used, current.id, tolerance_m)
            analyze(conn, st.snap)
        with clock.step("place"):
            import_sql.place(conn, st, current.id, tolerance_m)
            analyze(conn, st.place)
        with clock.step("route"), _local_settings(conn, _ROUTING_SETTINGS):
            import_sql.route(conn, st)
            analyze(conn, st.route)
        with clock.step("due"):
            import_sql.due(conn, st)
            analyze(conn, st.due)
        with clock.step("duplicates"):
            import_sql.drop_orphan_duplicates(conn, st)
        rejected = tuple(Rejection(*row) for row in import_sql.rejected(conn, st))
        if strict and (rejected or checked.rejections):
            # The caller raises ImportRejected; its savepoint rolls back, offline drops included.
            return _Outcome(0, stored, rejected, 0, 0)
        with clock.step("near_boundary"):
            import_sql.near(conn, st, current.id, near_boundary_m)
            analyze(conn, st.near)
        exclusive = taken is not None
        with clock.step("insert_reports"):
            imported = import_sql.insert_reports(conn, st, batch, exclusive=exclusive)
        with clock.step("insert_contacts"):
            contacts = import_sql.insert_contacts(conn, st, exclusive=exclusive)
        with clock.step("insert_events"):
            events = import_sql.insert_events(conn, st, f"import:{batch}", exclusive=exclusive)
        with clock.step("rebuild"):
            if taken is not None:
                with _local_settings(conn, _REBUILD_SETTINGS):
                    bring_online(conn, taken)
        standing = import_sql.count(conn, st.place)
        st.drop(conn)
    # Rows that conflicted on insert were stored meanwhile by another transaction.
    return _Outcome(imported, stored + standing - imported, rejected, events, contacts)
