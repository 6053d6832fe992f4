"""A boundary revision: one value that changes whenever a generation or administrative unit does.

snap_point keeps the units it has answered with in memory, keyed by this revision, and reads
the revision in the same statement as the point lookup; so a lookup needs only the covering
commune's id from the database, and a cached unit can never outlive a change to the units.
Every statement that writes generation or admin_unit sets a fresh random value (never a counter: a counter
bumped in a transaction that then rolls back would come round again with other contents).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BUMP = """
CREATE FUNCTION boundary_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE boundary_revision SET revision = gen_random_uuid();
    RETURN NULL;
END;
$$;
CREATE TRIGGER admin_unit_revision
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON admin_unit
FOR EACH STATEMENT EXECUTE FUNCTION boundary_revision_bump();
CREATE TRIGGER generation_revision
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON generation
FOR EACH STATEMENT EXECUTE FUNCTION boundary_revision_bump();
"""


def upgrade() -> None:
    op.execute("CREATE TABLE boundary_revision ("
               "one boolean NOT NULL DEFAULT true, revision uuid NOT NULL, "
               "CONSTRAINT pk_boundary_revision PRIMARY KEY (one), "
               "CONSTRAINT ck_boundary_revision_one_row CHECK (one))")
    op.execute("INSERT INTO boundary_revision (revision) VALUES (gen_random_uuid())")
    op.execute(BUMP)


def downgrade() -> None:
    op.execute("DROP TRIGGER generation_revision ON generation")
    op.execute("DROP TRIGGER admin_unit_revision ON admin_unit")
    op.execute("DROP FUNCTION boundary_revision_bump()")
    op.execute("DROP TABLE boundary_revision")
