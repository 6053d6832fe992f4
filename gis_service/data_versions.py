"""What a cached answer was computed from: the boundary revision and the reports revision.

Both are random values set by statement triggers on every write (migrations 0005 and 0007), so
equal values mean the same data. Read them in the same statement as the data they vouch for
(:func:`versions_select`), and a value computed there can be kept under that version for as
long as a later read of the version gives the same answer (:func:`read_versions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, ScalarSelect, Text, cast, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from gis_service.db.schema import report_revision
from gis_service.revision_cache import current_revision


@dataclass(frozen=True)
class DataVersion:
    """The boundary revision and a digest of the reports revision's slots, as text."""

    boundaries: str
    reports: str

    def of(self, *, boundaries: bool, reports: bool) -> str:
        """The version of what depends on the boundaries, the reports, or both."""
        return "/".join(part for part, used in ((self.boundaries, boundaries),
                                                 (self.reports, reports)) if used)


def reports_revision() -> ScalarSelect[Any]:
    """The digest of the 16 reports revision slots, as a scalar subquery."""
    slots = func.string_agg(cast(report_revision.c.revision, Text),
                            aggregate_order_by(literal(",", Text), report_revision.c.slot))
    return select(func.md5(slots)).scalar_subquery()


def versions_select() -> tuple[Any, Any]:
    """Both versions as columns to add to a statement (boundaries, reports)."""
    return (cast(current_revision(), Text).label("boundary_version"),
            reports_revision().label("reports_version"))


def read_versions(conn: Connection) -> DataVersion:
    """The versions now, in one round trip (what a cache lookup costs).

    >>> len(read_versions(conn).reports), read_versions(conn) == read_versions(conn)
    (32, True)
    """
    boundaries, reports = conn.execute(select(*versions_select())).one()
    return DataVersion(str(boundaries), str(reports))
