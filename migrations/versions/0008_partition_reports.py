"""Reports partitioned by year, with their ids kept globally unique by ``report_key``.

See gis_service/db/partitions.py for the design (yearly RANGE partitions on ``created_at``, a
DEFAULT partition, the ``report_key`` table that the report-referencing foreign keys now point
at, and the triggers keeping it). This migration rebuilds ``report`` as a partitioned table:

1. ``report_key`` is created and filled from ``report`` (one row per report);
2. the foreign keys pointing at ``report`` are dropped, the table renamed;
3. the partitioned ``report`` is created like it (columns, defaults, checks, identity), its
   yearly partitions and the default one made, the rows copied, the sequence carried on;
4. the old table is dropped and the indexes (from their catalogue definitions, as they were,
   plus one on ``public_id``, which lost its unique index to ``report_key``), the primary key
   ``(id, created_at)``, the foreign keys and the triggers rebuilt.

A test (tests/test_partitions.py) shows the migration keeps every report, its id and its
events; tests/test_migrations.py that the result is what db/schema.py declares.

Revision ID: 0008_partition_reports
Revises: 0007_reference_boundaries
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text

from gis_service.db.partitions import DROP_KEY_TRIGGERS, KEY_TRIGGERS, ensure_report_partitions

revision = "0008_partition_reports"
down_revision = "0007_reference_boundaries"
branch_labels = None
depends_on = None

REVISION_TRIGGER = """
CREATE TRIGGER report_revision
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON report
FOR EACH STATEMENT EXECUTE FUNCTION report_revision_bump();
"""

# Indexes of report that back no constraint, as CREATE statements.
_INDEXES = text("""
    SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
    WHERE i.indrelid = 'report'::regclass
      AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid
                      AND c.conrelid = i.indrelid)
""")
# Foreign keys of report (outgoing) and pointing at :target (incoming), as DROP and ADD.
_FOREIGN_KEYS = text("""
    SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
           format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
                  pg_get_constraintdef(c.oid)),
           c.confrelid = CAST(:target AS regclass) AS incoming
    FROM pg_constraint c
    -- conparentid = 0: not the copies a partitioned table's keys get on each partition.
    WHERE c.contype = 'f' AND c.conparentid = 0 AND (c.conrelid = 'report'::regclass
                               OR c.confrelid = CAST(:target AS regclass))
    ORDER BY c.conrelid::regclass::text, c.conname
""")


def _capture(conn: Connection, target: str) -> tuple[list[str], list[tuple[str, str, bool]]]:
    # A partitioned table's index prints "ON ONLY report": rebuilt, it should cover every
    # partition (upgrade) or the plain table (downgrade).
    indexes = [i.replace(" ON ONLY ", " ON ") for i in conn.execute(_INDEXES).scalars()]
    keys = [(drop, add, incoming) for drop, add, incoming
            in conn.execute(_FOREIGN_KEYS, {"target": target})]
    return indexes, keys


def _retarget(add: str, old: str, new: str) -> str:
    # pg_get_constraintdef prints "REFERENCES report(id)" (or "report_key(id)").
    return add.replace(f"REFERENCES {old}(id)", f"REFERENCES {new}(id)")


def _rebuild(conn: Connection, *, partitioned: bool, indexes: Sequence[str],
             keys: Sequence[tuple[str, str, bool]], old_target: str, new_target: str) -> None:
    """Rename report away, create its new form, copy the rows, rebuild indexes and keys."""
    for drop, _, _ in keys:
        conn.execute(text(drop))
    conn.execute(text("DROP TRIGGER report_revision ON report"))
    conn.execute(text("ALTER TABLE report RENAME TO report_old"))
    # The identity's sequence keeps its name across the rename: moved aside for the new one.
    conn.execute(text("ALTER SEQUENCE report_id_seq RENAME TO report_old_id_seq"))
    conn.execute(text("ALTER TABLE report_old RENAME CONSTRAINT pk_report TO pk_report_old"))
    partition_by = " PARTITION BY RANGE (created_at)" if partitioned else ""
    conn.execute(text("CREATE TABLE report (LIKE report_old INCLUDING DEFAULTS "
                      f"INCLUDING CONSTRAINTS INCLUDING IDENTITY){partition_by}"))
    if partitioned:
        ensure_report_partitions(conn)
    conn.execute(text("INSERT INTO report SELECT * FROM report_old"))
    conn.execute(text("SELECT setval(pg_get_serial_sequence('report', 'id'), "
                      "greatest((SELECT max(id) FROM report_old), "
                      "(SELECT last_value FROM report_old_id_seq), 1))"))
    conn.execute(text("DROP TABLE report_old"))
    primary = "(id, created_at)" if partitioned else "(id)"
    conn.execute(text(f"ALTER TABLE report ADD CONSTRAINT pk_report PRIMARY KEY {primary}"))
    if not partitioned:
        conn.execute(text("ALTER TABLE report ADD CONSTRAINT uq_report_public_id "
                          "UNIQUE (public_id)"))
    for create in indexes:
        conn.execute(text(create))
    for _, add, _ in keys:
        conn.execute(text(_retarget(add, old_target, new_target)))
    conn.execute(text(REVISION_TRIGGER))


def upgrade() -> None:
    conn = op.get_bind()
    indexes, keys = _capture(conn, "report")
    conn.execute(text(
        "CREATE TABLE report_key (id bigint NOT NULL, public_id text NOT NULL, "
        "CONSTRAINT pk_report_key PRIMARY KEY (id), "
        "CONSTRAINT uq_report_key_public_id UNIQUE (public_id))"))
    conn.execute(text("INSERT INTO report_key (id, public_id) SELECT id, public_id FROM report"))
    indexes.append("CREATE INDEX ix_report_public_id ON public.report USING btree (public_id)")
    _rebuild(conn, partitioned=True, indexes=indexes, keys=keys, old_target="report",
             new_target="report_key")
    # Every report has its key (the insert trigger makes it first).
    conn.execute(text("ALTER TABLE report ADD CONSTRAINT fk_report_id "
                      "FOREIGN KEY (id) REFERENCES report_key (id)"))
    conn.execute(text(KEY_TRIGGERS))


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(text(DROP_KEY_TRIGGERS))
    conn.execute(text("DROP INDEX ix_report_public_id"))
    conn.execute(text("ALTER TABLE report DROP CONSTRAINT fk_report_id"))
    indexes, keys = _capture(conn, "report_key")
    # The indexes on report_old's partitions are not report's: only the parent's are kept.
    _rebuild(conn, partitioned=False, indexes=indexes, keys=keys, old_target="report_key",
             new_target="report")
    conn.execute(text("DROP TABLE report_key"))
