"""Address text that may be a typed point: coordinates go through reverse, words through the index.

:func:`geocode_text` is what callers holding a connection use (the HTTP API, report intake):
"16.4655, 107.5960" is that point, snapped to its commune in the current generation
(precision ``point``); anything else is :func:`~gis_service.geocode.forward.geocode`.
"""

from __future__ import annotations

from sqlalchemy import Connection

from gis_service.coords import LonLat
from gis_service.geocode.coordinates import parse_coordinates
from gis_service.geocode.forward import geocode
from gis_service.geocode.index import GeocodeIndex
from gis_service.geocode.normalise import nfc
from gis_service.geocode.results import GeocodeResult, chain_of, unit_ref
from gis_service.spatial.single import snap_point


def geocode_text(conn: Connection, index: GeocodeIndex, q: str, *, limit: int = 5,
                 tolerance_m: float) -> list[GeocodeResult]:
    """Ranked places for ``q``; a typed point is one result of precision ``point``.

    A point outside every commune (beyond the snap tolerance, or another province's) gives no
    result: its units are not the service's to state.

    >>> geocode_text(conn, index, "16.4655, 107.5960", tolerance_m=2000)[0].precision  # doctest: +SKIP
    'point'
    """
    point = parse_coordinates(nfc(q)) if isinstance(q, str) else None
    if point is None:
        return geocode(index, q, limit=limit)
    return point_results(conn, index, point, nfc(q).strip(), tolerance_m=tolerance_m)


def point_results(conn: Connection, index: GeocodeIndex, point: LonLat, written: str, *,
                  tolerance_m: float) -> list[GeocodeResult]:
    """The point itself, with the commune it snaps to in the index's current generation."""
    snap = snap_point(conn, point, generation=index.current, tolerance_m=tolerance_m)
    if snap.commune is None or snap.commune.id not in index.units:
        return []
    unit = index.units[snap.commune.id]
    units = chain_of(index, unit.id)
    return [GeocodeResult(
        lat=point.lat, lon=point.lon, precision="point", confidence=1.0,
        generation=unit.generation, unit=unit_ref(unit), units=units, current=units,
        predecessors=(), matched=written, matched_parts={"point": written}, street=None,
    )]
