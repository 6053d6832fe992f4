"""The import's working tables: temporary, private to the connection, gone with the transaction.

``rows`` holds the file's checked and typed rows (filled by binary COPY); the others hold one
step's answer each, keyed by ``idx`` (the row number), so every step is one INSERT ... SELECT
over tables the planner has statistics for. Names carry a random suffix so two imports in one
transaction cannot collide.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any, cast

import numpy as np
import pandas as pd
import psycopg
import psycopg.sql
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Float,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
)

from gis_service.cells import RESOLUTIONS
from gis_service.reports.importing.read import ROW

_TIME = DateTime(timezone=True)


def _temporary(name: str, metadata: MetaData, *columns: Column[Any]) -> Table:
    return Table(name, metadata, *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


def _unit_columns(prefix: str = "") -> list[Column[Any]]:
    return [Column(f"{prefix}commune_id", Integer), Column(f"{prefix}district_id", Integer),
            Column(f"{prefix}province_id", Integer)]


@dataclass(frozen=True)
class Staging:
    """The working tables of one import."""

    #: The file's rows as checked and typed in Python.
    rows: Table
    #: Each row snapped in each generation it needs (the one valid then, the current one).
    snap: Table
    #: Rows still standing after snapping, with both sets of units and their report id.
    place: Table
    route: Table
    due: Table
    near: Table
    #: Rows the SQL steps rejected, with the reason.
    rejected: Table
    #: Ids of the reports this import inserted.
    inserted: Table

    @classmethod
    def named(cls, suffix: str | None = None) -> Staging:
        suffix = suffix or uuid.uuid4().hex[:10]
        meta = MetaData()

        def name(kind: str) -> str:
            return f"import_{kind}_{suffix}"

        return cls(
            rows=_temporary(
                name("rows"), meta,
                Column("idx", Integer, nullable=False), Column("public_id", Text, nullable=False),
                Column("created_at", _TIME, nullable=False),
                Column("generation_id", SmallInteger, nullable=False),
                Column("category", Text, nullable=False), Column("description", Text, nullable=False),
                Column("channel", Text, nullable=False),
                Column("lon", Float, nullable=False), Column("lat", Float, nullable=False),
                Column("location_source", Text, nullable=False), Column("address", Text),
                Column("reporter_name", Text), Column("reporter_phone", Text),
                Column("reporter_email", Text), Column("status", Text, nullable=False),
                Column("first_response_at", _TIME), Column("resolved_at", _TIME),
                Column("closed_at", _TIME), Column("satisfaction", SmallInteger),
                Column("duplicate_of", Text),
                # As the file has it ("a|b"); split into text[] when stored.
                Column("media_urls", Text, nullable=False),
                Column("search_text", Text, nullable=False),
                *(Column(f"h3_r{res}", BigInteger, nullable=False) for res in RESOLUTIONS),
            ),
            snap=_temporary(
                name("snap"), meta, Column("idx", Integer), Column("generation_id", SmallInteger),
                *_unit_columns(), Column("match", Text), Column("distance_m", Float),
            ),
            place=_temporary(
                name("place"), meta, Column("idx", Integer), Column("report_id", BigInteger),
                Column("lon", Float), Column("lat", Float),
                Column("category", Text), Column("snap_generation_id", SmallInteger),
                *_unit_columns(), Column("snap_match", Text), Column("snap_distance_m", Float),
                Column("current_generation_id", SmallInteger), *_unit_columns("current_"),
            ),
            route=_temporary(
                name("route"), meta, Column("idx", Integer), Column("agency_id", Integer),
                Column("routing_rule_id", Integer), Column("routing_reason", Text),
            ),
            due=_temporary(name("due"), meta, Column("idx", Integer), Column("due_at", _TIME)),
            near=_temporary(
                name("near"), meta, Column("idx", Integer), Column("unit_id", Integer),
                Column("distance_m", Float),
            ),
            rejected=_temporary(
                name("rejected"), meta, Column("idx", Integer), Column("reason", Text),
                Column("detail", Text),
            ),
            inserted=_temporary(name("inserted"), meta, Column("id", BigInteger)),
        )

    def tables(self) -> Iterator[Table]:
        for item in fields(self):
            yield getattr(self, item.name)

    def create(self, conn: Connection) -> None:
        for table in self.tables():
            table.create(conn)

    def drop(self, conn: Connection) -> None:
        for table in self.tables():
            table.drop(conn, checkfirst=True)


# --- COPY ---------------------------------------------------------------------------------------

# The rows table's columns with the binary COPY type of each, in table order.
_COPY_TYPES = {
    "idx": "int4", "public_id": "text", "created_at": "timestamptz", "generation_id": "int2",
    "category": "text", "description": "text", "channel": "text", "lon": "float8",
    "lat": "float8", "location_source": "text", "address": "text", "reporter_name": "text",
    "reporter_phone": "text", "reporter_email": "text", "status": "text",
    "first_response_at": "timestamptz", "resolved_at": "timestamptz", "closed_at": "timestamptz",
    "satisfaction": "int2", "duplicate_of": "text", "media_urls": "text",
    "search_text": "text",
    **{f"h3_r{res}": "int8" for res in RESOLUTIONS},
}


def _column_values(rows: pd.DataFrame, name: str) -> list[Any]:
    """One column as the Python values psycopg's binary dumpers take (None for NULL)."""
    source = ROW if name == "idx" else name
    series = rows[source]
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        values = series.dt.to_pydatetime()
        values[series.isna().to_numpy()] = None
        listed: list[Any] = values.tolist()
        return listed
    if isinstance(series.dtype, pd.Int16Dtype):
        return series.astype(object).where(series.notna(), None).tolist()
    if series.dtype == object or isinstance(series.dtype, pd.StringDtype):
        values = np.array(series, dtype=object)
        values[series.isna().to_numpy()] = None  # pandas' missing text may be NaN
        texts: list[Any] = values.tolist()
        return texts
    numbers: list[Any] = series.to_numpy().tolist()
    return numbers


def copy_rows(conn: Connection, table: Table, rows: pd.DataFrame) -> None:
    """COPY typed rows (columns of :data:`_COPY_TYPES`, ``row`` for ``idx``) into ``table``."""
    if not conn.in_transaction():
        conn.begin()  # what SQLAlchemy's autobegin would do, had it run the statement
    names = list(_COPY_TYPES)
    columns = [_column_values(rows, name) for name in names]
    statement = psycopg.sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
        psycopg.sql.Identifier(table.name),
        psycopg.sql.SQL(", ").join(psycopg.sql.Identifier(name) for name in names))
    driver = cast(psycopg.Connection[Any], conn.connection.driver_connection)
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([_COPY_TYPES[name] for name in names])
        for row in zip(*columns, strict=True):
            copy.write_row(row)


def analyze(conn: Connection, table: Table) -> None:
    """Statistics for a freshly filled temporary table (autovacuum never analyses those), so
    the planner sizes its hash joins right."""
    driver = cast(psycopg.Connection[Any], conn.connection.driver_connection)
    with driver.cursor() as cursor:
        cursor.execute(psycopg.sql.SQL("ANALYZE {}").format(psycopg.sql.Identifier(table.name)))
