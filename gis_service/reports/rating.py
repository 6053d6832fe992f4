"""Residents rate a resolved report, once per resolution; an unhappy rating reopens it.

A report's *resolution* is the n-th time it moved to ``resolved`` (its ``status`` events);
``report_rating`` keeps one row per (report, resolution), so rating twice is a 409 even under
concurrent requests. Imported history keeps its ratings: a report whose ``satisfaction`` came
from an import (no rating row at all) counts as rated for its resolution.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, exists, func, insert, select, update

from gis_service.db.schema import report, report_event, report_rating
from gis_service.errors import Conflict
from gis_service.reports.lifecycle import Answer, transition

RATABLE = ("resolved", "closed")
#: Ratings at or below this on a resolved report reopen it (the resident is not satisfied).
REOPEN_AT_OR_BELOW = 2


def _resolution(conn: Connection, report_id: int) -> int:
    """Which resolution the report is in (1 when its history has no ``resolved`` event)."""
    moves = conn.execute(
        select(func.count()).where(report_event.c.report_id == report_id,
                                   report_event.c.to_status == "resolved")).scalar_one()
    return max(1, int(moves))


def _already_rated(conn: Connection, report_id: int, resolution: int,
                   satisfaction: int | None) -> bool:
    rated = report_rating.c.report_id == report_id
    this_one = conn.execute(select(exists().where(
        rated, report_rating.c.resolution == resolution))).scalar_one()
    imported = satisfaction is not None and not conn.execute(
        select(exists().where(rated))).scalar_one()
    return bool(this_one or imported)


def rate(conn: Connection, report_id: int, satisfaction: int, actor: str,
         now: dt.datetime | None = None) -> str:
    """Record the resident's satisfaction (1-5); return the report's status afterwards.

    >>> rate(conn, 42, 2, "key:app (client)")  # doctest: +SKIP
    'reopened'
    """
    now = now or dt.datetime.now(dt.UTC)
    status, previous = conn.execute(
        select(report.c.status, report.c.satisfaction).where(report.c.id == report_id)
        .with_for_update()).one()
    if status not in RATABLE:
        raise Conflict(f"only a resolved or closed report can be rated; this one is {status}",
                       field="satisfaction")
    resolution = _resolution(conn, report_id)
    if _already_rated(conn, report_id, resolution, previous):
        raise Conflict("this resolution has been rated already (one rating per resolution)",
                       field="satisfaction")
    conn.execute(insert(report_rating).values(
        report_id=report_id, resolution=resolution, satisfaction=satisfaction, rated_at=now,
        actor=actor))
    conn.execute(update(report).where(report.c.id == report_id).values(satisfaction=satisfaction))
    conn.execute(insert(report_event).values(
        report_id=report_id, at=now, actor=actor, kind="rating",
        note=f"satisfaction {satisfaction}/5", public_note=f"Đánh giá {satisfaction}/5"))
    if status == "resolved" and satisfaction <= REOPEN_AT_OR_BELOW:
        return transition(conn, report_id, "reopened", actor,
                          f"resident not satisfied ({satisfaction}/5)", at=now,
                          answer=Answer()).to_status
    return str(status)
