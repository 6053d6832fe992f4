"""Maps planners explore: folium pages built from gis_service's GeoDataFrames (no Flask here).

Every page loads its scripts and stylesheets from the app itself (see :mod:`.assets`) and draws
tiles only when GIS_TILES_URL names a tile server, so it works with no internet.
"""

from __future__ import annotations

from gis_service.maps.base import MapOptions, map_html
from gis_service.maps.boundaries import boundaries_map
from gis_service.maps.coverage import CoverageFilters, coverage_map
from gis_service.maps.hotspots import HotspotFilters, hotspot_map

__all__ = ["CoverageFilters", "HotspotFilters", "MapOptions", "boundaries_map", "coverage_map",
           "hotspot_map", "map_html"]
