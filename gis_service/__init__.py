"""gis-service: the spatial backbone of Huế's citizen field-report system.

The public Python API is re-exported from :mod:`gis_service.api`; the web app, the CLI and the
notebooks all call it.
"""
