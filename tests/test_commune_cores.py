"""The commune cores snap_point answers most points from (gis_service/commune_cores.py).

Cores must keep their margins, give exactly the SQL's answers (the set-based form never uses
them, so it is the reference), and never outlive a change to the boundaries.
"""

from __future__ import annotations

import datetime as dt
import doctest
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import shapely
from sqlalchemy import Connection, select, text

from gis_service.boundaries import generations
from gis_service.coords import LonLat
from gis_service.errors import NotFound
from gis_service.spatial import cores as commune_cores
from gis_service.spatial import single
from gis_service.spatial.bulk import snap_points
from gis_service.spatial.cores import MARGIN_DEG, CommuneCores, cut_cores
from gis_service.spatial.reverse import reverse_point, reverse_points
from gis_service.spatial.single import snap_point
from gis_service.spatial.statements import chosen_generation_id
from tests.factories import add_generation, add_unit, square

X0, Y0, SIZE = 107.0, 16.0, 0.01
CODE = "cores-grid"


def _drawn(conn: Connection) -> dict[str, int]:
    """A province over a 2x2 grid of communes, a fifth commune overlapping the north-east one
    and a sixth across a 0.002° gap to the east."""
    gen = add_generation(conn, CODE)
    ids = {"P": add_unit(conn, gen, "P", square(X0 - 1, Y0 - 1, 3), level="province")}
    for name, (col, row) in (("c11", (0, 0)), ("c12", (1, 0)), ("c21", (0, 1)), ("c22", (1, 1))):
        ids[name] = add_unit(conn, gen, f"9{col}{row}", square(X0 + col * SIZE, Y0 + row * SIZE, SIZE),
                             parent_id=ids["P"])
    ids["over"] = add_unit(conn, gen, "950", square(X0 + 1.5 * SIZE, Y0 + 1.5 * SIZE, SIZE),
                           parent_id=ids["P"])
    ids["east"] = add_unit(conn, gen, "960", square(X0 + 2 * SIZE + 0.002, Y0, SIZE),
                           parent_id=ids["P"])
    return ids


def _points() -> list[LonLat]:
    """Every kind of place in the drawn grid: deep inside, on and beside every edge at
    distances around the margin, in the overlap, in the gap, offshore and far away."""
    rng = np.random.default_rng(7)
    lon = list(rng.uniform(X0 - 0.01, X0 + 0.045, 300))
    lat = list(rng.uniform(Y0 - 0.01, Y0 + 0.035, 300))
    edges = [X0, X0 + SIZE, X0 + 1.5 * SIZE, X0 + 2 * SIZE, X0 + 2 * SIZE + 0.002]
    for edge in edges:
        for offset in (0.0, 1e-9, -1e-9, MARGIN_DEG / 2, -MARGIN_DEG / 2, 2.5 * MARGIN_DEG,
                       -2.5 * MARGIN_DEG, 1e-3, -1e-3):
            for y in (Y0 + 0.25 * SIZE, Y0 + 1.25 * SIZE, Y0 + 1.75 * SIZE):
                lon.append(edge + offset)
                lat.append(y)
                lon.append(X0 + 0.25 * SIZE + (y - Y0))  # the same offsets across horizontal edges
                lat.append(edge - X0 + Y0 + offset)
    return [LonLat(float(x), float(y)) for x, y in zip(lon, lat, strict=True)]


@pytest.fixture
def forms(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Which of snap_point's statements ran, by form."""
    ran: Counter[str] = Counter()
    real = single._single_rows

    def counted(conn: Connection, kind: str, params: dict[str, Any], form: Any) -> Any:
        ran[form] += 1
        return real(conn, kind, params, form)

    monkeypatch.setattr(single, "_single_rows", counted)
    yield ran


def _cores(conn: Connection) -> CommuneCores:
    cores = single._CORES.build(conn)
    assert cores is not None
    return cores


# --- Cutting.


def test_cores_keep_the_margin_inside_their_commune_and_away_from_every_sibling() -> None:
    communes = np.array([shapely.box(0, 0, 0.01, 0.01), shapely.box(0.01, 0, 0.02, 0.01),
                         shapely.box(0.015, 0.005, 0.025, 0.015), shapely.box(0.03, 0, 0.04, 0.01)])
    cores = cut_cores(communes)
    for i, core in enumerate(cores):
        assert core is not None and communes[i].contains(core)
        assert shapely.distance(core, communes[i].boundary) >= 1.9 * MARGIN_DEG
        for j, other in enumerate(communes):
            if j != i:
                assert shapely.distance(core, other) >= 0.95 * MARGIN_DEG, (i, j)
    overlap = shapely.box(0.015, 0.005, 0.02, 0.01)
    assert not cores[1].intersects(overlap) and not cores[2].intersects(overlap)
    # Nothing else is lost: a lone square keeps all but a band twice the margin wide.
    assert shapely.area(cores[3]) == pytest.approx((0.01 - 4 * MARGIN_DEG) ** 2, rel=1e-3)


def test_the_documented_example_holds() -> None:
    results = doctest.testmod(commune_cores)
    assert (results.attempted, results.failed) == (2, 0)  # cut_cores and grid_side_deg


def test_a_commune_swallowed_by_its_siblings_has_no_core() -> None:
    cores = cut_cores(np.array([shapely.box(0, 0, 0.01, 0.01), shapely.box(0.002, 0.002, 0.004, 0.004)]))
    assert cores[1] is None
    assert cores[0] is not None and not cores[0].intersects(shapely.box(0.002, 0.002, 0.004, 0.004))


def test_grid_lookups_find_cores_and_surely_empty_places() -> None:
    grid = commune_cores._GenerationCores("t", [11, 12, 13], np.array(
        [shapely.box(0, 0, 0.01, 0.01), shapely.box(0.01, 0, 0.02, 0.01), shapely.Polygon()]))
    assert grid.core_at(0.005, 0.005) == 11 and grid.core_at(0.015, 0.002) == 12
    assert grid.core_at(0.01, 0.005) is None  # on the shared edge: for the SQL to decide
    assert not grid.in_no_commune(0.01, 0.005)
    assert grid.core_at(0.0201, 0.005) is None and not grid.in_no_commune(0.020005, 0.005)
    assert grid.in_no_commune(0.0201, 0.005) and grid.in_no_commune(5.0, 5.0)


# --- The answers.


def test_answers_from_the_cores_equal_the_sql_everywhere(conn: Connection,
                                                        forms: Counter[str]) -> None:
    _drawn(conn)
    points = _points()
    expected = snap_points(conn, points, generation=CODE)  # one statement: no cores
    grid = _cores(conn).of_generation(conn, CODE, None)
    assert grid is not None
    assert [snap_point(conn, p, generation=CODE) for p in points] == expected
    # Asked again, warm: each point in a core took the revision alone, each point surely in no
    # commune the lean nearest statement, and the answers are still the SQL's.
    forms.clear()
    assert [snap_point(conn, p, generation=CODE) for p in points] == expected
    in_cores = sum(grid.core_at(p.lon, p.lat) is not None for p in points)
    in_none = sum(grid.in_no_commune(p.lon, p.lat) for p in points)
    assert (forms["revision"], forms["nearest"]) == (in_cores, in_none)
    assert in_cores > 100 and in_none > 100, (in_cores, in_none)
    # The rest (on or beside an edge, in the overlap) went to the SQL as before.
    assert forms["covering_ids"] == len(points) - in_cores - in_none


def test_near_boundary_answers_from_the_cores_equal_the_sql(conn: Connection) -> None:
    """Reverse geocoding skips the neighbour query only where the cores prove no other commune
    lies within 50 m: the answers stay the SQL's, at offsets around those 50 m too."""
    _drawn(conn)
    points = _points()
    for edge in (X0 + SIZE, X0 + 2 * SIZE, X0 + 2 * SIZE + 0.002):
        for offset in (3e-4, 4.4e-4, 4.8e-4, 5.2e-4, 6e-4, 8e-4):
            for sign in (1, -1):
                points.append(LonLat(edge + sign * offset, Y0 + 0.5 * SIZE))
                points.append(LonLat(X0 + 0.5 * SIZE, Y0 + SIZE + sign * offset))
    expected = reverse_points(conn, points, generation=CODE)  # set-based: no cores
    grid = _cores(conn).of_generation(conn, CODE, None)
    assert grid is not None
    assert [reverse_point(conn, p, generation=CODE) for p in points] == expected
    assert [reverse_point(conn, p, generation=CODE) for p in points] == expected  # warm
    skipped = [p for p, e in zip(points, expected, strict=True) if e.snap.commune is not None
               and grid.clear_of_others(e.snap.commune.id, p.lon, p.lat)]
    assert len(skipped) > 100
    assert all(e.near_boundary is None for p, e in zip(points, expected, strict=True)
               if p in skipped)
    assert sum(e.near_boundary is not None for e in expected) > 50


def test_a_point_on_a_shared_edge_is_never_answered_by_a_core(conn: Connection,
                                                              forms: Counter[str]) -> None:
    ids = _drawn(conn)
    _cores(conn)
    on_edge = LonLat(X0 + SIZE, Y0 + 0.5 * SIZE)
    snap_point(conn, on_edge, generation=CODE)
    forms.clear()
    snap = snap_point(conn, on_edge, generation=CODE)
    assert snap.commune is not None and snap.commune.id == ids["c11"]  # lowest code of the two
    assert forms["revision"] == 0 and forms["covering_ids"] == 1


def test_cores_are_cut_once_a_revision_has_been_looked_up_often(
        conn: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commune_cores, "BUILD_AFTER", 5)
    _drawn(conn)
    revision = conn.execute(text("SELECT revision FROM boundary_revision")).scalar_one()
    point = LonLat(X0 + 0.5 * SIZE, Y0 + 0.5 * SIZE)
    for _ in range(4):
        snap_point(conn, point, generation=CODE)
    assert single._CORES.get(revision) is None
    snap_point(conn, point, generation=CODE)
    cores = single._CORES.get(revision)
    assert cores is not None and cores.revision == revision


# --- Never stale.


def test_a_moved_boundary_is_seen_at_once(conn: Connection, forms: Counter[str]) -> None:
    ids = _drawn(conn)
    _cores(conn)
    deep_in_c11 = LonLat(X0 + 0.5 * SIZE, Y0 + 0.5 * SIZE)
    before = snap_point(conn, deep_in_c11, generation=CODE)
    assert before.commune is not None and before.commune.id == ids["c11"]
    # c12 now covers all of c11 too, and the point lies 0.01° deep in it, 0.005° in c11.
    conn.execute(text("UPDATE admin_unit SET geom = ST_Multi(ST_GeomFromText(:wkt, 4326)) "
                      "WHERE id = :id"), {"wkt": square(X0 - 0.5 * SIZE, Y0 - 0.5 * SIZE, 2 * SIZE),
                                         "id": ids["c12"]})
    moved = snap_point(conn, deep_in_c11, generation=CODE)
    assert moved == snap_points(conn, [deep_in_c11], generation=CODE)[0]
    assert moved.commune is not None and moved.commune.id == ids["c12"]


def test_a_new_generation_status_is_seen_at_once(conn: Connection) -> None:
    _drawn(conn)
    point = LonLat(X0 + 0.5 * SIZE, Y0 + 0.5 * SIZE)
    _cores(conn)
    snap_point(conn, point, generation=CODE)
    conn.execute(text("SAVEPOINT status"))
    conn.execute(text("UPDATE generation SET status = 'retired', valid_from = '1980-01-01', "
                      "valid_to = '1980-12-31' WHERE code = :code"), {"code": CODE})
    assert snap_point(conn, point, at=dt.date(1980, 6, 1)).generation == CODE
    conn.execute(text("ROLLBACK TO SAVEPOINT status"))
    with pytest.raises(NotFound):
        snap_point(conn, point, at=dt.date(1980, 6, 1))


# --- Which generation answers: the snapping statement's choice is resolve()'s.


def test_the_generation_the_statement_picks_is_the_one_resolve_picks(conn: Connection) -> None:
    codes = {
        "cores-draft": ("draft", dt.date(1970, 1, 1), dt.date(1970, 12, 31)),
        "cores-early": ("retired", dt.date(1971, 1, 1), dt.date(1971, 12, 31)),
        "cores-late": ("retired", dt.date(1972, 1, 1), dt.date(1972, 6, 30)),
        "cores-open": ("retired", dt.date(1972, 7, 1), dt.date(1972, 12, 31)),
    }
    for code, (status, valid_from, valid_to) in codes.items():
        add_generation(conn, code, status=status, valid_from=valid_from, valid_to=valid_to)
    days = [dt.date(1969, 12, 31), dt.date(1970, 6, 1), dt.date(1971, 1, 1),
            dt.date(1971, 12, 31), dt.date(1972, 1, 1), dt.date(1972, 6, 30),
            dt.date(1972, 7, 1), dt.date(1973, 1, 1)]
    asked: list[tuple[str | None, dt.date | None]] = [
        *((code, None) for code in (*codes, "no-such-code")), *((None, day) for day in days),
        (None, None)]
    for code, at in asked:
        try:
            expected: int | None = generations.resolve(conn, code=code, at=at).id
        except NotFound:
            expected = None
        kind = "code" if code is not None else "at" if at is not None else "active"
        picked = conn.execute(select(chosen_generation_id(kind)),
                              {"generation_code": code, "at": at}).scalar_one_or_none()
        assert picked == expected, (code, at)
