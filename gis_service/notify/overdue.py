"""The worker's periodic overdue check: one ``overdue`` event (and its outbox rows) per report
and deadline that passed.

Idempotent by ``overdue_notice`` (primary key: report, deadline): running it again, or in two
workers at once, writes nothing new; a report given a new deadline (reopened) can become
overdue again. Imported reports are left out: imported history does not notify (an import of
last year's open reports would otherwise page every agency at once); they still appear in
``gis-service reports escalate``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, DateTime, Select, Text, bindparam, exists, func, literal, select
from sqlalchemy.dialects.postgresql import insert

from gis_service.db.schema import overdue_notice, report, report_event
from gis_service.notify.outbox import enqueue
from gis_service.reports.calendar import TIMEZONE
from gis_service.reports.lifecycle import DEADLINE_STATUSES

OVERDUE_ACTOR = "system:overdue"


def due_reports(now: dt.datetime) -> Select[tuple[int, dt.datetime]]:
    """Open live reports past their deadline at ``now`` whose deadline was not noticed yet
    (the index ``ix_report_open_due`` covers the predicate: keep them in step)."""
    return (
        select(report.c.id, report.c.due_at)
        .where(report.c.status.in_(DEADLINE_STATUSES),
               report.c.due_at < bindparam("now", now, DateTime(timezone=True)),
               report.c.import_batch.is_(None),
               ~exists().where(overdue_notice.c.report_id == report.c.id,
                               overdue_notice.c.due_at == report.c.due_at))
    )


def mark_overdue(conn: Connection, now: dt.datetime) -> list[int]:
    """Write the ``overdue`` events of open reports whose deadline passed before ``now`` and
    was not noticed yet, with their outbox rows; return the reports' ids.

    >>> with engine.begin() as conn:  # doctest: +SKIP
    ...     mark_overdue(conn, dt.datetime.now(dt.UTC))
    [7, 12]
    """
    at = bindparam("now", now, DateTime(timezone=True))
    due = due_reports(now)
    noticed = (
        insert(overdue_notice)
        .from_select(["report_id", "due_at"], due)
        # A concurrent check noticed it first: theirs is the event.
        .on_conflict_do_nothing()
        .returning(overdue_notice.c.report_id, overdue_notice.c.due_at)
        .cte("noticed")
    )
    note = func.format("overdue: the deadline was %s",
                       func.to_char(func.timezone(TIMEZONE, noticed.c.due_at),
                                    "YYYY-MM-DD HH24:MI"))
    events = (
        insert(report_event)
        .from_select(
            ["report_id", "at", "actor", "kind", "agency_id", "note"],
            select(noticed.c.report_id, at, literal(OVERDUE_ACTOR, Text), literal("overdue", Text),
                   report.c.agency_id, note)
            .join_from(noticed, report, report.c.id == noticed.c.report_id)
            .order_by(noticed.c.report_id))
        .returning(report_event.c.id, report_event.c.report_id)
    )
    written = conn.execute(events.add_cte(noticed)).all()
    enqueue(conn, [event_id for event_id, _ in written])
    return sorted(report_id for _, report_id in written)
