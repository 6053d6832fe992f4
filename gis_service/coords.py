"""Coordinates with their order in the type, validated before any SQL runs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from gis_service.errors import InvalidInput

# Vietnam's extent (with its islands), used only to recognise swapped coordinates.
_VIETNAM_LON = (102.0, 117.9)
_VIETNAM_LAT = (8.0, 23.5)


@dataclass(frozen=True, slots=True)
class LonLat:
    """A WGS84 position. Construct it through :func:`lonlat` to have it checked.

    >>> lonlat(107.611, 16.4779)
    LonLat(lon=107.611, lat=16.4779)
    """

    lon: float
    lat: float


def _finite(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(f"{name} must be a number", field=name)
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a number, not {str(value)[:40]!r}", field=name) from None
    if not math.isfinite(number):
        raise InvalidInput(f"{name} must be a finite number", field=name)
    return number


def _looks_swapped(lon: float, lat: float) -> bool:
    return (_VIETNAM_LON[0] <= lat <= _VIETNAM_LON[1]) and (
        _VIETNAM_LAT[0] <= lon <= _VIETNAM_LAT[1]
    )


def lonlat(lon: object, lat: object, *, lon_field: str = "lon", lat_field: str = "lat") -> LonLat:
    """Check a longitude/latitude pair; raise :class:`InvalidInput` naming the bad field.

    Rejects non-numbers, NaN, infinities and values out of range; when the pair would lie in
    Vietnam swapped (a "latitude" of 107.6 beside a "longitude" of 16.5), the error says so.
    """
    lon_value = _finite(lon, lon_field)
    lat_value = _finite(lat, lat_field)
    swapped = _looks_swapped(lon_value, lat_value)
    hint = f"; {lat_field} and {lon_field} look swapped" if swapped else ""
    if not -90.0 <= lat_value <= 90.0:
        raise InvalidInput(f"{lat_field}={lat_value} is outside -90..90{hint}", field=lat_field)
    if not -180.0 <= lon_value <= 180.0:
        raise InvalidInput(f"{lon_field}={lon_value} is outside -180..180{hint}", field=lon_field)
    return LonLat(lon_value, lat_value)
