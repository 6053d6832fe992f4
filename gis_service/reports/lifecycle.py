"""The report lifecycle: states, the moves allowed between them, and escalation when overdue.

Every change runs in the caller's transaction, locks the report row first (``SELECT ... FOR
UPDATE``, so two staff members moving the same report are serialised and the second sees the
first's result), and appends a ``report_event`` row; an illegal move is a :class:`Conflict`
(409) and writes nothing.

Timestamps: ``first_response_at`` is set by the first move out of ``received`` (whatever it
is); ``resolved_at`` by each move to ``resolved`` and cleared on ``reopened`` (the events keep
every resolution); ``closed_at`` by the terminal moves ``closed``, ``rejected`` and
``duplicate``.

Escalation: an open report past its ``due_at`` is escalated to its agency's supervisor
(commune committee -> district or city committee; department or utility -> city committee),
and each further :data:`ESCALATION_STEP` overdue one level higher up the supervisor chain. The
report stays with its agency (it still has to do the work); the escalation is an event of
kind ``escalated`` naming the supervising agency, and ``report.escalated_at``. A report is
escalated at most once per level, however often the job runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Integer,
    Interval,
    Text,
    and_,
    any_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.sql.elements import ColumnElement

from gis_service.db.schema import agency, report, report_event
from gis_service.errors import Conflict, InvalidInput, NotFound
from gis_service.reports.reopening import reopened_deadline

# The one table of allowed moves: from each state, the states it may go to.
TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"accepted", "rejected", "duplicate"}),
    "accepted": frozenset({"assigned", "duplicate"}),
    "assigned": frozenset({"in_progress", "duplicate"}),
    "in_progress": frozenset({"resolved", "duplicate"}),
    "resolved": frozenset({"closed", "reopened"}),
    "reopened": frozenset({"assigned", "in_progress", "duplicate"}),
    "rejected": frozenset(),
    "closed": frozenset(),
    "duplicate": frozenset(),
}
#: Work still to be done: these can be overdue, escalated and marked duplicate.
OPEN_STATUSES = ("received", "accepted", "assigned", "in_progress", "reopened")
TERMINAL_STATUSES = ("rejected", "closed", "duplicate")
#: Each further week overdue escalates one level higher.
ESCALATION_STEP = dt.timedelta(days=7)
#: Escalation follows supervisors at most this many levels up (loops in the data stop here).
MAX_ESCALATION_LEVELS = 4
ESCALATION_ACTOR = "system:escalation"
# One escalation run at a time, so two concurrent runs cannot both escalate the same level.
_ESCALATION_LOCK = 0x7265_7363  # "resc"


@dataclass(frozen=True)
class Answer:
    """What a move publishes: the agency's public note, the team it names, the acting agency."""

    public_note: str = ""
    team: str | None = None
    agency_id: int | None = None


@dataclass(frozen=True)
class Transition:
    """One move that happened."""

    report_id: int
    public_id: str
    from_status: str
    to_status: str
    at: dt.datetime
    event_id: int


@dataclass(frozen=True)
class Escalation:
    """One report escalated one level."""

    report_id: int
    public_id: str
    agency_id: int
    agency_code: str
    escalated_to_id: int
    escalated_to_code: str
    level: int
    due_at: dt.datetime


@dataclass(frozen=True)
class AgencyOverdue:
    """An agency's overdue open reports at a moment."""

    agency_id: int
    agency_code: str
    agency_name: str
    overdue: int
    oldest_due_at: dt.datetime
    escalated: int


def allowed(from_status: str, to_status: str) -> bool:
    """Whether the table allows the move.

    >>> allowed("received", "accepted"), allowed("closed", "reopened")
    (True, False)
    """
    return to_status in TRANSITIONS.get(from_status, frozenset())


def transition(
    conn: Connection,
    report_id: int,
    to_status: str,
    actor: str,
    note: str = "",
    *,
    duplicate_of: int | None = None,
    at: dt.datetime | None = None,
    answer: Answer | None = None,
) -> Transition:
    """Move a report to ``to_status``, in the caller's transaction.

    ``duplicate_of`` (the original report's id) is required for, and only for, ``duplicate``.
    ``at`` defaults to the transaction's time (``now()``); imports of history pass their own.
    ``note`` is the internal note; ``answer`` the public note, the team and the acting agency.
    A move to ``reopened`` sets a new deadline from ``at`` (:mod:`.reopening`), and says so.

    >>> transition(conn, 42, "accepted", "staff:lan", "valid report")  # doctest: +SKIP
    Transition(report_id=42, public_id='...', from_status='received', to_status='accepted', ...)
    """
    if to_status not in TRANSITIONS:
        raise InvalidInput(f"unknown status {to_status!r}", field="status")
    if (to_status == "duplicate") != (duplicate_of is not None):
        raise InvalidInput("duplicate_of goes with status 'duplicate', and only with it",
                           field="duplicate_of")
    public_id, current = _lock(conn, report_id)
    if not allowed(current, to_status):
        raise Conflict(f"report {public_id} is {current}: it cannot become {to_status} "
                       f"(from {current}: {', '.join(sorted(TRANSITIONS[current])) or 'no moves'})",
                       field="status")
    if duplicate_of is not None:
        note = _duplicate_note(conn, report_id, duplicate_of, note)
    answer = answer or Answer()
    extra: dict[str, Any] = {"team": answer.team} if answer.team is not None else {}
    if to_status == "reopened":
        at = at or conn.execute(select(func.now())).scalar_one()
        deadline = reopened_deadline(conn, report_id, at)
        extra["due_at"] = deadline.due_at
        note = " ".join(p for p in (note, deadline.internal_note()) if p)
        answer = Answer(answer.public_note or deadline.public_note(), answer.team, answer.agency_id)
    when: ColumnElement[Any] = func.now() if at is None else literal(at, DateTime(timezone=True))
    moved_at = conn.execute(
        update(report)
        .where(report.c.id == report_id)
        .values(status=to_status, duplicate_of=duplicate_of,
                **_timestamps(current, to_status, when), **extra)
        .returning(when)
    ).scalar_one()
    event_id = conn.execute(
        insert(report_event)
        .values(report_id=report_id, at=moved_at, actor=actor,
                kind="duplicate" if to_status == "duplicate" else "status",
                from_status=current, to_status=to_status, note=note,
                public_note=answer.public_note, team=answer.team, agency_id=answer.agency_id)
        .returning(report_event.c.id)
    ).scalar_one()
    return Transition(report_id, public_id, current, to_status, moved_at, event_id)


def _lock(conn: Connection, report_id: int) -> tuple[str, str]:
    row = conn.execute(
        select(report.c.public_id, report.c.status)
        .where(report.c.id == report_id)
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFound(f"no report {report_id}", field="report")
    return row.public_id, row.status


def _duplicate_note(conn: Connection, report_id: int, original_id: int, note: str) -> str:
    if original_id == report_id:
        raise Conflict("a report cannot be a duplicate of itself", field="duplicate_of")
    row = conn.execute(
        select(report.c.public_id, report.c.status, report.c.duplicate_of)
        .where(report.c.id == original_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no report {original_id} to be the original", field="duplicate_of")
    if row.status == "duplicate":
        # Keep links one level deep: staff should point at the report that is being handled.
        raise Conflict(f"report {row.public_id} is itself a duplicate (of report "
                       f"{row.duplicate_of}): link to that one", field="duplicate_of")
    return " ".join(p for p in (f"duplicate of {row.public_id}", note) if p)


def _timestamps(current: str, to_status: str, when: ColumnElement[Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if current == "received":
        values["first_response_at"] = func.coalesce(report.c.first_response_at, when)
    if to_status == "resolved":
        values["resolved_at"] = when
    if to_status == "reopened":
        values["resolved_at"] = None
    if to_status in TERMINAL_STATUSES:
        values["closed_at"] = when
    return values


# --- overdue and escalation ------------------------------------------------------------------


def _overdue(now: ColumnElement[Any]) -> ColumnElement[bool]:
    return and_(report.c.status.in_(OPEN_STATUSES), report.c.due_at < now)


def overdue_by_agency(conn: Connection, now: dt.datetime) -> list[AgencyOverdue]:
    """Open reports past their due date at ``now``, counted by responsible agency.

    >>> overdue_by_agency(conn, dt.datetime.now(dt.UTC))[0]  # doctest: +SKIP
    AgencyOverdue(agency_id=12, agency_code='ubnd-2025-19777', ..., overdue=3, ...)
    """
    at = bindparam("now", now, DateTime(timezone=True))
    rows = conn.execute(
        select(agency.c.id, agency.c.code, agency.c.name, func.count(),
               func.min(report.c.due_at), func.count(report.c.escalated_at))
        .join_from(report, agency, agency.c.id == report.c.agency_id)
        .where(_overdue(at))
        .group_by(agency.c.id)
        .order_by(func.count().desc(), agency.c.code)
    )
    return [AgencyOverdue(*row) for row in rows]


def _chain(at: ColumnElement[Any]) -> Any:
    """Recursive CTE: each overdue open report with its agency's supervisors, level 1 up.

    ``path`` holds the agencies met so far, so a loop in the supervisor data ends the chain
    instead of escalating a report back to an agency already on it.
    """
    chain = (
        select(report.c.id.label("report_id"), agency.c.supervisor_id.label("target_id"),
               literal(1, Integer).label("level"),
               array([agency.c.id, agency.c.supervisor_id]).label("path"))
        .join_from(report, agency, agency.c.id == report.c.agency_id)
        .where(_overdue(at), agency.c.supervisor_id.is_not(None),
               agency.c.supervisor_id != agency.c.id)
        .cte("chain", recursive=True)
    )
    below, above = chain.alias("below"), agency.alias("above")
    return chain.union_all(
        select(below.c.report_id, above.c.supervisor_id, below.c.level + 1,
               below.c.path + array([above.c.supervisor_id]))
        .join_from(below, above, above.c.id == below.c.target_id)
        .where(above.c.supervisor_id.is_not(None), below.c.level < MAX_ESCALATION_LEVELS,
               ~(above.c.supervisor_id == any_(below.c.path)))
    )


def _due_levels(at: ColumnElement[Any], step: dt.timedelta) -> Any:
    """CTE of (report, supervisor, level) escalations due at ``at`` and not yet made."""
    chain = _chain(at)
    return (
        select(chain.c.report_id, chain.c.target_id, chain.c.level)
        .join_from(chain, report, report.c.id == chain.c.report_id)
        .where(
            at - report.c.due_at >= (chain.c.level - 1) * literal(step, Interval),
            ~exists().where(report_event.c.report_id == chain.c.report_id,
                            report_event.c.kind == "escalated",
                            report_event.c.agency_id == chain.c.target_id),
        )
        .cte("due_level")
    )


def escalate_overdue(conn: Connection, now: dt.datetime, *,
                     step: dt.timedelta = ESCALATION_STEP) -> list[Escalation]:
    """Escalate overdue open reports, one event per report and level; set-based, idempotent.

    Level 1 (the agency's supervisor) is due as soon as the report is overdue, level k when
    it is ``(k - 1) * step`` overdue. Levels already escalated (an ``escalated`` event naming
    that agency) are skipped, so running it again at the same ``now`` does nothing. One
    statement inserts the events, stamps ``report.escalated_at`` and returns what it did.

    >>> escalate_overdue(conn, dt.datetime.now(dt.UTC))  # doctest: +SKIP
    [Escalation(report_id=7, ..., escalated_to_code='ubnd-hue', level=1, ...)]
    """
    conn.execute(select(func.pg_advisory_xact_lock(literal(_ESCALATION_LOCK, BigInteger))))
    at = bindparam("now", now, DateTime(timezone=True))
    due = _due_levels(at, step)
    source, target = agency.alias("source"), agency.alias("target")
    note = func.format("overdue since %s: escalated from %s to %s (level %s)",
                       report.c.due_at, source.c.code, target.c.code, due.c.level)
    events = (
        insert(report_event)
        .from_select(
            ["report_id", "at", "actor", "kind", "agency_id", "note"],
            select(due.c.report_id, at, literal(ESCALATION_ACTOR, Text), literal("escalated", Text),
                   target.c.id, note)
            .join_from(due, report, report.c.id == due.c.report_id)
            .join(source, source.c.id == report.c.agency_id)
            .join(target, target.c.id == due.c.target_id)
            # Lower levels first, so event ids follow the chain upwards.
            .order_by(due.c.report_id, due.c.level),
        )
        .returning(report_event.c.report_id, report_event.c.agency_id)
        .cte("escalated")
    )
    stamped = (
        update(report)
        .where(report.c.id.in_(select(events.c.report_id)))
        .values(escalated_at=at)
        .returning(report.c.id)
        .cte("stamped")
    )
    rows = conn.execute(
        select(report.c.id, report.c.public_id, source.c.id, source.c.code, target.c.id,
               target.c.code, due.c.level, report.c.due_at)
        .join_from(due, report, report.c.id == due.c.report_id)
        .join(source, source.c.id == report.c.agency_id)
        .join(target, target.c.id == due.c.target_id)
        # Both modifying CTEs run whatever the main query reads; it reports what was due.
        .add_cte(events, stamped)
        .order_by(source.c.code, report.c.id, due.c.level)
    ).all()
    return [Escalation(*row) for row in rows]
