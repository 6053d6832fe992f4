"""Reports held for a location (``needs_location``), and a flag for a point and address that disagree.

A report whose address says no more than a district (or a street without a ward, or a ward the
geocoder is not sure of) is no longer pinned at a representative point and routed to whichever
commune that point falls in: it is held, unplaced, with the operations centre until someone
places it. Until then it has no point, no units, no H3 cells and no deadline, so those columns
become nullable, and three checks keep the two states apart:

- a ``needs_location`` report has no point;
- a report without a point is ``needs_location``, or ``rejected`` or ``duplicate`` (staff may
  refuse a held one, or link it to a report of the same incident, without placing it);
- a report with a point has everything a placed report has (cells, units, snap, deadline).

``location_conflict``: the report's point is not in the ward its address names (or any of that
ward's predecessors); the point is kept and the disagreement shown to staff.

Also: the operations centre's agency kind, and the ``placed`` event.

Revision ID: 0007_needs_location
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_needs_location"
# After the public record (0007_public_record), whose event kind public_text it keeps.
down_revision = "0007_public_record"
branch_labels = None
depends_on = None

_H3 = tuple(f"h3_r{res}" for res in (6, 7, 8, 9, 10))
_UNPLACED = ("geom", *_H3, "commune_id", "province_id", "current_commune_id",
             "current_province_id", "snap_match", "snap_distance_m", "due_at")
_STATUSES = ("received", "accepted", "rejected", "assigned", "in_progress", "resolved", "closed",
             "reopened", "duplicate")
_KINDS = ("commune_committee", "district_committee", "city_committee", "department", "utility")
_EVENTS = ("created", "routed", "status", "escalated", "rating", "duplicate", "note",
           "public_text")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _replace_check(table: str, name: str, condition: str) -> None:
    op.drop_constraint(op.f(name), table, type_="check")
    op.create_check_constraint(op.f(name), table, condition)


PLACED = "geom IS NULL OR (" + " AND ".join(f"{c} IS NOT NULL" for c in _UNPLACED[1:]) + ")"


def upgrade() -> None:
    for column in _UNPLACED:
        op.alter_column("report", column, nullable=True)
    op.add_column("report", sa.Column("location_conflict", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    _replace_check("report", "ck_report_status", _in("status", ("needs_location", *_STATUSES)))
    op.create_check_constraint(op.f("ck_report_held_unplaced"), "report",
                               "status <> 'needs_location' OR geom IS NULL")
    op.create_check_constraint(op.f("ck_report_unplaced_held"), "report",
                               "geom IS NOT NULL OR status IN ('needs_location', 'rejected', 'duplicate')")
    op.create_check_constraint(op.f("ck_report_placed_complete"), "report", PLACED)
    _replace_check("agency", "ck_agency_kind", _in("kind", (*_KINDS, "operations_centre")))
    _replace_check("report_event", "ck_report_event_kind", _in("kind", (*_EVENTS, "placed")))


def downgrade() -> None:
    # Fails while held (unplaced) reports exist: place or delete them first.
    _replace_check("report_event", "ck_report_event_kind", _in("kind", _EVENTS))
    _replace_check("agency", "ck_agency_kind", _in("kind", _KINDS))
    for name in ("ck_report_placed_complete", "ck_report_unplaced_held", "ck_report_held_unplaced"):
        op.drop_constraint(op.f(name), "report", type_="check")
    _replace_check("report", "ck_report_status", _in("status", _STATUSES))
    op.drop_column("report", "location_conflict")
    for column in _UNPLACED:
        op.alter_column("report", column, nullable=False)
