"""Snapping a point to its units, on tiny drawn grids (see gis_service/snapping.py for the rules)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pytest
from pyproj import Geod
from sqlalchemy import Connection, Float, Integer, column, select, table, text, update, values
from sqlalchemy.exc import OperationalError, ProgrammingError

from gis_service.coords import LonLat
from gis_service.db.schema import generation
from gis_service.errors import InvalidInput, NotFound
from gis_service.spatial import bulk
from gis_service.spatial.bulk import snap_points
from gis_service.spatial.query import snap_select
from gis_service.spatial.single import snap_point
from gis_service.spatial.types import Snap
from tests.factories import add_generation, add_unit, square

GEOD = Geod(ellps="WGS84")
# Test generations live far from the real ones in time, so published validity periods never
# collide with generations another fixture may have committed.
EARLY = dt.date(1990, 1, 1), dt.date(1999, 12, 31)
LATE = dt.date(2000, 1, 1), dt.date(2009, 12, 31)
X0, Y0, SIZE = 107.0, 16.0, 0.01  # the grid's south-west corner and cell size, in degrees


@dataclass(frozen=True)
class Grid:
    """A generation drawn for a test: its code and unit ids by code."""

    code: str
    ids: dict[str, int]


def _three_levels(conn: Connection, code: str = "snap-grid", *, status: str = "draft",
                  dates: tuple[dt.date, dt.date] | None = None) -> Grid:
    """Province P > district D > a 2x2 grid of communes, codes chosen against insertion order.

    Cells: c11 south-west, c12 south-east, c21 north-west, c22 north-east; the codes run the
    other way round from the ids (c22 has the lowest code), so "lowest code" is not "first
    inserted".
    """
    gen = add_generation(conn, code, status=status, valid_from=dates and dates[0],
                         valid_to=dates and dates[1])
    ids = {"P": add_unit(conn, gen, "P", square(X0, Y0, 2 * SIZE), level="province")}
    ids["D"] = add_unit(conn, gen, "D", square(X0, Y0, 2 * SIZE), level="district",
                        parent_id=ids["P"])
    for name, commune_code, (col, row) in (("c11", "904", (0, 0)), ("c12", "903", (1, 0)),
                                           ("c21", "902", (0, 1)), ("c22", "901", (1, 1))):
        ids[name] = add_unit(conn, gen, commune_code,
                             square(X0 + col * SIZE, Y0 + row * SIZE, SIZE), parent_id=ids["D"])
    return Grid(code, ids)


def _two_units(conn: Connection, west: str, east: str, *, gap: float = 0.0,
               overlap: float = 0.0, code: str = "snap-pair") -> Grid:
    """Two communes side by side under a province: a gap or an overlap between them."""
    gen = add_generation(conn, code)
    province = add_unit(conn, gen, "P", square(X0 - 1, Y0 - 1, 3), level="province")
    west_id = add_unit(conn, gen, west, square(X0, Y0, 2 * SIZE), parent_id=province)
    east_x = X0 + 2 * SIZE + gap - overlap
    east_id = add_unit(conn, gen, east, square(east_x, Y0, 2 * SIZE), parent_id=province)
    return Grid(code, {"P": province, west: west_id, east: east_id})


def _code(snap: Snap) -> str | None:
    return snap.commune.code if snap.commune else None


def _metres_east(lon: float, lat: float, to_lon: float) -> float:
    return float(GEOD.inv(lon, lat, to_lon, lat)[2])


class NoDatabase:
    """Stands in for a connection: any use of it fails the test."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"SQL was attempted (connection.{name}) before validation")


# --- Where a point falls.


def test_point_inside_gets_its_commune_district_and_province(conn: Connection) -> None:
    grid = _three_levels(conn)
    snap = snap_point(conn, LonLat(X0 + 0.3 * SIZE, Y0 + 0.4 * SIZE), generation=grid.code)
    assert (snap.generation, snap.match, snap.distance_m) == (grid.code, "inside", 0.0)
    assert snap.commune is not None and snap.commune.id == grid.ids["c11"]
    assert (snap.commune.code, snap.commune.level, snap.commune.unit_type) == ("904", "commune",
                                                                              "Phường")
    assert snap.commune.setting == "urban"
    assert snap.district is not None and snap.district.id == grid.ids["D"]
    assert snap.province is not None and snap.province.id == grid.ids["P"]


def test_point_on_a_shared_edge_goes_to_the_lowest_code(conn: Connection) -> None:
    grid = _three_levels(conn)
    # On the edge between c11 (code 904) and c12 (903): 0 m deep in both, so the lower code.
    on_edge = LonLat(X0 + SIZE, Y0 + 0.5 * SIZE)
    answers = {_code(snap_point(conn, on_edge, generation=grid.code)) for _ in range(3)}
    assert answers == {"903"}
    assert snap_point(conn, on_edge, generation=grid.code).match == "inside"


def test_point_on_a_vertex_shared_by_four_goes_to_the_lowest_code(conn: Connection) -> None:
    grid = _three_levels(conn)
    snap = snap_point(conn, LonLat(X0 + SIZE, Y0 + SIZE), generation=grid.code)
    assert (snap.match, _code(snap), snap.distance_m) == ("inside", "901", 0.0)


def test_point_in_an_overlap_goes_to_the_commune_it_is_deepest_in(conn: Connection) -> None:
    # West [0, 0.02], east [0.015, 0.035]: at x=0.019 the point is 0.001° from the west
    # commune's edge but 0.004° from the east one's, so east wins despite its higher code.
    grid = _two_units(conn, "100", "200", overlap=0.005)
    snap = snap_point(conn, LonLat(X0 + 0.019, Y0 + SIZE), generation=grid.code)
    assert (snap.match, _code(snap), snap.distance_m) == ("inside", "200", 0.0)
    snap = snap_point(conn, LonLat(X0 + 0.016, Y0 + SIZE), generation=grid.code)
    assert _code(snap) == "100"


def test_point_in_a_gap_snaps_to_the_nearest_commune_in_metres(conn: Connection) -> None:
    grid = _two_units(conn, "100", "200", gap=0.004)
    lon, lat = X0 + 2 * SIZE + 0.001, Y0 + SIZE  # 0.001° east of the west commune
    snap = snap_point(conn, LonLat(lon, lat), generation=grid.code)
    assert (snap.match, _code(snap)) == ("nearest", "100")
    assert snap.district is None and snap.province is not None
    expected = _metres_east(X0 + 2 * SIZE, lat, lon)
    assert snap.distance_m is not None
    assert snap.distance_m == pytest.approx(expected, abs=0.01)
    assert 100 < snap.distance_m < 110  # a thousandth of a degree of longitude, not 0.001


def test_point_midway_across_a_gap_goes_to_the_lowest_code(conn: Connection) -> None:
    grid = _two_units(conn, "200", "100", gap=0.004)
    snap = snap_point(conn, LonLat(X0 + 2 * SIZE + 0.002, Y0 + SIZE), generation=grid.code)
    assert (snap.match, _code(snap)) == ("nearest", "100")


def test_point_beyond_the_tolerance_is_outside_not_an_error(conn: Connection) -> None:
    grid = _three_levels(conn)
    snap = snap_point(conn, LonLat(X0 + 0.1, Y0), generation=grid.code)  # ~10 km east
    assert snap == Snap(grid.code, "outside", None, None, None, None)


def test_tolerance_is_honoured(conn: Connection) -> None:
    grid = _three_levels(conn)
    lon, lat = X0 + 2 * SIZE + 0.005, Y0 + SIZE  # ~535 m east of the grid
    metres = _metres_east(X0 + 2 * SIZE, lat, lon)
    assert snap_point(conn, LonLat(lon, lat), generation=grid.code).match == "nearest"
    just_short = snap_point(conn, LonLat(lon, lat), generation=grid.code, tolerance_m=metres - 1)
    just_over = snap_point(conn, LonLat(lon, lat), generation=grid.code, tolerance_m=metres + 1)
    assert (just_short.match, just_over.match) == ("outside", "nearest")
    assert snap_point(conn, LonLat(lon, lat), generation=grid.code, tolerance_m=0).match == "outside"


@pytest.mark.parametrize("tolerance", [-1.0, math.nan, math.inf, 1e9, "5", True])
def test_bad_tolerance_is_rejected_before_sql(tolerance: float) -> None:
    with pytest.raises(InvalidInput) as one:
        snap_point(NoDatabase(), LonLat(X0, Y0), tolerance_m=tolerance)  # type: ignore[arg-type]  # must not be touched
    with pytest.raises(InvalidInput) as many:
        snap_points(NoDatabase(), [LonLat(X0, Y0)], tolerance_m=tolerance)  # type: ignore[arg-type]  # must not be touched
    assert one.value.field == many.value.field == "tolerance_m"


def test_two_level_generation_has_no_district(conn: Connection) -> None:
    gen = add_generation(conn, "snap-two-levels")
    city = add_unit(conn, gen, "46", square(X0, Y0, SIZE), level="province",
                    unit_type="Thành phố")
    ward = add_unit(conn, gen, "00001", square(X0, Y0, SIZE), parent_id=city, unit_type="Xã")
    snap = snap_point(conn, LonLat(X0 + SIZE / 2, Y0 + SIZE / 2), generation="snap-two-levels")
    assert snap.commune is not None and snap.commune.id == ward
    assert snap.commune.setting == "rural"
    assert snap.district is None
    assert snap.province is not None and (snap.province.id, snap.province.unit_type) == (
        city, "Thành phố")


# --- Which generation answers.


def _retire_active(conn: Connection) -> None:
    """Demote whatever generation is active (inside the test's transaction only)."""
    conn.execute(update(generation).where(generation.c.status == "active").values(status="retired"))


def test_generation_by_code_by_date_and_active(conn: Connection) -> None:
    _retire_active(conn)
    early = _three_levels(conn, "snap-early", status="retired", dates=EARLY)
    late = _three_levels(conn, "snap-late", status="active", dates=LATE)
    point = LonLat(X0 + 0.5 * SIZE, Y0 + 0.5 * SIZE)
    assert snap_point(conn, point).generation == late.code
    assert snap_point(conn, point, at=dt.date(1995, 6, 1)).generation == early.code
    assert snap_point(conn, point, at=dt.date(2005, 6, 1)).generation == late.code
    snap = snap_point(conn, point, generation=early.code)
    assert snap.generation == early.code and snap.commune is not None
    assert snap.commune.id == early.ids["c11"]


def test_draft_answers_only_by_code(conn: Connection) -> None:
    draft = _three_levels(conn, "snap-draft", status="draft", dates=(dt.date(1980, 1, 1),
                                                                     dt.date(1980, 12, 31)))
    point = LonLat(X0 + 0.5 * SIZE, Y0 + 0.5 * SIZE)
    assert snap_point(conn, point, generation=draft.code).match == "inside"
    with pytest.raises(NotFound) as raised:
        snap_point(conn, point, at=dt.date(1980, 6, 1))
    assert raised.value.field == "at"


def test_unknown_generation_and_code_with_date(conn: Connection) -> None:
    point = LonLat(X0, Y0)
    with pytest.raises(NotFound) as raised:
        snap_point(conn, point, generation="no-such-generation")
    assert raised.value.field == "generation"
    with pytest.raises(NotFound):
        snap_points(conn, [point], generation="no-such-generation")
    with pytest.raises(InvalidInput):
        snap_point(conn, point, generation="x", at=dt.date(2020, 1, 1))


def test_no_active_generation(conn: Connection) -> None:
    _retire_active(conn)
    with pytest.raises(NotFound):
        snap_point(conn, LonLat(X0, Y0))


# --- Bad coordinates never reach the database.


BAD_POINTS = [
    (LonLat(math.nan, 16.0), "lon"),
    (LonLat(107.0, math.inf), "lat"),
    (LonLat(181.0, 16.0), "lon"),
    (LonLat(107.0, -91.0), "lat"),
    (LonLat(16.46, 107.59), "lat"),  # swapped: a "latitude" of 107.59
]


@pytest.mark.parametrize(("point", "field"), BAD_POINTS)
def test_bad_coordinates_are_rejected_before_sql(point: LonLat, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        snap_point(NoDatabase(), point)  # type: ignore[arg-type]  # must not be touched
    assert raised.value.field == field


def test_swapped_coordinates_say_so() -> None:
    with pytest.raises(InvalidInput) as raised:
        snap_point(NoDatabase(), LonLat(16.46, 107.59))  # type: ignore[arg-type]
    assert "swapped" in raised.value.detail


@pytest.mark.parametrize(("point", "field"), BAD_POINTS)
def test_bad_coordinates_in_a_batch_name_the_point(point: LonLat, field: str) -> None:
    points = [LonLat(107.5, 16.4), LonLat(107.6, 16.5), point]
    with pytest.raises(InvalidInput) as raised:
        snap_points(NoDatabase(), points)  # type: ignore[arg-type]
    assert raised.value.field == f"points[2].{field}"


# --- Many points at once.

EDGE_CASES = [
    LonLat(X0 + 0.3 * SIZE, Y0 + 0.4 * SIZE),   # inside
    LonLat(X0 + SIZE, Y0 + 0.5 * SIZE),         # shared edge
    LonLat(X0 + SIZE, Y0 + SIZE),               # vertex of four
    LonLat(X0, Y0),                             # outer corner
    LonLat(X0 + 2 * SIZE + 0.001, Y0 + SIZE),   # just outside, nearest
    LonLat(X0 - 0.004, Y0 - 0.004),             # off the corner, nearest
    LonLat(X0 + 0.5, Y0 + 0.5),                 # far away, outside
]


@pytest.fixture(params=["bulk", "point by point"])
def batch_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test through both of snap_points' paths: COPY and one statement, or a handful."""
    monkeypatch.setattr(bulk, "SMALL_BATCH", 0 if request.param == "bulk" else 1000)
    return str(request.param)


def test_snap_points_equals_snap_point_one_by_one(conn: Connection, batch_path: str) -> None:
    grid = _three_levels(conn)
    points = EDGE_CASES + EDGE_CASES[::-1]  # repeated points, in another order
    batch = snap_points(conn, points, generation=grid.code)
    assert batch == [snap_point(conn, p, generation=grid.code) for p in points]
    assert [s.match for s in batch[:7]] == ["inside"] * 4 + ["nearest"] * 2 + ["outside"]


def test_snap_points_honours_tolerance_and_keeps_order(conn: Connection, batch_path: str) -> None:
    grid = _three_levels(conn)
    near = LonLat(X0 + 2 * SIZE + 0.001, Y0 + SIZE)
    batch = snap_points(conn, [near, EDGE_CASES[0]], generation=grid.code, tolerance_m=50)
    assert [s.match for s in batch] == ["outside", "inside"]


def test_snap_points_of_nothing_is_nothing(conn: Connection, batch_path: str) -> None:
    grid = _three_levels(conn)
    assert snap_points(conn, [], generation=grid.code) == []


def test_snap_points_in_overlap_and_gap(conn: Connection, batch_path: str) -> None:
    grid = _two_units(conn, "100", "200", overlap=0.005)
    points = [LonLat(X0 + 0.019, Y0 + SIZE), LonLat(X0 + 0.016, Y0 + SIZE),
              LonLat(X0 + 0.036, Y0 + SIZE)]
    batch = snap_points(conn, points, generation=grid.code)
    assert [(_code(s), s.match) for s in batch] == [("200", "inside"), ("100", "inside"),
                                                    ("200", "nearest")]
    assert batch == [snap_point(conn, p, generation=grid.code) for p in points]


# --- The query itself.


def test_snap_select_runs_over_any_table_of_points(conn: Connection) -> None:
    grid = _three_levels(conn)
    generation_id = conn.execute(
        select(generation.c.id).where(generation.c.code == grid.code)).scalar_one()
    conn.execute(text("CREATE TEMPORARY TABLE staged (idx bigint, lon float8, lat float8)"))
    conn.execute(text("INSERT INTO staged VALUES (7, 107.003, 16.004), (9, 107.5, 16.5)"))
    staged = table("staged", column("idx"), column("lon"), column("lat"))
    rows = conn.execute(snap_select(staged, generation_id, 2000.0).order_by(text("idx"))).all()
    assert [tuple(r) for r in rows] == [
        (7, grid.ids["c11"], grid.ids["D"], grid.ids["P"], "inside", 0.0),
        (9, None, None, None, "outside", None),
    ]


def test_explain_shows_the_gist_index_serves_every_spatial_predicate(conn: Connection) -> None:
    grid = _three_levels(conn)
    generation_id = conn.execute(
        select(generation.c.id).where(generation.c.code == grid.code)).scalar_one()
    point = values(column("idx", Integer), column("lon", Float), column("lat", Float),
                   name="point").data([(0, 107.005, 16.005)])
    query = snap_select(point, generation_id, 2000.0)
    # A drawn grid is a few rows, where a sequential scan is cheaper; price it out, as a
    # real boundary set does, to see which indexes the predicates can use.
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(row[0] for row in conn.execute(text("EXPLAIN " + str(query.compile(
        dialect=conn.dialect, compile_kwargs={"literal_binds": True})))))
    # piece_covers (pieces under the point, and again for depth) and piece_near (nearest).
    assert plan.count("ix_admin_unit_part_commune") >= 3, plan
    assert "Seq Scan on admin_unit_part" not in plan, plan


# --- snap_point's cache of inside answers, keyed by the boundary revision.


def _revision(conn: Connection) -> object:
    return conn.execute(text("SELECT revision FROM boundary_revision")).scalar_one()


def test_every_write_to_the_units_takes_a_new_revision(conn: Connection) -> None:
    before = _revision(conn)
    grid = _three_levels(conn)
    inserted = _revision(conn)
    conn.execute(text("UPDATE admin_unit SET population = 5 WHERE id = :id"), {"id": grid.ids["c11"]})
    updated = _revision(conn)
    conn.execute(text("DELETE FROM admin_unit WHERE id = :id"), {"id": grid.ids["c22"]})
    deleted = _revision(conn)
    assert len({before, inserted, updated, deleted}) == 4


def test_a_repeated_inside_answer_comes_from_the_cache(conn: Connection) -> None:
    grid = _three_levels(conn)
    point = LonLat(X0 + 0.3 * SIZE, Y0 + 0.4 * SIZE)
    first = snap_point(conn, point, generation=grid.code)
    # Another point in the same commune: the same (frozen) answer object, not a rebuilt one.
    assert snap_point(conn, LonLat(X0 + 0.6 * SIZE, Y0 + 0.2 * SIZE), generation=grid.code) is first


def test_a_cached_answer_follows_a_renamed_commune_and_district(conn: Connection) -> None:
    grid = _three_levels(conn)
    point = LonLat(X0 + 0.3 * SIZE, Y0 + 0.4 * SIZE)
    old = snap_point(conn, point, generation=grid.code)
    conn.execute(text("SAVEPOINT rename"))
    for unit, name in (("c11", "Phường Mới"), ("D", "Quận Mới")):
        conn.execute(text("UPDATE admin_unit SET name = :name WHERE id = :id"),
                     {"name": name, "id": grid.ids[unit]})
    renamed = snap_point(conn, point, generation=grid.code)
    assert renamed.commune is not None and renamed.commune.name == "Phường Mới"
    assert renamed.district is not None and renamed.district.name == "Quận Mới"
    # Rolled back, the old revision is back and so is the old answer.
    conn.execute(text("ROLLBACK TO SAVEPOINT rename"))
    assert snap_point(conn, point, generation=grid.code) == old


def test_a_moved_parent_is_seen_at_once(conn: Connection) -> None:
    grid = _three_levels(conn)
    point = LonLat(X0 + 0.3 * SIZE, Y0 + 0.4 * SIZE)
    assert snap_point(conn, point, generation=grid.code).district is not None
    # c11 hangs off the province directly now: no district, even though it was cached with one.
    conn.execute(text("UPDATE admin_unit SET parent_id = :p WHERE id = :id"),
                 {"p": grid.ids["P"], "id": grid.ids["c11"]})
    moved = snap_point(conn, point, generation=grid.code)
    assert moved.district is None
    assert moved.province is not None and moved.province.id == grid.ids["P"]


# --- Driver errors surface as SQLAlchemy's, as every other query's do (the API maps them).


def test_a_failing_lookup_raises_sqlalchemys_error(conn: Connection) -> None:
    grid = _three_levels(conn)
    conn.execute(text("SAVEPOINT broken"))
    conn.execute(text("ALTER TABLE boundary_revision RENAME TO boundary_revision_gone"))
    with pytest.raises(ProgrammingError) as raised:
        snap_point(conn, LonLat(X0 + 0.3 * SIZE, Y0 + 0.4 * SIZE), generation=grid.code)
    assert "boundary_revision" in str(raised.value.orig)
    conn.execute(text("ROLLBACK TO SAVEPOINT broken"))


def test_a_lost_connection_is_invalidated_and_reported_as_operational(conn: Connection) -> None:
    point = LonLat(X0 + 0.3 * SIZE, Y0 + 0.4 * SIZE)
    with conn.engine.connect() as victim:
        pid = victim.execute(text("SELECT pg_backend_pid()")).scalar_one()
        conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        with pytest.raises(OperationalError) as raised:
            snap_point(victim, point)
        assert raised.value.connection_invalidated
        assert victim.invalidated
