"""Forward geocoding of Vietnamese administrative addresses (issue 3).

Build a :class:`GeocodeIndex` once from the database (:func:`build_index`), then call
:func:`geocode` or :func:`geocode_structured` as often as needed: they run in memory.
"""

from gis_service.geocode.cache import IndexCache
from gis_service.geocode.forward import GeocodeResult, geocode, geocode_structured
from gis_service.geocode.index import GeocodeIndex, build_index

__all__ = [
    "GeocodeIndex",
    "GeocodeResult",
    "IndexCache",
    "build_index",
    "geocode",
    "geocode_structured",
]
