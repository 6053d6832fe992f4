"""A GiST index of the commune pieces alone, by generation: what every snapping lookup probes.

Snapping only ever looks for communes (their district and province are parents, never polygon
lookups). The composite (generation_id, level, geom) index served it, but each probe compared
``level`` through btree_gist's collation-aware text comparison at every index entry it visited,
and visited district and province pieces too. This partial index has neither: a single-point
lookup's statement took ~99 µs instead of ~119 µs over one connection (SELECT 1: 76 µs).
The composite index stays for the lookups of other levels.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_admin_unit_part_commune ON admin_unit_part "
               "USING gist (generation_id, geom) WHERE level = 'commune'")


def downgrade() -> None:
    op.drop_index("ix_admin_unit_part_commune", table_name="admin_unit_part")
