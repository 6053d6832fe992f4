"""OGC API – Features for GIS clients (QGIS, GDAL/OGR, OWSLib): see :mod:`gis_service.ogc.api`."""
