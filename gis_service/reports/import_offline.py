"""Offline bulk mode for the importer: the report tables' secondary indexes and foreign keys
are dropped for the inserts and rebuilt after them, all in the import's own transaction.

This is how pg_restore loads data. Inserting reports row by row into 13 secondary indexes and
through 16 foreign-key triggers costs far more than building the indexes once and checking
each foreign key with one anti-join (measured on 300,000 reports: the report rows alone took
20.6 s with their indexes and keys, 0.9 s without; the whole import went from 55 s to 34 s).
The price is an ACCESS EXCLUSIVE lock on ``report``, ``report_event`` and ``report_contact``
until the import commits: every query on reports waits meanwhile. So it is for first loads,
migrations and large back-fills, chosen explicitly (``gis-service reports import --offline``),
never the default.

Nothing is lost if the import fails or is killed: the drops roll back with everything else.
The indexes and constraints are rebuilt from their own catalogue definitions, so the schema
afterwards is exactly the migrations' (tests/test_importer.py compares the catalogue).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

#: The tables the importer inserts into, in the lock order used everywhere else.
TABLES = ("report", "report_contact", "report_event")

# Indexes that back no constraint (primary and unique keys stay: ON CONFLICT and the foreign
# keys' checks need them), as DROP and CREATE statements from the catalogue.
_INDEXES = text("""
    SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
    FROM pg_index i
    WHERE i.indrelid = ANY (CAST(:tables AS regclass[]))
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                      WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
    ORDER BY i.indexrelid::regclass::text
""")
# Foreign keys of the tables (those pointing at them from elsewhere are not checked by inserts).
_FOREIGN_KEYS = text("""
    SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
           format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
                  pg_get_constraintdef(c.oid))
    FROM pg_constraint c
    WHERE c.contype = 'f' AND c.conrelid = ANY (CAST(:tables AS regclass[]))
    ORDER BY c.conrelid::regclass::text, c.conname
""")


@dataclass(frozen=True)
class Offline:
    """The statements that bring the tables back: indexes first, then the foreign keys."""

    rebuild: tuple[str, ...]


def take_offline(conn: Connection) -> Offline:
    """Lock the report tables and drop their secondary indexes and foreign keys."""
    conn.execute(text(f"LOCK TABLE {', '.join(TABLES)} IN ACCESS EXCLUSIVE MODE"))
    tables = list(TABLES)
    indexes = conn.execute(_INDEXES, {"tables": tables}).all()
    foreign_keys = conn.execute(_FOREIGN_KEYS, {"tables": tables}).all()
    for drop, _ in (*foreign_keys, *indexes):
        conn.execute(text(drop))
    return Offline(tuple(create for _, create in (*indexes, *foreign_keys)))


def bring_online(conn: Connection, offline: Offline) -> None:
    """Build the indexes and check and restore the foreign keys (one anti-join each)."""
    for create in offline.rebuild:
        conn.execute(text(create))
