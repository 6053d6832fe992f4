"""What lies around the service province outside every Vietnamese province: land or water.

The reference provinces' outlines are Vietnam's border, but an outline alone does not say which
side of it is the sea and which is Laos. Around one province it does: in a window of
``window_deg`` around the service province (Huế), the provinces from the land border to the
coast (Quảng Trị, Huế, Đà Nẵng) cut what lies outside them into separate pieces, the sea on one
side and the neighbouring country on the other. The manifest names a point known to lie on the
neighbouring country's land (``foreign_land_points``, e.g. in Laos west of A Lưới); each piece
holding one is *foreign land*, every other piece is *water* (the sea, a bay cut off by the
window's edge). Beyond the window nothing is known: the snapping rules treat a point there that
no province covers as outside (see :mod:`gis_service.spatial.service_area`).

Stored in ``surrounding_area`` cut into pieces of at most 256 vertices (point lookups), keyed by
the reference generation; loading it again replaces them.
"""

from __future__ import annotations

from collections.abc import Sequence

import shapely
from shapely.geometry import Point, Polygon, box
from sqlalchemy import Connection, LargeBinary, Text, bindparam, delete, func, insert, select

from gis_service.boundaries.features import UnitFeature
from gis_service.boundaries.generations import by_code
from gis_service.coords import LonLat
from gis_service.db.schema import surrounding_area
from gis_service.errors import DataError

#: Vertices per stored piece: big enough to keep the pieces few, small for a quick ST_Covers.
PIECE_VERTICES = 256


def split_surroundings(provinces: Sequence[UnitFeature], home_code: str, window_deg: float,
                       foreign_points: Sequence[LonLat]
                       ) -> tuple[list[Polygon], list[Polygon]]:
    """The pieces of the window around ``home_code`` outside every province: (foreign, water).

    A province (1) inside a band of provinces (2) from the border (west) to the coast (east):

    >>> from shapely.geometry import MultiPolygon
    >>> home = UnitFeature(0, "1", "Tỉnh A", "Tỉnh", MultiPolygon([box(0, -1, 1, 1)]))
    >>> band = UnitFeature(1, "2", "Tỉnh B", "Tỉnh", MultiPolygon([box(0, -9, 1, 9)]))
    >>> foreign, water = split_surroundings([home, band], "1", 0.5, [LonLat(-0.2, 0.0)])
    >>> [p.bounds for p in foreign], [p.bounds for p in water]
    ([(-0.5, -1.5, 0.0, 1.5)], [(1.0, -1.5, 1.5, 1.5)])
    """
    home = next((p for p in provinces if p.code == home_code), None)
    if home is None:
        raise DataError(f"the reference provinces have no province {home_code!r}",
                        field="service_province")
    window = box(*home.geometry.bounds).buffer(window_deg, join_style="mitre")
    land = shapely.union_all([p.geometry for p in provinces if p.geometry.intersects(window)])
    pieces = [p for p in shapely.get_parts(window.difference(land)) if isinstance(p, Polygon)]
    marks = [Point(point.lon, point.lat) for point in foreign_points]
    unplaced = [m for m in marks if not any(piece.covers(m) for piece in pieces)]
    if unplaced:
        raise DataError(f"foreign land point {unplaced[0].x}, {unplaced[0].y} is not outside "
                        "every province within the window", field="foreign_land_points")
    foreign = [piece for piece in pieces if any(piece.covers(m) for m in marks)]
    return foreign, [piece for piece in pieces if piece not in foreign]


def store_surroundings(conn: Connection, generation_code: str, foreign: Sequence[Polygon],
                       water: Sequence[Polygon]) -> dict[str, int]:
    """Replace the generation's surroundings; returns the pieces stored per kind."""
    generation_id = by_code(conn, generation_code).id
    conn.execute(delete(surrounding_area).where(surrounding_area.c.generation_id == generation_id))
    piece = func.ST_Subdivide(func.ST_GeomFromWKB(bindparam("wkb", type_=LargeBinary), 4326),
                              PIECE_VERTICES).label("geom")
    statement = insert(surrounding_area).from_select(
        ["generation_id", "kind", "geom"],
        select(bindparam("generation_id"), bindparam("kind", type_=Text), piece))
    rows = [{"generation_id": generation_id, "kind": kind, "wkb": shapely.to_wkb(polygon)}
            for kind, polygons in (("foreign_land", foreign), ("water", water))
            for polygon in polygons]
    if rows:
        conn.execute(statement, rows)
    counts = conn.execute(select(surrounding_area.c.kind, func.count())
                          .where(surrounding_area.c.generation_id == generation_id)
                          .group_by(surrounding_area.c.kind)).all()
    return {kind: int(count) for kind, count in counts}
