"""Crosswalks on drawn grids whose shares are known, and re-aggregation."""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import Connection

from gis_service.boundaries.crosswalk import CrosswalkRow, build_crosswalk, crosswalk, reaggregate
from gis_service.errors import InvalidInput, NotFound, Unprocessable
from tests.factories import add_generation, add_unit, square

SIZE = 0.01  # degrees: about 1.07 km by 1.11 km at 16.4°N
LON, LAT = 107.5, 16.4


def rect(west: float, south: float, east: float, north: float) -> str:
    return f"POLYGON(({west} {south},{east} {south},{east} {north},{west} {north},{west} {south}))"


@pytest.fixture
def grid(conn: Connection) -> Connection:
    """Old: squares A, B side by side, and D east of them. New: C = A+B merged; D split in
    halves E (west) and F (east)."""
    old, new = add_generation(conn, "cw-old"), add_generation(conn, "cw-new")
    add_unit(conn, old, "A", square(LON, LAT, SIZE))
    add_unit(conn, old, "B", square(LON + SIZE, LAT, SIZE))
    add_unit(conn, old, "D", square(LON + 2 * SIZE, LAT, SIZE))
    add_unit(conn, new, "C", rect(LON, LAT, LON + 2 * SIZE, LAT + SIZE))
    add_unit(conn, new, "E", rect(LON + 2 * SIZE, LAT, LON + 2.5 * SIZE, LAT + SIZE))
    add_unit(conn, new, "F", rect(LON + 2.5 * SIZE, LAT, LON + 3 * SIZE, LAT + SIZE))
    return conn


def by_pair(rows: list[CrosswalkRow]) -> dict[tuple[str, str], CrosswalkRow]:
    return {(row.from_code, row.to_code): row for row in rows}


def test_merge_and_split_have_known_shares(grid: Connection) -> None:
    written = build_crosswalk(grid, "cw-old", "cw-new")
    forward = by_pair(crosswalk(grid, "cw-old", "cw-new"))
    backward = by_pair(crosswalk(grid, "cw-new", "cw-old"))
    # Units that only touch (A and E, B and E) share an edge but no area: no row.
    assert set(forward) == {("A", "C"), ("B", "C"), ("D", "E"), ("D", "F")}
    assert set(backward) == {("C", "A"), ("C", "B"), ("E", "D"), ("F", "D")}
    assert written == 8

    a_in_c = forward["A", "C"]
    assert a_in_c.area_share == pytest.approx(1.0)
    assert (a_in_c.population_share, a_in_c.population_method) == (1.0, "whole")
    assert a_in_c.overlap_km2 == pytest.approx(1.19, rel=0.02)
    for half in ("E", "F"):
        row = forward["D", half]
        assert row.area_share == pytest.approx(0.5, abs=1e-9)
        assert row.population_share == pytest.approx(0.5, abs=1e-9)
        assert row.population_method == "areal"
        assert backward[half, "D"].population_method == "whole"
    assert backward["C", "A"].area_share == pytest.approx(0.5, abs=1e-9)
    assert backward["C", "A"].population_method == "areal"


def test_shares_of_each_from_unit_sum_to_one(grid: Connection) -> None:
    build_crosswalk(grid, "cw-old", "cw-new")
    for source, target in (("cw-old", "cw-new"), ("cw-new", "cw-old")):
        sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for row in crosswalk(grid, source, target):
            sums[row.from_code][0] += row.area_share
            sums[row.from_code][1] += row.population_share or 0.0
        for area, population in sums.values():
            assert area == pytest.approx(1.0, abs=1e-6)
            assert population == pytest.approx(1.0, abs=1e-6)


def test_slivers_are_dropped_and_shares_renormalised(conn: Connection) -> None:
    old, new = add_generation(conn, "cw-old"), add_generation(conn, "cw-new")
    add_unit(conn, old, "A", square(LON, LAT, SIZE))
    # H reaches 0.000005° (about 0.5 m: 0.05% of A, ~600 m²) into A: a sliver.
    edge = LON + SIZE - 0.000005
    add_unit(conn, new, "G", rect(LON - SIZE, LAT, edge, LAT + SIZE))
    add_unit(conn, new, "H", rect(edge, LAT, LON + 2 * SIZE, LAT + SIZE))
    build_crosswalk(conn, "cw-old", "cw-new")
    rows = by_pair(crosswalk(conn, "cw-old", "cw-new"))
    assert set(rows) == {("A", "G")}
    assert rows["A", "G"].area_share == pytest.approx(1.0, abs=1e-9)
    # H keeps its crossing into A only as a sliver, but it is H's largest overlap: kept.
    assert set(by_pair(crosswalk(conn, "cw-new", "cw-old"))) == {("G", "A"), ("H", "A")}


def test_mostly_inside_one_unit_is_whole_for_population(conn: Connection) -> None:
    old, new = add_generation(conn, "cw-old"), add_generation(conn, "cw-new")
    add_unit(conn, old, "A", square(LON, LAT, SIZE))
    # 0.5% of A lies in H: above the sliver threshold, below the 1% that makes it 'areal'.
    edge = LON + SIZE * 0.995
    add_unit(conn, new, "G", rect(LON - SIZE, LAT, edge, LAT + SIZE))
    add_unit(conn, new, "H", rect(edge, LAT, LON + 2 * SIZE, LAT + SIZE))
    build_crosswalk(conn, "cw-old", "cw-new")
    rows = by_pair(crosswalk(conn, "cw-old", "cw-new"))
    assert rows["A", "G"].area_share == pytest.approx(0.995, abs=1e-6)
    assert rows["A", "H"].area_share == pytest.approx(0.005, abs=1e-6)
    assert (rows["A", "G"].population_share, rows["A", "G"].population_method) == (1.0, "whole")
    assert (rows["A", "H"].population_share, rows["A", "H"].population_method) == (0.0, "whole")


def test_rebuilding_replaces_the_rows(grid: Connection) -> None:
    first = build_crosswalk(grid, "cw-old", "cw-new")
    assert build_crosswalk(grid, "cw-old", "cw-new") == first
    assert build_crosswalk(grid, "cw-new", "cw-old") == first
    assert len(crosswalk(grid, "cw-old", "cw-new")) == first // 2


def test_reaggregate_conserves_totals(grid: Connection) -> None:
    build_crosswalk(grid, "cw-old", "cw-new")
    reports = {"A": 7.0, "B": 5.0, "D": 10.0}
    merged = reaggregate(grid, "cw-old", "cw-new", reports)
    assert merged == {"C": pytest.approx(12.0), "E": pytest.approx(5.0), "F": pytest.approx(5.0)}
    assert sum(merged.values()) == pytest.approx(sum(reports.values()))
    back = reaggregate(grid, "cw-new", "cw-old", merged, weight="area")
    assert back == {"A": pytest.approx(6.0), "B": pytest.approx(6.0), "D": pytest.approx(10.0)}


def test_reaggregate_refuses_codes_without_crosswalk(grid: Connection) -> None:
    build_crosswalk(grid, "cw-old", "cw-new")
    with pytest.raises(Unprocessable, match="1 commune codes: Z") as caught:
        reaggregate(grid, "cw-old", "cw-new", {"A": 1.0, "Z": 2.0})
    assert caught.value.field == "values"
    with pytest.raises(InvalidInput):
        reaggregate(grid, "cw-old", "cw-new", {"A": 1.0}, weight="people")  # type: ignore[arg-type]


def test_bad_generations(grid: Connection) -> None:
    with pytest.raises(InvalidInput):
        build_crosswalk(grid, "cw-old", "cw-old")
    with pytest.raises(NotFound):
        build_crosswalk(grid, "cw-old", "nope")


def test_levels_are_kept_apart(grid: Connection) -> None:
    old, new = add_generation(grid, "cw-old2"), add_generation(grid, "cw-new2")
    for generation in (old, new):
        add_unit(grid, generation, "X", square(LON, LAT, SIZE), level="district")
        add_unit(grid, generation, "x", square(LON, LAT, SIZE))
    assert build_crosswalk(grid, "cw-old2", "cw-new2", "district") == 2
    assert build_crosswalk(grid, "cw-old2", "cw-new2") == 2
    assert [(r.from_code, r.to_code) for r in crosswalk(grid, "cw-old2", "cw-new2", "district")] == [
        ("X", "X")]
    assert [(r.from_code, r.to_code) for r in crosswalk(grid, "cw-old2", "cw-new2")] == [("x", "x")]
