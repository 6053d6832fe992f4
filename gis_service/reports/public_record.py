"""The public record of a report: its timeline with the agencies' answers, and its public text.

A report's *public text* is what anyone may read of the words residents and staff typed: the
description and address (or the agency's edit of them, or nothing when hidden) and each
event's public note, always through :func:`gis_service.redaction.redact`. The originals stay
in their columns for the report's own agency and admins; hiding or editing is an event of kind
``public_text`` (who, when, why) and never changes them.

Internal notes (``report_event.note``) and actors are shown only to the report's agency and
admins (``internal=True``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Select,
    any_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on

from gis_service.db.schema import agency, report, report_event
from gis_service.errors import InvalidInput
from gis_service.redaction import redact, redact_text, search_text
from gis_service.reports.queries import ReportRecord

#: Shown in place of a description an agency has hidden.
HIDDEN = "[nội dung đã được ẩn]"
MAX_PUBLIC_TEXT_CHARS = 4000
MAX_REASON_CHARS = 1000


@dataclass(frozen=True)
class TimelineEvent:
    """One event of a report's timeline; ``internal_note`` and ``actor`` are staff-only."""

    at: dt.datetime
    kind: str
    from_status: str | None
    to_status: str | None
    agency_code: str | None
    agency_name: str | None
    team: str | None
    public_note: str
    internal_note: str
    actor: str


@dataclass(frozen=True)
class PublicTextEdit:
    """An agency's or admin's change to a report's public text; ``None`` leaves a part as is."""

    reason: str
    description: str | None = None
    address: str | None = None
    hidden: bool | None = None


def public_description(record: ReportRecord) -> str:
    """The description anyone may read: hidden, edited or the original, always redacted."""
    if record.public_text_hidden:
        return HIDDEN
    chosen = record.public_description if record.public_description is not None else record.description
    return redact_text(chosen)


def public_address(record: ReportRecord) -> str | None:
    if record.public_text_hidden:
        return None
    return redact(record.public_address if record.public_address is not None else record.address)


def _events_query(report_ids: Sequence[int]) -> Select[Any]:
    ids = bindparam("ids", list(report_ids), type_=ARRAY(BigInteger))
    return (
        select(report_event.c.report_id, report_event.c.at, report_event.c.kind,
               report_event.c.from_status, report_event.c.to_status,
               agency.c.code.label("agency_code"), agency.c.name.label("agency_name"),
               report_event.c.team, report_event.c.public_note, report_event.c.note,
               report_event.c.actor)
        .outerjoin(agency, agency.c.id == report_event.c.agency_id)
        .where(report_event.c.report_id == any_(ids))
        .order_by(report_event.c.report_id, report_event.c.at, report_event.c.id)
    )


def timelines(conn: Connection, report_ids: Sequence[int]) -> dict[int, list[TimelineEvent]]:
    """Each report's events, oldest first (one indexed query for a page of reports).

    >>> timelines(conn, [42])[42][0].kind  # doctest: +SKIP
    'created'
    """
    found: dict[int, list[TimelineEvent]] = {report_id: [] for report_id in report_ids}
    if not report_ids:
        return found
    for row in conn.execute(_events_query(report_ids)):
        found[row.report_id].append(TimelineEvent(
            row.at, row.kind, row.from_status, row.to_status, row.agency_code, row.agency_name,
            row.team, row.public_note, row.note, row.actor))
    return found


def latest_public_notes(conn: Connection, report_ids: Sequence[int]) -> dict[int, str]:
    """Each report's newest non-empty public note (Open311's ``status_notes``), unredacted."""
    if not report_ids:
        return {}
    ids = bindparam("ids", list(report_ids), type_=ARRAY(BigInteger))
    rows = conn.execute(
        select(report_event.c.report_id, report_event.c.public_note)
        .ext(distinct_on(report_event.c.report_id))
        .where(report_event.c.report_id == any_(ids), report_event.c.public_note != "")
        .order_by(report_event.c.report_id, report_event.c.at.desc(), report_event.c.id.desc())
    )
    return {report_id: note for report_id, note in rows}


def _checked(value: str | None, name: str, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters", field=name)
    return value


def _edit_note(edit: PublicTextEdit) -> str:
    changed = [name for name, value in (("description", edit.description),
                                        ("address", edit.address)) if value is not None]
    if edit.hidden is not None:
        changed.append("hidden" if edit.hidden else "shown again")
    return f"public text: {', '.join(changed)}; reason: {edit.reason}"


def edit_public_text(conn: Connection, report_id: int, edit: PublicTextEdit, *, actor: str,
                     agency_id: int | None) -> None:
    """Hide, show or edit a report's public text, in the caller's transaction; an event says
    who, when and why. The original description and address are never changed.

    >>> edit_public_text(conn, 42, PublicTextEdit("names a neighbour", hidden=True),
    ...                  actor="key:staff (agency)", agency_id=7)  # doctest: +SKIP
    """
    if not edit.reason.strip():
        raise InvalidInput("reason is required: say why the public text changes", field="reason")
    _checked(edit.reason, "reason", MAX_REASON_CHARS)
    _checked(edit.description, "description", MAX_PUBLIC_TEXT_CHARS)
    _checked(edit.address, "address", MAX_PUBLIC_TEXT_CHARS)
    if edit.description is None and edit.address is None and edit.hidden is None:
        raise InvalidInput("give description, address or hidden", field="description")
    values: dict[str, object] = {}
    if edit.description is not None:
        values["public_description"] = edit.description
    if edit.address is not None:
        values["public_address"] = edit.address
    if edit.hidden is not None:
        values["public_text_hidden"] = edit.hidden
    row = conn.execute(
        update(report).where(report.c.id == report_id).values(**values)
        .returning(report.c.public_text_hidden, func.coalesce(report.c.public_description,
                                                              report.c.description),
                   func.coalesce(report.c.public_address, report.c.address))).one()
    hidden, description, address = row
    conn.execute(update(report).where(report.c.id == report_id).values(
        search_text="" if hidden else search_text(description, address)))
    conn.execute(insert(report_event).values(
        report_id=report_id, actor=actor, kind="public_text", agency_id=agency_id,
        note=_edit_note(edit)))
