"""Small factories for test data: a generation, a unit from WKT, a grid of square units."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from gis_service.db.schema import H3_RESOLUTIONS, admin_unit, agency, category, generation, report

_TYPE_BY_LEVEL = {"province": "Tỉnh", "district": "Huyện", "commune": "Phường"}


def add_generation(
    conn: Connection,
    code: str = "test",
    *,
    status: str = "draft",
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
) -> int:
    return int(
        conn.execute(
            insert(generation)
            .values(code=code, status=status, valid_from=valid_from, valid_to=valid_to,
                    description=f"test generation {code}")
            .returning(generation.c.id)
        ).scalar_one()
    )


def add_unit(
    conn: Connection,
    generation_id: int,
    code: str,
    polygon: str,
    *,
    level: str = "commune",
    name: str | None = None,
    unit_type: str | None = None,
    parent_id: int | None = None,
    population: int | None = None,
    approximate: bool = False,
) -> int:
    """Insert one unit; ``polygon`` is WKT in lon/lat (POLYGON or MULTIPOLYGON)."""
    name = name or f"Unit {code}"
    return int(
        conn.execute(
            insert(admin_unit)
            .values(
                generation_id=generation_id,
                level=level,
                code=code,
                name=name,
                name_ascii=name,
                unit_type=unit_type or _TYPE_BY_LEVEL[level],
                parent_id=parent_id,
                population=population,
                geom=func.ST_Multi(func.ST_GeomFromText(polygon, 4326)),
                source="test factory",
                licence="test",
                approximate=approximate,
            )
            .returning(admin_unit.c.id)
        ).scalar_one()
    )


def square(lon: float, lat: float, size: float) -> str:
    """WKT of an axis-aligned square with its south-west corner at (lon, lat)."""
    x1, y1 = lon + size, lat + size
    return f"POLYGON(({lon} {lat},{x1} {lat},{x1} {y1},{lon} {y1},{lon} {lat}))"


def unit_ids_by_code(conn: Connection, generation_id: int) -> dict[str, int]:
    rows = conn.execute(
        select(admin_unit.c.code, admin_unit.c.id).where(admin_unit.c.generation_id == generation_id)
    )
    return {code: unit_id for code, unit_id in rows}


# -- field reports (issue 4) ---------------------------------------------------------------
# A drawn place reports can point at: one generation with a province and a commune, plus a
# category and the commune's committee. Created on first use in the connection's transaction.
REPORT_GENERATION = "report-factory"
REPORT_CATEGORY = "factory_category"


def add_category(
    conn: Connection,
    code: str = REPORT_CATEGORY,
    *,
    deadline_amount: int = 10,
    deadline_unit: str = "working_days",
    urgent: bool = False,
) -> str:
    """Insert a category unless one with that code exists; return its code."""
    conn.execute(
        pg_insert(category)
        .values(code=code, name=f"Category {code}", name_vi=f"Loại {code}", category_group="test",
                deadline_amount=deadline_amount, deadline_unit=deadline_unit, urgent=urgent)
        .on_conflict_do_nothing(index_elements=[category.c.code])
    )
    return code


def add_agency(
    conn: Connection,
    code: str,
    *,
    kind: str = "commune_committee",
    unit_id: int | None = None,
    supervisor_id: int | None = None,
    name: str | None = None,
) -> int:
    return int(
        conn.execute(
            insert(agency)
            .values(code=code, name=name or f"Agency {code}", kind=kind, unit_id=unit_id,
                    supervisor_id=supervisor_id)
            .returning(agency.c.id)
        ).scalar_one()
    )


@dataclass(frozen=True)
class ReportPlace:
    """Units and an agency a factory report can use."""

    generation_id: int
    province_id: int
    commune_id: int
    agency_id: int


def report_place(conn: Connection) -> ReportPlace:
    """The factory's drawn generation, province, commune and committee (made on first use)."""
    existing = conn.execute(
        select(generation.c.id).where(generation.c.code == REPORT_GENERATION)
    ).scalar_one_or_none()
    if existing is None:
        generation_id = add_generation(conn, REPORT_GENERATION)
        province_id = add_unit(conn, generation_id, "RP", square(107.5, 16.4, 0.2), level="province")
        commune_id = add_unit(conn, generation_id, "RC", square(107.55, 16.45, 0.05),
                              parent_id=province_id)
        agency_id = add_agency(conn, "report-factory-committee", unit_id=commune_id)
        return ReportPlace(generation_id, province_id, commune_id, agency_id)
    ids = unit_ids_by_code(conn, existing)
    agency_id = conn.execute(
        select(agency.c.id).where(agency.c.code == "report-factory-committee")
    ).scalar_one()
    return ReportPlace(existing, ids["RP"], ids["RC"], agency_id)


def add_report(
    conn: Connection,
    *,
    category_code: str | None = None,
    status: str = "received",
    agency_id: int | None = None,
    place: ReportPlace | None = None,
    created_at: dt.datetime | None = None,
    due_at: dt.datetime | None = None,
    lon: float = 107.575,
    lat: float = 16.475,
    duplicate_of: int | None = None,
    public_id: str | None = None,
) -> int:
    """Insert one report with every NOT NULL column filled (h3 cells 0); return its id.

    A ``needs_location`` report is inserted unplaced (see :data:`UNPLACED`).

    Defaults: the factory's drawn place and committee, a factory category, created now and
    due 10 days later.
    """
    place = place or report_place(conn)
    created_at = created_at or dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {
        "public_id": public_id or f"T-{uuid.uuid4().hex[:12]}",
        "category": category_code or add_category(conn),
        "channel": "app",
        "geom": func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326),
        "location_source": "gps",
        **{f"h3_r{res}": 0 for res in H3_RESOLUTIONS},
        "snap_generation_id": place.generation_id,
        "commune_id": place.commune_id,
        "province_id": place.province_id,
        "current_generation_id": place.generation_id,
        "current_commune_id": place.commune_id,
        "current_province_id": place.province_id,
        "snap_match": "inside",
        "snap_distance_m": 0.0,
        "status": status,
        "agency_id": agency_id or place.agency_id,
        "created_at": created_at,
        "due_at": due_at or created_at + dt.timedelta(days=10),
        "duplicate_of": duplicate_of,
    }
    values.update(UNPLACED if status == "needs_location" else {})
    return int(conn.execute(insert(report).values(**values).returning(report.c.id)).scalar_one())


#: What a report held for a location (needs_location) lacks: its point, cells, units, deadline.
UNPLACED: dict[str, None] = {
    column: None for column in (
        "geom", *(f"h3_r{res}" for res in H3_RESOLUTIONS), "commune_id", "province_id",
        "current_commune_id", "current_province_id", "snap_match", "snap_distance_m", "due_at")
}
