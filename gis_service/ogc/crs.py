"""The coordinate reference systems the OGC API offers (Features Part 2), named by URI.

- CRS84: longitude, latitude on WGS 84; the default, and how PostGIS stores our SRID 4326.
- EPSG:4326: the same datum, but its axis order is latitude first, as EPSG defines it and
  Part 2 requires; so coordinates are flipped on the way out and a bbox in it is read lat first.
- EPSG:3857: Web Mercator, metres, for web maps.
- EPSG:9214 "VN-2000 / TM-3 107-00": Vietnam's national datum on the 3° transverse Mercator
  zone with its central meridian at 107°00' E, which Circular 973/2001/TT-TCĐC assigns to Thừa
  Thiên Huế (EPSG's area of use names "Bac Giang and Thua Thien-Hue provinces"). EPSG:9210,
  sometimes cited for it, is the 105°45' zone (Hải Phòng, Hồ Chí Minh City...): 1.25° west of
  Huế, so its scale error over the city is larger. Axis order easting, northing.
"""

from __future__ import annotations

from dataclasses import dataclass

from gis_service.errors import InvalidInput

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@dataclass(frozen=True)
class Crs:
    """A CRS clients may ask for: its URI, PostGIS SRID, and whether latitude comes first."""

    uri: str
    srid: int
    lat_first: bool
    #: Decimal places of coordinates sent in it (about 1 cm either way).
    decimals: int

    @property
    def is_geographic(self) -> bool:
        return self.srid == 4326


def _epsg(code: int) -> str:
    return f"http://www.opengis.net/def/crs/EPSG/0/{code}"


CRS84 = Crs(CRS84_URI, 4326, lat_first=False, decimals=7)
EPSG_4326 = Crs(_epsg(4326), 4326, lat_first=True, decimals=7)
WEB_MERCATOR = Crs(_epsg(3857), 3857, lat_first=False, decimals=2)
VN2000_HUE = Crs(_epsg(9214), 9214, lat_first=False, decimals=2)
SUPPORTED = (CRS84, EPSG_4326, WEB_MERCATOR, VN2000_HUE)
_BY_URI = {crs.uri: crs for crs in SUPPORTED}
# The short forms clients also send: safe CURIEs ("[EPSG:4326]") and "EPSG:4326".
_BY_URI.update({f"[EPSG:{crs.srid}]": crs for crs in SUPPORTED[1:]})
_BY_URI.update({f"EPSG:{crs.srid}": crs for crs in SUPPORTED[1:]})
_BY_URI.update({"[OGC:CRS84]": CRS84, "OGC:CRS84": CRS84})


def crs_uris() -> list[str]:
    return [crs.uri for crs in SUPPORTED]


def parse_crs(value: str | None, field: str) -> Crs:
    """The CRS a ``crs`` or ``bbox-crs`` value names (CRS84 when absent), or a 400 naming it.

    >>> parse_crs("http://www.opengis.net/def/crs/EPSG/0/9214", "crs").srid
    9214
    """
    if value is None:
        return CRS84
    found = _BY_URI.get(value.strip())
    if found is None:
        raise InvalidInput(f"{field}: unsupported CRS {value[:200]!r}; use one of "
                           + ", ".join(crs_uris()), field=field)
    return found
