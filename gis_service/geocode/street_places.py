"""A recognised street with no ward: the district it implies, never more.

With no street geometry and no street-to-ward link, "45 Trần Hưng Đạo, Huế" is known to be in
the old Thành phố Huế district and no finer: the result is that district (precision
``district``), with the street named, instead of the province's label point. A street listed
in several districts gives one result per district, tied and marked ambiguous.
"""

from __future__ import annotations

import dataclasses

from gis_service.geocode.index import GeocodeIndex
from gis_service.geocode.normalise import Token, fold_key
from gis_service.geocode.results import GeocodeResult, chain_of, current_units, unit_ref
from gis_service.geocode.streets import StreetSpan

#: Confidence in the district a street implies when the list gives one: the list has "a few
#: misfiled" names and says nothing of where in the district the street runs.
STREET_DISTRICT_CONFIDENCE = 0.6
_FINE = ("commune", "point")


def with_streets(index: GeocodeIndex, text: str, tokens: list[Token], spans: list[StreetSpan],
                 results: list[GeocodeResult], *, limit: int) -> list[GeocodeResult]:
    """``results`` with the street recognised, and the street's district when no ward is named.

    A district written in the address wins over the list's (it may have misfiled the street);
    a ward written in it makes the street only a name to report.
    """
    span = _street_before(spans, tokens, text, results)
    if span is None:
        return results
    named = [dataclasses.replace(r, street_name=span.street.name) for r in results]
    if named and named[0].precision in _FINE:
        return named
    districts = _districts(index, span, named)
    if not districts:
        return named
    street = _street_text(text, tokens, span)
    share = round(STREET_DISTRICT_CONFIDENCE / len(districts), 3)
    found = [_district_result(index, unit_id, street, span, share, ambiguous=len(districts) > 1,
                              context=named[0] if named else None) for unit_id in districts]
    rest = [r for r in named if r.unit.id not in districts]
    return (found + rest)[:limit]


def _street_before(spans: list[StreetSpan], tokens: list[Token], text: str,
                   results: list[GeocodeResult]) -> StreetSpan | None:
    """The first street lying in the top result's street part (all of the text without one)."""
    if not results:
        return spans[0] if spans else None
    street = fold_key(results[0].street or "")
    for span in spans:
        if fold_key(text[tokens[span.start].start:tokens[span.end - 1].end]) in street:
            return span
    return None


def _districts(index: GeocodeIndex, span: StreetSpan, results: list[GeocodeResult]
               ) -> tuple[int, ...]:
    listed = index.street_districts.get(fold_key(span.street.name), ())
    if results and results[0].precision == "district":
        written = results[0].unit.id
        return (written,) if written in listed else ()
    # "..., Thành phố Huế" reads first as the province, but names the old city district too.
    named = tuple(i for i in listed if any(r.unit.id == i for r in results))
    return named or listed


def _street_text(text: str, tokens: list[Token], span: StreetSpan) -> str:
    """From the start of the street's segment (its house number) to the end of its name."""
    first = span.start
    while first > 0 and tokens[first - 1].segment == tokens[span.start].segment:
        first -= 1
    return text[tokens[first].start:tokens[span.end - 1].end]


def _district_result(index: GeocodeIndex, unit_id: int, street: str, span: StreetSpan,
                     confidence: float, *, ambiguous: bool,
                     context: GeocodeResult | None) -> GeocodeResult:
    unit = index.units[unit_id]
    parts = {"street": street, **(context.matched_parts if context else {})}
    return GeocodeResult(
        lat=unit.lat, lon=unit.lon, precision="district", confidence=confidence,
        generation=unit.generation, unit=unit_ref(unit), units=chain_of(index, unit_id),
        current=current_units(index, unit), predecessors=(),
        matched=", ".join(parts.values()), matched_parts=parts, street=street,
        street_name=span.street.name, ambiguous=ambiguous,
    )
