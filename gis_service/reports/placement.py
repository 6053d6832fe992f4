"""Where a new report is, and whether that is enough to route it to a commune.

A report is routed to a commune only when its location is a point (GPS, a pin, coordinates
typed as text) or a ward the geocoder names at commune precision, unambiguously, with at least
``GIS_MIN_ROUTING_CONFIDENCE``. Anything vaguer (a district or the province only, a street
without a ward, an uncertain or tied ward) is *vague*: refused with the candidates, so the
caller can ask for a pin, or held (``needs_location``) for the operations centre to place.

Which of the two, by channel, unless the request says (``on_vague``):

- ``hotline``: held. The operator has the caller on the line and an address on paper; the
  operations centre places it later, the caller need not be asked again.
- ``app``: refused. The app has GPS: a vague report means it did not send it; it can.
- ``web``: refused. The resident is at the form and can drop a pin on its map at once; a held
  web report would wait for staff for no reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from gis_service.coords import LonLat
from gis_service.errors import GisError, LocationTooVague, Unprocessable
from gis_service.geocode import GeocodeIndex, GeocodeResult
from gis_service.geocode.point_text import geocode_text
from gis_service.spatial.single import snap_point
from gis_service.spatial.types import Snap

ON_VAGUE = ("hold", "refuse")
#: What a vague address does when the request does not say.
DEFAULT_ON_VAGUE = {"hotline": "hold", "app": "refuse", "web": "refuse"}
ROUTABLE_PRECISIONS = ("point", "commune")
#: Candidates listed in a refusal or a held report's event.
CANDIDATES = 5


@dataclass(frozen=True)
class Placement:
    """A routable location: the point, how it was found, and the geocoder's best answer."""

    point: LonLat
    source: str
    precision: str | None
    confidence: float | None


@dataclass(frozen=True)
class Vague:
    """An address that names no routable place: why, and the geocoder's candidates."""

    reason: str
    candidates: tuple[GeocodeResult, ...]

    @property
    def best(self) -> GeocodeResult | None:
        return self.candidates[0] if self.candidates else None


def routable(result: GeocodeResult, min_confidence: float) -> str | None:
    """None when ``result`` may be routed to its commune, else the reason it may not.

    >>> routable(district_result, 0.5)  # doctest: +SKIP
    'the address names a district, not a ward'
    """
    if result.precision not in ROUTABLE_PRECISIONS:
        return f"the address names a {result.precision}, not a ward"
    if result.ambiguous:
        return "the address fits several wards equally well"
    if result.confidence < min_confidence:
        return (f"the ward is uncertain (confidence {result.confidence:.2f}, "
                f"below {min_confidence:.2f})")
    return None


def place_address(conn: Connection, address: str, index: GeocodeIndex, *,
                  min_confidence: float, tolerance_m: float) -> Placement | Vague:
    """The address's ward (its representative point) when routable, else :class:`Vague`."""
    found = geocode_text(conn, index, address, limit=CANDIDATES, tolerance_m=tolerance_m)
    if not found:
        # A hotline operator's "near Đông Ba market" is still worth holding for a person.
        return Vague("the address names no place the geocoder knows", ())
    best = found[0]
    reason = routable(best, min_confidence)
    if reason is not None:
        return Vague(reason, tuple(found))
    return Placement(LonLat(best.lon, best.lat), "geocoded", best.precision, best.confidence)


def refusal(vague: Vague) -> LocationTooVague:
    """The 422 a refused vague report gets: the reason and the candidates to choose from."""
    names = "; ".join(f"{c.unit.name} ({c.precision}, {c.confidence:.2f})"
                      for c in vague.candidates)
    return LocationTooVague(
        f"{vague.reason}: send lat and lon (a pin), or an address with its ward. "
        f"Candidates: {names or 'none'}",
        field="address", candidates=[c.to_dict() for c in vague.candidates])


def check_on_vague(value: str | None, channel: str) -> str:
    """The request's choice, else the channel's default (see the module docstring)."""
    if value is None:
        return DEFAULT_ON_VAGUE.get(channel, "refuse")
    if value not in ON_VAGUE:
        raise Unprocessable(f"on_vague must be one of {', '.join(ON_VAGUE)}", field="on_vague")
    return value


# --- a point and an address that disagree ---------------------------------------------------


def address_conflict(conn: Connection, index: GeocodeIndex, point: LonLat, address: str, *,
                     current: Snap, min_confidence: float, tolerance_m: float) -> str | None:
    """Why the point is not in the ward the address names (nor its predecessors), or None.

    Only a ward the geocoder is sure of can contradict a point: a vague address never does.
    ``current`` is the point's snap in the current generation.
    """
    try:
        found = geocode_text(conn, index, address, limit=1, tolerance_m=tolerance_m)
    except GisError:
        return None  # an address the geocoder refuses (too long, bad typed point) names no ward
    if not found or found[0].precision != "commune" or routable(found[0], min_confidence):
        return None
    named = found[0]
    if _point_in(conn, point, named, current, tolerance_m):
        return None
    where = current.commune.name if current.commune else "no commune"
    return (f"location_conflict: the point is in {where}, the address names "
            f"{named.unit.name} ({named.generation})")


def _point_in(conn: Connection, point: LonLat, named: GeocodeResult, current: Snap,
              tolerance_m: float) -> bool:
    accepted = {named.unit.id, *(p.id for p in named.predecessors)}
    if "commune" in named.current:
        accepted.add(named.current["commune"].id)
    if current.commune is not None and current.commune.id in accepted:
        return True
    generations = {named.generation, *(p.generation for p in named.predecessors)}
    for code in generations - {current.generation}:
        snap = snap_point(conn, point, generation=code, tolerance_m=tolerance_m)
        if snap.commune is not None and snap.commune.id in accepted:
            return True
    return False
