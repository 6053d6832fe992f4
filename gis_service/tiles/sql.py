"""The tiles' SQL: Mapbox Vector Tiles made by PostGIS (ST_TileEnvelope, ST_AsMVTGeom,
ST_AsMVT), each statement also reading the data versions its tile is valid for.

Cells are H3 hexagons, which PostGIS cannot draw (no h3 extension here): their counts come from
one statement, their polygons from h3 in Python, and a second statement encodes them
(:func:`cells_tile`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Float,
    Integer,
    LargeBinary,
    Subquery,
    Text,
    bindparam,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from gis_service.data_versions import DataVersion, versions_select
from gis_service.db.schema import admin_unit, generation, report
from gis_service.ogc.sql import PUBLIC_GRID_DEG
from gis_service.tiles.grid import TileId

EXTENT = 4096
BUFFER = 64


@dataclass(frozen=True)
class Encoded:
    """A tile's bytes and the versions of the data it was made from."""

    data: bytes
    versions: DataVersion


def _envelope(tile: TileId) -> ColumnElement[Any]:
    return func.ST_TileEnvelope(bindparam("z", tile.z, Integer), bindparam("x", tile.x, Integer),
                                bindparam("y", tile.y, Integer), type_=Geometry)


def _mvt_geom(geom: ColumnElement[Any], tile: TileId) -> ColumnElement[Any]:
    return func.ST_AsMVTGeom(func.ST_Transform(geom, 3857, type_=Geometry), _envelope(tile),
                             EXTENT, BUFFER, True, type_=Geometry).label("geom")


def _in_tile(geom: ColumnElement[Any], tile: TileId) -> ColumnElement[bool]:
    # The envelope in lon/lat (a rectangle: Mercator maps lon and lat separately), so the
    # index on the stored geometry is used.
    return geom.op("&&")(func.ST_Transform(_envelope(tile), 4326, type_=Geometry))


def _encode(conn: Connection, rows: Subquery, layer: str) -> Encoded:
    """ST_AsMVT over ``rows`` (their ``geom`` column), with the versions, in one statement."""
    mvt = select(func.coalesce(func.ST_AsMVT(rows.table_valued(), layer, EXTENT, "geom"),
                               literal(b"", LargeBinary)))
    found = conn.execute(select(mvt.scalar_subquery(), *versions_select())).one()
    return Encoded(bytes(found[0]), DataVersion(str(found[1]), str(found[2])))


def boundaries_tile(conn: Connection, tile: TileId, layer: str, code: str) -> Encoded:
    rows = (select(admin_unit.c.code, admin_unit.c.name, admin_unit.c.unit_type,
                   admin_unit.c.setting, _mvt_geom(admin_unit.c.geom, tile))
            .join(generation, generation.c.id == admin_unit.c.generation_id)
            .where(generation.c.code == bindparam("generation", code, Text),
                   admin_unit.c.level == "commune", _in_tile(admin_unit.c.geom, tile))
            .subquery("t"))
    return _encode(conn, rows, layer)


def report_points_tile(conn: Connection, tile: TileId, layer: str) -> Encoded:
    rounded = func.ST_SnapToGrid(report.c.geom, PUBLIC_GRID_DEG, type_=Geometry)
    rows = (select(report.c.public_id.label("id"), report.c.category, report.c.status,
                   _mvt_geom(rounded, tile))
            .where(_in_tile(report.c.geom, tile)).subquery("t"))
    return _encode(conn, rows, layer)


@dataclass(frozen=True)
class CellCounts:
    cells: list[int]
    counts: list[int]
    versions: DataVersion


def report_cell_counts(conn: Connection, resolution: int,
                       bounds: tuple[float, float, float, float]) -> CellCounts:
    """Reports per H3 cell (``report.h3_rN``) among those in ``bounds`` (lon/lat), and the
    versions, in one statement."""
    column = report.c[f"h3_r{resolution}"]
    box = func.ST_MakeEnvelope(*(bindparam(f"b{i}", v, Float) for i, v in enumerate(bounds)),
                               4326, type_=Geometry)
    counts = (select(column.label("cell"), func.count().label("n"))
              .where(report.c.geom.op("&&")(box)).group_by(column).subquery("c"))
    found = conn.execute(select(func.array_agg(counts.c.cell), func.array_agg(counts.c.n),
                                *versions_select())).one()
    return CellCounts([int(c) for c in found[0] or ()], [int(n) for n in found[1] or ()],
                      DataVersion(str(found[2]), str(found[3])))


def cells_tile(conn: Connection, tile: TileId, layer: str, polygons: Sequence[bytes],
               columns: Mapping[str, tuple[Sequence[Any], Any]]) -> bytes:
    """A tile of cell polygons (WKB, lon/lat) with ``columns`` (name -> (values, SQL type))."""
    arrays = [bindparam("wkb", list(polygons), ARRAY(LargeBinary))]
    arrays += [bindparam(f"values_{name}", list(values), ARRAY(kind)) for name, (values, kind) in
               columns.items()]
    cells = func.unnest(*arrays).table_valued("wkb", *columns).render_derived(name="cells")
    geom = _mvt_geom(func.ST_GeomFromWKB(cells.c.wkb, 4326, type_=Geometry), tile)
    rows = select(*(cells.c[name] for name in columns), geom).subquery("t")
    mvt = select(func.coalesce(func.ST_AsMVT(rows.table_valued(), layer, EXTENT, "geom"),
                               literal(b"", LargeBinary)))
    return bytes(conn.execute(mvt).scalar_one())


CELL_TYPES = {"cell": Text, "count": BigInteger, "resolution": Integer, "z": Float,
              "class": Text}
