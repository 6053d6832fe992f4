"""Residents rate a resolved report; an unhappy rating reopens it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, insert, select, update

from gis_service.db.schema import report, report_event
from gis_service.errors import Conflict
from gis_service.reports.lifecycle import transition

RATABLE = ("resolved", "closed")
#: Ratings at or below this on a resolved report reopen it (the resident is not satisfied).
REOPEN_AT_OR_BELOW = 2


def rate(conn: Connection, report_id: int, satisfaction: int, actor: str,
         now: dt.datetime | None = None) -> str:
    """Record the resident's satisfaction (1-5); return the report's status afterwards."""
    now = now or dt.datetime.now(dt.UTC)
    status: str = conn.execute(
        select(report.c.status).where(report.c.id == report_id).with_for_update()
    ).scalar_one()
    if status not in RATABLE:
        raise Conflict(f"only a resolved or closed report can be rated; this one is {status}",
                       field="satisfaction")
    conn.execute(update(report).where(report.c.id == report_id).values(satisfaction=satisfaction))
    conn.execute(insert(report_event).values(
        report_id=report_id, at=now, actor=actor, kind="rating",
        note=f"satisfaction {satisfaction}/5"))
    if status == "resolved" and satisfaction <= REOPEN_AT_OR_BELOW:
        return transition(conn, report_id, "reopened", actor,
                          f"resident not satisfied ({satisfaction}/5)", at=now).to_status
    return status
