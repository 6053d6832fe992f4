"""The boundary revision announced: every new revision is also sent with NOTIFY.

Each serving process keeps the communes' cores in memory (spatial/cores.py) and, until now,
read the revision (one round trip) before every answer from them. A process that LISTENs on
``boundary_revision`` (spatial/revision_watch.py) learns a new revision when its transaction
commits, and answers most reverse lookups without a database round trip at all.
NOTIFY is transactional: a rolled-back write announces nothing, as it changes nothing readers see.

Revision ID: 0008_revision_notify
Revises: 0007_reference_boundaries
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0008_revision_notify"
down_revision = "0007_reference_boundaries"
branch_labels = None
depends_on = None

#: The channel spatial/revision_watch.py listens on (the payload is the new revision).
CHANNEL = "boundary_revision"

BUMP_AND_NOTIFY = f"""
CREATE OR REPLACE FUNCTION boundary_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    fresh uuid := gen_random_uuid();
BEGIN
    UPDATE boundary_revision SET revision = fresh;
    PERFORM pg_notify('{CHANNEL}', fresh::text);
    RETURN NULL;
END;
$$;
"""

BUMP = """
CREATE OR REPLACE FUNCTION boundary_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE boundary_revision SET revision = gen_random_uuid();
    RETURN NULL;
END;
$$;
"""


def upgrade() -> None:
    op.execute(BUMP_AND_NOTIFY)


def downgrade() -> None:
    op.execute(BUMP)
