"""The delivery log: each agency's notifications, newest first, and dead letters to retry."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from gis_service.db.schema import agency, notification, report
from gis_service.errors import NotFound
from gis_service.notify.outbox import OPEN


@dataclass(frozen=True)
class Delivery:
    """One outbox row as the log shows it."""

    delivery_id: uuid.UUID
    event_id: int
    event: str
    report: str
    channel: str
    target: str
    status: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    last_attempt_at: dt.datetime | None
    #: When it is (or may be) tried again; None once delivered or dead.
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[Delivery]
    more: bool


def agency_id_of(conn: Connection, code: str) -> int:
    """The id of agency ``code``; :class:`NotFound` naming ``code`` otherwise."""
    found = conn.execute(select(agency.c.id).where(agency.c.code == code)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no agency {code[:80]!r}", field="code")
    return int(found)


def _columns() -> list[ColumnElement[Any]]:
    n = notification
    kind = n.c.payload["event"]["kind"].astext
    to_status = n.c.payload["event"]["to_status"].astext
    return [n.c.delivery_id, n.c.event_id, case((kind == "status", to_status), else_=kind),
            report.c.public_id, n.c.channel, n.c.target, n.c.status, n.c.attempts, n.c.last_error,
            n.c.created_at, n.c.last_attempt_at,
            case((n.c.status.in_(OPEN), n.c.next_attempt_at)), n.c.delivered_at]


def deliveries(conn: Connection, agency_id: int, *, status: str | None = None, page: int = 1,
               page_size: int = 50) -> DeliveryPage:
    """A page of an agency's deliveries, newest first, optionally of one status.

    >>> deliveries(conn, agency_id_of(conn, "ubnd-hue"), status="dead").deliveries  # doctest: +SKIP
    [Delivery(delivery_id=UUID('...'), event='overdue', ..., status='dead', attempts=12, ...)]
    """
    query = (select(*_columns())
             .join_from(notification, report, report.c.id == notification.c.report_id)
             .where(notification.c.agency_id == agency_id)
             .order_by(notification.c.id.desc())
             .offset((page - 1) * page_size).limit(page_size + 1))
    if status is not None:
        query = query.where(notification.c.status == status)
    rows = [Delivery(*row) for row in conn.execute(query)]
    return DeliveryPage(rows[:page_size], len(rows) > page_size)


def retry_dead(conn: Connection, *, agency_code: str | None = None,
               delivery_id: uuid.UUID | None = None) -> int:
    """Give dead letters a fresh set of attempts (same delivery id); return how many."""
    stmt = update(notification).where(notification.c.status == "dead")
    if agency_code is not None:
        stmt = stmt.where(notification.c.agency_id == agency_id_of(conn, agency_code))
    if delivery_id is not None:
        stmt = stmt.where(notification.c.delivery_id == delivery_id)
    done = conn.execute(stmt.values(status="pending", attempts=0, next_attempt_at=func.now(),
                                    lease_token=None))
    return done.rowcount


def may_read_log(role: str, own_agency_id: int | None, agency_id: int) -> bool:
    """Admins read every agency's log, an agency key its own agency's, nobody else any.

    >>> may_read_log("agency", 3, 3), may_read_log("agency", 3, 4), may_read_log("client", None, 3)
    (True, False, False)
    """
    return role == "admin" or (role == "agency" and own_agency_id == agency_id)
