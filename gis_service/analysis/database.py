"""The way analysts reach the project's database from a notebook or a script."""

from __future__ import annotations

from sqlalchemy import Engine

from gis_service.config import Settings
from gis_service.db.engine import database_url, make_engine


def engine(settings: Settings | None = None) -> Engine:
    """An engine on the project's database: ``DATABASE_URL`` when set, else the project's own
    cluster, started if needed (the URL ``gis-service db url`` prints).

    Every analysis function takes a connection from it; so does ``geopandas.read_postgis``.

    >>> from gis_service import analysis
    >>> db = analysis.engine()  # doctest: +SKIP
    >>> with db.connect() as conn:  # doctest: +SKIP
    ...     cells = analysis.hotspots(conn, resolution=8)
    """
    settings = settings or Settings.from_env()
    return make_engine(database_url(settings, start=True), settings)
