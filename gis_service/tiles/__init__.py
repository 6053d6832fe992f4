"""Mapbox Vector Tiles of boundaries, reports and hot spots, made by PostGIS and cached by data
version: see :mod:`gis_service.tiles.service`."""
