"""The SQL of the hot spot analyses: report counts per H3 cell (and per cell and period) from
the stored ``report.h3_rN`` columns, the service area's polygon, and the category check.

Counting is one ``GROUP BY`` over the report table; the planner scans it once (a million
reports in a few hundred milliseconds) whatever the filters, which is what a whole-area
aggregate needs: an index would only help a narrow time range, and ``ix_report_created_at``
is there for that.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Connection, Select, and_, func, literal, select, true

from gis_service.analysis.periods import Period
from gis_service.analysis.selection import ReportSelection
from gis_service.db.schema import admin_unit_part, category, generation, report
from gis_service.errors import NotFound
from gis_service.reports.calendar import TIMEZONE

CellArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CellCounts:
    """Reports per cell, for the cells that have any (int64 H3 ids)."""

    cells: CellArray
    counts: npt.NDArray[np.int64]


@dataclass(frozen=True)
class PeriodCounts:
    """Reports per cell and period: one entry per (cell, period) that has any; ``days`` is
    each entry's period's first day (Huế's calendar)."""

    cells: CellArray
    days: npt.NDArray[np.datetime64]
    counts: npt.NDArray[np.int64]


@dataclass(frozen=True)
class ServiceArea:
    """The active generation's province, as the pieces of ``admin_unit_part`` (WKB), and a
    key that changes whenever any piece does."""

    key: str
    parts: tuple[bytes, ...]


def _cell_column(resolution: int) -> ColumnElement[Any]:
    column: ColumnElement[Any] = report.c[f"h3_r{resolution}"]
    return column


def _conditions(selection: ReportSelection) -> ColumnElement[bool]:
    # Reports held for a location (status needs_location) have no cells yet: not counted.
    found: list[ColumnElement[bool]] = [report.c.h3_r10.is_not(None)]
    if selection.categories is not None:
        found.append(report.c.category.in_(selection.categories))
    if selection.channel is not None:
        found.append(report.c.channel == selection.channel)
    if selection.status is not None:
        found.append(report.c.status == selection.status)
    if selection.start is not None:
        found.append(report.c.created_at >= selection.start)
    if selection.end is not None:
        found.append(report.c.created_at < selection.end)
    return and_(true(), *found)


def cell_counts(conn: Connection, resolution: int, selection: ReportSelection) -> CellCounts:
    """Reports per cell at ``resolution`` (7-10) among those ``selection`` picks.

    >>> found = cell_counts(conn, 9, ReportSelection(categories=("roads",)))  # doctest: +SKIP
    >>> int(found.counts.sum())  # doctest: +SKIP
    2113
    """
    rows = conn.execute(cell_counts_query(resolution, selection)).all()
    return CellCounts(cells=np.array([row[0] for row in rows], dtype=np.int64),
                      counts=np.array([row[1] for row in rows], dtype=np.int64))


def cell_counts_query(resolution: int, selection: ReportSelection) -> Select[Any]:
    """:func:`cell_counts`'s statement: bounded in time, it reads only the partitions of
    reports its bounds overlap (tests/test_partitions.py shows the plan)."""
    cell = _cell_column(resolution)
    return select(cell, func.count()).where(_conditions(selection)).group_by(cell)


def _local_period(period: Period) -> ColumnElement[Any]:
    """The first day of each report's week or month on Huế's clock."""
    local = func.timezone(literal(TIMEZONE), report.c.created_at)
    bucket: ColumnElement[Any] = func.date(func.date_trunc(literal(period), local))
    return bucket


def cell_period_counts(conn: Connection, resolution: int, period: Period,
                       selection: ReportSelection) -> PeriodCounts:
    """Reports per cell and per week (from Monday) or month, among those ``selection`` picks."""
    cell, bucket = _cell_column(resolution), _local_period(period).label("period")
    stmt = (select(cell, bucket, func.count()).where(_conditions(selection))
            .group_by(cell, bucket))
    rows = conn.execute(stmt).all()
    return PeriodCounts(cells=np.array([row[0] for row in rows], dtype=np.int64),
                        days=np.array([row[1] for row in rows], dtype="datetime64[D]"),
                        counts=np.array([row[2] for row in rows], dtype=np.int64))


def unknown_categories(conn: Connection, codes: Sequence[str]) -> tuple[str, ...]:
    """The codes among ``codes`` that are not report categories."""
    known = set(conn.execute(select(category.c.code).where(category.c.code.in_(codes))).scalars())
    return tuple(code for code in codes if code not in known)


def _province_parts() -> Any:
    return (select(admin_unit_part.c.geom)
            .join(generation, generation.c.id == admin_unit_part.c.generation_id)
            .where(generation.c.status == "active", admin_unit_part.c.level == "province")
            .subquery())


def service_area_key(conn: Connection) -> str:
    """A digest of the service area's polygon: cheap to ask for before every analysis, so a
    cached study area is used only while the boundaries stay as they were."""
    parts = _province_parts()
    return _key(conn.execute(select(func.md5(func.ST_AsBinary(parts.c.geom)))).scalars().all())


def _key(digests: Sequence[str]) -> str:
    if not digests:
        raise NotFound("the active boundary generation has no province: load the boundaries "
                       "(gis-service boundaries load) first", field="generation")
    return hashlib.sha256("".join(sorted(digests)).encode()).hexdigest()


def service_area(conn: Connection) -> ServiceArea:
    """The service area (the active generation's province) as pieces of at most 64 vertices:
    finding the H3 cells of 66 small pieces is several times faster than of one coastline."""
    parts = _province_parts()
    wkbs = tuple(bytes(wkb) for wkb in conn.execute(select(func.ST_AsBinary(parts.c.geom))).scalars())
    # PostgreSQL's md5 of the WKB and Python's agree, so this is service_area_key's answer.
    return ServiceArea(key=_key([hashlib.md5(wkb).hexdigest() for wkb in wkbs]), parts=wkbs)
