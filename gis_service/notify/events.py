"""Which report events notify an agency, and whom: the one table of it."""

from __future__ import annotations

from sqlalchemy import Table, and_, or_
from sqlalchemy.sql.elements import ColumnElement

#: Events that always notify: a report arriving at an agency (also re-routing), escalation to
#: a supervisor, and a deadline passing.
NOTIFYING_KINDS = ("routed", "escalated", "overdue")
#: Status moves that put a report (back) on an agency's desk: assigned (or re-assigned after
#: a reopening) and reopened by an unhappy resident.
NOTIFYING_STATUSES = ("assigned", "reopened")


def notifies(event: Table) -> ColumnElement[bool]:
    """SQL: the ``report_event`` row is one agencies are told about.

    The recipients are the report's agency and the event's own agency when it has one (the
    supervisor a report was escalated to); see :func:`gis_service.notify.outbox.enqueue`.
    """
    return or_(event.c.kind.in_(NOTIFYING_KINDS),
               and_(event.c.kind == "status", event.c.to_status.in_(NOTIFYING_STATUSES)))
