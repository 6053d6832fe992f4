"""The operations centre (IOC): the agency that holds reports whose location is too vague."""

from __future__ import annotations

from sqlalchemy import Connection, select

from gis_service.db.schema import agency
from gis_service.errors import DataError

#: Its code in ``boundaries/reports/agencies.toml``.
OPERATIONS_CENTRE = "ioc-hue"
OPERATIONS_CENTRE_KIND = "operations_centre"


def operations_centre_id(conn: Connection) -> int:
    """The IOC agency's id; DataError when the agencies loaded have none."""
    found = conn.execute(
        select(agency.c.id).where(agency.c.kind == OPERATIONS_CENTRE_KIND)
        .order_by(agency.c.code != OPERATIONS_CENTRE, agency.c.id).limit(1)
    ).scalar_one_or_none()
    if found is None:
        raise DataError("no operations centre agency to hold vague reports: load "
                        "boundaries/reports/agencies.toml (agency ioc-hue)", field="agency")
    return int(found)
