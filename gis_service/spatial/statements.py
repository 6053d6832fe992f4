"""The one-point statements snap_point runs, compiled once per process to SQL text."""

from __future__ import annotations

import functools
from typing import Any, Literal

from sqlalchemy import (
    Date,
    Integer,
    Select,
    SmallInteger,
    Subquery,
    Text,
    bindparam,
    literal_column,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Float

from gis_service.boundaries import generations
from gis_service.db.schema import admin_unit, admin_unit_part, boundary_revision, generation
from gis_service.revision_cache import current_revision
from gis_service.spatial.grid import (
    const,
    point_of,
)
from gis_service.spatial.predicates import piece_covers
from gis_service.spatial.query import (
    RELATIVES,
    nearest_rule,
    snapped_from,
)
from gis_service.spatial.units import UNIT_COLUMNS

_SINGLE_PARAMETERS = frozenset({"lon", "lat", "tolerance_m", "generation_code", "at"})


def generation_condition(kind: str) -> ColumnElement[bool]:
    """:func:`gis_service.boundaries.generations.chosen` with the request's bound parameters, so
    one statement both picks the generation and snaps the point (a second round trip would
    cost as much as the snapping); when it finds none, snap_point asks resolve() for the error.
    """
    if kind == "code":
        return generations.chosen(code=bindparam("generation_code", type_=Text))
    if kind == "at":
        return generations.chosen(at=bindparam("at", type_=Date))
    return generations.chosen()


def chosen_generation_id(kind: str) -> ColumnElement[Any]:
    """The id of the generation :func:`generation_condition` picks, as a scalar subquery."""
    return select(generation.c.id).where(generation_condition(kind)).scalar_subquery()


def bound_point(*extra: ColumnElement[Any]) -> Subquery:
    """One row ``(idx, lon, lat, *extra)`` of bound parameters: snap_select's input for one point.

    A SELECT of bound parameters rather than VALUES, which SQLAlchemy cannot cache.
    """
    return select(
        const(0, Integer).label("idx"),
        bindparam("lon", type_=Float).label("lon"),
        bindparam("lat", type_=Float).label("lat"),
        *extra,
    ).subquery("point")


@functools.cache
def single_statement(kind: str) -> Select[Any]:
    """snap_select over one row of bound parameters, with the units' details.

    ``kind`` says how the generation is chosen ("code", "at" or "active"); the parameters are
    lon, lat, tolerance_m and, by kind, generation_code or at. Its columns: generation,
    match, distance_m, district_id, province_id, then id, code, name, unit_type, level,
    setting, approximate of the commune, its parent and its grandparent.
    """
    condition = generation_condition(kind)
    snapped = snapped_from(bound_point(), chosen_generation_id(kind),
                       bindparam("tolerance_m", type_=Float))
    units = [snapped.chain.c[f"{name}_{c.name}"] for name in RELATIVES for c in UNIT_COLUMNS]
    return select(
        select(generation.c.code).where(condition).scalar_subquery().label("generation"),
        snapped.picked.c.match,
        snapped.picked.c.distance_m,
        snapped.chain.c.district_id,
        snapped.chain.c.province_id,
        *units,
    ).select_from(snapped.joined)


def covering_statement(kind: str, *, ids_only: bool = False) -> Select[Any]:
    """The communes whose pieces cover one point, with their parents: the common case, lean.

    A point covered by exactly one commune is inside it whatever the other rules say, so
    :func:`snap_point` answers from this query alone then, and runs :func:`single_statement`
    (every rule) only for points covered by none or by several. Same answers, a fraction of
    the work: the full statement costs about 350 µs on the server, this one about 45 µs.

    Columns: the boundary revision, the generation's code, then the id, code, name, unit_type,
    level, setting and approximate of the commune, its parent and its grandparent; with
    ``ids_only``, the revision and the commune's id alone (snap_point's cache has the rest).
    """
    here = point_of(bindparam("lon", type_=Float), bindparam("lat", type_=Float))
    part = admin_unit_part.alias("cover_part")
    # The generation as a scalar subquery (an InitPlan): its id then joins the GiST index
    # condition, so the probe reads only this generation's pieces.
    generation_id = chosen_generation_id(kind)
    revision = current_revision()
    found = piece_covers(part, generation_id, here)
    if ids_only:
        return select(revision, part.c.unit_id).where(found)
    code = select(generation.c.code).where(generation.c.id == generation_id).scalar_subquery()
    commune, parent, grandparent = (admin_unit.alias(f"cover_{name}") for name in RELATIVES)
    units = [unit.c[c.name] for unit in (commune, parent, grandparent) for c in UNIT_COLUMNS]
    return (
        select(revision, code, *units)
        .select_from(
            part.join(commune, commune.c.id == part.c.unit_id)
            .outerjoin(parent, parent.c.id == commune.c.parent_id)
            .outerjoin(grandparent, grandparent.c.id == parent.c.parent_id)
        )
        .where(found)
    )


def nearest_statement(kind: str) -> Select[Any]:
    """For a point covered by no commune: the nearest within the tolerance, as every snap.

    The rule of :func:`nearest_rule` over one point, without the covering step the full statement
    starts with (snap_point runs this only for points its commune cores show to lie in no
    commune). Columns: the boundary revision, the commune's id (NULL when outside), match
    ("nearest" or "outside") and distance_m.
    """
    point = bound_point(sql_cast(literal_column("NULL"), Integer).label("low"))
    near = nearest_rule(point, sql_cast(chosen_generation_id(kind), SmallInteger),
                    sql_cast(bindparam("tolerance_m", type_=Float), Float)).subquery("near")
    return select(current_revision(), near.c.unit_id, near.c.match, near.c.distance_m)


Form = Literal["full", "covering", "covering_ids", "nearest", "revision"]


@functools.cache
def single_sql(kind: str, form: Form) -> tuple[str, tuple[str, ...]]:
    """A one-point statement as SQL text with $n placeholders, and its parameter names.

    ``form`` is :func:`single_statement` ("full"), :func:`covering_statement` ("covering",
    "covering_ids"), :func:`nearest_statement` ("nearest") or the boundary revision alone
    ("revision"). Compiled once per process and run on the driver with ``prepare=True``
    through psycopg's RawCursor. Measured on this machine (benchmarks/snap.py): executing the
    same statement through SQLAlchemy Core, even with its compiled cache, costs more per call
    than the snapping; a server-side prepared statement with a generic plan skips the
    planning, and $n placeholders spare psycopg re-parsing the 5 kB text on every call (it
    caches parsed queries only up to 4 kB).
    """
    statement = (single_statement(kind) if form == "full"
                 else select(boundary_revision.c.revision) if form == "revision"
                 else nearest_statement(kind) if form == "nearest"
                 else covering_statement(kind, ids_only=form == "covering_ids"))
    compiled = statement.compile(dialect=postgresql.psycopg.dialect(paramstyle="numeric_dollar"))
    names = tuple(compiled.positiontup or ())
    if not set(names) <= _SINGLE_PARAMETERS:
        raise AssertionError(f"unexpected parameters in the snap statement: {names}")
    return str(compiled), names


