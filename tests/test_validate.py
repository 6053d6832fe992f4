"""The validation report on tiny drawn grids: known gaps, overlaps, protrusions and orphans.

Grid unit: D degrees, from (LON, LAT). Expected areas come from pyproj's geodesic polygon
area, independent of PostGIS.
"""

from __future__ import annotations

import json

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Polygon
from sqlalchemy import Connection

from gis_service.boundaries.validate import ValidationReport, parent_level_of, validate
from tests.factories import add_generation, add_unit

LON, LAT, D = 107.5, 16.4, 0.01
GEOD = Geod(ellps="WGS84")


def rect(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A rectangle in grid units."""
    return shapely.box(LON + x0 * D, LAT + y0 * D, LON + x1 * D, LAT + y1 * D)


def area_m2(polygon: Polygon) -> float:
    area, _ = GEOD.geometry_area_perimeter(polygon)
    return abs(area)


def add(conn: Connection, gen: int, code: str, polygon: Polygon, *, level: str,
        parent: int | None = None) -> int:
    return add_unit(conn, gen, code, polygon.wkt, level=level, parent_id=parent)


@pytest.fixture
def grid(conn: Connection) -> ValidationReport:
    """Province P tiled by districts D1 | D2; communes with one of each problem.

    C1 [0,1] and C2 [0.9,2] overlap under D1; under D2, C3 [2,3] and C4 [3.2,4.5] leave a gap
    [3,3.2] and C4 sticks out of D2 by [4,4.5]; C5 has no parent.
    """
    gen = add_generation(conn, "grid")
    p = add(conn, gen, "P", rect(0, 0, 4, 2), level="province")
    d1 = add(conn, gen, "D1", rect(0, 0, 2, 2), level="district", parent=p)
    d2 = add(conn, gen, "D2", rect(2, 0, 4, 2), level="district", parent=p)
    add(conn, gen, "C1", rect(0, 0, 1, 2), level="commune", parent=d1)
    add(conn, gen, "C2", rect(0.9, 0, 2, 2), level="commune", parent=d1)
    add(conn, gen, "C3", rect(2, 0, 3, 2), level="commune", parent=d2)
    add(conn, gen, "C4", rect(3.2, 0, 4.5, 2), level="commune", parent=d2)
    add(conn, gen, "C5", rect(5, 0, 6, 1), level="commune")
    return validate(conn, "grid")


def test_levels_and_their_parents(grid: ValidationReport) -> None:
    assert [(lv.level, lv.units, lv.parent_level) for lv in grid.levels] == [
        ("province", 1, None), ("district", 2, "province"), ("commune", 5, "district")]
    assert grid.level("province").clean and grid.level("district").clean
    assert not grid.clean


def test_gap_under_a_parent(grid: ValidationReport) -> None:
    gaps = grid.level("commune").gaps
    assert gaps.count == 1
    (gap,) = gaps.items
    assert gap.codes == ("D2", "C3", "C4")
    assert gap.area_m2 == pytest.approx(area_m2(rect(3, 0, 3.2, 2)), rel=1e-3)
    assert rect(3, 0, 3.2, 2).contains(shapely.Point(gap.lon, gap.lat))


def test_overlap_between_siblings(grid: ValidationReport) -> None:
    overlaps = grid.level("commune").overlaps
    assert overlaps.count == 1
    (overlap,) = overlaps.items
    assert overlap.codes == ("C1", "C2")
    assert overlap.area_m2 == pytest.approx(area_m2(rect(0.9, 0, 1, 2)), rel=1e-3)
    assert rect(0.9, 0, 1, 2).intersects(shapely.Point(overlap.lon, overlap.lat))


def test_child_outside_its_parent(grid: ValidationReport) -> None:
    outside = grid.level("commune").outside_parent
    assert outside.count == 1
    (item,) = outside.items
    assert item.codes == ("C4", "D2")
    assert item.area_m2 == pytest.approx(area_m2(rect(4, 0, 4.5, 2)), rel=1e-3)
    assert rect(4, 0, 4.5, 2).intersects(shapely.Point(item.lon, item.lat))


def test_orphan_below_the_top_level(grid: ValidationReport) -> None:
    orphans = grid.level("commune").orphans
    assert [item.codes for item in orphans.items] == [("C5",)]
    assert rect(5, 0, 6, 1).contains(shapely.Point(orphans.items[0].lon, orphans.items[0].lat))


def test_report_as_data_and_text(grid: ValidationReport) -> None:
    data = json.loads(json.dumps(grid.to_dict()))
    commune = data["levels"][2]
    assert commune["gaps"]["count"] == 1 and commune["overlaps"]["count"] == 1
    assert commune["outside_parent"]["items"][0]["codes"] == ["C4", "D2"]
    assert commune["orphans"]["items"][0]["area_m2"] is None
    assert data["clean"] is False
    text = grid.render()
    assert "commune: 5 units, parent level district" in text
    assert "gaps: 1 (" in text and "orphans: 1" in text and "[C1, C2]" in text


def test_slivers_are_counted_not_listed(conn: Connection) -> None:
    gen = add_generation(conn, "sliver")
    p = add(conn, gen, "P", rect(0, 0, 2, 1), level="province")
    # D1 pokes a 5e-6° square notch (about 0.3 m²) into D2.
    notch = 5e-6 / D
    d1 = rect(0, 0, 1, 1).union(rect(1, 0, 1 + notch, notch))
    add(conn, gen, "D1", d1, level="district", parent=p)
    add(conn, gen, "D2", rect(1, 0, 2, 1), level="district", parent=p)

    report = validate(conn, "sliver")
    overlaps = report.level("district").overlaps
    assert (overlaps.count, overlaps.slivers) == (0, 1)
    assert overlaps.sliver_area_m2 == pytest.approx(area_m2(rect(1, 0, 1 + notch, notch)), rel=0.01)

    finer = validate(conn, "sliver", min_area_m2=0.1)
    assert (finer.level("district").overlaps.count, finer.level("district").overlaps.slivers) == (1, 0)


def test_holes_among_top_level_units(conn: Connection) -> None:
    gen = add_generation(conn, "ring")
    around = [(x, y) for x in range(3) for y in range(3) if (x, y) != (1, 1)]
    for x, y in around:
        add(conn, gen, f"R{x}{y}", rect(x, y, x + 1, y + 1), level="province")

    gaps = validate(conn, "ring").level("province").gaps
    assert gaps.count == 1
    (hole,) = gaps.items
    assert hole.area_m2 == pytest.approx(area_m2(rect(1, 1, 2, 2)), rel=1e-3)
    assert set(hole.codes) == {f"R{x}{y}" for x, y in around}
    assert rect(1, 1, 2, 2).contains(shapely.Point(hole.lon, hole.lat))


def test_a_childless_parent_is_one_gap(conn: Connection) -> None:
    gen = add_generation(conn, "bare")
    p = add(conn, gen, "P", rect(0, 0, 2, 1), level="province")
    add(conn, gen, "D1", rect(0, 0, 1, 1), level="district", parent=p)
    add(conn, gen, "P2", rect(3, 0, 4, 1), level="province")
    gaps = validate(conn, "bare").level("district").gaps
    assert sorted(item.codes[0] for item in gaps.items) == ["P", "P2"]


@pytest.mark.parametrize(("level", "present", "parent"), [
    ("province", ["province", "district", "commune"], None),
    ("district", ["province", "district", "commune"], "province"),
    ("commune", ["province", "district", "commune"], "district"),
    ("commune", ["province", "commune"], "province"),
    ("commune", ["commune"], None),
])
def test_parent_level_of(level: str, present: list[str], parent: str | None) -> None:
    assert parent_level_of(level, present) == parent
