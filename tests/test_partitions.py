"""Reports partitioned by year (migration 0008, gis_service/db/partitions.py): pruning,
ids unique across partitions, reports moved in time, the default partition, the migration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from gis_service.analysis.selection import ReportSelection
from gis_service.analysis.sql.hotspots import cell_counts_query
from gis_service.config import Settings
from gis_service.db import migrate
from gis_service.db.engine import make_engine
from gis_service.db.partitions import (
    DEFAULT_PARTITION,
    ensure_report_partitions,
    list_partitions,
    partition_name,
    skipping_stored_public_ids,
)
from gis_service.db.schema import report, report_contact, report_event, report_key
from gis_service.db.scratch import scratch_database
from tests.factories import add_report

UTC = dt.UTC
HUE = dt.timezone(dt.timedelta(hours=7))


def at(year: int, month: int = 6) -> dt.datetime:
    return dt.datetime(year, month, 15, 12, tzinfo=UTC)


def partition_of(conn: Connection, report_id: int) -> str:
    return str(conn.execute(select(text("tableoid::regclass::text")).select_from(report)
                            .where(report.c.id == report_id)).scalar_one())


@pytest.fixture
def years(conn: Connection) -> Connection:
    """The test database with partitions for 2023 through 2027 (rolled back after)."""
    ensure_report_partitions(conn, today=dt.date(2023, 1, 1), years_ahead=4)
    return conn


def _plan(conn: Connection, selection: ReportSelection) -> str:
    compiled = cell_counts_query(8, selection).compile(conn)
    rows = conn.exec_driver_sql("EXPLAIN " + compiled.string, compiled.params).all()
    return "\n".join(row[0] for row in rows)


def test_a_time_bounded_hot_spot_query_reads_only_its_partitions(years: Connection) -> None:
    # Huế's year 2025: 2024-12-31T17:00Z to 2025-12-31T17:00Z, so 2024's partition and 2025's.
    plan = _plan(years, ReportSelection(start=dt.datetime(2025, 1, 1, tzinfo=HUE),
                                        end=dt.datetime(2026, 1, 1, tzinfo=HUE)))
    assert partition_name(2024) in plan and partition_name(2025) in plan, plan
    for other in (2023, 2026, 2027):
        assert partition_name(other) not in plan, plan
    assert DEFAULT_PARTITION not in plan, plan
    # Unbounded, it reads every partition (the check above can fail).
    unbounded = _plan(years, ReportSelection())
    assert all(partition_name(y) in unbounded for y in range(2023, 2028)), unbounded
    assert DEFAULT_PARTITION in unbounded


def test_reports_land_in_their_year(years: Connection) -> None:
    for year in (2023, 2025, 2027):
        assert partition_of(years, add_report(years, created_at=at(year))) == partition_name(year)
    # Out of every yearly partition: the default one takes it, nothing is refused.
    assert partition_of(years, add_report(years, created_at=at(1999))) == DEFAULT_PARTITION


def test_ids_and_public_ids_are_unique_across_partitions(years: Connection) -> None:
    first = add_report(years, created_at=at(2024), public_id="T-PART-1")
    row = years.execute(select(report).where(report.c.id == first)).mappings().one()
    with pytest.raises(IntegrityError, match="pk_report_key"), years.begin_nested():
        years.execute(insert(report).values(
            {**row, "public_id": "T-PART-2", "created_at": at(2026)}))
    with pytest.raises(IntegrityError, match="uq_report_key_public_id"), years.begin_nested():
        add_report(years, created_at=at(2026), public_id="T-PART-1")
    keys = years.execute(select(report_key.c.id).where(report_key.c.id == first)).all()
    assert len(keys) == 1


def test_id_and_public_id_never_change(years: Connection) -> None:
    made = add_report(years, created_at=at(2025))
    for values in ({"public_id": "T-RENAMED"}, {"id": made + 10_000_000}):
        with pytest.raises(IntegrityError, match="never change"), years.begin_nested():
            years.execute(update(report).where(report.c.id == made).values(values))


def _with_history(conn: Connection, created_at: dt.datetime) -> int:
    made = add_report(conn, created_at=created_at)
    conn.execute(insert(report_contact).values(report_id=made, name="Nguyễn Văn A"))
    conn.execute(insert(report_event).values(report_id=made, actor="test", kind="created"))
    return made


def _history(conn: Connection, made: int) -> tuple[int, int, int]:
    def count(table_id: object) -> int:
        return int(conn.execute(select(func.count()).where(table_id == made)).scalar_one())
    return (count(report_key.c.id), count(report_contact.c.report_id),
            count(report_event.c.report_id))


def test_a_report_moved_in_time_keeps_its_key_contact_and_events(years: Connection) -> None:
    made = _with_history(years, at(2026))
    other = _with_history(years, at(2026, 7))
    years.execute(update(report).where(report.c.id.in_([made, other]))
                  .values(created_at=report.c.created_at - dt.timedelta(days=2 * 365)))
    assert partition_of(years, made) == partition_of(years, other) == partition_name(2024)
    assert _history(years, made) == _history(years, other) == (1, 1, 1)


def test_a_deleted_report_takes_its_key_and_contact(years: Connection) -> None:
    made = add_report(years, created_at=at(2025))
    years.execute(insert(report_contact).values(report_id=made, phone="0900000000"))
    years.execute(delete(report).where(report.c.id == made))
    assert _history(years, made) == (0, 0, 0)
    # An event (append-only history) still holds the key, so such a report cannot go.
    kept = _with_history(years, at(2025))
    with pytest.raises(IntegrityError), years.begin_nested():
        years.execute(delete(report).where(report.c.id == kept))


def test_a_new_year_takes_its_reports_from_the_default_partition(years: Connection) -> None:
    waiting = _with_history(years, at(2031))
    assert partition_of(years, waiting) == DEFAULT_PARTITION
    created = ensure_report_partitions(years, today=dt.date(2030, 1, 1))
    # From this year on (a gap, 2028-2029, is the default partition's until someone asks).
    assert created == [partition_name(2030), partition_name(2031)]
    assert partition_of(years, waiting) == partition_name(2031)
    assert _history(years, waiting) == (1, 1, 1)
    names = {p.name for p in list_partitions(years)}
    assert {DEFAULT_PARTITION, partition_name(2031)} <= names
    assert ensure_report_partitions(years, today=dt.date(2030, 1, 1)) == []


@pytest.fixture
def before_0008(server_url: str, settings: Settings) -> Iterator[str]:
    with scratch_database(server_url, settings, "test_partitioning", migrated=False) as url:
        yield url


def test_the_migration_keeps_every_report_and_its_history(before_0008: str,
                                                          settings: Settings) -> None:
    engine = make_engine(before_0008, settings)
    try:
        migrate.upgrade(engine, "0007_reference_boundaries")
        with engine.begin() as conn:
            made = [_with_history_0007(conn, at(year)) for year in (2024, 2025, 2025, 2026)]
        migrate.upgrade(engine)
        with engine.begin() as conn:
            assert [partition_of(conn, m) for m in made] == [
                partition_name(2024), partition_name(2025), partition_name(2025),
                partition_name(2026)]
            assert all(_history(conn, m) == (1, 1, 1) for m in made)
            # The identity carries on past the copied ids.
            assert add_report(conn, created_at=at(2026)) > max(made)
        migrate.downgrade(engine, "0007_reference_boundaries")
        with engine.connect() as conn:
            ids = set(conn.execute(text("SELECT id FROM report")).scalars())
            assert set(made) < ids and len(ids) == len(made) + 1
    finally:
        engine.dispose()


def _with_history_0007(conn: Connection, created_at: dt.datetime) -> int:
    """A report with a contact and an event, written before report_key exists."""
    made = add_report(conn, created_at=created_at)
    conn.execute(text("INSERT INTO report_contact (report_id, name) VALUES (:id, 'A')"),
                 {"id": made})
    conn.execute(text("INSERT INTO report_event (report_id, actor, kind) "
                      "VALUES (:id, 'test', 'created')"), {"id": made})
    return made


def test_the_importer_mode_skips_a_stored_public_id(years: Connection) -> None:
    stored = add_report(years, created_at=at(2025), public_id="T-PART-STORED")
    with skipping_stored_public_ids(years):
        skipped = years.execute(insert(report).from_select(
            [c.name for c in report.c if c.name != "id"],
            select(*(c for c in report.c if c.name != "id")).where(report.c.id == stored))
            .returning(report.c.id)).all()
        fresh = add_report(years, created_at=at(2026), public_id="T-PART-FRESH")
    assert skipped == [] and fresh != stored
    assert _history(years, fresh)[0] == 1
    with pytest.raises(IntegrityError, match="uq_report_key_public_id"), years.begin_nested():
        add_report(years, created_at=at(2026), public_id="T-PART-STORED")
