"""Crosswalks between two generations: how much of each old unit lies in each new one.

This is what lets analysts re-aggregate figures kept under the 2019 communes onto the 2025
wards (and back). For every pair of overlapping units of one level, ``unit_crosswalk`` holds:

- ``overlap_km2``: the area of their intersection, on the spheroid (geography);
- ``area_share``: that overlap over the from-unit's area. Overlaps smaller than 0.1% of the
  from-unit *or* smaller than 1000 m² are slivers (two sources drawing one boundary ten metres
  apart make thousands of them) and are dropped, except a from-unit's largest overlap, which is
  always kept; the shares left are renormalised to sum to 1 over the to-units. Renormalising
  also spreads the part of a from-unit that no to-unit covers (open sea, a gap) in proportion;
  nobody lives there to attribute elsewhere;
- ``population_share`` and ``population_method``: ``whole`` when at least 99% of the from-unit
  (of its covered part, as above) lies in one to-unit, which then gets all its people (1.0, the
  others 0.0); otherwise ``areal``, people spread like area (= ``area_share``).

All the SQL of this concern lives here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from geoalchemy2 import Geography
from sqlalchemy import (
    Connection,
    Insert,
    SmallInteger,
    Text,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
)

from gis_service.boundaries.generations import by_code
from gis_service.db.schema import admin_unit, unit_crosswalk
from gis_service.errors import InvalidInput, Unprocessable

#: Overlaps below either threshold are slivers (see the module docstring).
MIN_SHARE = 0.001
MIN_OVERLAP_M2 = 1000.0
#: A from-unit with at least this share in one to-unit lies "wholly" in it.
WHOLE_SHARE = 0.99
_POLYGONS = 3  # ST_CollectionExtract's type code for (multi)polygons

Weight = Literal["population", "area"]


@dataclass(frozen=True)
class CrosswalkRow:
    """One overlapping pair, by unit code."""

    from_code: str
    to_code: str
    overlap_km2: float
    area_share: float
    population_share: float | None
    population_method: str | None


def _direction(from_generation: int, to_generation: int, level: str, min_share: float,
               min_overlap_m2: float) -> Insert:
    """One INSERT ... SELECT computing every row of one direction."""
    src, dst = admin_unit.alias("src"), admin_unit.alias("dst")
    overlap = func.ST_Area(cast(
        func.ST_CollectionExtract(func.ST_Intersection(src.c.geom, dst.c.geom), _POLYGONS),
        Geography,
    ))
    pairs = (
        select(src.c.id.label("from_id"), dst.c.id.label("to_id"),
               overlap.label("overlap_m2"), (src.c.area_km2 * 1e6).label("from_m2"))
        # ST_Intersects lets the planner use the GiST index on admin_unit.geom for the join.
        .join(dst, and_(dst.c.generation_id == to_generation, dst.c.level == level,
                        func.ST_Intersects(src.c.geom, dst.c.geom)))
        .where(src.c.generation_id == from_generation, src.c.level == level)
        .cte("pairs")
    )
    ranked = (
        select(pairs, func.row_number().over(partition_by=pairs.c.from_id,
                                             order_by=pairs.c.overlap_m2.desc()).label("rank"))
        # Units that only touch along an edge intersect with no area.
        .where(pairs.c.overlap_m2 > 0)
        .cte("ranked")
    )
    kept = (
        select(ranked.c.from_id, ranked.c.to_id, ranked.c.overlap_m2, ranked.c.rank,
               (ranked.c.overlap_m2 / func.sum(ranked.c.overlap_m2).over(
                   partition_by=ranked.c.from_id)).label("share"))
        .where(or_(ranked.c.rank == 1,
                   and_(ranked.c.overlap_m2 >= min_overlap_m2,
                        ranked.c.overlap_m2 >= min_share * ranked.c.from_m2)))
        .cte("kept")
    )
    # The window sum above runs after the WHERE, so it renormalises over the kept rows only.
    whole = func.max(kept.c.share).over(partition_by=kept.c.from_id) >= WHOLE_SHARE
    rows = select(
        kept.c.from_id,
        kept.c.to_id,
        literal(from_generation, SmallInteger),
        literal(to_generation, SmallInteger),
        kept.c.overlap_m2 / 1e6,
        func.least(kept.c.share, 1.0),
        case((whole, case((kept.c.rank == 1, 1.0), else_=0.0)), else_=kept.c.share),
        case((whole, literal("whole", Text)), else_=literal("areal", Text)),
    )
    return insert(unit_crosswalk).from_select(
        ["from_unit_id", "to_unit_id", "from_generation_id", "to_generation_id", "overlap_km2",
         "area_share", "population_share", "population_method"],
        rows,
    # SQLAlchemy only keeps an INSERT's row count when asked to.
    ).execution_options(preserve_rowcount=True)


def build_crosswalk(
    conn: Connection,
    from_code: str,
    to_code: str,
    level: str = "commune",
    *,
    min_share: float = MIN_SHARE,
    min_overlap_m2: float = MIN_OVERLAP_M2,
) -> int:
    """(Re)build the crosswalk of ``level`` between two generations, both directions.

    Previous rows of the pair of generations at that level (both directions) are replaced.
    Returns the number of rows written. Never commits.

    >>> build_crosswalk(conn, "2019", "2025")  # doctest: +SKIP
    342
    """
    if from_code == to_code:
        raise InvalidInput("a crosswalk needs two different generations", field="to")
    source, target = by_code(conn, from_code), by_code(conn, to_code)
    written = 0
    for a, b in ((source.id, target.id), (target.id, source.id)):
        of_level = select(admin_unit.c.id).where(admin_unit.c.generation_id == a,
                                                 admin_unit.c.level == level)
        conn.execute(delete(unit_crosswalk).where(unit_crosswalk.c.from_generation_id == a,
                                                  unit_crosswalk.c.to_generation_id == b,
                                                  unit_crosswalk.c.from_unit_id.in_(of_level)))
        written += conn.execute(_direction(a, b, level, min_share, min_overlap_m2)).rowcount
    return written


def crosswalk(conn: Connection, from_code: str, to_code: str, level: str = "commune"
              ) -> list[CrosswalkRow]:
    """The stored crosswalk from one generation to another, by unit code."""
    source, target = by_code(conn, from_code), by_code(conn, to_code)
    src, dst = admin_unit.alias("src"), admin_unit.alias("dst")
    rows = conn.execute(
        select(src.c.code, dst.c.code, unit_crosswalk.c.overlap_km2, unit_crosswalk.c.area_share,
               unit_crosswalk.c.population_share,
               unit_crosswalk.c.population_method)
        .join(src, src.c.id == unit_crosswalk.c.from_unit_id)
        .join(dst, dst.c.id == unit_crosswalk.c.to_unit_id)
        .where(unit_crosswalk.c.from_generation_id == source.id,
               unit_crosswalk.c.to_generation_id == target.id,
               src.c.level == level, dst.c.level == level)
        .order_by(src.c.code, dst.c.code)
    ).all()
    return [CrosswalkRow(*row) for row in rows]


def reaggregate(
    conn: Connection,
    from_code: str,
    to_code: str,
    values: Mapping[str, float],
    *,
    level: str = "commune",
    weight: Weight = "population",
) -> dict[str, float]:
    """Re-key values counted under the old units' codes onto the new units' codes.

    Each old value is split by the population share (``weight="population"``, falling back to
    the area share where none is stored) or the area share. Totals are kept: the shares of
    each old unit sum to 1. Codes without crosswalk rows raise :class:`Unprocessable`.

    >>> reaggregate(conn, "2019", "2025", {"19924": 12, "19906": 3})  # doctest: +SKIP
    {'19909': 15.0}
    """
    if weight not in ("population", "area"):
        raise InvalidInput("weight must be 'population' or 'area'", field="weight")
    shares: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for row in crosswalk(conn, from_code, to_code, level):
        share = row.area_share
        if weight == "population" and row.population_share is not None:
            share = row.population_share
        shares[row.from_code].append((row.to_code, share))
    missing = sorted(code for code in values if code not in shares)
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise Unprocessable(f"no crosswalk from generation {from_code} to {to_code} for "
                            f"{len(missing)} {level} codes: {shown}", field="values")
    result: dict[str, float] = defaultdict(float)
    for code, value in values.items():
        for to_unit, share in shares[code]:
            result[to_unit] += value * share
    return dict(result)
