"""The validation report of a boundary generation: gaps, overlaps, protrusions and orphans.

Per level, siblings (units sharing a parent) should tile their parent exactly. This module
measures how far they do not: the part of each parent that no child covers, and the holes in
the union of units without a parent (*gaps*); areas covered by two units of the same level
(*overlaps*, whatever their parents: an overlap across a district border is just as ambiguous
for a point lookup); children reaching outside their parent; units below the top level that
have no parent (*orphans*). Areas are in m² on the spheroid (geography). Pieces smaller than
``min_area_m2`` are slivers: counted, not listed. All the SQL of this concern lives here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    ARRAY,
    Connection,
    Integer,
    Select,
    and_,
    cast,
    column,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, array
from sqlalchemy.sql.elements import ColumnElement

from gis_service.boundaries.generations import by_code
from gis_service.db.schema import LEVELS, admin_unit

DEFAULT_MIN_AREA_M2 = 1.0
# Two units count as bordering a gap when they come this close to it (degrees, ~1 cm): the
# gap's edge is computed from theirs, so it is equal only up to floating-point noise.
_BORDER_DEG = 1e-7


@dataclass(frozen=True)
class Problem:
    """One gap, overlap, protrusion or orphan: the units involved and a point inside it."""

    codes: tuple[str, ...]
    lon: float | None
    lat: float | None
    area_m2: float | None = None

    def to_dict(self) -> dict[str, object]:
        area = None if self.area_m2 is None else round(self.area_m2, 1)
        lon = None if self.lon is None else round(self.lon, 6)
        lat = None if self.lat is None else round(self.lat, 6)
        return {"codes": list(self.codes), "area_m2": area, "lon": lon, "lat": lat}


@dataclass(frozen=True)
class Finding:
    """All problems of one kind at one level, largest first; slivers are only counted."""

    kind: str
    items: tuple[Problem, ...] = ()
    slivers: int = 0
    sliver_area_m2: float = 0.0

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def area_m2(self) -> float:
        return math.fsum(item.area_m2 or 0.0 for item in self.items)

    def to_dict(self) -> dict[str, object]:
        return {
            "count": self.count,
            "area_m2": round(self.area_m2, 1),
            "slivers": self.slivers,
            "sliver_area_m2": round(self.sliver_area_m2, 3),
            "items": [item.to_dict() for item in self.items],
        }


@dataclass(frozen=True)
class LevelReport:
    """The findings for the units of one level."""

    level: str
    units: int
    parent_level: str | None
    gaps: Finding
    overlaps: Finding
    outside_parent: Finding
    orphans: Finding

    @property
    def findings(self) -> tuple[Finding, ...]:
        return (self.gaps, self.overlaps, self.outside_parent, self.orphans)

    @property
    def clean(self) -> bool:
        return all(finding.count == 0 for finding in self.findings)

    def to_dict(self) -> dict[str, object]:
        return {
            "level": self.level,
            "units": self.units,
            "parent_level": self.parent_level,
            **{finding.kind: finding.to_dict() for finding in self.findings},
        }


@dataclass(frozen=True)
class ValidationReport:
    """How well a generation's units tile each other, level by level.

    >>> report = validate(conn, "2019")  # doctest: +SKIP
    >>> report.clean, report.to_dict()["levels"][2]["gaps"]["count"]  # doctest: +SKIP
    """

    generation: str
    min_area_m2: float
    levels: tuple[LevelReport, ...]

    @property
    def clean(self) -> bool:
        return all(level.clean for level in self.levels)

    def level(self, name: str) -> LevelReport:
        return next(level for level in self.levels if level.level == name)

    def to_dict(self) -> dict[str, object]:
        return {
            "generation": self.generation,
            "min_area_m2": self.min_area_m2,
            "clean": self.clean,
            "levels": [level.to_dict() for level in self.levels],
        }

    def render(self, limit: int = 5) -> str:
        """A terminal summary: counts and areas per level, the ``limit`` largest items of each kind."""
        lines = [f"validation of generation {self.generation} "
                 f"(pieces under {self.min_area_m2:g} m² counted as slivers)"]
        for level in self.levels:
            lines.extend(_render_level(level, limit))
        return "\n".join(lines)


def _render_level(level: LevelReport, limit: int) -> list[str]:
    parent = f", parent level {level.parent_level}" if level.parent_level else ""
    lines = [f"  {level.level}: {level.units} units{parent}"]
    for finding in level.findings:
        area = f" ({finding.area_m2:,.0f} m²)" if finding.count and finding.kind != "orphans" else ""
        slivers = (f", and {finding.slivers} slivers ({finding.sliver_area_m2:,.1f} m²)"
                   if finding.slivers else "")
        lines.append(f"    {finding.kind.replace('_', ' ')}: {finding.count or 'none'}{area}{slivers}")
        lines.extend(f"      {_render_problem(item)}" for item in finding.items[:limit])
        if finding.count > limit:
            lines.append(f"      ... {finding.count - limit} more")
    return lines


def _render_problem(item: Problem) -> str:
    area = f"{item.area_m2:,.0f} m² " if item.area_m2 is not None else ""
    where = f"at {item.lon:.5f}, {item.lat:.5f} " if item.lon is not None else ""
    return f"{area}{where}[{', '.join(item.codes)}]"


def parent_level_of(level: str, present: Iterable[str]) -> str | None:
    """The level a unit's parent belongs to: the nearest level above it that has units.

    A two-level generation (2025: the city and its wards) has no districts, so its communes'
    parent is the province.

    >>> parent_level_of("commune", ["province", "commune"])
    'province'
    """
    have = set(present)
    above = LEVELS[: LEVELS.index(level)]
    return next((candidate for candidate in reversed(above) if candidate in have), None)


def levels_present(conn: Connection, generation_id: int) -> list[str]:
    """The levels that have units in a generation, top-down."""
    rows = conn.execute(
        select(admin_unit.c.level).where(admin_unit.c.generation_id == generation_id).distinct()
    ).scalars()
    have = set(rows)
    return [level for level in LEVELS if level in have]


def validate(
    conn: Connection, generation_code: str, *, min_area_m2: float = DEFAULT_MIN_AREA_M2
) -> ValidationReport:
    """Check how a generation's units tile each other; see the module docstring.

    >>> validate(conn, "2019").render()  # doctest: +SKIP
    """
    generation_id = by_code(conn, generation_code).id
    present = levels_present(conn, generation_id)
    reports = tuple(
        _level_report(conn, generation_id, level, parent_level_of(level, present), min_area_m2)
        for level in present
    )
    return ValidationReport(generation_code, min_area_m2, reports)


def _level_report(
    conn: Connection, generation_id: int, level: str, parent_level: str | None, min_area: float
) -> LevelReport:
    def finding(kind: str, query: Select[Any]) -> Finding:
        return _finding(kind, conn.execute(query).all(), min_area)

    gaps = finding("gaps", _holes(generation_id, level))
    if parent_level is not None:
        gaps = _merge(gaps, finding("gaps", _uncovered_parents(generation_id, level, parent_level)))
    return LevelReport(
        level=level,
        units=_count_units(conn, generation_id, level),
        parent_level=parent_level,
        gaps=gaps,
        overlaps=finding("overlaps", _overlaps(generation_id, level)),
        outside_parent=finding("outside_parent", _outside_parent(generation_id, level)),
        orphans=finding("orphans", _orphans(generation_id, level))
        if parent_level is not None else Finding("orphans"),
    )


def _finding(kind: str, rows: Sequence[Any], min_area: float) -> Finding:
    """Rows of (codes, area_m2, lon, lat): items at least ``min_area``, the rest slivers."""
    items = [Problem(tuple(r.codes), r.lon, r.lat, r.area_m2) for r in rows
             if r.area_m2 is None or r.area_m2 >= min_area]
    slivers = [r.area_m2 for r in rows if r.area_m2 is not None and r.area_m2 < min_area]
    items.sort(key=lambda item: -(item.area_m2 or 0.0))
    return Finding(kind, tuple(items), len(slivers), float(sum(slivers)))


def _merge(first: Finding, second: Finding) -> Finding:
    items = sorted(first.items + second.items, key=lambda item: -(item.area_m2 or 0.0))
    return Finding(first.kind, tuple(items), first.slivers + second.slivers,
                   first.sliver_area_m2 + second.sliver_area_m2)


def _count_units(conn: Connection, generation_id: int, level: str) -> int:
    return int(conn.execute(
        select(func.count()).where(admin_unit.c.generation_id == generation_id,
                                   admin_unit.c.level == level)
    ).scalar_one())


def _area_m2(geom: ColumnElement[Any]) -> ColumnElement[float]:
    return func.ST_Area(cast(geom, Geography))


def _measured(codes: ColumnElement[Any], geom: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """The (codes, area_m2, lon, lat) columns every finding query returns."""
    inside = func.ST_PointOnSurface(geom)
    return [
        codes.label("codes"),
        _area_m2(geom).label("area_m2"),
        func.ST_X(inside).label("lon"),
        func.ST_Y(inside).label("lat"),
    ]


def _units(generation_id: int, level: str, name: str) -> Any:
    """An alias of admin_unit and the condition keeping one generation's level."""
    unit = admin_unit.alias(name)
    return unit, and_(unit.c.generation_id == generation_id, unit.c.level == level)


def _bordering_codes(
    generation_id: int, level: str, piece: ColumnElement[Any], parent_id: ColumnElement[Any] | None
) -> ColumnElement[Any]:
    """The codes of the level's units (under one parent, or without one) touching ``piece``."""
    unit, keep = _units(generation_id, level, "bordering")
    same_parent = unit.c.parent_id.is_(None) if parent_id is None else unit.c.parent_id == parent_id
    return (
        select(func.array_agg(aggregate_order_by(unit.c.code, unit.c.code)))
        .where(keep, same_parent, func.ST_DWithin(unit.c.geom, piece, _BORDER_DEG))
        .scalar_subquery()
    )


def _uncovered_parents(generation_id: int, level: str, parent_level: str) -> Select[Any]:
    """Gaps under a parent: each piece of the parent that none of its children covers."""
    parent, parent_keep = _units(generation_id, parent_level, "parent")
    child = admin_unit.alias("child")
    empty = func.ST_GeomFromText("POLYGON EMPTY", 4326)
    uncovered = (
        select(
            parent.c.id.label("parent_id"),
            parent.c.code.label("parent_code"),
            # A parent without any child at this level is one big gap.
            func.ST_Difference(parent.c.geom, func.coalesce(func.ST_Union(child.c.geom), empty))
            .label("rest"),
        )
        .select_from(parent)
        .outerjoin(child, and_(child.c.parent_id == parent.c.id, child.c.level == level))
        .where(parent_keep)
        .group_by(parent.c.id)
        .cte("uncovered")
    )
    piece = func.ST_Dump(uncovered.c.rest).table_valued(column("geom", Geometry)).lateral("piece")
    # array_cat(x, NULL) is x: a gap no child borders still names its parent.
    codes = func.array_cat(
        array([uncovered.c.parent_code]),
        _bordering_codes(generation_id, level, piece.c.geom, uncovered.c.parent_id),
    )
    return (
        select(*_measured(codes, piece.c.geom))
        .select_from(uncovered)
        .join(piece, true())
        .where(func.ST_Dimension(piece.c.geom) == 2)
    )


def _holes(generation_id: int, level: str) -> Select[Any]:
    """Gaps among units without a parent: the holes in their union (a lake between them)."""
    unit, keep = _units(generation_id, level, "unit")
    merged = select(func.ST_Union(unit.c.geom).label("geom")).where(
        keep, unit.c.parent_id.is_(None)
    ).cte("merged")
    polygon = func.ST_Dump(merged.c.geom).table_valued(column("geom", Geometry)).lateral("polygon")
    ring = (
        func.ST_DumpRings(polygon.c.geom)
        .table_valued(column("path", ARRAY(Integer)), column("geom", Geometry))
        .lateral("ring")
    )
    codes = _bordering_codes(generation_id, level, ring.c.geom, None)
    return (
        select(*_measured(codes, ring.c.geom))
        .select_from(merged)
        .join(polygon, true())
        .join(ring, true())
        # Ring 0 is the exterior; the others are holes.
        .where(ring.c.path[1] > 0)
    )


def _overlaps(generation_id: int, level: str) -> Select[Any]:
    """Pairs of units of the level whose interiors share an area, with that area."""
    first, keep = _units(generation_id, level, "first")
    second, keep_second = _units(generation_id, level, "second")
    pairs = (
        select(
            array([first.c.code, second.c.code]).label("codes"),
            func.ST_CollectionExtract(func.ST_Intersection(first.c.geom, second.c.geom), 3)
            .label("geom"),
        )
        .select_from(first)
        .join(
            second,
            and_(
                keep_second,
                # Each pair once, named in code order.
                first.c.code < second.c.code,
                # && lets the GiST index find candidates; ST_Relate '2********' keeps pairs whose
                # interiors meet in an area (neighbours sharing an edge only touch).
                first.c.geom.op("&&")(second.c.geom),
                func.ST_Relate(first.c.geom, second.c.geom, "2********"),
            ),
        )
        .where(keep)
        .subquery("pairs")
    )
    return select(*_measured(pairs.c.codes, pairs.c.geom))


def _outside_parent(generation_id: int, level: str) -> Select[Any]:
    """Children with part of their area outside their parent, and that part's area."""
    child, keep = _units(generation_id, level, "child")
    parent = admin_unit.alias("parent")
    outside = (
        select(
            array([child.c.code, parent.c.code]).label("codes"),
            func.ST_CollectionExtract(func.ST_Difference(child.c.geom, parent.c.geom), 3)
            .label("geom"),
        )
        .select_from(child)
        .join(parent, parent.c.id == child.c.parent_id)
        .where(keep, ~func.ST_CoveredBy(child.c.geom, parent.c.geom))
        .subquery("outside")
    )
    return select(*_measured(outside.c.codes, outside.c.geom)).where(
        ~func.ST_IsEmpty(outside.c.geom)
    )


def _orphans(generation_id: int, level: str) -> Select[Any]:
    """Units of a level that should have a parent but have none."""
    unit, keep = _units(generation_id, level, "orphan")
    return select(
        array([unit.c.code]).label("codes"),
        literal(None).label("area_m2"),
        func.ST_X(unit.c.label_point).label("lon"),
        func.ST_Y(unit.c.label_point).label("lat"),
    ).where(keep, unit.c.parent_id.is_(None)).order_by(unit.c.code)
