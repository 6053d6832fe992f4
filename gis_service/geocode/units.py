"""What the geocoding index reads from PostGIS: every unit of every generation, and the crosswalk.

Three small queries, run once per index build (a few hundred rows for Huế): the index then
answers every geocode from memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from gis_service.db.schema import admin_unit, generation, unit_crosswalk


@dataclass(frozen=True, slots=True)
class Unit:
    """One administrative unit as the geocoder returns it (no geometry but its label point).

    ``name`` is as stored (with or without its type in front); :attr:`full_name` always has it.
    """

    id: int
    generation: str
    level: str
    code: str
    name: str
    unit_type: str
    parent_id: int | None
    lon: float
    lat: float
    approximate: bool

    @property
    def full_name(self) -> str:
        """``"Phường Vỹ Dạ"`` whether the name was stored as ``"Vỹ Dạ"`` or in full."""
        if self.name.startswith(self.unit_type + " "):
            return self.name
        return f"{self.unit_type} {self.name}"


@dataclass(frozen=True, slots=True)
class GenerationInfo:
    """A generation's code, status and start, to tell the current one from older ones."""

    id: int
    code: str
    status: str
    valid_from: dt.date | None


@dataclass(frozen=True, slots=True)
class Overlap:
    """Two units of different generations sharing ``overlap_km2`` of territory."""

    old_id: int
    new_id: int
    overlap_km2: float


def read_generations(conn: Connection, codes: Sequence[str] | None = None
                     ) -> list[GenerationInfo]:
    """The generations named by ``codes``, else all published ones; oldest first.

    Drafts answer only when asked for by code (see ``boundaries.generations``).
    """
    query = (
        select(generation.c.id, generation.c.code, generation.c.status, generation.c.valid_from)
        .order_by(generation.c.valid_from.nulls_first(), generation.c.id)
    )
    if codes is None:
        query = query.where(generation.c.status != "draft")
    else:
        query = query.where(generation.c.code.in_(list(codes)))
    return [GenerationInfo(*row) for row in conn.execute(query)]


def read_units(conn: Connection, generation_ids: Sequence[int]) -> list[Unit]:
    """Every unit of these generations, with its label point as lon/lat."""
    rows = conn.execute(
        select(
            admin_unit.c.id,
            generation.c.code,
            admin_unit.c.level,
            admin_unit.c.code,
            admin_unit.c.name,
            admin_unit.c.unit_type,
            admin_unit.c.parent_id,
            func.ST_X(admin_unit.c.label_point),
            func.ST_Y(admin_unit.c.label_point),
            admin_unit.c.approximate,
        )
        .join(generation, generation.c.id == admin_unit.c.generation_id)
        .where(admin_unit.c.generation_id.in_(list(generation_ids)))
        .order_by(admin_unit.c.id)
    )
    return [
        Unit(id=row[0], generation=row[1], level=row[2], code=row[3], name=row[4],
             unit_type=row[5], parent_id=row[6], lon=float(row[7]), lat=float(row[8]),
             approximate=bool(row[9]))
        for row in rows
    ]


def read_overlaps(conn: Connection, generation_order: dict[int, int]) -> list[Overlap]:
    """The crosswalk as (older unit, newer unit, shared km²), whichever way a row points.

    ``generation_order`` ranks the generation ids to read from oldest (0) to newest.
    """
    ids = list(generation_order)
    rows = conn.execute(
        select(
            unit_crosswalk.c.from_unit_id,
            unit_crosswalk.c.to_unit_id,
            unit_crosswalk.c.from_generation_id,
            unit_crosswalk.c.to_generation_id,
            unit_crosswalk.c.overlap_km2,
        ).where(unit_crosswalk.c.from_generation_id.in_(ids),
                unit_crosswalk.c.to_generation_id.in_(ids))
    )
    overlaps: dict[tuple[int, int], Overlap] = {}
    for from_id, to_id, from_gen, to_gen, km2 in rows:
        forward = generation_order.get(from_gen, 0) < generation_order.get(to_gen, 0)
        old_id, new_id = (from_id, to_id) if forward else (to_id, from_id)
        overlaps[(old_id, new_id)] = Overlap(old_id, new_id, float(km2))
    return list(overlaps.values())
