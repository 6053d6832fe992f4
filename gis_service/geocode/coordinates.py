"""Coordinates typed as text: "16.4655, 107.5960", "16°27'56"N 107°35'46"E", or lon first.

People paste a point from a map app into the address box. Without hemisphere letters the
order is read from the numbers where that is unambiguous for Huế (a latitude near 16 and a
longitude near 107 cannot be confused); otherwise latitude comes first, as map apps write it.
"""

from __future__ import annotations

import re

from gis_service.coords import LonLat, lonlat
from gis_service.errors import InvalidInput

# Huế's extent with a margin: a pair with one number in each range has only one reading.
_HUE_LAT = (15.5, 17.0)
_HUE_LON = (106.8, 108.5)
_NUMBER = r"[-+]?\d{1,3}\.\d+"
# Two decimal numbers, each optionally with ° and a hemisphere letter, separated by a comma,
# a semicolon or spaces.
_DECIMAL = re.compile(
    rf"^\s*\(?\s*(?P<a>{_NUMBER})\s*°?\s*(?P<ha>[NSEW])?\s*[,;\s]\s*"
    rf"(?P<b>{_NUMBER})\s*°?\s*(?P<hb>[NSEW])?\s*\)?\s*$", re.IGNORECASE)
# Degrees, minutes and (optionally) seconds, with a hemisphere letter after or before.
_DMS_PART = (r"(?P<{p}pre>[NSEW])?\s*(?P<{p}d>\d{{1,3}})\s*[°º]\s*(?:(?P<{p}m>\d{{1,2}}(?:\.\d+)?)"
             r"\s*['′’]\s*)?(?:(?P<{p}s>\d{{1,2}}(?:\.\d+)?)\s*(?:\"|″|”|''|′′)\s*)?"
             r"(?P<{p}post>[NSEW])?")
_DMS = re.compile(r"^\s*" + _DMS_PART.format(p="a") + r"\s*[,;]?\s*" + _DMS_PART.format(p="b")
                  + r"\s*$", re.IGNORECASE)


def parse_coordinates(text: str) -> LonLat | None:
    """The point written in ``text``, or None when the text is not a pair of coordinates.

    >>> parse_coordinates("16.4655, 107.5960")
    LonLat(lon=107.596, lat=16.4655)
    >>> parse_coordinates("107.5960 16.4655")
    LonLat(lon=107.596, lat=16.4655)
    >>> point = parse_coordinates('16°27\\'56"N 107°35\\'46"E')
    >>> round(point.lon, 6), round(point.lat, 6)
    (107.596111, 16.465556)

    Raises :class:`InvalidInput` (field ``q``) for a pair that is out of range.
    """
    found = _DECIMAL.match(text)
    if found is not None:
        return _ordered((float(found["a"]), found["ha"]), (float(found["b"]), found["hb"]))
    found = _DMS.match(text)
    if found is None or not (found["ad"] and found["bd"]):
        return None
    return _ordered(_dms(found, "a"), _dms(found, "b"))


def _dms(found: re.Match[str], part: str) -> tuple[float, str | None]:
    minutes, seconds = found[f"{part}m"], found[f"{part}s"]
    value = int(found[f"{part}d"]) + float(minutes or 0) / 60 + float(seconds or 0) / 3600
    return value, found[f"{part}pre"] or found[f"{part}post"]


def _signed(value: float, hemisphere: str | None) -> float:
    return -abs(value) if hemisphere and hemisphere.upper() in "SW" else value


def _ordered(first: tuple[float, str | None], second: tuple[float, str | None]) -> LonLat:
    (a, ha), (b, hb) = first, second
    if ha or hb:
        lat_first = (ha or "").upper() in "NS" and (hb or "").upper() in "EW"
        if not lat_first and not ((ha or "").upper() in "EW" and (hb or "").upper() in "NS"):
            raise InvalidInput("the coordinates name the same axis twice (N/S or E/W)", field="q")
        a, b = _signed(a, ha), _signed(b, hb)
        return _checked(b, a) if lat_first else _checked(a, b)
    if _within(b, _HUE_LAT) and _within(a, _HUE_LON):
        return _checked(a, b)
    return _checked(b, a)


def _within(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _checked(lon: float, lat: float) -> LonLat:
    return lonlat(lon, lat, lon_field="q", lat_field="q")
