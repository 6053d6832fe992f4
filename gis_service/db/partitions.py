"""Reports partitioned by year: the partitions, created ahead, and the key table's triggers.

``report`` is partitioned by RANGE (``created_at``), one partition a year, plus a DEFAULT
partition that takes any report outside them (a clock far off, a back-filled history older
than the partitions), so nothing accepted is ever refused for want of a partition.

Why years, not months: a national history is ~3 million reports a year, a size one
partition's indexes handle well; the heavy reads (hot spots, coverage, exports) ask for a year
or less, so a year's bounds prune them to one or two partitions; and each partition carries the
table's 17 indexes, so monthly partitions would multiply the relations the planner opens for
an unbounded query (an id lookup, a public GET by id) twelvefold for no pruning gained.

A primary key of a partitioned table must include the partition key, so ``report``'s is
``(id, created_at)``. The ids stay globally unique, and a target for foreign keys, through
``report_key`` (id, public_id), which every report-referencing table points at. Triggers keep
it: a report's insert adds its key (refused if the id or public_id is taken in any partition),
its delete removes it (cascading to contacts and ratings as before). A report may be moved
in time (``created_at`` updated; PostgreSQL moves the row across partitions as a delete and an
insert): its key stays, since the insert finds its own key and no other report holding it.
``id`` and ``public_id`` are immutable.

``pg_partman`` (Debian's postgresql-15-partman) was not used: it would bring a background
worker or a cron job to run its maintenance, while one function run at migrate and at start
creating next year's partition is all a yearly scheme needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

PREFIX = "report_y"
DEFAULT_PARTITION = "report_default"
#: Partitions exist through this many years after the current one.
YEARS_AHEAD = 1
#: Set (transaction-local) while the maintenance below moves rows out of the default
#: partition: the deletes must not drop the keys of reports that are only moving.
MOVING_SETTING = "gis_service.moving_reports"
#: Set (transaction-local) by :func:`skipping_stored_public_ids`.
SKIP_STORED_SETTING = "gis_service.skip_stored_public_ids"

KEY_TRIGGERS = f"""
CREATE FUNCTION report_key_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A row moving partitions (created_at updated, or moved out of the default partition)
    -- finds its own key and no report holding it: the key stays as it is.
    IF EXISTS (SELECT FROM report_key k WHERE k.id = NEW.id AND k.public_id = NEW.public_id)
       AND NOT EXISTS (SELECT FROM report r WHERE r.id = NEW.id) THEN
        RETURN NEW;
    END IF;
    -- The importer's online mode: a public id stored (or being stored) by another transaction
    -- skips the row, as ON CONFLICT (public_id) DO NOTHING did on the unpartitioned table.
    IF coalesce(current_setting('{SKIP_STORED_SETTING}', true), '') = 'on' THEN
        INSERT INTO report_key (id, public_id) VALUES (NEW.id, NEW.public_id)
        ON CONFLICT (public_id) DO NOTHING;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        RETURN NEW;
    END IF;
    INSERT INTO report_key (id, public_id) VALUES (NEW.id, NEW.public_id);
    RETURN NEW;
END;
$$;
CREATE FUNCTION report_key_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Fired at the end of the statement: a row that moved partitions exists again by then.
    IF coalesce(current_setting('{MOVING_SETTING}', true), '') <> 'on' THEN
        DELETE FROM report_key k
        WHERE k.id = OLD.id AND NOT EXISTS (SELECT FROM report r WHERE r.id = OLD.id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE FUNCTION report_key_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM report_key;
    RETURN NULL;
END;
$$;
CREATE FUNCTION report_key_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a report''s id and public_id never change'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_report_key_immutable';
END;
$$;
CREATE TRIGGER report_key_insert BEFORE INSERT ON report
FOR EACH ROW EXECUTE FUNCTION report_key_insert();
CREATE TRIGGER report_key_delete AFTER DELETE ON report
FOR EACH ROW EXECUTE FUNCTION report_key_delete();
CREATE TRIGGER report_key_truncate AFTER TRUNCATE ON report
FOR EACH STATEMENT EXECUTE FUNCTION report_key_truncate();
CREATE TRIGGER report_key_immutable BEFORE UPDATE OF id, public_id ON report
FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.public_id IS DISTINCT FROM NEW.public_id)
EXECUTE FUNCTION report_key_immutable();
"""
DROP_KEY_TRIGGERS = """
DROP TRIGGER report_key_insert ON report;
DROP TRIGGER report_key_delete ON report;
DROP TRIGGER report_key_truncate ON report;
DROP TRIGGER report_key_immutable ON report;
DROP FUNCTION report_key_insert();
DROP FUNCTION report_key_delete();
DROP FUNCTION report_key_truncate();
DROP FUNCTION report_key_immutable();
"""

# The partitions of report with their bounds as PostgreSQL prints them, and their sizes.
_LIST = text("""
    SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'report'::regclass
    ORDER BY c.relname
""")
_DEFAULT_YEARS = text(f"""
    SELECT DISTINCT extract(year FROM created_at AT TIME ZONE 'UTC')::int FROM {DEFAULT_PARTITION}
""")
_FIRST_YEAR = text("SELECT extract(year FROM min(created_at) AT TIME ZONE 'UTC')::int FROM report")


@contextmanager
def skipping_stored_public_ids(conn: Connection) -> Iterator[None]:
    """Inserts into ``report`` inside skip a row whose public id is stored already (or by a
    concurrent transaction, once it commits), instead of failing: ON CONFLICT (public_id)
    DO NOTHING, which a partitioned table without a unique public_id cannot say itself."""
    conn.execute(text("SELECT set_config(:name, 'on', true)"), {"name": SKIP_STORED_SETTING})
    try:
        yield
    finally:
        conn.execute(text("SELECT set_config(:name, 'off', true)"), {"name": SKIP_STORED_SETTING})


@dataclass(frozen=True)
class Partition:
    """One partition: its name, bounds (``FOR VALUES ...`` or ``DEFAULT``) and estimated rows."""

    name: str
    bounds: str
    rows: int


def partition_name(year: int) -> str:
    """The partition of one year's reports.

    >>> partition_name(2025)
    'report_y2025'
    """
    return f"{PREFIX}{year}"


def list_partitions(conn: Connection) -> list[Partition]:
    """The partitions of ``report``, by name (the default last but one of them)."""
    return [Partition(name, bounds, max(rows, 0)) for name, bounds, rows in conn.execute(_LIST)]


def wanted_years(conn: Connection, today: dt.date, years_ahead: int = YEARS_AHEAD,
                 since: int | None = None) -> list[int]:
    """From the first report's year (or this year, or ``since`` if earlier) through
    ``years_ahead`` past this one, and any year of a report waiting in the default partition."""
    first = min(conn.execute(_FIRST_YEAR).scalar_one() or today.year, today.year,
                since or today.year)
    waiting = set(conn.execute(_DEFAULT_YEARS).scalars())
    return sorted(set(range(first, today.year + years_ahead + 1)) | waiting)


def ensure_report_partitions(conn: Connection, today: dt.date | None = None,
                             years_ahead: int = YEARS_AHEAD, since: int | None = None
                             ) -> list[str]:
    """Create the missing yearly partitions (and the default one); return the names created.

    Reports already waiting in the default partition for a new year are moved into it.
    Run by the migration, by ``gis-service db upgrade`` and at the service's start, so
    next year's partition exists well before its first report; a back-fill of older
    reports (the synthetic histories) asks for its years with ``since``.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    existing = {p.name for p in list_partitions(conn)}
    created = []
    if DEFAULT_PARTITION not in existing:
        conn.execute(text(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF report DEFAULT"))
        created.append(DEFAULT_PARTITION)
    for year in wanted_years(conn, today, years_ahead, since):
        if partition_name(year) not in existing:
            _create_year(conn, year)
            created.append(partition_name(year))
    return created


# The default partition's reports of one year (bounds as bind parameters).
_WAITING = ("created_at >= CAST(:lower AS timestamptz) "
            "AND created_at < CAST(:upper AS timestamptz)")


def _create_year(conn: Connection, year: int) -> None:
    """One year's partition; its reports waiting in the default partition move into it
    (PostgreSQL refuses a partition whose rows the default partition holds)."""
    bounds = {"lower": f"{year}-01-01 00:00:00+00", "upper": f"{year + 1}-01-01 00:00:00+00"}
    moving = conn.execute(text(f"SELECT EXISTS (SELECT FROM {DEFAULT_PARTITION} "
                               f"WHERE {_WAITING})"), bounds).scalar_one()
    if moving:
        _set_aside(conn, bounds)
    # Bounds are literals in DDL (no bind parameters there); built from an int, so safe.
    conn.execute(text(f"CREATE TABLE {partition_name(year)} PARTITION OF report "
                      f"FOR VALUES FROM ('{bounds['lower']}') TO ('{bounds['upper']}')"))
    if moving:
        # The insert trigger finds each row's own key and leaves it (partitions.py's docstring).
        conn.execute(text("INSERT INTO report SELECT * FROM moving_reports"))
        conn.execute(text("DROP TABLE moving_reports"))
        conn.execute(text("SELECT set_config(:name, 'off', true)"), {"name": MOVING_SETTING})


def _set_aside(conn: Connection, bounds: dict[str, str]) -> None:
    """Move the year's reports from the default partition into a temporary table, their
    keys kept (MOVING_SETTING tells the delete trigger)."""
    conn.execute(text("SELECT set_config(:name, 'on', true)"), {"name": MOVING_SETTING})
    conn.execute(text("CREATE TEMPORARY TABLE moving_reports ON COMMIT DROP AS "
                      f"SELECT * FROM {DEFAULT_PARTITION} WITH NO DATA"))
    conn.execute(text(f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE {_WAITING} "
                      "RETURNING *) INSERT INTO moving_reports SELECT * FROM moved"), bounds)

_PARTITIONED = text("SELECT EXISTS (SELECT FROM pg_partitioned_table "
                    "WHERE partrelid = to_regclass('report'))")
# One maintainer at a time (gunicorn workers start together): a transaction-level lock.
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('gis_service.report_partitions'))")


def ensure_if_partitioned(conn: Connection, today: dt.date | None = None) -> list[str]:
    """:func:`ensure_report_partitions` once the schema has them (migration 0008 or later);
    nothing before (a database migrated to an older revision)."""
    if not conn.execute(_PARTITIONED).scalar_one():
        return []
    conn.execute(_LOCK)
    return ensure_report_partitions(conn, today)


def ensure_at_start(engine: Engine) -> list[str]:
    """At the service's start: create what is missing, in its own transaction.

    The common case (all there) is a read: no DDL and so no lock on ``report``.
    """
    with engine.connect() as conn:
        if not conn.execute(_PARTITIONED).scalar_one():
            return []
        today = dt.datetime.now(dt.UTC).date()
        have = {p.name for p in list_partitions(conn)}
        wanted = {DEFAULT_PARTITION, *map(partition_name, wanted_years(conn, today))}
    if wanted <= have:
        return []
    with engine.begin() as conn:
        return ensure_if_partitioned(conn, today)
