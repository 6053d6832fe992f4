"""A generation's units as a GeoDataFrame: what maps and notebooks draw boundaries from."""

from __future__ import annotations

import geopandas as gpd
import shapely
from sqlalchemy import Connection, bindparam, func, select

from gis_service.boundaries import generations
from gis_service.db.schema import LEVELS, admin_unit
from gis_service.errors import InvalidInput

UNIT_COLUMNS = ("id", "code", "name", "unit_type", "setting", "population", "area_km2",
                "approximate")


def units_frame(conn: Connection, generation: str | None = None, *,
                level: str = "commune") -> gpd.GeoDataFrame:
    """The units of one level of a generation (the active one by default), in EPSG:4326.

    >>> frame = units_frame(conn, "2025")
    >>> len(frame), frame.crs.to_epsg(), sorted(frame["setting"].unique())
    (40, 4326, ['rural', 'urban'])
    """
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}", field="level")
    chosen = generations.resolve(conn, code=generation)
    stmt = (
        select(*(admin_unit.c[name] for name in UNIT_COLUMNS),
               func.ST_AsBinary(admin_unit.c.geom).label("wkb"))
        .where(admin_unit.c.generation_id == bindparam("generation_id", chosen.id),
               admin_unit.c.level == bindparam("level", level))
        .order_by(admin_unit.c.code)
    )
    rows = conn.execute(stmt).all()
    geometry = shapely.from_wkb([bytes(row.wkb) for row in rows])
    frame = gpd.GeoDataFrame(
        {name: [getattr(row, name) for row in rows] for name in UNIT_COLUMNS},
        geometry=geometry, crs="EPSG:4326",
    )
    frame.attrs["generation"] = chosen.code
    return frame
