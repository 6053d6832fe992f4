"""Storing agencies' notification channels (``agency_channel``) as the agency file says."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, Integer, Text, delete, exists, or_, select, tuple_, values
from sqlalchemy import column as sql_column
from sqlalchemy.dialects.postgresql import insert

from gis_service.db.schema import agency, agency_channel
from gis_service.notify.channel_config import ChannelSpec


def store_channels(conn: Connection, wanted: Mapping[str, Sequence[ChannelSpec]],
                   agency_ids: Mapping[str, int]) -> int:
    """Make the channels of the agencies in ``agency_ids`` exactly ``wanted`` (by agency code;
    an agency missing from it has none); return how many rows were inserted, changed or
    deleted (0 when the file did not change).

    >>> store_channels(conn, {"so-xay-dung": [ChannelSpec("email", "a@example.vn")]},
    ...                {"so-xay-dung": 7})  # doctest: +SKIP
    1
    """
    rows = [(agency_ids[code], c.kind, c.target, c.secret_env)
            for code, channels in wanted.items() if code in agency_ids for c in channels]
    deleted = _delete_unwanted(conn, rows, list(agency_ids.values()))
    return deleted + _upsert(conn, rows)


def _delete_unwanted(conn: Connection, rows: Sequence[tuple[int, str, str, str | None]],
                     agency_ids: Sequence[int]) -> int:
    stmt = delete(agency_channel).where(agency_channel.c.agency_id.in_(agency_ids))
    if rows:
        keep = values(sql_column("agency_id", Integer), sql_column("kind", Text),
                      sql_column("target", Text), name="keep").data([r[:3] for r in rows])
        stmt = stmt.where(~exists().where(
            tuple_(keep.c.agency_id, keep.c.kind, keep.c.target)
            == tuple_(agency_channel.c.agency_id, agency_channel.c.kind, agency_channel.c.target)))
    return len(conn.execute(stmt.returning(agency_channel.c.id)).all())


def _upsert(conn: Connection, rows: Sequence[tuple[int, str, str, str | None]]) -> int:
    if not rows:
        return 0
    stmt = insert(agency_channel).values([
        {"agency_id": a, "kind": kind, "target": target, "secret_env": secret_env}
        for a, kind, target, secret_env in rows])
    stmt = stmt.on_conflict_do_update(
        index_elements=[agency_channel.c.agency_id, agency_channel.c.kind, agency_channel.c.target],
        set_={"secret_env": stmt.excluded.secret_env},
        where=or_(agency_channel.c.secret_env.is_distinct_from(stmt.excluded.secret_env)),
    )
    return len(conn.execute(stmt.returning(agency_channel.c.id)).all())


def channels_of(conn: Connection, agency_code: str) -> list[ChannelSpec]:
    """An agency's channels, as stored."""
    rows = conn.execute(
        select(agency_channel.c.kind, agency_channel.c.target, agency_channel.c.secret_env)
        .join_from(agency_channel, agency, agency.c.id == agency_channel.c.agency_id)
        .where(agency.c.code == agency_code)
        .order_by(agency_channel.c.id))
    return [ChannelSpec(*row) for row in rows]
