"""Routing: priority, then smallest area, then lowest id; unit rules by id, area rules by
ST_Covers; the commune's committee when nothing matches; one query for one or many reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, Float, Integer, Text, column, func, insert, literal, select, text, values
from sqlalchemy.sql import FromClause

from gis_service.config import Settings
from gis_service.db.schema import admin_unit, generation, jurisdiction_rule
from gis_service.errors import DataError
from gis_service.reports.routing import RoutingDecision, route, route_select
from tests.conftest import HueDB
from tests.factories import add_agency, add_category, add_generation, add_unit, square
from tests.test_agencies import load_real


@dataclass(frozen=True)
class Place:
    province: int
    c1: int
    c2: int
    committee: int
    utility: int
    department: int


@pytest.fixture
def place(conn: Connection) -> Place:
    """Province P (107-108 E, 16-17 N) with communes C1 (west half of its south) and C2 (east);
    only C1 has a People's Committee agency."""
    gid = add_generation(conn, "routetest")
    province = add_unit(conn, gid, "P", square(107.0, 16.0, 1.0), level="province")
    c1 = add_unit(conn, gid, "C1", square(107.0, 16.0, 0.5), parent_id=province)
    c2 = add_unit(conn, gid, "C2", square(107.5, 16.0, 0.5), parent_id=province)
    for code in ("roads", "sanitation", "electricity"):
        add_category(conn, code)
    return Place(province, c1, c2, add_agency(conn, "c1-committee", unit_id=c1),
                 add_agency(conn, "utility", kind="utility"),
                 add_agency(conn, "department", kind="department"))


def add_rule(conn: Connection, code: str, agency_id: int, *, polygon: str | None = None,
             unit_id: int | None = None, priority: int = 0,
             categories: list[str] | None = None) -> int:
    geom: Any = (func.ST_Multi(func.ST_GeomFromText(polygon, 4326)) if polygon is not None else
                 select(admin_unit.c.geom).where(admin_unit.c.id == unit_id).scalar_subquery())
    return int(conn.execute(
        insert(jurisdiction_rule).values(
            code=code, agency_id=agency_id, categories=categories,
            area_kind="unit" if unit_id is not None else "polygon", unit_id=unit_id, geom=geom,
            priority=priority,
        ).returning(jurisdiction_rule.c.id)
    ).scalar_one())


def reports(place: Place, *rows: tuple[int, float, float, str, int]) -> FromClause:
    """A VALUES selectable of reports: (idx, lon, lat, category, commune id), no districts."""
    return values(
        column("idx", Integer), column("lon", Float), column("lat", Float),
        column("category", Text), column("current_commune_id", Integer),
        column("current_district_id", Integer), column("current_province_id", Integer),
        name="report_input",
    ).data([(idx, lon, lat, cat, commune, None, place.province)
            for idx, lon, lat, cat, commune in rows])


def routed(conn: Connection, selectable: FromClause) -> dict[int, Any]:
    return {row.idx: row for row in conn.execute(route_select(selectable))}


def test_highest_priority_wins_over_a_smaller_area(conn: Connection, place: Place) -> None:
    big = add_rule(conn, "big", place.utility, polygon=square(107.0, 16.0, 0.4), priority=20)
    add_rule(conn, "small", place.department, polygon=square(107.1, 16.1, 0.1), priority=10)
    row = routed(conn, reports(place, (1, 107.15, 16.15, "roads", place.c1)))[1]
    assert (row.agency_id, row.routing_rule_id) == (place.utility, big)
    assert row.routing_reason.startswith("rule big (polygon, priority 20,")
    assert "first of 2 matching rules" in row.routing_reason


def test_equal_priority_goes_to_the_smallest_area_then_the_lowest_id(
    conn: Connection, place: Place
) -> None:
    add_rule(conn, "big", place.utility, polygon=square(107.0, 16.0, 0.4), priority=10)
    small = add_rule(conn, "small", place.department, polygon=square(107.1, 16.1, 0.1), priority=10)
    twin = add_rule(conn, "twin", place.utility, polygon=square(107.1, 16.1, 0.1), priority=10)
    assert small < twin
    row = routed(conn, reports(place, (1, 107.15, 16.15, "roads", place.c1)))[1]
    assert (row.agency_id, row.routing_rule_id) == (place.department, small)


def test_categories_filter_rules(conn: Connection, place: Place) -> None:
    roads = add_rule(conn, "roads-only", place.utility, polygon=square(107.0, 16.0, 0.4),
                     categories=["roads", "electricity"])
    found = routed(conn, reports(place, (1, 107.1, 16.1, "roads", place.c1),
                                 (2, 107.1, 16.1, "electricity", place.c1),
                                 (3, 107.1, 16.1, "sanitation", place.c1)))
    assert [found[i].routing_rule_id for i in (1, 2, 3)] == [roads, roads, None]
    assert found[3].agency_id == place.committee


def test_unit_rules_match_by_unit_id_and_rank_by_area(conn: Connection, place: Place) -> None:
    province_rule = add_rule(conn, "everywhere", place.utility, unit_id=place.province)
    commune_rule = add_rule(conn, "in-c1", place.department, unit_id=place.c1)
    found = routed(conn, reports(place, (1, 107.2, 16.2, "sanitation", place.c1),
                                 (2, 107.7, 16.2, "sanitation", place.c2),
                                 # Trusts the snapped unit ids: coordinates are not re-tested.
                                 (3, 107.7, 16.2, "sanitation", place.c1)))
    assert [found[i].routing_rule_id for i in (1, 2, 3)] == [commune_rule, province_rule, commune_rule]
    assert found[1].routing_reason.startswith("rule in-c1 (unit, priority 0,")


def test_a_point_on_the_edge_of_an_area_is_inside(conn: Connection, place: Place) -> None:
    edge = add_rule(conn, "edge", place.utility,
                    polygon="POLYGON((107.1 16.1, 107.2 16.1, 107.2 16.2, 107.1 16.2, 107.1 16.1))")
    found = routed(conn, reports(place, (1, 107.2, 16.15, "roads", place.c1),
                                 (2, 107.1, 16.1, "roads", place.c1),
                                 (3, 107.2000001, 16.15, "roads", place.c1)))
    assert [found[i].routing_rule_id for i in (1, 2, 3)] == [edge, edge, None]


def test_no_rule_goes_to_the_communes_committee(conn: Connection, place: Place) -> None:
    row = routed(conn, reports(place, (7, 107.2, 16.2, "sanitation", place.c1)))[7]
    assert (row.agency_id, row.routing_rule_id) == (place.committee, None)
    assert row.routing_reason == ("no rule covers sanitation here: the People's Committee of "
                                  "Unit C1 (C1), agency c1-committee")


def test_no_rule_and_no_committee_has_no_agency(conn: Connection, place: Place) -> None:
    row = routed(conn, reports(place, (1, 107.7, 16.2, "sanitation", place.c2)))[1]
    assert row.agency_id is None and "has no People's Committee agency" in row.routing_reason
    with pytest.raises(DataError, match=r"commune Unit C2 \(C2\) has no People's Committee agency"):
        route(conn, lon=107.7, lat=16.2, category="sanitation", current_commune_id=place.c2,
              current_district_id=None, current_province_id=place.province)


def test_route_and_route_select_agree(conn: Connection, place: Place) -> None:
    add_rule(conn, "big", place.utility, polygon=square(107.0, 16.0, 0.4), priority=20,
             categories=["roads"])
    add_rule(conn, "everywhere", place.department, unit_id=place.province, priority=5)
    add_rule(conn, "small", place.department, polygon=square(107.1, 16.1, 0.1), priority=20)
    inputs = [(1, 107.15, 16.15, "roads", place.c1), (2, 107.15, 16.15, "sanitation", place.c1),
              (3, 107.45, 16.45, "sanitation", place.c1), (4, 107.8, 16.3, "roads", place.c2),
              (5, 107.3, 16.3, "roads", place.c1)]
    together = routed(conn, reports(place, *inputs))
    assert len(together) == len(inputs)
    for idx, lon, lat, cat, commune in inputs:
        one = route(conn, lon=lon, lat=lat, category=cat, current_commune_id=commune,
                    current_district_id=None, current_province_id=place.province)
        row = together[idx]
        assert one == RoutingDecision(row.agency_id, row.routing_rule_id, row.routing_reason)


def test_area_rules_are_found_through_the_gist_index(conn: Connection, place: Place) -> None:
    """rule_covers is index-sensitive: with many area rules the planner must use the index."""
    conn.execute(text(
        "INSERT INTO jurisdiction_rule (code, agency_id, area_kind, geom, priority) "
        "SELECT 'grid-' || x || '-' || y, :agency, 'polygon', "
        "       ST_Multi(ST_MakeEnvelope(107 + x * 0.02, 16 + y * 0.02, 107.015 + x * 0.02, "
        "                                16.015 + y * 0.02, 4326)), 0 "
        "FROM generate_series(0, 49) x, generate_series(0, 49) y"
    ), {"agency": place.utility})
    conn.execute(text("ANALYZE jurisdiction_rule"))
    one = select(literal(1, Integer).label("idx"), literal(107.301, Float).label("lon"),
                 literal(16.301, Float).label("lat"), literal("roads", Text).label("category"),
                 literal(place.c1, Integer).label("current_commune_id"),
                 literal(None, Integer).label("current_district_id"),
                 literal(place.province, Integer).label("current_province_id")).subquery("one")
    stmt = route_select(one)
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    plan = "\n".join(conn.execute(text("EXPLAIN " + sql)).scalars())
    assert "ix_jurisdiction_rule_geom" in plan, plan
    assert conn.execute(stmt).one().routing_reason.startswith("rule grid-15-15 ")


# --- Huế's rule set on the real boundaries -----------------------------------------------------


def snap_2025(conn: Connection, lon: float, lat: float) -> tuple[int, int]:
    """The one 2025 commune covering the point, and its parent (the city)."""
    rows = conn.execute(
        select(admin_unit.c.id, admin_unit.c.parent_id)
        .join(generation, generation.c.id == admin_unit.c.generation_id)
        .where(generation.c.code == "2025", admin_unit.c.level == "commune",
               func.ST_Covers(admin_unit.c.geom, func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)))
    ).all()
    assert len(rows) == 1, f"({lon}, {lat}) is in {len(rows)} communes of 2025"
    return rows[0].id, rows[0].parent_id


REAL_CASES = [
    # (lon, lat, category, expected rule code or None, expected agency code)
    # Thái Hòa palace, inside the citadel: its street lights are the Conservation Centre's.
    (107.5773, 16.4696, "street_lights", "citadel-monuments", "bao-ton-di-tich"),
    # A lane in Vỹ Dạ, 1.4 km from the river: rubbish is the ward's own business.
    (107.6150, 16.4780, "sanitation", None, "ubnd-2025-19777"),
    # A waypoint of National Road 1A at Tứ Hạ: potholes go to road management.
    (107.4760, 16.5260, "roads", "ql1a-corridor", "quan-ly-duong-bo"),
    # Street lights outside the citadel: the city-wide rule.
    (107.6150, 16.4780, "street_lights", "city-street-lights", "hepco"),
]


@pytest.mark.realdata
def test_hue_reports_go_to_the_expected_agencies(
    hue_db: HueDB, conn: Connection, settings: Settings
) -> None:
    load_real(conn, settings)
    rows = []
    for idx, (lon, lat, cat, _, _) in enumerate(REAL_CASES):
        commune, city = snap_2025(conn, lon, lat)
        rows.append((idx, lon, lat, cat, commune, None, city))
    table = values(
        column("idx", Integer), column("lon", Float), column("lat", Float),
        column("category", Text), column("current_commune_id", Integer),
        column("current_district_id", Integer), column("current_province_id", Integer),
        name="report_input",
    ).data(rows)
    rule = jurisdiction_rule.alias("rule")
    found = routed(conn, table)
    codes = dict(conn.execute(text("SELECT id, code FROM agency")).all())
    rule_codes = dict(conn.execute(select(rule.c.id, rule.c.code)).all())
    for idx, (_, _, _, expected_rule, expected_agency) in enumerate(REAL_CASES):
        row = found[idx]
        assert (rule_codes.get(row.routing_rule_id), codes[row.agency_id]) == (
            expected_rule, expected_agency), row.routing_reason
