"""Generations: dated boundary sets, and which one answers for a given code or date.

A ``draft`` generation can be loaded and checked but answers only when asked for by code;
``active`` is the one in force now (at most one); ``retired`` ones answer for dates in their
validity period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, Date, Text, and_, func, literal, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from gis_service.db.schema import LEVELS, admin_unit, generation
from gis_service.errors import Conflict, InvalidInput, NotFound

STATUSES = ("draft", "active", "retired")


@dataclass(frozen=True)
class Generation:
    id: int
    code: str
    description: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    status: str

    def is_valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


_COLUMNS = (
    generation.c.id,
    generation.c.code,
    generation.c.description,
    generation.c.valid_from,
    generation.c.valid_to,
    generation.c.status,
)


def ensure_generation(
    conn: Connection,
    code: str,
    *,
    description: str = "",
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
) -> Generation:
    """Create the generation as a draft, or update its description and dates; return it.

    Its status is left alone: use :func:`set_status` to publish or retire it.
    """
    values = {
        "code": code,
        "description": description,
        "valid_from": valid_from,
        "valid_to": valid_to,
    }
    stmt = insert(generation).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[generation.c.code],
        set_={k: stmt.excluded[k] for k in ("description", "valid_from", "valid_to")},
        # An unchanged generation keeps its row untouched, so re-loading changes nothing.
        where=or_(
            generation.c.description.is_distinct_from(stmt.excluded.description),
            generation.c.valid_from.is_distinct_from(stmt.excluded.valid_from),
            generation.c.valid_to.is_distinct_from(stmt.excluded.valid_to),
        ),
    )
    conn.execute(stmt)
    return by_code(conn, code)


def chosen(code: ColumnElement[str] | None = None, at: ColumnElement[dt.date] | None = None
           ) -> ColumnElement[bool]:
    """Which generation answers, the one rule: the one named by ``code`` (drafts answer only
    this way), else the published one valid on date ``at``, else the active one.

    A condition on the generation table, so :func:`resolve` and the one-statement snapping of
    :mod:`gis_service.spatial.statements` (which binds ``code`` or ``at`` as parameters) pick
    alike; its constants are written into the SQL text, never bound.
    """
    if code is not None:
        return generation.c.code == code
    if at is not None:
        period = func.daterange(generation.c.valid_from, generation.c.valid_to,
                                literal_column("'[]'", Text))
        return and_(generation.c.status != literal_column("'draft'", Text),
                    period.op("@>")(at))
    return generation.c.status == literal_column("'active'", Text)


def by_code(conn: Connection, code: str) -> Generation:
    row = conn.execute(select(*_COLUMNS).where(chosen(code=literal(code)))).one_or_none()
    if row is None:
        raise NotFound(f"no boundary generation {code!r}", field="generation")
    return Generation(*row)


def list_generations(conn: Connection) -> list[Generation]:
    rows = conn.execute(select(*_COLUMNS).order_by(generation.c.valid_from.nulls_first()))
    return [Generation(*row) for row in rows]


def active(conn: Connection) -> Generation:
    row = conn.execute(select(*_COLUMNS).where(chosen())).one_or_none()
    if row is None:
        raise NotFound("no boundary generation is active: load and activate one first")
    return Generation(*row)


def valid_on(conn: Connection, day: dt.date) -> Generation:
    """The published generation whose validity period contains ``day``."""
    row = conn.execute(select(*_COLUMNS).where(chosen(at=literal(day, Date)))).one_or_none()
    if row is None:
        raise NotFound(f"no published boundary generation is valid on {day.isoformat()}",
                       field="at")
    return Generation(*row)


def resolve(conn: Connection, *, code: str | None = None, at: dt.date | None = None) -> Generation:
    """The generation named by ``code``, else the one valid ``at`` a date, else the active one."""
    if code is not None and at is not None:
        raise InvalidInput("give either a generation code or a date, not both", field="at")
    if code is not None:
        return by_code(conn, code)
    if at is not None:
        return valid_on(conn, at)
    return active(conn)


def set_status(conn: Connection, code: str, status: str) -> Generation:
    """Publish, retire or un-publish a generation.

    Activating one retires the generation active before it. Overlapping validity periods
    among published generations are refused (a date must name one generation).
    """
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    target = by_code(conn, code)
    if status == "active":
        conn.execute(
            update(generation)
            .where(generation.c.status == "active", generation.c.code != code)
            .values(status="retired")
        )
    try:
        with conn.begin_nested():
            conn.execute(
                update(generation)
                .where(generation.c.id == target.id, generation.c.status != status)
                .values(
                    status=status,
                    activated_at=func.now() if status == "active" else generation.c.activated_at,
                )
            )
    except IntegrityError as exc:
        raise Conflict(
            f"generation {code!r} cannot be {status}: its validity period overlaps another "
            "published generation",
            field="generation",
        ) from exc
    return by_code(conn, code)


@dataclass(frozen=True)
class UnitCount:
    level: str
    units: int
    approximate: int


def unit_counts(conn: Connection) -> dict[int, list[UnitCount]]:
    """Per generation id, its units counted by level (coarsest first), approximate ones apart."""
    rows = conn.execute(
        select(admin_unit.c.generation_id, admin_unit.c.level, func.count(),
               func.count().filter(admin_unit.c.approximate))
        .group_by(admin_unit.c.generation_id, admin_unit.c.level)
    ).all()
    counts: dict[int, list[UnitCount]] = {}
    for generation_id, level, units, approximate in sorted(rows, key=lambda r: LEVELS.index(r[1])):
        counts.setdefault(generation_id, []).append(UnitCount(level, units, approximate))
    return counts
