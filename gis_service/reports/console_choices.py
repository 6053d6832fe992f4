"""What the operations console (/console) offers in its menus: agencies, categories, wards.

Read from the database at each page load (agencies and categories are reloaded by
``reports load-config``; the wards are the active generation's), so the menus never name a
code the API would not accept.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from gis_service.boundaries.generations import active
from gis_service.db.schema import admin_unit, agency, category


@dataclass(frozen=True)
class Choice:
    """A code the API takes and the name shown for it."""

    code: str
    name: str


@dataclass(frozen=True)
class ConsoleChoices:
    agencies: tuple[Choice, ...]
    categories: tuple[Choice, ...]
    wards: tuple[Choice, ...]
    generation: str


def agency_choices(conn: Connection) -> tuple[Choice, ...]:
    """Every agency, by name."""
    rows = conn.execute(select(agency.c.code, agency.c.name).order_by(agency.c.name, agency.c.code))
    return tuple(Choice(*row) for row in rows)


def category_choices(conn: Connection, *, vietnamese: bool) -> tuple[Choice, ...]:
    """Every category with its name in the page's language, by that name."""
    name = category.c.name_vi if vietnamese else category.c.name
    rows = conn.execute(select(category.c.code, name).order_by(name, category.c.code))
    return tuple(Choice(*row) for row in rows)


def ward_choices(conn: Connection, generation_id: int) -> tuple[Choice, ...]:
    """The wards and communes of one generation, by name."""
    rows = conn.execute(
        select(admin_unit.c.code, admin_unit.c.name)
        .where(admin_unit.c.generation_id == generation_id, admin_unit.c.level == "commune")
        .order_by(admin_unit.c.name, admin_unit.c.code))
    return tuple(Choice(*row) for row in rows)


def console_choices(conn: Connection, *, vietnamese: bool = True) -> ConsoleChoices:
    """The console's menus, the wards from the active generation."""
    current = active(conn)
    return ConsoleChoices(agency_choices(conn), category_choices(conn, vietnamese=vietnamese),
                          ward_choices(conn, current.id), current.code)
