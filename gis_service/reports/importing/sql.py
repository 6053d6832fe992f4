"""The SQL steps of a bulk import: one statement each over the staging tables.

After the rows are staged (:mod:`gis_service.reports.importing.stage`), everything else is
set-based and built from the same builders single-report intake uses, so a report stores the
same either way:

0. :func:`drop_stored`: rows whose public id is already stored leave (counted as present),
   so importing a file again does no work for them.
1. :func:`snap`: :func:`gis_service.spatial.query.snap_select` once per generation over the rows
   of its validity period, and once more with the current (active) generation over the rows
   from other periods (rows of the current period share its one snap).
2. :func:`place`: rows outside the service area in either generation are rejected; the rest
   get both sets of units and a report id, the next value of ``report``'s own sequence taken
   now, so duplicates can point at originals inserted in the same statement.
3. :func:`route`: :func:`gis_service.reports.routing.route_select` over that table.
4. :func:`due`: :func:`gis_service.reports.calendar.due_at_sql` with the category's deadline.
5. :func:`drop_orphan_duplicates`: duplicates whose original is neither stored nor standing.
6. :func:`near`: :func:`gis_service.proximity.neighbour_select` in the current generation.
7. :func:`insert_reports`, :func:`insert_contacts`, :func:`insert_events`.

Rejections land in the ``rejected`` table and leave ``place``; only standing rows go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    FromClause,
    Integer,
    Select,
    SmallInteger,
    Text,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ColumnElement

from gis_service.cells import RESOLUTIONS
from gis_service.db.schema import category, generation, report, report_contact, report_event
from gis_service.reports.calendar import due_at_sql
from gis_service.reports.importing import summary as why
from gis_service.reports.importing.format import MEDIA_SEPARATOR
from gis_service.reports.importing.stage import Staging
from gis_service.reports.routing import route_select
from gis_service.reports.row import Units, content_columns, location_columns, routing_columns
from gis_service.spatial.proximity import neighbour_select
from gis_service.spatial.query import snap_select

ROUTING_ACTOR = "system:routing"
_SNAP_COLUMNS = ("idx", "commune_id", "district_id", "province_id", "match", "distance_m")
_TERMINAL_AT_RESPONSE = ("rejected", "duplicate")
_OPEN_AT_RESPONSE = ("accepted", "assigned", "in_progress")


def _rows(conn: Connection, statement: Executable) -> int:
    """Run a write; return how many rows it wrote (SQLAlchemy keeps INSERT counts only if asked)."""
    return int(conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount)


def _text(value: str) -> ColumnElement[str]:
    return literal(value, Text)


def drop_stored(conn: Connection, st: Staging) -> int:
    """Take rows whose public id is already stored out of the import; return how many."""
    return _rows(conn, delete(st.rows).where(report.c.public_id == st.rows.c.public_id))


def generations_used(conn: Connection, st: Staging) -> list[int]:
    """The generations valid on the dates of the rows still to import."""
    return [int(g) for g in conn.execute(
        select(st.rows.c.generation_id).distinct().order_by(st.rows.c.generation_id)).scalars()]


def snap(conn: Connection, st: Staging, generation_ids: Sequence[int], current_id: int,
         tolerance_m: float) -> None:
    """Snap each row in the generation valid on its date, and in the current one."""
    rows = st.rows
    for generation_id in sorted(set(generation_ids)):
        _snap_into(conn, st, generation_id, rows.c.generation_id == generation_id, tolerance_m)
    if any(g != current_id for g in generation_ids):
        _snap_into(conn, st, current_id, rows.c.generation_id != current_id, tolerance_m)


def _snap_into(conn: Connection, st: Staging, generation_id: int, which: ColumnElement[bool],
               tolerance_m: float) -> None:
    points = select(st.rows.c.idx, st.rows.c.lon, st.rows.c.lat).where(which).subquery("points")
    snapped = snap_select(points, generation_id, tolerance_m).subquery("snapped")
    conn.execute(insert(st.snap).from_select(
        ["generation_id", *_SNAP_COLUMNS],
        select(literal(generation_id, SmallInteger), *(snapped.c[name] for name in _SNAP_COLUMNS)),
    ))


def place(conn: Connection, st: Staging, current_id: int, tolerance_m: float) -> int:
    """Reject rows outside the service area; put the others in ``place``; return how many."""
    rows, then, now = st.rows, st.snap.alias("then"), st.snap.alias("now")
    pairs = (
        rows.join(then, and_(then.c.idx == rows.c.idx, then.c.generation_id == rows.c.generation_id))
        .join(now, and_(now.c.idx == rows.c.idx, now.c.generation_id == current_id))
    )
    outside = or_(then.c.match == _text("outside"), now.c.match == _text("outside"))
    which = case((then.c.match == _text("outside"), then.c.generation_id), else_=now.c.generation_id)
    conn.execute(insert(st.rejected).from_select(
        ["idx", "reason", "detail"],
        select(rows.c.idx, _text(why.OUTSIDE_SERVICE_AREA), func.format(
            "the point (lon %s, lat %s) is more than %s m from every commune of generation %s",
            rows.c.lon, rows.c.lat, literal(tolerance_m), _generation_code(which)))
        .select_from(pairs).where(outside),
    ))
    # The sequence's oid, looked up once: pg_get_serial_sequence() is not folded into a
    # constant, and evaluated per row its catalogue lookups took 4.8 s of a million rows' 7.7 s.
    oid = conn.execute(select(sql_cast(sql_cast(
        func.pg_get_serial_sequence(_text(report.name), _text("id")), REGCLASS), Integer))
    ).scalar_one()
    sequence = sql_cast(literal(oid, Integer), REGCLASS)
    return _rows(conn, insert(st.place).from_select(
        [c.name for c in st.place.columns],
        select(
            rows.c.idx,
            func.nextval(sequence),
            rows.c.lon, rows.c.lat, rows.c.category,
            then.c.generation_id, then.c.commune_id, then.c.district_id, then.c.province_id,
            then.c.match, then.c.distance_m,
            now.c.generation_id, now.c.commune_id, now.c.district_id, now.c.province_id,
        )
        .select_from(pairs)
        .where(~outside),
    ))


def _generation_code(generation_id: ColumnElement[Any]) -> ColumnElement[str]:
    return select(generation.c.code).where(generation.c.id == generation_id).scalar_subquery()


def _reject_from_place(conn: Connection, st: Staging, reason: str, found: Select[Any]) -> int:
    """Record ``found`` (rows of ``(idx, detail)``) as rejected and take them out of ``place``."""
    rows = found.subquery("found")
    conn.execute(insert(st.rejected).from_select(
        ["idx", "reason", "detail"], select(rows.c.idx, _text(reason), rows.c.detail)))
    return _rows(conn, delete(st.place).where(
        st.place.c.idx.in_(select(st.rejected.c.idx).where(st.rejected.c.reason == reason))))


def route(conn: Connection, st: Staging) -> int:
    """Route every standing row; reject those no agency can take. Returns rows rejected."""
    conn.execute(insert(st.route).from_select(
        ["idx", "agency_id", "routing_rule_id", "routing_reason"], route_select(st.place)))
    unroutable = (
        select(st.route.c.idx, st.route.c.routing_reason.label("detail"))
        .where(st.route.c.agency_id.is_(None))
    )
    return _reject_from_place(conn, st, why.UNROUTABLE, unroutable)


def due(conn: Connection, st: Staging) -> int:
    """Each standing row's deadline from its category; reject rows the calendar cannot date."""
    rows = st.rows
    conn.execute(insert(st.due).from_select(
        ["idx", "due_at"],
        select(st.place.c.idx, due_at_sql(rows.c.created_at, category.c.deadline_amount,
                                          category.c.deadline_unit))
        .join_from(st.place, rows, rows.c.idx == st.place.c.idx)
        .join(category, category.c.code == rows.c.category),
    ))
    undated = (
        select(st.due.c.idx, func.format(
            "no working-day calendar for the deadline of a report made %s; run "
            "gis-service reports load-config with the years needed", rows.c.created_at,
        ).label("detail"))
        .join_from(st.due, rows, rows.c.idx == st.due.c.idx)
        .where(st.due.c.due_at.is_(None))
    )
    return _reject_from_place(conn, st, why.NO_DEADLINE, undated)


def drop_orphan_duplicates(conn: Connection, st: Staging) -> int:
    """Reject duplicates whose original is neither stored nor standing in the file.

    Repeated until nothing changes: rejecting an original orphans the duplicates linked to it.
    """
    rows, target, standing = st.rows, st.rows.alias("target"), st.place.alias("standing")
    total = 0
    while True:
        orphans = (
            select(st.place.c.idx, func.format(
                "duplicate_of %L names no report of the file or the database",
                rows.c.duplicate_of).label("detail"))
            .join_from(st.place, rows, rows.c.idx == st.place.c.idx)
            .where(
                rows.c.duplicate_of.is_not(None),
                ~exists().where(report.c.public_id == rows.c.duplicate_of),
                ~exists().where(target.c.public_id == rows.c.duplicate_of,
                                standing.c.idx == target.c.idx),
            )
        )
        dropped = _reject_from_place(conn, st, why.DUPLICATE_OF_UNKNOWN, orphans)
        total += dropped
        if dropped == 0:
            return total


def near(conn: Connection, st: Staging, current_id: int, within_m: float) -> None:
    """The nearest other commune within ``within_m`` of each standing row (current generation)."""
    points = select(st.place.c.idx, st.place.c.lon, st.place.c.lat,
                    st.place.c.current_commune_id.label("own_id")).subquery("points")
    conn.execute(insert(st.near).from_select(
        ["idx", "unit_id", "distance_m"], neighbour_select(points, current_id, within_m=within_m)))


def insert_reports(conn: Connection, st: Staging, batch: str, *, exclusive: bool = False) -> int:
    """Insert the standing rows; their ids go to ``inserted`` (unless ``exclusive``). Returns
    the count.

    ``exclusive``: the caller holds the table locked, so no other transaction can have stored
    one of these public ids since ``drop_stored`` and a plain INSERT does (ON CONFLICT's
    speculative insertion cost ~15% of the step).
    """
    rows, place_, route_, due_, near_ = st.rows, st.place, st.route, st.due, st.near
    target, standing, stored = st.rows.alias("target"), st.place.alias("standing"), report.alias("stored")
    values: dict[str, ColumnElement[Any]] = {
        "id": place_.c.report_id,
        **content_columns(
            public_id=rows.c.public_id, category=rows.c.category,
            description=rows.c.description, channel=rows.c.channel, address=rows.c.address,
            # The format's "a|b", empty parts dropped.
            media_urls=func.array_remove(
                func.string_to_array(rows.c.media_urls, _text(MEDIA_SEPARATOR)), _text("")),
            search_text=rows.c.search_text, created_at=rows.c.created_at),
        **location_columns(
            lon=rows.c.lon, lat=rows.c.lat, source=rows.c.location_source,
            cells={res: rows.c[f"h3_r{res}"] for res in RESOLUTIONS},
            then=Units(place_.c.snap_generation_id, place_.c.commune_id,
                       place_.c.district_id, place_.c.province_id),
            current=Units(place_.c.current_generation_id, place_.c.current_commune_id,
                          place_.c.current_district_id, place_.c.current_province_id),
            match=place_.c.snap_match, distance_m=place_.c.snap_distance_m,
            neighbour_id=near_.c.unit_id),
        **routing_columns(agency_id=route_.c.agency_id, rule_id=route_.c.routing_rule_id,
                          due_at=due_.c.due_at),
        # What an imported history says happened next.
        "status": rows.c.status,
        "first_response_at": rows.c.first_response_at,
        "resolved_at": rows.c.resolved_at,
        "closed_at": rows.c.closed_at,
        "satisfaction": rows.c.satisfaction,
        "duplicate_of": func.coalesce(standing.c.report_id, stored.c.id),
        "import_batch": literal(batch, Text),
    }
    source = (
        select(*values.values())
        .select_from(
            place_.join(rows, rows.c.idx == place_.c.idx)
            .join(route_, route_.c.idx == place_.c.idx)
            .join(due_, due_.c.idx == place_.c.idx)
            .outerjoin(near_, near_.c.idx == place_.c.idx)
            .outerjoin(target, target.c.public_id == rows.c.duplicate_of)
            .outerjoin(standing, standing.c.idx == target.c.idx)
            .outerjoin(stored, stored.c.public_id == rows.c.duplicate_of)
        )
    )
    inserting = pg_insert(report).from_select(list(values), source)
    if exclusive:
        return _rows(conn, inserting)  # every standing row: see _inserted
    # ON CONFLICT: a report stored meanwhile by another transaction is left as it is.
    inserting = inserting.on_conflict_do_nothing(index_elements=[report.c.public_id])
    added = inserting.returning(report.c.id).cte("added")
    return _rows(conn, insert(st.inserted).from_select(["id"], select(added.c.id)))


def _inserted(st: Staging, exclusive: bool) -> FromClause:
    """The ``place`` rows of the reports :func:`insert_reports` inserted.

    With the tables locked (``exclusive``) nothing can conflict, so that is every standing row
    and no ids were written back; otherwise those whose ids the insert returned.
    """
    if exclusive:
        return st.place
    return st.inserted.join(st.place, st.place.c.report_id == st.inserted.c.id)


def insert_contacts(conn: Connection, st: Staging, *, exclusive: bool = False) -> int:
    """The private contact of each inserted report that has one."""
    rows = st.rows
    return _rows(conn, insert(report_contact).from_select(
        ["report_id", "name", "phone", "email"],
        select(st.place.c.report_id, rows.c.reporter_name, rows.c.reporter_phone,
               rows.c.reporter_email)
        .select_from(_inserted(st, exclusive).join(rows, rows.c.idx == st.place.c.idx))
        .where(func.coalesce(rows.c.reporter_name, rows.c.reporter_phone,
                             rows.c.reporter_email).is_not(None)),
    ))


def _history(rows: Any) -> tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any]]:
    """The statuses an imported history moved through at each time the row carries.

    At ``first_response_at`` the report leaves ``received``: for a rejected or duplicate
    report without a ``closed_at`` that move is the terminal one; for one still open at
    ``accepted``/``assigned``/``in_progress`` it is that status; otherwise ``accepted``. At
    ``resolved_at`` it becomes ``resolved``; at ``closed_at`` ``closed`` (or the terminal
    ``rejected``/``duplicate``). Steps between that the file does not date get no event.
    Returns the statuses reached at the first response, before the resolution and before
    closing.
    """
    status = rows.c.status
    answered = case(
        (and_(status.in_(_TERMINAL_AT_RESPONSE), rows.c.closed_at.is_(None)), status),
        (and_(status.in_(_OPEN_AT_RESPONSE), rows.c.resolved_at.is_(None),
              rows.c.closed_at.is_(None)), status),
        else_=_text("accepted"),
    )
    before_resolved = case((rows.c.first_response_at.is_not(None), answered),
                           else_=_text("received"))
    before_closed = case((rows.c.resolved_at.is_not(None), _text("resolved")),
                         else_=before_resolved)
    return answered, before_resolved, before_closed


def _kind(to_status: ColumnElement[Any]) -> ColumnElement[str]:
    """As lifecycle.transition records it: a move to ``duplicate`` is a 'duplicate' event."""
    return case((to_status == _text("duplicate"), _text("duplicate")), else_=_text("status"))


def insert_events(conn: Connection, st: Staging, actor: str, *, exclusive: bool = False) -> int:
    """The audit trail of each inserted report: created and routed at ``created_at`` (as
    intake writes them), then one status event per lifecycle time of the row.

    One SELECT per kind of event over the inserted reports' history (a CTE, materialized once),
    in that order, so a report's events are numbered as it lived them whenever two share a
    time. (Building five-element arrays per report and unnesting them took 6.8 s of the 17 s
    this step took for a million reports.)
    """
    rows, route_ = st.rows, st.route
    answered, before_resolved, before_closed = _history(rows)
    closed_to = case((rows.c.status.in_(_TERMINAL_AT_RESPONSE), rows.c.status), else_=_text("closed"))
    duplicate_note = case((rows.c.status == _text("duplicate"),
                           func.format("duplicate of %s", rows.c.duplicate_of)), else_=_text(""))
    lived = (
        select(st.place.c.report_id, rows.c.created_at, rows.c.first_response_at,
               rows.c.resolved_at, rows.c.closed_at, rows.c.channel, route_.c.agency_id,
               route_.c.routing_reason, answered.label("answered"),
               before_resolved.label("before_resolved"), before_closed.label("before_closed"),
               closed_to.label("closed_to"), duplicate_note.label("duplicate_note"))
        .select_from(
            _inserted(st, exclusive)
            .join(rows, rows.c.idx == st.place.c.idx)
            .join(route_, route_.c.idx == st.place.c.idx)
        )
        .cte("lived")
    )
    who, none, empty = _text(actor), null(), _text("")
    # (at, actor, kind, from_status, to_status, agency_id, note) of each kind of event.
    kinds = (
        (lived.c.created_at, who, _text("created"), none, _text("received"), none,
         func.format("via %s", lived.c.channel)),
        (lived.c.created_at, _text(ROUTING_ACTOR), _text("routed"), none, none, lived.c.agency_id,
         lived.c.routing_reason),
        (lived.c.first_response_at, who, _kind(lived.c.answered), _text("received"),
         lived.c.answered, none, lived.c.duplicate_note),
        (lived.c.resolved_at, who, _text("status"), lived.c.before_resolved, _text("resolved"),
         none, empty),
        (lived.c.closed_at, who, _kind(lived.c.closed_to), lived.c.before_closed,
         lived.c.closed_to, none, empty),
    )
    events = union_all(*(
        select(lived.c.report_id, at, by, kind, from_status, to_status,
               sql_cast(agency, Integer), note).where(at.is_not(None))
        for at, by, kind, from_status, to_status, agency, note in kinds
    ))
    return _rows(conn, insert(report_event).from_select(
        ["report_id", "at", "actor", "kind", "from_status", "to_status", "agency_id", "note"],
        events,
    ))


def rejected(conn: Connection, st: Staging) -> list[tuple[int, str, str]]:
    """The rows the SQL steps rejected: (row, reason, detail)."""
    rows = conn.execute(select(st.rejected.c.idx, st.rejected.c.reason, st.rejected.c.detail))
    return [(int(idx), str(reason), str(detail)) for idx, reason, detail in rows]


def count(conn: Connection, table: Any, *where: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

