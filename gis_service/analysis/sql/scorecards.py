"""The scorecards' SQL: one row per report in scope with what the metrics need, and the
communes' polygons for the GeoJSON form.

Reports are chosen by ``created_at`` in ``[start, end)``; each row carries the agency it is
routed to and its commune in the current generation (with the commune's urban or rural
setting), so one fetch serves every grouping.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, exists, func, select, true
from sqlalchemy.sql.elements import ColumnElement

from gis_service.db.schema import admin_unit, agency, category, report, report_event

#: A reopening counts against a resolution when it comes within this of it.
REOPEN_WINDOW = dt.timedelta(days=30)
#: Report statuses whose handling is complete: the report's result is known.
COMPLETED_STATUSES = ("resolved", "closed")


@dataclass(frozen=True)
class Scope:
    """Reports created in ``[start, end)`` (either open)."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None


def _in_scope(scope: Scope) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if scope.start is not None:
        conditions.append(report.c.created_at >= bindparam("start", scope.start))
    if scope.end is not None:
        conditions.append(report.c.created_at < bindparam("end", scope.end))
    return and_(true(), *conditions)


def _completed_at() -> ColumnElement[Any]:
    """When a completed report's result came: its resolution, or its closing if it was
    closed without ever being marked resolved (imported histories)."""
    return case((report.c.status.in_(COMPLETED_STATUSES),
                 func.coalesce(report.c.resolved_at, report.c.closed_at)))


def _ever_resolved() -> ColumnElement[bool]:
    done = report_event.alias("done")
    return exists().where(done.c.report_id == report.c.id, done.c.kind == "status",
                          done.c.to_status == "resolved")


def _reopened_within_window() -> ColumnElement[bool]:
    """A ``reopened`` event within :data:`REOPEN_WINDOW` after a ``resolved`` one."""
    done, again = report_event.alias("done"), report_event.alias("again")
    return exists().where(
        done.c.report_id == report.c.id, done.c.kind == "status", done.c.to_status == "resolved",
        again.c.report_id == report.c.id, again.c.kind == "status",
        again.c.to_status == "reopened", again.c.at >= done.c.at,
        again.c.at <= done.c.at + bindparam("reopen_window", REOPEN_WINDOW))


def report_rows(conn: Connection, scope: Scope) -> list[Any]:
    """Every report created in scope: ``public_id``, ``status``, ``category``,
    ``category_name``, ``channel``, ``created_at``, ``due_at``, ``first_response_at``,
    ``completed_at`` (see :func:`_completed_at`), ``satisfaction``, ``resolved_event`` (a
    ``resolved`` event exists), ``reopened_30d``, the agency's ``agency_code``,
    ``agency_name``, and the current commune's ``commune_code``, ``commune_name``,
    ``setting``. Ordered by id, so groupings are stable."""
    unit = admin_unit.alias("unit")
    statement = (
        select(
            report.c.public_id, report.c.status, report.c.category,
            category.c.name_vi.label("category_name"), report.c.channel, report.c.created_at,
            report.c.due_at, report.c.first_response_at, _completed_at().label("completed_at"),
            report.c.satisfaction, _ever_resolved().label("resolved_event"),
            _reopened_within_window().label("reopened_30d"),
            agency.c.code.label("agency_code"), agency.c.name.label("agency_name"),
            unit.c.code.label("commune_code"), unit.c.name.label("commune_name"),
            unit.c.setting,
        )
        .select_from(report.join(agency, agency.c.id == report.c.agency_id)
                     .join(category, category.c.code == report.c.category)
                     .join(unit, unit.c.id == report.c.current_commune_id))
        .where(_in_scope(scope))
        .order_by(report.c.id)
    )
    return list(conn.execute(statement).all())


def commune_polygons(conn: Connection, scope: Scope) -> dict[str, str]:
    """GeoJSON geometry text (6 decimals, about 0.1 m) of the current communes of the reports
    in scope, by commune code."""
    communes = select(report.c.current_commune_id).where(_in_scope(scope)).distinct()
    rows = conn.execute(
        select(admin_unit.c.code, func.ST_AsGeoJSON(admin_unit.c.geom, 6))
        .where(admin_unit.c.id.in_(communes))
    )
    return {code: geometry for code, geometry in rows}
