"""Agencies and jurisdiction rules: generated committees, areas in metres, errors that name
the rule, idempotent reloads; and Huế's real rule set on the real boundaries."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, func, literal, select
from sqlalchemy.engine import Row

from gis_service.config import Settings
from gis_service.db.schema import admin_unit, agency, generation, jurisdiction_rule
from gis_service.errors import DataError
from gis_service.reports.agencies import load_agencies
from gis_service.reports.agency_config import AGENCIES_FILE
from gis_service.reports.categories import CATEGORIES_FILE, load_categories
from gis_service.reports.configfile import config_path
from tests.conftest import HueDB
from tests.factories import add_category, add_generation, add_report, add_unit, square

CONFIG = """
[[agency]]
code = "city"
name = "City committee"
kind = "city_committee"
unit_level = "province"

[[committees]]
level = "district"
kind = "district_committee"
code = "d-{generation}-{code}"
name = "Committee of {name}"
supervisor = "parent"

[[committees]]
level = "commune"
kind = "commune_committee"
code = "c-{generation}-{code}"
name = "Committee of {name}"
supervisor = "parent"

[[agency]]
code = "power"
name = "Power company"
kind = "utility"
supervisor = "city"

[[rule]]
code = "power-everywhere"
agency = "power"
categories = ["electricity"]
unit = "P"
priority = 10

[[rule]]
code = "square"
agency = "power"
categories = ["roads"]
polygon = "POLYGON((107.1 16.1, 107.2 16.1, 107.2 16.2, 107.1 16.2, 107.1 16.1))"
priority = 20
approximate = true

[[rule]]
code = "geojson-square"
agency = "power"
polygon = { type = "Polygon", coordinates = [[[107.1, 16.1], [107.2, 16.1], [107.2, 16.2], \
[107.1, 16.2], [107.1, 16.1]]] }

[[rule]]
code = "road"
agency = "power"
categories = ["roads"]
line = "LINESTRING(107.6 16.05, 107.6 16.2)"
buffer_m = 100
priority = 30
"""


@pytest.fixture
def drawn(conn: Connection) -> str:
    """Generation 'agtest': province P, districts D1 and D2, communes C1, C2 (in D1), C3 (D2)."""
    gid = add_generation(conn, "agtest")
    p = add_unit(conn, gid, "P", square(107.0, 16.0, 1.0), level="province")
    d1 = add_unit(conn, gid, "D1", square(107.0, 16.0, 0.5), level="district", parent_id=p)
    d2 = add_unit(conn, gid, "D2", square(107.5, 16.0, 0.5), level="district", parent_id=p)
    add_unit(conn, gid, "C1", square(107.0, 16.0, 0.25), parent_id=d1)
    add_unit(conn, gid, "C2", square(107.25, 16.0, 0.25), parent_id=d1)
    add_unit(conn, gid, "C3", square(107.5, 16.0, 0.25), parent_id=d2)
    for code in ("electricity", "roads"):
        add_category(conn, code)
    return "agtest"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agencies.toml"
    path.write_text(text, encoding="utf-8")
    return path


def agencies(conn: Connection) -> dict[str, Row[tuple[str, str, str | None, str | None]]]:
    supervisor, unit = agency.alias("supervisor"), admin_unit.alias("unit")
    rows = conn.execute(
        select(agency.c.code, agency.c.kind, supervisor.c.code.label("supervisor"),
               unit.c.code.label("unit"))
        .outerjoin(supervisor, supervisor.c.id == agency.c.supervisor_id)
        .outerjoin(unit, unit.c.id == agency.c.unit_id)
    ).all()
    return {row.code: row for row in rows}


def rule(conn: Connection, code: str) -> Row[tuple[object, ...]]:
    return conn.execute(select(jurisdiction_rule).where(jurisdiction_rule.c.code == code)).one()


def test_committees_are_generated_per_unit_with_their_supervisors(
    conn: Connection, drawn: str, tmp_path: Path
) -> None:
    result = load_agencies(conn, write(tmp_path, CONFIG), generation_code=drawn)
    assert (result.agencies, result.rules, result.skipped_rules) == (7, 4, ())
    found = agencies(conn)
    assert set(found) == {"city", "power", "d-agtest-D1", "d-agtest-D2", "c-agtest-C1",
                          "c-agtest-C2", "c-agtest-C3"}
    assert (found["city"].kind, found["city"].unit, found["city"].supervisor) == (
        "city_committee", "P", None)
    assert (found["d-agtest-D2"].kind, found["d-agtest-D2"].supervisor) == (
        "district_committee", "city")
    assert [(found[c].kind, found[c].unit, found[c].supervisor)
            for c in ("c-agtest-C1", "c-agtest-C2", "c-agtest-C3")] == [
        ("commune_committee", "C1", "d-agtest-D1"),
        ("commune_committee", "C2", "d-agtest-D1"),
        ("commune_committee", "C3", "d-agtest-D2"),
    ]
    assert found["power"].supervisor == "city"


def test_a_reload_writes_nothing(conn: Connection, drawn: str, tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG)
    first = load_agencies(conn, path, generation_code=drawn)
    assert first.agencies_inserted == 7 and first.rules_inserted == 4
    again = load_agencies(conn, path, generation_code=drawn)
    assert (again.agencies_inserted, again.agencies_updated, again.agencies_deleted,
            again.rules_inserted, again.rules_updated, again.rules_deleted) == (0, 0, 0, 0, 0, 0)
    changed = load_agencies(conn, write(tmp_path, CONFIG.replace("priority = 30", "priority = 31")),
                            generation_code=drawn)
    assert (changed.rules_inserted, changed.rules_updated) == (0, 1)


def test_rule_areas(conn: Connection, drawn: str, tmp_path: Path) -> None:
    load_agencies(conn, write(tmp_path, CONFIG), generation_code=drawn)
    unit_rule = rule(conn, "power-everywhere")
    province = conn.execute(select(admin_unit.c.id, func.ST_Area(func.geography(admin_unit.c.geom)))
                            .where(admin_unit.c.code == "P")).one()
    assert (unit_rule.area_kind, unit_rule.unit_id) == ("unit", province[0])
    assert unit_rule.area_m2 == pytest.approx(province[1])
    assert unit_rule.source_geom is None
    drawn_square = rule(conn, "square")
    assert (drawn_square.area_kind, drawn_square.approximate, drawn_square.categories) == (
        "polygon", True, ["roads"])
    geojson = rule(conn, "geojson-square")
    assert geojson.categories is None and geojson.priority == 0
    # The GeoJSON table and the WKT describe the same square.
    wkt, js = jurisdiction_rule.alias("wkt"), jurisdiction_rule.alias("js")
    assert conn.execute(
        select(func.ST_Equals(wkt.c.geom, js.c.geom))
        .join_from(wkt, js, js.c.code == "geojson-square")
        .where(wkt.c.code == "square")
    ).scalar_one()


def test_lines_are_buffered_in_metres(conn: Connection, drawn: str, tmp_path: Path) -> None:
    load_agencies(conn, write(tmp_path, CONFIG), generation_code=drawn)
    road = jurisdiction_rule.alias("road")
    area_m2, buffer_m, kind, length = conn.execute(
        select(road.c.area_m2, road.c.buffer_m, road.c.area_kind,
               func.ST_Length(func.geography(road.c.source_geom)))
        .where(road.c.code == "road")
    ).one()
    assert (kind, buffer_m) == ("line_buffer", 100.0)
    # A 100 m buffer: a 200 m wide band plus two half-discs at the ends (polygonised arcs).
    assert area_m2 == pytest.approx(200 * length + 3.1416 * 100**2, rel=0.01)
    for metres, covered in ((90, True), (110, False)):
        # A point `metres` due east of the middle of the line, measured on the spheroid.
        point = func.ST_Project(func.geography(func.ST_SetSRID(func.ST_MakePoint(107.6, 16.12), 4326)),
                                literal(float(metres)), func.radians(90.0))
        assert conn.execute(
            select(func.ST_Covers(road.c.geom, func.geometry(point))).where(road.c.code == "road")
        ).scalar_one() is covered


def test_rules_for_another_generation_are_skipped(conn: Connection, drawn: str, tmp_path: Path) -> None:
    config = CONFIG.replace('unit = "P"\n', 'unit = "P"\ngeneration = "2031"\n')
    result = load_agencies(conn, write(tmp_path, config), generation_code=drawn)
    assert result.skipped_rules == ("power-everywhere",) and result.rules == 3
    assert conn.execute(select(func.count()).where(jurisdiction_rule.c.code == "power-everywhere")
                        ).scalar_one() == 0


def test_agencies_reports_refer_to_are_kept_when_they_leave_the_file(
    conn: Connection, drawn: str, tmp_path: Path
) -> None:
    load_agencies(conn, write(tmp_path, CONFIG), generation_code=drawn)
    add_report(conn, agency_id=conn.execute(select(agency.c.id).where(agency.c.code == "c-agtest-C1")
                                            ).scalar_one())
    # A new generation: its communes get committees, the old ones go (unless reports use them).
    gid = add_generation(conn, "agtest2")
    p = add_unit(conn, gid, "P", square(107.0, 16.0, 1.0), level="province")
    add_unit(conn, gid, "N1", square(107.0, 16.0, 0.5), parent_id=p)
    result = load_agencies(conn, write(tmp_path, CONFIG), generation_code="agtest2")
    assert result.retained == ("c-agtest-C1",)
    found = agencies(conn)
    assert set(found) == {"city", "power", "c-agtest2-N1", "c-agtest-C1"}
    assert found["c-agtest2-N1"].supervisor == "city"


BAD = [
    (('agency = "power"\ncategories = ["roads"]\npolygon',
      'agency = "nobody"\ncategories = ["roads"]\npolygon'),
     r"\[\[rule\]\] 2 \('square'\): unknown agency 'nobody'"),
    (('categories = ["electricity"]', 'categories = ["fireworks"]'),
     r"\('power-everywhere'\): unknown category 'fireworks'"),
    (('unit = "P"', 'unit = "Q"'), r"\('power-everywhere'\): no unit 'Q' in generation agtest"),
    (('POLYGON((107.1 16.1, 107.2 16.1, 107.2 16.2, 107.1 16.2, 107.1 16.1))',
      'POLYGON((16.1 107.1, 16.1 107.2, 16.2 107.2, 16.2 107.1, 16.1 107.1))'),
     r"\('square'\): polygon coordinates must be longitude latitude .* swapped\?"),
    (('POLYGON((107.1 16.1, 107.2 16.1, 107.2 16.2, 107.1 16.2, 107.1 16.1))',
      'POLYGON((107.1 16.1, 107.2 16.2, 107.2 16.1, 107.1 16.2, 107.1 16.1))'),
     r"\('square'\): invalid polygon: Self-intersection"),
    (('POLYGON((107.1 16.1, 107.2 16.1, 107.2 16.2, 107.1 16.2, 107.1 16.1))', 'POLYGON((107.1 16.1'),
     r"\('square'\): cannot read 'polygon' as WKT or GeoJSON"),
    (("buffer_m = 100\n", ""), r"\('road'\): 'buffer_m' \(metres\) goes with 'line'"),
    (("buffer_m = 100", "buffer_m = -5"), r"\('road'\): 'buffer_m' must be a number of metres"),
    (('line = "LINESTRING',
      'polygon = "POLYGON((107.1 16.1, 107.2 16.1, 107.2 16.2, 107.1 16.1))"\nline = "LINESTRING'),
     r"\('road'\): give exactly one area: 'unit', 'polygon' or 'line' \(found polygon, line\)"),
    (('line = "LINESTRING(107.6 16.05, 107.6 16.2)"', 'line = "POINT(107.6 16.05)"'),
     r"\('road'\): 'line' must be a non-empty LineString or MultiLineString, not Point"),
    (('name = "Committee of {name}"\nsupervisor = "parent"\n\n[[committees]]\nlevel = "commune"',
      'name = "Committee of {nom}"\nsupervisor = "parent"\n\n[[committees]]\nlevel = "commune"'),
     r"\[\[committees\]\] 1: name template uses \{nom\}"),
    (('supervisor = "city"', 'supervisor = "mayor"'), r"agency 'power' names an unknown supervisor 'mayor'"),
    (('kind = "utility"', 'kind = "company"'), r"\[\[agency\]\] 2 \('power'\): kind must be one of"),
    (('[[committees]]\nlevel = "district"', '[[committees]]\nlevel = "ward"'),
     r"\[\[committees\]\] 1: level must be one of province, district, commune"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_input_is_refused_naming_the_entry_and_writes_nothing(
    conn: Connection, drawn: str, tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    load_agencies(conn, write(tmp_path, CONFIG), generation_code=drawn)
    before = agencies(conn), conn.execute(select(jurisdiction_rule.c.code, jurisdiction_rule.c.priority)
                                          .order_by(jurisdiction_rule.c.code)).all()
    old, new = change
    assert old in CONFIG
    # Also make the valid part different, so a partial write would show.
    bad = CONFIG.replace(old, new, 1).replace("priority = 30", "priority = 99")
    with pytest.raises(DataError, match=message):
        load_agencies(conn, write(tmp_path, bad), generation_code=drawn)
    after = agencies(conn), conn.execute(select(jurisdiction_rule.c.code, jurisdiction_rule.c.priority)
                                         .order_by(jurisdiction_rule.c.code)).all()
    assert after == before


def test_a_parent_without_an_agency_is_an_error(conn: Connection, drawn: str, tmp_path: Path) -> None:
    start = CONFIG.index("[[committees]]")
    without_districts = CONFIG[:start] + CONFIG[CONFIG.index("[[committees]]", start + 1):]
    with pytest.raises(DataError, match=r"\[\[committees\]\] 1: commune C1 \(Unit C1\) has no agency "
                                        "for its parent unit"):
        load_agencies(conn, write(tmp_path, without_districts), generation_code=drawn)


def test_supervisor_loops_are_refused(conn: Connection, drawn: str, tmp_path: Path) -> None:
    looped = CONFIG.replace('unit_level = "province"\n', 'unit_level = "province"\nsupervisor = "power"\n', 1)
    with pytest.raises(DataError, match="loop"):
        load_agencies(conn, write(tmp_path, looped), generation_code=drawn)


# --- Huế's rule set on the real boundaries -----------------------------------------------------


def load_real(conn: Connection, settings: Settings, generation_code: str | None = None) -> None:
    load_categories(conn, config_path(settings, CATEGORIES_FILE))
    load_agencies(conn, config_path(settings, AGENCIES_FILE), generation_code=generation_code)


def communes_of(conn: Connection, code: str) -> list[int]:
    return list(conn.execute(
        select(admin_unit.c.id).join(generation, generation.c.id == admin_unit.c.generation_id)
        .where(generation.c.code == code, admin_unit.c.level == "commune")
    ).scalars())


@pytest.mark.realdata
def test_every_commune_of_the_active_generation_has_a_committee(
    hue_db: HueDB, conn: Connection, settings: Settings
) -> None:
    load_real(conn, settings)
    communes = communes_of(conn, "2025")
    assert len(communes) == 40
    committees = conn.execute(
        select(agency.c.unit_id, agency.c.code, agency.c.supervisor_id)
        .where(agency.c.kind == "commune_committee")
    ).all()
    assert sorted(c.unit_id for c in committees) == sorted(communes)
    city = conn.execute(select(agency.c.id).where(agency.c.code == "ubnd-hue")).scalar_one()
    assert {c.supervisor_id for c in committees} == {city}
    rules = set(conn.execute(select(jurisdiction_rule.c.code)).scalars())
    assert {"citadel-monuments", "ql1a-corridor", "perfume-river-banks", "drainage-thuan-hoa"} <= rules


@pytest.mark.realdata
def test_the_2019_generation_gets_district_committees_between(
    hue_db: HueDB, conn: Connection, settings: Settings
) -> None:
    load_real(conn, settings, "2019")
    found = agencies(conn)
    districts = {code: row for code, row in found.items() if row.kind == "district_committee"}
    communes = {code: row for code, row in found.items() if row.kind == "commune_committee"}
    assert len(districts) == 9 and {row.supervisor for row in districts.values()} == {"ubnd-hue"}
    assert len(communes) == len(communes_of(conn, "2019")) == 152
    assert {row.supervisor for row in communes.values()} == set(districts)
    # Vỹ Dạ (19777) lay in the old Thành phố Huế (474).
    assert communes["ubnd-2019-19777"].supervisor == "ubnd-2019-474"
