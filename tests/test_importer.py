"""Bulk import: every row accounted for, each stored report equal to what the single-report
builders give (snap_point, route, calendar.due_at, lonlat_to_cells, neighbours_within), bad
rows rejected with their reasons, strict mode and crashes writing nothing, re-imports
completing without duplicates.

Pieces (H3 parents, the column checks, the readers) are tested without a database. Whole
files are generated on the 2019 communes (``hue_db``: skips without the shared data root,
fails in CI) and imported inside the rolled-back ``conn`` after ``load_config``; the crash test
needs committed state and a process to kill, so it runs the CLI against a scratch database.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, column, func, select, table, text
from sqlalchemy.exc import IntegrityError

from gis_service.boundaries import generations
from gis_service.boundaries.generations import Generation
from gis_service.boundaries.manifest import load_manifest
from gis_service.cells import cells_for_points, lonlat_to_cells
from gis_service.coords import LonLat
from gis_service.db.engine import make_engine
from gis_service.db.schema import category, generation, report, report_contact, report_event
from gis_service.db.scratch import scratch_database
from gis_service.errors import DataError
from gis_service.reports import calendar
from gis_service.reports.importing import summary as why
from gis_service.reports.importing.format import COLUMNS
from gis_service.reports.importing.importer import STEPS, ImportRejected, import_reports
from gis_service.reports.importing.offline import bring_online, take_offline
from gis_service.reports.importing.read import RawRows, read_rows
from gis_service.reports.importing.summary import ImportSummary
from gis_service.reports.importing.validate import Reference, validate
from gis_service.reports.routing import route
from gis_service.reports.setup import load_config
from gis_service.spatial.proximity import neighbour_select, neighbours_within
from gis_service.spatial.single import snap_point
from gis_service.synthetic.generator import category_codes, generate, load_communes
from tests.conftest import HueDB

ROOT = Path(__file__).resolve().parent.parent
HISTORY_ROWS, HISTORY_SEED = 2_000, 5
CRASH_ROWS = 10_000
SAMPLE = 12
HANOI = ("21.028500", "105.854200")  # (lat, lon): Hoàn Kiếm, far outside the service area


# -- pieces, no database ------------------------------------------------------------------------


def test_cells_of_a_file_equal_the_cells_of_single_intake() -> None:
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(107.0, 108.3, 500), rng.uniform(15.9, 16.8, 500)
    cells = cells_for_points(lon, lat)
    for i in range(len(lon)):
        expected = lonlat_to_cells(LonLat(float(lon[i]), float(lat[i])))
        assert {res: int(cells[res][i]) for res in cells} == expected


GOOD_ROW = {
    "public_id": "T-1", "created_at": "2025-10-31T08:15:42+07:00", "category": "roads",
    "description": "Ổ gà lớn trước nhà số 12", "channel": "app", "lat": "16.463700",
    "lon": "107.590500", "location_source": "gps", "address": "", "reporter_name": "",
    "reporter_phone": "0900000001", "reporter_email": "", "status": "received",
    "first_response_at": "", "resolved_at": "", "closed_at": "", "satisfaction": "",
    "duplicate_of": "", "media_urls": "", "incident_id": "",
}
REFERENCE = Reference(frozenset({"roads"}), (
    Generation(1, "2019", "", dt.date(2019, 4, 1), dt.date(2025, 6, 30), "retired"),
    Generation(2, "2025", "", dt.date(2025, 7, 1), None, "active"),
))


def raw_rows(*changes: dict[str, str], clean: bool = True) -> RawRows:
    frame = pd.DataFrame([{**GOOD_ROW, "public_id": f"T-{i}", **change}
                          for i, change in enumerate(changes, 1)], columns=list(COLUMNS))
    frame.insert(0, "row", range(1, len(frame) + 1))
    return RawRows(frame, (), clean)


@pytest.mark.parametrize(("change", "reason", "words"), [
    ({}, None, None),
    ({"public_id": ""}, why.MISSING_FIELD, "public_id is empty"),
    ({"created_at": "2025-10-31T08:15:42"}, why.BAD_TIME, "UTC offset"),
    ({"created_at": "31/10/2025 08:15"}, why.BAD_TIME, "created_at"),
    ({"created_at": "2025-02-30T08:15:42+07:00"}, why.BAD_TIME, "2025-02-30"),
    ({"created_at": "2025-10-31 08:15:42.5Z"}, None, None),
    ({"resolved_at": "soon"}, why.BAD_TIME, "resolved_at"),
    ({"lat": "", "lon": "", "address": "45 Trần Hưng Đạo, Huế"}, why.ADDRESS_ONLY,
     "'45 Trần Hưng Đạo, Huế': an address is not routed to a commune"),
    ({"lat": "", "lon": ""}, why.MISSING_FIELD, "lat is empty"),
    ({"lat": "abc"}, why.BAD_COORDINATES, "lat must be a number"),
    ({"lat": "nan"}, why.BAD_COORDINATES, "finite"),
    ({"lon": "1e309"}, why.BAD_COORDINATES, "finite"),
    ({"lat": "107.5905", "lon": "16.4637"}, why.BAD_COORDINATES, "look swapped"),
    ({"channel": "fax"}, why.BAD_VALUE, "channel must be one of"),
    ({"status": "lost"}, why.BAD_VALUE, "status must be one of"),
    ({"status": "needs_location"}, why.BAD_VALUE, "not 'needs_location'"),
    ({"satisfaction": "6"}, why.BAD_VALUE, "satisfaction"),
    ({"satisfaction": "4.5"}, why.BAD_VALUE, "satisfaction"),
    ({"satisfaction": "4"}, None, None),
    ({"media_urls": "|".join(f"https://m.invalid/{i}.jpg" for i in range(11))}, why.BAD_VALUE,
     "11 URLs"),
    ({"media_urls": "|".join(f"https://m.invalid/{i}.jpg" for i in range(10)) + "||"}, None, None),
    ({"category": "ufo"}, why.UNKNOWN_CATEGORY, "'ufo'"),
    ({"description": "ạ" * 4000}, None, None),
    ({"description": "ạ" * 4001}, why.DESCRIPTION_TOO_LONG, "4,001 characters"),
    ({"status": "duplicate"}, why.BAD_DUPLICATE_LINK, "duplicate_of is empty"),
    ({"duplicate_of": "T-9"}, why.BAD_DUPLICATE_LINK, "status is 'received'"),
    ({"status": "duplicate", "duplicate_of": "T-1"}, why.BAD_DUPLICATE_LINK, "itself"),
    ({"created_at": "2019-03-31T23:00:00+07:00"}, why.NO_GENERATION, "2019-03-31"),
])
def test_each_bad_value_is_rejected_with_its_reason(change: dict[str, str], reason: str | None,
                                                    words: str | None) -> None:
    checked = validate(raw_rows(change), REFERENCE)
    if reason is None:
        assert not checked.rejections and len(checked.rows) == 1
        return
    assert len(checked.rows) == 0
    (rejection,) = checked.rejections
    assert (rejection.row, rejection.reason) == (1, reason)
    assert words is not None and words in rejection.detail


def test_generation_follows_the_day_in_hue_not_in_utc() -> None:
    # 1 July 2025 01:00 in Huế is still 30 June in UTC: the 2025 generation applies.
    checked = validate(raw_rows({"created_at": "2025-06-30T18:00:00Z"},
                                {"created_at": "2025-06-30T23:59:59+07:00"}), REFERENCE)
    assert checked.rows["generation_id"].tolist() == [2, 1]
    assert str(checked.rows["created_at"][0]) == "2025-06-30 18:00:00+00:00"


def test_repeated_public_ids_keep_the_first_good_row() -> None:
    checked = validate(raw_rows({"public_id": "A", "category": "ufo"}, {"public_id": "A"},
                                {"public_id": "A"}), REFERENCE)
    assert checked.rows["row"].tolist() == [2]
    assert [(r.row, r.reason) for r in checked.rejections] == [
        (1, why.UNKNOWN_CATEGORY), (3, why.REPEATED_PUBLIC_ID)]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_csv_reader_refuses_a_broken_file_and_flags_broken_text(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("public_id,created_at\nA,2025-01-01T00:00:00+07:00\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing category"):
        read_rows(wrong)
    lines = write_csv(tmp_path / "ok.csv", [GOOD_ROW, GOOD_ROW]).read_bytes().splitlines(True)
    extra = tmp_path / "extra.csv"
    extra.write_bytes(lines[0] + lines[1].replace(b"\r\n", b",surplus\r\n"))
    with pytest.raises(DataError, match="not a readable CSV"):
        read_rows(extra)
    broken = tmp_path / "broken.csv"
    broken.write_bytes(lines[0] + lines[1] + b"T-2,2025-01-01T00:00:00+07:00\n"
                       + lines[2].replace("Ổ gà".encode(), b"\xff\x00"))
    raw = read_rows(broken)
    assert not raw.unreadable and not raw.clean_text
    checked = validate(raw, REFERENCE)
    assert [(r.row, r.reason) for r in checked.rejections] == [
        (2, why.MISSING_FIELD), (3, why.BAD_TEXT)]
    assert checked.rows["row"].tolist() == [1]


def test_geojson_reader_takes_the_point_from_the_geometry(tmp_path: Path) -> None:
    path = tmp_path / "reports.geojson"
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [107.5905, 16.4637]},
         "properties": {**GOOD_ROW, "lat": None, "lon": None, "satisfaction": 4,
                        "media_urls": ["https://a.invalid/1.jpg", "https://a.invalid/2.jpg"]}},
        {"type": "Feature", "geometry": None, "properties": GOOD_ROW},
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    raw = read_rows(path)
    row = raw.frame.iloc[0]
    assert (row["lon"], row["lat"], row["satisfaction"]) == ("107.5905", "16.4637", "4")
    assert row["media_urls"] == "https://a.invalid/1.jpg|https://a.invalid/2.jpg"
    assert [(u.row, u.detail) for u in raw.unreadable] == [(2, "the feature has no Point geometry")]
    (tmp_path / "not.geojson").write_text('{"type": "Feature"}', "utf-8")
    with pytest.raises(DataError, match="FeatureCollection"):
        read_rows(tmp_path / "not.geojson")


# -- whole files on Huế's boundaries --------------------------------------------------------------


@pytest.fixture(scope="module")
def history(hue_db: HueDB, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated history (2019 communes, fixed seed), read-only for the tests."""
    with hue_db.engine.connect() as connection:
        communes = load_communes(connection, "2019")
    out = tmp_path_factory.mktemp("history") / "history.csv"
    generate(communes, out=out, count=HISTORY_ROWS, seed=HISTORY_SEED,
             categories=category_codes(hue_db.settings))
    return out


def history_rows(history: Path) -> list[dict[str, str]]:
    with history.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def configured(hue_db: HueDB, conn: Connection) -> Connection:
    load_config(conn, hue_db.settings)
    return conn


@pytest.fixture
def imported(configured: Connection, history: Path) -> ImportSummary:
    return import_reports(configured, history, batch_label="history")


def sample(conn: Connection, *where: Any) -> list[Any]:
    """A fixed pseudo-random sample of the imported reports."""
    return conn.execute(
        select(report, func.ST_X(report.c.geom).label("lon"), func.ST_Y(report.c.geom).label("lat"))
        .where(report.c.import_batch == "history", *where)
        .order_by(func.md5(report.c.public_id)).limit(SAMPLE)
    ).all()


@pytest.mark.realdata
def test_every_row_of_a_generated_file_is_accounted_for(configured: Connection, history: Path
                                                        ) -> None:
    steps: list[tuple[str, int, int]] = []
    summary = import_reports(configured, history, batch_label="history",
                             progress=lambda *step: steps.append(step))
    rows = len(history_rows(history))
    assert summary.rows == rows
    assert summary.imported + summary.already_present + summary.rejected == rows
    assert summary.imported > 0.95 * rows
    stored = configured.execute(select(func.count()).where(report.c.import_batch == "history"))
    assert stored.scalar_one() == summary.imported
    assert [name for name, _, _ in steps] == list(STEPS)
    assert steps[-1][1:] == (len(STEPS), len(STEPS))
    assert set(summary.steps) == set(STEPS)


@pytest.mark.realdata
def test_stored_units_equal_snap_point_in_both_generations(imported: ImportSummary,
                                                           configured: Connection) -> None:
    conn = configured
    current = generations.active(conn)
    before = report.c.snap_generation_id != current.id
    rows = sample(conn, before) + sample(conn, ~before)
    assert {row.snap_generation_id != current.id for row in rows} == {True, False}
    codes = dict(conn.execute(select(generation.c.id, generation.c.code)).all())
    for row in rows:
        point = LonLat(row.lon, row.lat)
        then = snap_point(conn, point, generation=codes[row.snap_generation_id])
        now = snap_point(conn, point, generation=current.code)
        assert then.commune is not None and now.commune is not None and now.province is not None
        assert (row.commune_id, row.district_id, row.province_id, row.snap_match) == (
            then.commune.id, then.district.id if then.district else None,
            then.province.id if then.province else None, then.match)
        assert row.snap_distance_m == pytest.approx(then.distance_m or 0.0, abs=1e-6)
        assert (row.current_commune_id, row.current_district_id, row.current_province_id) == (
            now.commune.id, now.district.id if now.district else None, now.province.id)
        assert row.current_generation_id == current.id
        assert {f"h3_r{res}": row._mapping[f"h3_r{res}"] for res in (6, 7, 8, 9, 10)} == {
            f"h3_r{res}": cell for res, cell in lonlat_to_cells(point).items()}


@pytest.mark.realdata
def test_near_boundary_flags_equal_neighbours_within(imported: ImportSummary,
                                                     configured: Connection) -> None:
    conn = configured
    rows = sample(conn, report.c.near_boundary) + sample(conn, ~report.c.near_boundary)
    assert {row.near_boundary for row in rows} == {True, False}
    found = neighbours_within(conn, [(LonLat(r.lon, r.lat), r.current_commune_id) for r in rows],
                              rows[0].current_generation_id)
    assert [r.neighbour_commune_id for r in rows] == [n.unit_id if n else None for n in found]


@pytest.mark.realdata
def test_routing_and_deadlines_equal_route_and_calendar(imported: ImportSummary,
                                                        configured: Connection) -> None:
    conn = configured
    deadlines = {code: (amount, unit) for code, amount, unit in conn.execute(
        select(category.c.code, category.c.deadline_amount, category.c.deadline_unit))}
    for row in sample(conn):
        decision = route(conn, lon=row.lon, lat=row.lat, category=row.category,
                         current_commune_id=row.current_commune_id,
                         current_district_id=row.current_district_id,
                         current_province_id=row.current_province_id)
        assert (row.agency_id, row.routing_rule_id) == (decision.agency_id, decision.rule_id)
        note = conn.execute(select(report_event.c.note).where(
            report_event.c.report_id == row.id, report_event.c.kind == "routed")).scalar_one()
        assert note == decision.reason
        assert row.due_at == calendar.due_at(row.created_at, *deadlines[row.category])


@pytest.mark.realdata
def test_every_imported_report_has_its_events_and_contact(imported: ImportSummary,
                                                          configured: Connection) -> None:
    conn = configured
    events = report_event.alias("e")
    per_report = (
        select(
            report.c.id,
            func.count().filter(events.c.kind == "created").label("created"),
            func.count().filter(events.c.kind == "routed").label("routed"),
            func.count().filter(events.c.kind.in_(["status", "duplicate"])).label("moves"),
            (func.num_nonnulls(report.c.first_response_at, report.c.resolved_at,
                               report.c.closed_at)).label("times"),
        )
        .join(events, events.c.report_id == report.c.id)
        .where(report.c.import_batch == "history")
        .group_by(report.c.id)
        .subquery()
    )
    mismatched = conn.execute(select(func.count()).where(
        (per_report.c.created != 1) | (per_report.c.routed != 1)
        | (per_report.c.moves != per_report.c.times))).scalar_one()
    covered = conn.execute(select(func.count()).select_from(per_report)).scalar_one()
    assert (covered, mismatched) == (imported.imported, 0)
    assert imported.events == conn.execute(select(func.count()).select_from(report_event).join(
        report, report.c.id == report_event.c.report_id).where(
        report.c.import_batch == "history")).scalar_one()
    closed = conn.execute(
        select(report_event.c.from_status, report_event.c.to_status, report_event.c.at,
               report.c.closed_at)
        .join(report, report.c.id == report_event.c.report_id)
        .where(report.c.status == "closed", report.c.import_batch == "history")
        .order_by(report_event.c.report_id.desc(), report_event.c.id.desc()).limit(1)).one()
    assert (closed.from_status, closed.to_status, closed.at) == ("resolved", "closed", closed.closed_at)
    contacts = conn.execute(select(func.count()).select_from(report_contact).join(
        report, report.c.id == report_contact.c.report_id).where(
        report.c.import_batch == "history")).scalar_one()
    assert contacts == imported.contacts == imported.imported  # every generated reporter has one


@pytest.mark.realdata
def test_duplicates_point_at_their_originals(imported: ImportSummary, configured: Connection,
                                             history: Path) -> None:
    original = report.alias("original")
    pairs = dict(configured.execute(
        select(report.c.public_id, original.c.public_id)
        .join(original, original.c.id == report.c.duplicate_of)
        .where(report.c.import_batch == "history")).all())
    expected = {r["public_id"]: r["duplicate_of"] for r in history_rows(history) if r["duplicate_of"]}
    assert pairs and pairs == expected


@pytest.mark.realdata
def test_importing_again_adds_nothing(imported: ImportSummary, configured: Connection,
                                      history: Path) -> None:
    def counts() -> tuple[int, ...]:
        return tuple(configured.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (report, report_event, report_contact))

    before = counts()
    again = import_reports(configured, history, batch_label="history")
    assert (again.imported, again.already_present, again.events, again.contacts) == (
        0, imported.imported, 0, 0)
    assert again.rejections == imported.rejections
    assert counts() == before


@pytest.mark.realdata
def test_a_file_whose_first_part_is_stored_is_completed(configured: Connection, history: Path,
                                                        tmp_path: Path) -> None:
    rows = history_rows(history)
    # Split just before a duplicate, so its original is in the first part.
    split = next(i for i, r in enumerate(rows) if i > len(rows) // 3 and r["duplicate_of"])
    first = import_reports(configured, write_csv(tmp_path / "first.csv", rows[:split]),
                           batch_label="history")
    rest = import_reports(configured, history, batch_label="history")
    assert (first.rejected, first.imported) == (0, split)
    assert (rest.imported, rest.already_present, rest.rejected) == (len(rows) - split, split, 0)
    original = report.alias("original")
    linked = dict(configured.execute(
        select(report.c.public_id, original.c.public_id)
        .join(original, original.c.id == report.c.duplicate_of)
        .where(report.c.import_batch == "history")).all())
    stored_first = {r["public_id"] for r in rows[:split]}
    across = {r["public_id"]: r["duplicate_of"] for r in rows[split:]
              if r["duplicate_of"] in stored_first}
    assert across and all(linked[dup] == orig for dup, orig in across.items())


def spoiled(history: Path, tmp_path: Path) -> tuple[Path, dict[int, str]]:
    """The history's first 60 rows with four bad rows in the middle (none of them an original
    that a duplicate points at); returns the file and the reason expected per row."""
    rows = history_rows(history)[:60]
    originals = {r["duplicate_of"] for r in rows}
    free = [i for i, r in enumerate(rows) if r["public_id"] not in originals and i >= 20]
    bad = {
        free[0]: ({"created_at": "2025-13-01T08:00:00+07:00"}, why.BAD_TIME),
        free[1]: ({"category": "flying_saucers"}, why.UNKNOWN_CATEGORY),
        free[2]: ({"lat": HANOI[0], "lon": HANOI[1]}, why.OUTSIDE_SERVICE_AREA),
        free[3]: ({"description": "x" * 4001}, why.DESCRIPTION_TOO_LONG),
    }
    for index, (change, _) in bad.items():
        rows[index].update(change)
    return write_csv(tmp_path / "spoiled.csv", rows), {i + 1: reason for i, (_, reason) in bad.items()}


@pytest.mark.realdata
def test_bad_rows_in_the_middle_are_rejected_and_the_rest_imported(
        configured: Connection, history: Path, tmp_path: Path) -> None:
    path, expected = spoiled(history, tmp_path)
    summary = import_reports(configured, path)
    assert {r.row: r.reason for r in summary.rejections} == expected
    assert (summary.imported, summary.rejected) == (56, 4)
    assert summary.by_reason == {reason: 1 for reason in expected.values()}
    outside = next(r for r in summary.rejections if r.reason == why.OUTSIDE_SERVICE_AREA)
    assert "2000 m from every commune" in outside.detail
    describe = summary.describe()
    assert "56 imported" in describe and f"row {min(expected)}:" in describe


@pytest.mark.realdata
@pytest.mark.parametrize("hanoi_only", [False, True], ids=["checked-in-python", "found-by-snapping"])
def test_strict_mode_writes_nothing(configured: Connection, history: Path, tmp_path: Path,
                                    hanoi_only: bool) -> None:
    path, expected = spoiled(history, tmp_path)
    if hanoi_only:
        rows = history_rows(path)
        for row_number, reason in expected.items():
            if reason != why.OUTSIDE_SERVICE_AREA:
                rows[row_number - 1] = history_rows(history)[row_number - 1]
        path = write_csv(tmp_path / "hanoi.csv", rows)
    before = configured.execute(select(func.count()).select_from(report)).scalar_one()
    with pytest.raises(ImportRejected) as raised:
        import_reports(configured, path, strict=True)
    assert raised.value.summary.rejected == (1 if hanoi_only else 4)
    assert raised.value.summary.imported == 0
    # The savepoint was rolled back: nothing written and the transaction still usable.
    assert configured.execute(select(func.count()).select_from(report)).scalar_one() == before


# The report tables' indexes and constraints as the catalogue defines them, and the foreign
# keys pointing at them.
_SCHEMA = text("""
    SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
    WHERE indrelid = ANY ('{report,report_event,report_contact}'::regclass[])
    UNION ALL
    SELECT conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid = ANY ('{report,report_event,report_contact}'::regclass[])
       OR confrelid = ANY ('{report,report_event,report_contact}'::regclass[])
    ORDER BY 1, 2
""")


def stored_digest(conn: Connection) -> list[tuple[Any, ...]]:
    """What an import decided for each report of the batch, by public id (no surrogate ids)."""
    original = report.alias("original")
    events = select(func.count()).where(report_event.c.report_id == report.c.id).scalar_subquery()
    return [tuple(row) for row in conn.execute(
        select(report.c.public_id, report.c.commune_id, report.c.current_commune_id,
               report.c.agency_id, report.c.routing_rule_id, report.c.due_at, report.c.status,
               report.c.near_boundary, original.c.public_id, events)
        .outerjoin(original, original.c.id == report.c.duplicate_of)
        .where(report.c.import_batch == "history").order_by(report.c.public_id))]


@pytest.mark.realdata
def test_an_offline_import_stores_what_an_online_one_does(configured: Connection,
                                                          history: Path) -> None:
    schema = configured.execute(_SCHEMA).all()
    with configured.begin_nested() as online:
        online_summary = import_reports(configured, history, batch_label="history")
        expected = stored_digest(configured)
        online.rollback()
    summary = import_reports(configured, history, batch_label="history", offline=True)
    assert (summary.imported, summary.events, summary.contacts) == (
        online_summary.imported, online_summary.events, online_summary.contacts)
    assert len(expected) == summary.imported > 0
    assert stored_digest(configured) == expected
    # Every index and foreign key is back, as the migrations made it, and still checking.
    assert configured.execute(_SCHEMA).all() == schema
    with pytest.raises(IntegrityError), configured.begin_nested():
        configured.execute(report_event.insert().values(report_id=-1, actor="test", kind="note"))


@pytest.mark.realdata
def test_an_offline_import_on_top_of_stored_reports(configured: Connection, history: Path,
                                                    tmp_path: Path) -> None:
    """The tables are not empty, so not truncated; duplicates in the offline half find their
    originals among the stored reports without the public_id key."""
    with configured.begin_nested() as online:
        import_reports(configured, history, batch_label="history")
        expected = stored_digest(configured)
        online.rollback()
    rows = history_rows(history)
    half = len(rows) // 2
    first = write_csv(tmp_path / "first.csv", rows[:half])
    rest = write_csv(tmp_path / "rest.csv", rows[half:])
    import_reports(configured, first, batch_label="history")
    summary = import_reports(configured, rest, batch_label="history", offline=True)
    assert summary.imported == len(expected) - half > 0
    assert stored_digest(configured) == expected


EMPTY_REPORT_TABLES = ("TRUNCATE report, report_event, report_contact, report_rating, "
                       "idempotency_key, notification, overdue_notice")


@pytest.mark.realdata
def test_only_empty_report_tables_are_truncated(configured: Connection, history: Path,
                                                tmp_path: Path) -> None:
    with configured.begin_nested() as emptied:
        configured.execute(text(EMPTY_REPORT_TABLES))
        schema = configured.execute(_SCHEMA).all()
        offline = take_offline(configured)
        assert offline.truncated
        bring_online(configured, offline)
        assert configured.execute(_SCHEMA).all() == schema
        emptied.rollback()
    with configured.begin_nested() as stored:
        configured.execute(text(EMPTY_REPORT_TABLES))
        few = import_reports(configured, write_csv(tmp_path / "few.csv", history_rows(history)[:20]))
        offline = take_offline(configured)
        assert not offline.truncated
        bring_online(configured, offline)
        assert configured.execute(select(func.count()).select_from(report)).scalar_one() == few.imported > 0
        stored.rollback()


@pytest.mark.realdata
def test_a_failed_offline_import_keeps_the_indexes_and_keys(configured: Connection,
                                                           history: Path, tmp_path: Path) -> None:
    schema = configured.execute(_SCHEMA).all()
    path, _ = spoiled(history, tmp_path)
    with pytest.raises(ImportRejected):
        import_reports(configured, path, strict=True, offline=True)
    assert configured.execute(_SCHEMA).all() == schema


@pytest.mark.realdata
def test_a_duplicate_of_a_rejected_or_unknown_report_is_rejected(configured: Connection,
                                                                 history: Path, tmp_path: Path
                                                                 ) -> None:
    rows = history_rows(history)
    duplicate = next(i for i, r in enumerate(rows) if r["duplicate_of"])
    original = next(i for i, r in enumerate(rows) if r["public_id"] == rows[duplicate]["duplicate_of"])
    rows[original]["lat"], rows[original]["lon"] = HANOI
    stray = dict(rows[duplicate], public_id="STRAY-1", duplicate_of="NOWHERE-1")
    path = write_csv(tmp_path / "orphans.csv", [*rows, stray])
    summary = import_reports(configured, path)
    by_row = {r.row: r.reason for r in summary.rejections}
    linked = [i + 1 for i, r in enumerate(rows) if r["duplicate_of"] == rows[original]["public_id"]]
    assert by_row == {original + 1: why.OUTSIDE_SERVICE_AREA, len(rows) + 1: why.DUPLICATE_OF_UNKNOWN,
                      **{row: why.DUPLICATE_OF_UNKNOWN for row in linked}}


@pytest.mark.realdata
def test_a_geojson_file_imports_like_its_csv(configured: Connection, history: Path,
                                             tmp_path: Path) -> None:
    rows = [r for r in history_rows(history) if not r["duplicate_of"]][:80]
    features = [{"type": "Feature",
                 "geometry": {"type": "Point", "coordinates": [float(r["lon"]), float(r["lat"])]},
                 "properties": {k: (v or None) for k, v in r.items() if k not in ("lat", "lon")}}
                for r in rows]
    path = tmp_path / "reports.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")
    summary = import_reports(configured, path)
    assert (summary.rows, summary.imported, summary.rejected) == (80, 80, 0)
    stored = {r.public_id: r for r in configured.execute(
        select(report.c.public_id, report.c.description, report.c.address, report.c.media_urls,
               report.c.created_at, func.ST_X(report.c.geom).label("lon"))
        .where(report.c.import_batch == "reports.geojson"))}
    for row in rows:
        got = stored[row["public_id"]]
        assert (got.description, got.address or "") == (row["description"], row["address"])
        assert got.media_urls == [u for u in row["media_urls"].split("|") if u]
        assert got.created_at == dt.datetime.fromisoformat(row["created_at"])
        assert got.lon == pytest.approx(float(row["lon"]), abs=1e-9)


@pytest.mark.realdata
def test_neighbour_select_equals_neighbours_within(hue_db: HueDB, conn: Connection) -> None:
    current = generations.active(conn)
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(107.52, 107.66, 400), rng.uniform(16.42, 16.52, 400)
    points = [LonLat(float(x), float(y)) for x, y in zip(lon, lat, strict=True)]
    own = [snap_point(conn, p, generation=current.code) for p in points]
    located = [(p, s.commune.id if s.commune else None) for p, s in zip(points, own, strict=True)]
    conn.execute(text("CREATE TEMPORARY TABLE near_input (idx int, lon float8, lat float8, "
                      "own_id int) ON COMMIT DROP"))
    conn.execute(text("INSERT INTO near_input VALUES (:idx, :lon, :lat, :own)"),
                 [{"idx": i, "lon": p.lon, "lat": p.lat, "own": o} for i, (p, o) in enumerate(located)])
    staged = table("near_input", column("idx"), column("lon"), column("lat"), column("own_id"))
    found = {row.idx: (row.unit_id, row.distance_m)
             for row in conn.execute(neighbour_select(staged, current.id))}
    expected = neighbours_within(conn, located, current.id)
    assert sum(n is not None for n in expected) > 10
    for i, neighbour in enumerate(expected):
        got = found.get(i)
        assert (got[0] if got else None) == (neighbour.unit_id if neighbour else None)
        if neighbour is not None and got is not None:
            assert got[1] == pytest.approx(neighbour.distance_m, abs=1e-6)


# -- a crash halfway (issue 7): nothing of the file stays, and running it again completes it ------


@pytest.fixture(scope="module")
def crash_database(hue_db: HueDB, server_url: str) -> Iterator[Engine]:
    """A scratch database with Huế and the report configuration committed (a killed import
    must be observed from outside its transaction)."""
    settings = hue_db.settings
    with scratch_database(server_url, settings, "test_import_crash") as url:
        engine = make_engine(url, settings)
        try:
            with engine.begin() as connection:
                load_manifest(connection, settings)
            with engine.begin() as connection:
                load_config(connection, settings)
            yield engine
        finally:
            engine.dispose()


def _import_process(engine: Engine, path: Path, *options: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    command = [sys.executable, "-c", "from gis_service.cli import main; main()",
               "reports", "import", str(path), *options]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _wait_for(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.realdata
@pytest.mark.parametrize("options", [(), ("--offline",)], ids=["online", "offline"])
def test_a_killed_import_leaves_nothing_and_running_it_again_completes_it(
        crash_database: Engine, hue_db: HueDB, tmp_path: Path, options: tuple[str, ...]) -> None:
    # Big enough that writing the reports, contacts and events takes a second or two; each
    # mode its own file (its own public ids and batch) in the shared database.
    with crash_database.connect() as connection:
        communes = load_communes(connection, "2019")
        schema = connection.execute(_SCHEMA).all()
    history = tmp_path / f"crash{'-'.join(('', *options))}.csv"
    generate(communes, out=history, count=CRASH_ROWS, seed=HISTORY_SEED + 1 + len(options),
             categories=category_codes(hue_db.settings))
    batch = report.c.import_batch == history.name

    def inserting() -> bool:
        with crash_database.connect() as probe:
            return bool(probe.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state = 'active' "
                "AND query LIKE '%INSERT INTO report%'")).scalar_one())

    def stored() -> tuple[int, ...]:
        with crash_database.connect() as probe:
            reports = probe.execute(select(func.count()).select_from(report).where(batch))
            return (reports.scalar_one(), *(probe.execute(
                select(func.count()).select_from(t).join(report, report.c.id == t.c.report_id)
                .where(batch)).scalar_one() for t in (report_event, report_contact)))

    process = _import_process(crash_database, history, *options)
    try:
        # Killed once the report rows are being written (contacts or events: after the reports).
        _wait_for(lambda: inserting() or process.poll() is not None)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    _wait_for(lambda: not inserting())
    assert stored() == (0, 0, 0)
    with crash_database.connect() as probe:
        assert probe.execute(_SCHEMA).all() == schema  # offline: the drops rolled back too
    rerun = _import_process(crash_database, history, *options)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()
    reports, events, contacts = stored()
    assert f"{reports:,} imported" in out.decode() and reports > 0.95 * CRASH_ROWS
    assert events > 2 * reports and contacts == reports
    with crash_database.connect() as probe:
        assert probe.execute(_SCHEMA).all() == schema
