"""The transactional outbox: rows written with their event, claimed and settled by workers.

:func:`enqueue` runs in the caller's transaction, right after it writes report events: the
outbox rows exist iff the events committed. A worker then :func:`claim`\\ s due rows in a
short transaction of its own (``FOR UPDATE SKIP LOCKED``: concurrent workers never take the
same row), delivers them outside any transaction, and records the outcome with
:func:`delivered` or :func:`failed`. A claim is a lease: it moves the row's
``next_attempt_at`` to the end of the lease, so the row of a worker that died mid-delivery is
claimed again when the lease runs out, with the same ``delivery_id`` (at least once).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Interval,
    Numeric,
    any_,
    bindparam,
    case,
    func,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.sql.elements import ColumnElement

from gis_service.db.schema import (
    admin_unit,
    agency,
    agency_channel,
    category,
    notification,
    report,
    report_event,
)
from gis_service.notify.events import notifies

#: Rows a worker may still deliver (the claim index's predicate: keep the two in step).
OPEN = ("pending", "retrying")
#: Public coordinates are rounded like the API's (~10 m).
_DECIMALS = 4
_LOST_LEASE = "the worker holding the last attempt stopped before it finished"


@dataclass(frozen=True)
class Claimed:
    """A row a worker holds: what to send, where, and the lease it holds it by."""

    id: int
    delivery_id: uuid.UUID
    channel: str
    target: str
    secret_env: str | None
    payload: dict[str, Any]
    attempts: int
    lease_token: uuid.UUID

    @property
    def event_kind(self) -> str:
        return str(self.payload["event"]["kind"])


def _utc(column: Any) -> ColumnElement[Any]:
    # The same text whatever the session's TimeZone: receivers parse one format.
    return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')


def _obj(**fields: Any) -> ColumnElement[Any]:
    args: list[Any] = []
    for name, value in fields.items():
        args += [literal(name), value]
    return func.jsonb_build_object(*args, type_=JSONB)


def _payload(responsible: Any, recipient: Any, actor: Any, commune: Any) -> ColumnElement[Any]:
    """The event as JSON; no reporter contact (the agency reads it with its key)."""
    e, r = report_event, report
    return _obj(
        event=_obj(id=e.c.id, kind=e.c.kind, at=_utc(e.c.at), from_status=e.c.from_status,
                   to_status=e.c.to_status, note=e.c.note, agency=actor.c.code),
        report=_obj(id=r.c.public_id, url=func.concat("/v1/reports/", r.c.public_id),
                    category=r.c.category, category_name=category.c.name_vi,
                    status=r.c.status, created_at=_utc(r.c.created_at), due_at=_utc(r.c.due_at),
                    description=r.c.description, address=r.c.address, commune=commune.c.name,
                    lat=func.round(func.ST_Y(r.c.geom).cast(Numeric), _DECIMALS),
                    lon=func.round(func.ST_X(r.c.geom).cast(Numeric), _DECIMALS)),
        agency=_obj(code=responsible.c.code, name=responsible.c.name),
        recipient=_obj(code=recipient.c.code, name=recipient.c.name),
    )


def enqueue(conn: Connection, event_ids: Sequence[int]) -> int:
    """Write the outbox rows of the events that notify, in the caller's transaction; return
    how many. One row per event, recipient agency (the report's, and the event's own: the
    supervisor of an escalation) and channel of that agency. Enqueueing an event twice writes
    it once.

    >>> with engine.begin() as conn:  # doctest: +SKIP
    ...     event_id = transition(conn, 42, "assigned", "staff:lan").event_id
    ...     enqueue(conn, [event_id])
    1
    """
    if not event_ids:
        return 0
    responsible, recipient = agency.alias("responsible"), agency.alias("recipient")
    actor, commune = agency.alias("actor"), admin_unit.alias("commune")
    e, r, ch = report_event, report, agency_channel
    rows = (
        select(e.c.id, e.c.report_id, recipient.c.id, ch.c.kind, ch.c.target, ch.c.secret_env,
               _payload(responsible, recipient, actor, commune))
        .join_from(e, r, r.c.id == e.c.report_id)
        .join(category, category.c.code == r.c.category)
        .join(commune, commune.c.id == r.c.current_commune_id)
        .join(responsible, responsible.c.id == r.c.agency_id)
        .outerjoin(actor, actor.c.id == e.c.agency_id)
        .join(recipient, (recipient.c.id == r.c.agency_id) | (recipient.c.id == e.c.agency_id))
        .join(ch, ch.c.agency_id == recipient.c.id)
        .where(e.c.id == any_(bindparam("ids", list(event_ids), ARRAY(BigInteger))),
               notifies(e))
        .order_by(e.c.id, recipient.c.id, ch.c.id)
    )
    stmt = (
        insert(notification)
        .from_select(["event_id", "report_id", "agency_id", "channel", "target", "secret_env",
                      "payload"], rows)
        .on_conflict_do_nothing(index_elements=["event_id", "agency_id", "channel", "target"])
        .returning(notification.c.id)
    )
    return len(conn.execute(stmt).all())


def without_commit_wait(conn: Connection) -> None:
    """Let the worker's own transactions (claims, outcomes) commit without waiting for the
    WAL flush. Safe here and only here: a commit lost in a database crash undoes a claim or an
    outcome, so the row is sent again with its delivery id, which at-least-once allows. (The
    outbox rows themselves are written by the events' transactions, which wait as usual.)
    On this shared VM a flush costs ~10 ms, two per batch."""
    conn.execute(text("SET LOCAL synchronous_commit = off"))


def claim(conn: Connection, *, limit: int, lease: dt.timedelta, max_attempts: int) -> list[Claimed]:
    """Take up to ``limit`` due rows for one attempt each, leased for ``lease``; commit soon.

    Rows whose last attempt's worker died (its lease ran out with no attempts left) become
    dead first.
    """
    _bury_lost_last_attempts(conn, max_attempts)
    n = notification
    due = (
        select(n.c.id)
        .where(n.c.status.in_(OPEN), n.c.next_attempt_at <= func.now(), n.c.attempts < max_attempts)
        .order_by(n.c.next_attempt_at, n.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    token = uuid.uuid4()
    rows = conn.execute(
        update(n)
        .where(n.c.id == due.c.id)
        .values(attempts=n.c.attempts + 1, lease_token=token, last_attempt_at=func.now(),
                next_attempt_at=func.now() + literal(lease, Interval))
        .returning(n.c.id, n.c.delivery_id, n.c.channel, n.c.target, n.c.secret_env,
                   n.c.payload, n.c.attempts, n.c.lease_token)
    ).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def _bury_lost_last_attempts(conn: Connection, max_attempts: int) -> None:
    n = notification
    conn.execute(
        update(n)
        .where(n.c.status.in_(OPEN), n.c.next_attempt_at <= func.now(), n.c.attempts >= max_attempts)
        .values(status="dead", lease_token=None,
                last_error=func.coalesce(n.c.last_error + "; ", "") + _LOST_LEASE)
    )


def delivered(conn: Connection, claimed: Sequence[Claimed]) -> int:
    """Record successful deliveries, in one statement (whoever holds a row's lease now: a
    success is a fact); return how many rows it settled."""
    if not claimed:
        return 0
    ids = bindparam("ids", [c.id for c in claimed], ARRAY(BigInteger))
    done = conn.execute(
        update(notification)
        .where(notification.c.id == any_(ids), notification.c.status.in_(OPEN))
        .values(status="delivered", delivered_at=func.now(), lease_token=None)
    )
    return done.rowcount


def failed(conn: Connection, claimed: Claimed, error: str, *, retry_in: dt.timedelta,
           max_attempts: int) -> str | None:
    """Record a failed attempt: retried after ``retry_in``, or dead after ``max_attempts``.

    Only while the worker still holds the lease (a row another worker took over is theirs);
    returns the new status, or None when the lease was lost.
    """
    n = notification
    return conn.execute(
        update(n)
        .where(n.c.id == claimed.id, n.c.lease_token == claimed.lease_token, n.c.status.in_(OPEN))
        .values(status=case((n.c.attempts >= max_attempts, "dead"), else_="retrying"),
                next_attempt_at=func.now() + literal(retry_in, Interval), lease_token=None,
                last_error=error[:1000])
        .returning(n.c.status)
    ).scalar_one_or_none()


def enqueue_escalations(conn: Connection, escalated: Sequence[tuple[int, int]]) -> int:
    """:func:`enqueue` the ``escalated`` events of (report id, supervisor id) pairs: each pair
    is escalated at most once, so it names one event."""
    if not escalated:
        return 0
    e = report_event
    ids = conn.execute(
        select(e.c.id).where(e.c.kind == "escalated",
                             tuple_(e.c.report_id, e.c.agency_id).in_(list(escalated)))
    ).scalars().all()
    return enqueue(conn, ids)
