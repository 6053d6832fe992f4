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

from sqlalchemy import Connection, Float, Subquery, and_, bindparam, case, func, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by
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


def _event_flags(scope: Scope) -> Subquery:
    """Per report in scope with status events: ``resolved_event`` (it was resolved at least
    once) and ``reopened_30d`` (a ``reopened`` event within :data:`REOPEN_WINDOW` of the
    latest resolution before it), in one pass over the events instead of two probes a report.

    The latest resolution at or before each event is a running max (a window); a reopening
    near *some* earlier resolution is near the latest one, so one comparison suffices.
    """
    in_scope = select(report.c.id).where(_in_scope(scope))
    latest = func.max(report_event.c.at).filter(report_event.c.to_status == "resolved").over(
        partition_by=report_event.c.report_id, order_by=report_event.c.at)
    events = (
        select(report_event.c.report_id, report_event.c.to_status, report_event.c.at,
               latest.label("last_resolved"))
        .where(report_event.c.kind == "status",
               report_event.c.to_status.in_(("resolved", "reopened")),
               report_event.c.report_id.in_(in_scope))
        .subquery("status_events")
    )
    near = events.c.at <= events.c.last_resolved + bindparam("reopen_window", REOPEN_WINDOW)
    return (
        select(events.c.report_id,
               func.bool_or(events.c.to_status == "resolved").label("resolved_event"),
               func.coalesce(func.bool_or(and_(events.c.to_status == "reopened", near)), False)
               .label("reopened_30d"))
        .group_by(events.c.report_id)
        .subquery("event_flags")
    )


def _epoch(value: ColumnElement[Any]) -> ColumnElement[float]:
    # date_part is double precision (extract() is numeric since PostgreSQL 14: slower, and
    # Decimal in Python).
    return func.date_part("epoch", value, type_=Float)


#: The columns of :func:`report_columns`, in order.
COLUMNS = ("public_id", "status", "category", "category_name", "channel", "created_at",
           "due_at", "created_s", "due_s", "responded_s", "completed_s", "satisfaction",
           "resolved_event", "reopened_30d", "agency_code", "agency_name", "commune_code",
           "commune_name", "setting")


def report_columns(conn: Connection, scope: Scope) -> dict[str, list[Any]]:
    """Every report created in scope, as one list per column (:data:`COLUMNS`), ordered by id.

    ``*_s`` are instants as seconds since the Unix epoch (None when unset): ``created_s``,
    ``due_s``, ``responded_s`` (first response), ``completed_s`` (see :func:`_completed_at`);
    ``resolved_event`` and ``reopened_30d`` come from :func:`_event_flags`; ``agency_*`` is the
    routed agency, ``commune_*`` and ``setting`` the report's commune in the current generation.
    One row of arrays (``array_agg``): a hundred thousand reports arrive as 19 arrays instead
    of a hundred thousand result rows, which cost more to build in Python than to compute.
    """
    unit, flags = admin_unit.alias("unit"), _event_flags(scope)
    rows = (
        select(
            report.c.id, report.c.public_id, report.c.status, report.c.category,
            category.c.name_vi.label("category_name"), report.c.channel, report.c.created_at,
            report.c.due_at, _epoch(report.c.created_at).label("created_s"),
            _epoch(report.c.due_at).label("due_s"),
            _epoch(report.c.first_response_at).label("responded_s"),
            _epoch(_completed_at()).label("completed_s"), report.c.satisfaction,
            func.coalesce(flags.c.resolved_event, False).label("resolved_event"),
            func.coalesce(flags.c.reopened_30d, False).label("reopened_30d"),
            agency.c.code.label("agency_code"), agency.c.name.label("agency_name"),
            unit.c.code.label("commune_code"), unit.c.name.label("commune_name"),
            unit.c.setting,
        )
        .select_from(report.join(agency, agency.c.id == report.c.agency_id)
                     .join(category, category.c.code == report.c.category)
                     .join(unit, unit.c.id == report.c.current_commune_id)
                     .outerjoin(flags, flags.c.report_id == report.c.id))
        .where(_in_scope(scope))
        .subquery("scored")
    )
    statement = select(*(func.array_agg(aggregate_order_by(rows.c[name], rows.c.id)).label(name)
                         for name in COLUMNS))
    found = conn.execute(statement).one()._mapping
    return {name: list(found[name] or []) for name in COLUMNS}


def commune_polygons(conn: Connection, scope: Scope) -> dict[str, str]:
    """GeoJSON geometry text (6 decimals, about 0.1 m) of the current communes of the reports
    in scope, by commune code."""
    communes = select(report.c.current_commune_id).where(_in_scope(scope)).distinct()
    rows = conn.execute(
        select(admin_unit.c.code, func.ST_AsGeoJSON(admin_unit.c.geom, 6))
        .where(admin_unit.c.id.in_(communes))
    )
    return {code: geometry for code, geometry in rows}
