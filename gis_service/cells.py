"""H3 cells (v4) of a point, stored as bigint, computed once when a report arrives."""

from __future__ import annotations

import h3

from gis_service.coords import LonLat

RESOLUTIONS = (6, 7, 8, 9, 10)


def lonlat_to_cells(point: LonLat) -> dict[int, int]:
    """The point's H3 cell at each stored resolution, as integers.

    >>> lonlat_to_cells(LonLat(107.611, 16.4779))[9] == h3.str_to_int(h3.latlng_to_cell(16.4779, 107.611, 9))
    True
    """
    # h3 takes (lat, lng): the one place that order appears.
    return {res: h3.str_to_int(h3.latlng_to_cell(point.lat, point.lon, res)) for res in RESOLUTIONS}
