"""snap_point: one point, answered from the commune cores when they can, else by the SQL."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, cast

import psycopg
import psycopg.pq
import psycopg.sql
from sqlalchemy import (
    Connection,
)
from sqlalchemy.exc import DBAPIError, StatementError

from gis_service.boundaries import generations
from gis_service.coords import LonLat, lonlat
from gis_service.errors import NotFound
from gis_service.revision_cache import RevisionCache
from gis_service.spatial.cores import CoreCache
from gis_service.spatial.statements import (
    Form,
    single_sql,
)
from gis_service.spatial.types import (
    DEFAULT_TOLERANCE_M,
    Match,
    Snap,
    check_tolerance,
)
from gis_service.spatial.units import UNIT_COLUMNS
from gis_service.unit_ref import UnitRef

# One RawCursor per database connection, reused from call to call (making one per lookup cost
# ~8 µs, 4% of a lookup), kept in the pooled connection's ``info``, which lives and dies with
# that connection. A connection serves one thread at a time, so its cursor does too.
_CURSOR_KEY = "gis_service.spatial.cursor"


def _database_error(conn: Connection, error: psycopg.Error, sql: str) -> StatementError:
    """A driver error as SQLAlchemy would have raised it (the API answers 503 to a lost
    connection), the pooled connection invalidated when it is gone."""
    disconnect = conn.dialect.is_disconnect(cast(Any, error), conn.connection.dbapi_connection,
                                            None)
    wrapped = DBAPIError.instance(sql, None, error, psycopg.Error, hide_parameters=True,
                                  connection_invalidated=disconnect, dialect=conn.dialect)
    if disconnect:
        conn.invalidate(error)
    return wrapped


def _single_rows(conn: Connection, kind: str, params: dict[str, Any], form: Form
                 ) -> list[tuple[Any, ...]]:
    sql, names = single_sql(kind, form)
    if not conn.in_transaction():
        conn.begin()  # what SQLAlchemy's autobegin would do, had it run the statement
    pooled = conn.connection
    driver = cast(psycopg.Connection[Any], pooled.driver_connection)
    cursor = pooled.info.get(_CURSOR_KEY)
    if cursor is None or cursor.closed or cursor.connection is not driver:
        cursor = pooled.info[_CURSOR_KEY] = psycopg.RawCursor(driver)
    try:
        cursor.execute(sql, [params.get(name) for name in names], prepare=True)
        return cast(list[tuple[Any, ...]], cursor.fetchall())
    except psycopg.Error as error:
        raise _database_error(conn, error, sql) from error


def _covered_snap(row: Sequence[Any]) -> Snap:
    """Snap from a row of :func:`covering_statement`: inside its commune."""
    width = len(UNIT_COLUMNS)
    commune, parent, grandparent = (
        UnitRef(*row[i:i + width]) if row[i] is not None else None
        for i in range(2, 2 + 3 * width, width)
    )
    if parent is not None and parent.level == "district":
        return Snap(row[1], "inside", 0.0, commune, parent, grandparent)
    return Snap(row[1], "inside", 0.0, commune, None, parent)


def _single_snap(row: Sequence[Any]) -> Snap:
    """Snap from the row of :func:`single_sql`: the commune, its parent and grandparent."""
    code, match, distance_m, district_id, province_id = row[:5]
    width = len(UNIT_COLUMNS)
    commune, parent, grandparent = (
        UnitRef(*row[i:i + width]) if row[i] is not None else None
        for i in range(5, 5 + 3 * width, width)
    )
    by_id = {unit.id: unit for unit in (parent, grandparent) if unit is not None}
    return Snap(code, cast(Match, match), distance_m, commune,
                by_id.get(district_id), by_id.get(province_id))


def snap_point(
    conn: Connection,
    point: LonLat,
    *,
    generation: str | None = None,
    at: dt.date | None = None,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> Snap:
    """Snap one point to its commune, district and province.

    The generation is ``generation`` (a code; drafts answer only this way), else the one valid
    on date ``at``, else the active one. Bad coordinates or tolerance raise InvalidInput
    before any SQL; an unknown generation raises NotFound.

    >>> snap_point(conn, lonlat(107.5905, 16.4637), generation="2019")  # doctest: +SKIP
    Snap(generation='2019', match='inside', distance_m=0.0, commune=UnitRef(id=57, code='19783', ...), ...)
    """
    checked = lonlat(point.lon, point.lat)
    tolerance = check_tolerance(tolerance_m)
    if generation is not None and at is not None:
        generations.resolve(conn, code=generation, at=at)  # raises the usual InvalidInput
    kind = "code" if generation is not None else "at" if at is not None else "active"
    return snap_one(conn, kind, lon=checked.lon, lat=checked.lat, tolerance_m=tolerance,
                     generation_code=generation, at=at)


# "Inside" answers by commune id. The revision changes with any generation or unit, so a
# lookup needs only the revision and the covering commune's id from the database (measured in
# one run: 5,665 lookups/s, against 5,137/s carrying 21 unit columns through three joins).
_INSIDE_SNAPS: RevisionCache[int, Snap] = RevisionCache()


def _one_commune(rows: Sequence[tuple[Any, ...]], column: int) -> bool:
    """Whether the covering rows name one commune (a point on the seam of two of its pieces
    is covered twice by the same commune)."""
    return bool(rows) and all(row[column] == rows[0][column] for row in rows)


# The commune cores of this process (see cores.py), and for each pooled connection the
# boundary revision it last read, which names the cores to try before any SQL.
_CORES = CoreCache()
_REVISION_KEY = "gis_service.spatial.revision"


def _from_cores(conn: Connection, kind: str, params: dict[str, Any]) -> Snap | None:
    """The answer with this process's commune cores, or None when they cannot give it.

    A point in a core is inside its commune: one read of the revision proves the cores still
    hold. A point surely in no commune needs only the nearest rule (one lean statement, which
    reads the revision too). Anything else, or a changed revision, goes the usual way.
    """
    info = conn.connection.info
    cores = _CORES.get(info.get(_REVISION_KEY))
    generation_cores = None if cores is None else cores.of_generation(
        conn, params.get("generation_code"), params.get("at"))
    if cores is None or generation_cores is None:
        return None
    commune_id = generation_cores.core_at(params["lon"], params["lat"])
    if commune_id is not None:
        snap = _INSIDE_SNAPS.get(cores.revision, commune_id)
        if snap is None:
            return None
        revision = _single_rows(conn, kind, params, "revision")[0][0]
        info[_REVISION_KEY] = revision
        return snap if revision == cores.revision else None
    if generation_cores.in_no_commune(params["lon"], params["lat"]):
        revision, snap = _nearest_snap(conn, kind, params, generation_cores.code)
        info[_REVISION_KEY] = revision
        return snap if revision == cores.revision else None
    return None


def _nearest_snap(conn: Connection, kind: str, params: dict[str, Any], code: str
                  ) -> tuple[uuid.UUID, Snap | None]:
    """The revision and :func:`nearest_statement`'s answer (None if its commune's units are
    not cached under that revision yet)."""
    revision, commune_id, match, distance_m = _single_rows(conn, kind, params, "nearest")[0]
    if commune_id is None:
        return revision, Snap(code, "outside", None, None, None, None)
    inside = _INSIDE_SNAPS.get(revision, commune_id)
    if inside is None:
        return revision, None
    return revision, Snap(inside.generation, cast(Match, match), distance_m, inside.commune,
                          inside.district, inside.province)


def snap_one(conn: Connection, kind: str, **params: Any) -> Snap:
    """Run the one-point statements for checked parameters; NotFound when no generation answers."""
    cored = _from_cores(conn, kind, params)
    if cored is not None:
        return cored
    covering = _single_rows(conn, kind, params, "covering_ids")
    if _one_commune(covering, 1):
        revision, commune_id = covering[0]
        conn.connection.info[_REVISION_KEY] = revision
        _CORES.looked_up(conn, revision)
        cached = _INSIDE_SNAPS.get(revision, commune_id)
        if cached is not None:
            return cached
        detailed = _single_rows(conn, kind, params, "covering")
        if _one_commune(detailed, 2):
            snap = _covered_snap(detailed[0])
            if detailed[0][0] is not None:
                _INSIDE_SNAPS.put(detailed[0][0], detailed[0][2], snap)
            return snap
    rows = _single_rows(conn, kind, params, "full")
    row = rows[0] if rows else None
    if row is None or row[0] is None:
        code, at = params.get("generation_code"), params.get("at")
        generations.resolve(conn, code=code, at=at)  # raises NotFound naming the field
        raise NotFound("no boundary generation answers this request", field="generation")
    return _single_snap(row)




def clear_of_neighbours(conn: Connection, snap: Snap, point: LonLat) -> bool:
    """Whether this process's cores prove ``point`` (just snapped on ``conn`` to ``snap``'s
    commune) farther than ``NEAR_BOUNDARY_M`` from every other commune.

    They can only under the boundary revision ``conn`` read for that snap (the same proof the
    inside answer itself rests on); False whenever they cannot tell.
    """
    if snap.match != "inside" or snap.commune is None:
        return False
    cores = _CORES.get(conn.connection.info.get(_REVISION_KEY))
    generation_cores = None if cores is None else cores.of_generation(conn, snap.generation, None)
    return generation_cores is not None and generation_cores.clear_of_others(
        snap.commune.id, point.lon, point.lat)
