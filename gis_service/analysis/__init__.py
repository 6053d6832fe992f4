"""The analyses' public Python API: every function takes a SQLAlchemy connection and returns
a GeoPandas GeoDataFrame (EPSG:4326), or a pandas DataFrame for tables without places
(``coverage_by_category``, ``coverage_summary``, ``reporting_rates``,
``reporting_rates_in_time``, ``reporting_rate_regression``). The HTTP endpoints, the
maps and the notebooks call these; :func:`engine` is how notebooks and scripts reach the database.

>>> from gis_service.analysis import hotspots
>>> frame = hotspots(conn, resolution=9, k=1)  # doctest: +SKIP
"""

from gis_service.analysis.coverage import (
    cell_coverage,
    coverage,
    coverage_by_category,
    coverage_summary,
    populated_gaps,
    reporting_rates,
)
from gis_service.analysis.database import engine
from gis_service.analysis.hotspots import emerging_hotspots, hotspots
from gis_service.analysis.reporting_process import (
    reporting_rate_regression,
    reporting_rates_in_time,
)

__all__ = [
    "cell_coverage",
    "coverage",
    "coverage_by_category",
    "coverage_summary",
    "emerging_hotspots",
    "engine",
    "hotspots",
    "populated_gaps",
    "reporting_rate_regression",
    "reporting_rates",
    "reporting_rates_in_time",
]
