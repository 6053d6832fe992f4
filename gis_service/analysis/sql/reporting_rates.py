"""The SQL of reporting rates in time: each reported incident's open window and the further
reports made in it, summed per commune and category (Liu, Bhandaram and Garg's data).

An incident is an original report (not a duplicate) in scope, attributed to its commune by its
point (:func:`gis_service.analysis.sql.coverage.report_units`). Its window opens with the
original and closes when the incident is closed: at its resolution, at its answer if it was
rejected, or, still open, at the end of the data (the scope's ``end``, else the latest report
in the database). Further reports are the reports whose ``duplicate_of`` is the original made
inside that window; a duplicate after the window (a recurrence linked to an old report) is no
evidence of the rate while the incident was open, and is left out.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, Float, and_, bindparam, case, cast, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from gis_service.analysis.sql.coverage import Scope, report_units
from gis_service.db.schema import admin_unit, report

_DAY_S = 86400.0


def _data_end(scope: Scope) -> ColumnElement[Any]:
    """When the data end: the scope's end, else the latest report's time."""
    latest = select(func.max(report.c.created_at)).scalar_subquery()
    if scope.end is not None:
        return func.least(bindparam("window_end", scope.end), latest)
    return latest


def _closes(data_end: ColumnElement[Any]) -> ColumnElement[Any]:
    """The incident's closing: resolution, the answer of a rejected report, else the end."""
    closed = case((report.c.status == "rejected", report.c.first_response_at),
                  else_=report.c.resolved_at)
    return func.least(func.coalesce(closed, data_end), data_end)


def incident_windows(conn: Connection, scope: Scope) -> pd.DataFrame:
    """Per commune and category: ``incidents`` (reported, in scope), ``further`` (reports in
    their windows after the first) and ``exposure_days`` (the windows' total length).

    Columns ``unit_code``, ``category``, ``incidents``, ``further``, ``exposure_days``.
    """
    units = report_units(scope, "point")
    unit = admin_unit.alias("unit")
    dup = report.alias("dup")
    data_end = _data_end(scope)
    windows = (
        select(report.c.id, unit.c.code.label("unit_code"), report.c.category,
               report.c.created_at.label("opens"), _closes(data_end).label("closes"))
        .select_from(units.join(report, report.c.id == units.c.report_id)
                     .join(unit, unit.c.id == units.c.unit_id))
        .where(report.c.status != "duplicate")
        .subquery("windows")
    )
    further = (
        select(dup.c.duplicate_of.label("original_id"), func.count().label("further"))
        .join(windows, windows.c.id == dup.c.duplicate_of)
        # ix_report_duplicate_of finds each original's duplicates.
        .where(and_(dup.c.created_at >= windows.c.opens, dup.c.created_at <= windows.c.closes))
        .group_by(dup.c.duplicate_of)
        .subquery("further")
    )
    open_days = func.greatest(func.extract("epoch", windows.c.closes - windows.c.opens),
                              literal(0.0)) / _DAY_S
    statement = (
        select(windows.c.unit_code, windows.c.category, func.count().label("incidents"),
               func.coalesce(func.sum(further.c.further), 0).label("further"),
               cast(func.coalesce(func.sum(open_days), 0.0), Float).label("exposure_days"))
        .select_from(windows.outerjoin(further, further.c.original_id == windows.c.id))
        .group_by(windows.c.unit_code, windows.c.category)
    )
    result = conn.execute(statement)
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    return frame.astype({"incidents": "int64", "further": "int64", "exposure_days": "float64"})
