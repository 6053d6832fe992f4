"""Offline bulk mode for the importer: the report tables' indexes, keys and foreign keys are
dropped for the inserts and rebuilt after them, all in the import's own transaction.

This is how pg_restore loads data. Inserting reports row by row into 13 secondary indexes and
through 16 foreign-key triggers costs far more than building the indexes once and checking
each foreign key with one anti-join (measured on 300,000 reports: the report rows alone took
20.6 s with their indexes and keys, 0.9 s without; the whole import went from 55 s to 34 s).
Dropping the primary and unique keys as well took the three inserts of a million reports
from 37 s to 21 s (the report_event rows alone from 17 s to 10 s), for 2 s more rebuilding.

The price is an ACCESS EXCLUSIVE lock on ``report``, ``report_event``, ``report_contact`` and
(for its foreign key to ``report``) ``idempotency_key`` until the import commits: every query
on reports waits meanwhile. So it is for first loads, migrations and large back-fills, chosen
explicitly (``gis-service reports import --offline``), never the default.

Nothing is lost if the import fails or is killed: the drops roll back with everything else.
The indexes and constraints are rebuilt from their own catalogue definitions, so the schema
afterwards is exactly the migrations' (tests/test_importer.py compares the catalogue).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

#: The tables the importer inserts into, in the lock order used everywhere else.
TABLES = ("report", "report_contact", "report_event")
#: What the foreign keys about reports point at (migration 0008). Its keys stay: the trigger
#: filling it from each report's insert looks the id up there, so without its index every
#: insert would scan it; only the foreign keys pointing at it are dropped.
KEYS = "report_key"

# Indexes that back no constraint, as DROP and CREATE statements from the catalogue.
_INDEXES = text("""
    SELECT format('DROP INDEX %s', i.indexrelid::regclass),
           -- A partitioned table's index prints "ON ONLY report" (its partitions' apart):
           -- rebuilt, it must cover the partitions again.
           replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ')
    FROM pg_index i
    WHERE i.indrelid = ANY (CAST(:tables AS regclass[]))
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                      WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
    ORDER BY i.indexrelid::regclass::text
""")
# The tables' primary keys ('p'), unique keys ('u': a million random public_id texts inserted
# into a B-tree one by one took longer than sorting them once) and foreign keys ('f'), and the
# foreign keys of other tables pointing at them (idempotency_key's: they stand on report's
# primary key, and TRUNCATE refuses to run while they stand, even over empty tables).
_CONSTRAINTS = text("""
    SELECT c.contype, c.conrelid = ANY (CAST(:tables AS regclass[])) AS own,
           format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
           format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
                  pg_get_constraintdef(c.oid))
    FROM pg_constraint c
    -- conparentid = 0: not the copies on report's partitions (they go with report's own).
    WHERE c.conparentid = 0
      AND ((c.contype IN ('p', 'u', 'f') AND c.conrelid = ANY (CAST(:tables AS regclass[])))
           OR (c.contype = 'f' AND c.confrelid = ANY (CAST(:referenced AS regclass[]))))
    ORDER BY c.conrelid::regclass::text, c.conname
""")


@dataclass(frozen=True)
class Offline:
    """How the tables were taken offline, and the statements that bring them back: indexes,
    primary and unique keys, then foreign keys (theirs, then those pointing at them)."""

    rebuild: tuple[str, ...]
    #: The tables were empty, and were truncated so the import writes them afresh.
    truncated: bool


def take_offline(conn: Connection) -> Offline:
    """Lock the report tables; drop their indexes, keys and foreign keys, and those pointing
    at them.

    The importer's inserts then rely on the lock and on its own checks for what the primary
    and unique keys guarded (ids come from the tables' own sequences; a public_id repeated in
    the file is rejected, one already stored is skipped); rebuilding them at the end checks
    that nonetheless.

    Empty tables (a first load) are also truncated: each gets a new file, and under
    ``wal_level = minimal`` (the embedded cluster's setting) rows written to a file created in
    the same transaction skip the WAL; the files are synced once at commit instead. On a
    million reports the inserts wrote 1.6 GB of WAL in 12 million records; without it they
    took 18.6 s instead of 22.3 s (two runs back to back).
    """
    conn.execute(text(f"LOCK TABLE {', '.join(TABLES)} IN ACCESS EXCLUSIVE MODE"))
    tables = list(TABLES)
    empty = not conn.execute(text("SELECT EXISTS (SELECT FROM report)")).scalar_one()
    indexes = conn.execute(_INDEXES, {"tables": tables}).all()
    constraints = conn.execute(_CONSTRAINTS, {"tables": tables,
                                              "referenced": [*tables, KEYS]}).all()

    def of(*types: str, own: bool = True) -> list[tuple[str, str]]:
        return [(drop, create) for contype, mine, drop, create in constraints
                if contype in types and mine == own]

    keys, foreign_keys, referencing = of("p", "u"), of("f"), of("f", own=False)
    for drop, _ in (*referencing, *foreign_keys, *keys, *indexes):
        conn.execute(text(drop))
    if empty:
        # report_event and report_contact hang off report, so they are empty as well.
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)}"))
    rebuilt = (*indexes, *keys, *foreign_keys, *referencing)
    return Offline(tuple(create for _, create in rebuilt), truncated=empty)


def bring_online(conn: Connection, offline: Offline) -> None:
    """Build the indexes and check and restore the foreign keys (one anti-join each)."""
    for create in offline.rebuild:
        conn.execute(text(create))
