"""The HTTP layer: a Flask app whose views are thin adapters over the library."""

from gis_service.web.app import create_app

__all__ = ["create_app"]
