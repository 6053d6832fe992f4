"""Problem details in the request's language, from catalogue templates with parameters.

The domain and the edge modules raise :class:`~gis_service.errors.GisError` with an English
detail written as an f-string (``"lat=95.0 is outside -90..90"``): the CLI prints it, the logs keep
it. Each such detail has its template here (``"%(field)s=%(value)s is outside -90..90"``), a
msgid of the gettext catalogues. :func:`translate` finds the template a detail was written
from, reads the values back out of it (field names and values stay verbatim) and fills the
template's translation with them; a value that is itself a templated phrase (the reason of a
vague address, JSON's reason for a bad body) is translated the same way.

Why templates matched here rather than passed up from every ``raise``: ~190 raise sites in
~50 modules would each need a gettext marker and a parameter dict, the domain would import the
web layer's i18n, and the CLI would lose its plain English. ``tests/test_i18n.py`` parses every
``raise`` of a GisError in the package and checks that its detail matches a template here (and
so has a Vietnamese translation); a new message without one fails that test.
"""

from __future__ import annotations

import re
from functools import cache

from flask_babel import get_locale, gettext

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def N_(message: str) -> str:  # gettext's conventional no-op marker, extracted by Babel
    """Mark ``message`` as a catalogue msgid without translating it here."""
    return message


#: Every templated detail the service sends (and marshmallow's messages, through webargs).
TEMPLATES: tuple[str, ...] = (
    N_('%(field)s contains an unpaired surrogate (\\ud800-\\udfff)'),
    N_('%(field)s is longer than %(limit)s characters'),
    N_('%(field)s is not a JSON value; send numbers as finite numbers'),
    N_('%(field)s is not a field of a batch request (known: %(known)s)'),
    N_('%(field)s is not a field of this request (known: %(known)s)'),
    N_('%(field)s is not a valid lon/lat'),
    N_('%(field)s is required'),
    N_('%(field)s must be a JSON number'),
    N_('%(field)s must be a JSON object'),
    N_('%(field)s must be a date (YYYY-MM-DD)'),
    N_('%(field)s must be a finite number'),
    N_('%(field)s must be a list of URLs'),
    N_('%(field)s must be a number'),
    N_('%(field)s must be a number, not %(value)s'),
    N_('%(field)s must be a string or an integer'),
    N_('%(field)s must be a w3 date-time such as 2025-01-01T00:00:00Z, not %(value)s'),
    N_('%(field)s must be a whole number from %(low)s to %(high)s'),
    N_('%(field)s must be an integer from %(low)s to %(high)s'),
    N_('%(field)s must be an object'),
    N_('%(field)s must be between %(low)s and %(high)s'),
    N_('%(field)s must be one of %(choices)s'),
    N_('%(field)s must be text'),
    N_('%(field)s must not be empty'),
    N_('%(field)s must not contain NUL characters'),
    N_('%(field)s needs a time zone'),
    N_('%(field)s needs a time zone (Z or +07:00): %(value)s'),
    N_('%(field)s needs either q or lat and lon'),
    N_('%(field)s was given %(count)s times; send each parameter once'),
    N_('%(field)s: %(value)s is not a number'),
    N_('%(field)s: %(value)s is not an integer'),
    N_('%(field)s: give at least one value'),
    N_('%(field)s: give it once'),
    N_('%(field)s: must be between %(low)s and %(high)s'),
    N_('%(field)s: must be between 0 and %(high)s at zoom %(z)s'),
    N_('%(field)s: numbers must be finite'),
    N_('%(field)s: unknown query parameter; this resource accepts %(known)s'),
    N_('%(field)s: unknown value %(value)s; use %(choices)s'),
    N_('%(field)s: unsupported CRS %(value)s; use one of %(choices)s'),
    N_('%(field)s=%(value)s is outside -180..180'),
    N_('%(field)s=%(value)s is outside -180..180; %(lat)s and %(lon)s look swapped'),
    N_('%(field)s=%(value)s is outside -90..90'),
    N_('%(field)s=%(value)s is outside -90..90; %(lat)s and %(lon)s look swapped'),
    N_('%(reason)s: send lat and lon (a pin), or an address with its ward. Candidates: '
       '%(candidates)s'),
    N_('%(reason)s: send lat and lon (a pin), or an address with its ward. Candidates: none'),
    N_("'items' must be a list"),
    N_("Expecting ',' delimiter"),
    N_("Expecting ':' delimiter"),
    N_('Expecting property name enclosed in double quotes'),
    N_('Expecting value'),
    N_('Extra data'),
    N_('Field may not be null.'),
    N_('Idempotency-Key must be 1 to %(limit)s printable characters'),
    N_('Invalid \\escape'),
    N_('Invalid \\uXXXX escape'),
    N_('Invalid control character at'),
    N_('Invalid input type.'),
    N_('Invalid value.'),
    N_('Length must be %(equal)s.'),
    N_('Length must be between %(min)s and %(max)s.'),
    N_('Longer than maximum length %(max)s.'),
    N_('Missing data for required field.'),
    N_('Must be greater than %(min)s.'),
    N_('Must be greater than or equal to %(min)s and less than or equal to %(max)s.'),
    N_('Must be greater than or equal to %(min)s.'),
    N_('Must be less than %(max)s.'),
    N_('Must be less than or equal to %(max)s.'),
    N_('Must be one of: %(choices)s.'),
    N_('Not a valid URL.'),
    N_('Not a valid boolean.'),
    N_('Not a valid date.'),
    N_('Not a valid datetime.'),
    N_('Not a valid email address.'),
    N_('Not a valid integer.'),
    N_('Not a valid list.'),
    N_('Not a valid mapping type.'),
    N_('Not a valid number.'),
    N_('Not a valid string.'),
    N_('Number too large.'),
    N_('Shorter than minimum length %(min)s.'),
    N_('Special numeric values (nan or infinity) are not permitted.'),
    N_('String does not match expected pattern.'),
    N_('Unknown field.'),
    N_('Unterminated string starting at'),
    N_('a crosswalk needs two different generations'),
    N_('a deadline must be positive, not %(value)s'),
    N_('a location is required: lat and long, or address_string'),
    N_('a number is too long'),
    N_('a report cannot be a duplicate of itself'),
    N_('a report needs lat and lon, or an address'),
    N_('address_id is not supported here: send lat and long, or address_string'),
    N_('an API key is required (header X-API-Key)'),
    N_('an API key is required: send it as the api_key parameter'),
    N_('an agency key needs an agency, and only an agency key has one'),
    N_('at most %(limit)s items per batch, got %(count)s'),
    N_('at most %(limit)s media URLs'),
    N_('attribution must be point or crosswalk'),
    N_('bbox must be west,south,east,north'),
    N_('bbox must be west,south,east,north with west<east, south<north'),
    N_('bbox: give 4 numbers (or 6 with heights), comma-separated'),
    N_('bbox: latitudes lie within ±90, longitudes within ±180'),
    N_('bbox: the lower corner must come first'),
    N_('by must be commune or setting'),
    N_('categories must be non-empty category codes'),
    N_('datetime: %(value)s is not an RFC 3339 date or date-time'),
    N_('datetime: an instant cannot be open'),
    N_("datetime: give an instant or start/end (one end may be '..')"),
    N_('datetime: give the offset (Z or +07:00)'),
    N_('datetime: the start is after the end'),
    N_('description is %(length)s characters; the limit is %(limit)s'),
    N_("duplicate_of goes with status 'duplicate', and only with it"),
    N_('emerging hot spots need at least %(needed)s periods (this range has '
       '%(periods)s): widen it or use shorter periods'),
    N_('end_date is before start_date'),
    N_('f: use json or html'),
    N_('first year %(first)s is after last year %(last)s'),
    N_('from must be before to'),
    N_('generation %(code)s cannot be %(status)s: its validity period overlaps another '
       'published generation'),
    N_('generation %(code)s exists as a %(kind)s generation, not %(wanted)s'),
    N_('generation %(code)s is a reference boundary set (context only): points are not '
       'snapped to it'),
    N_('generation %(code)s is a reference boundary set: it is never %(status)s'),
    N_('geojson needs by=commune'),
    N_('give at least one of commune, district, province'),
    N_('give category codes, separated by commas'),
    N_('give description, address or hidden'),
    N_('give either a generation code or a date, not both'),
    N_('give either location (lat, lon) or commune'),
    N_('give either q or commune/district/province, not both'),
    N_('give internal_note or note (the same), not both'),
    N_('hidden must be true or false'),
    N_('k must be a whole number of rings from 1 to %(high)s'),
    N_('lat and long go together: both or neither'),
    N_('location_source must be gps or manual'),
    N_('measure must be excess (reports against residents) or count'),
    N_('media_url must be an http(s) URL of at most %(limit)s characters'),
    N_('media_urls must be a list of URLs'),
    N_('media_urls must be http(s) URLs'),
    N_('more than %(limit)s requests this minute with this key'),
    N_('no active key with prefix %(prefix)s'),
    N_('no agency %(code)s'),
    N_('no boundary generation %(code)s'),
    N_('no boundary generation %(code)s to geocode into'),
    N_('no boundary generation answers this request'),
    N_('no boundary generation carries the 2019 census population, so reports cannot be '
       'compared with residents: use measure=count'),
    N_('no boundary generation is active: load and activate one first'),
    N_('no collection %(id)s'),
    N_('no crosswalk from generation %(source)s to %(target)s for %(count)s %(level)s '
       'codes: %(codes)s'),
    N_('no feature %(id)s in %(collection)s'),
    N_('no published boundary generation is valid on %(day)s'),
    N_('no report %(id)s'),
    N_('no report %(id)s to be the original'),
    N_('no reports match these filters, so there are no periods to compare: give from and to'),
    N_('no service request %(id)s'),
    N_('no service with service_code %(code)s'),
    N_('no such Open311 resource or format'),
    N_('no tile layer %(id)s'),
    N_('no token %(token)s'),
    N_('no ward %(code)s in generation %(generation)s'),
    N_('only a resolved or closed report can be rated; this one is %(status)s'),
    N_('only the resident who filed a report can rate it (with a client key and the '
       'reporter token)'),
    N_('period must be week or month'),
    N_('permutations must be from %(low)s to %(high)s'),
    N_('place a report (location or commune) or change its status, not both'),
    N_('reason is required: say why the public text changes'),
    N_('report %(id)s is %(status)s, not %(held)s: it already has a location'),
    N_('report %(id)s is %(status)s: it cannot become %(target)s (from %(from_status)s: '
       '%(moves)s)'),
    N_('report %(id)s is %(status)s: it cannot become %(target)s (from %(from_status)s: no moves)'),
    N_('report %(id)s is itself a duplicate (of report %(original)s): link to that one'),
    N_('send the body as application/json'),
    N_('send the form as application/x-www-form-urlencoded'),
    N_('send the reporter token (%(header)s or reporter_token), or the '
       'device_id/account_id the report was filed with'),
    N_('service_request_id takes at most %(limit)s ids'),
    N_('start_date to end_date may span at most %(days)s days'),
    N_('status must be open, closed or both, not %(value)s'),
    N_('statuses are %(statuses)s'),
    N_('team names who inside the agency takes an assigned report (status assigned, 1 '
       'to %(limit)s characters)'),
    N_('the %(field)s has more than %(limit)s parameters'),
    N_('the %(field)s is not valid UTF-8'),
    N_('the API key is not valid'),
    N_('the active boundary generation has no province: load the boundaries '
       '(gis-service boundaries load) first'),
    N_('the address fits several wards equally well'),
    N_('the address names a %(precision)s, not a ward'),
    N_('the address names no place the geocoder knows'),
    N_('the body has more than %(limit)s parameters'),
    N_('the body is nested more than %(depth)s levels deep'),
    N_('the body is not valid JSON: %(reason)s'),
    N_('the body is not valid UTF-8'),
    N_("the body must be a JSON object with an 'items' list"),
    N_('the coordinates name the same axis twice (N/S or E/W)'),
    N_('the exact test needs binary weights (a weighted sum of counts has no exact '
       'distribution): use inference=permutation'),
    N_('the location is outside the service area (Thành phố Huế)'),
    N_('the path is not valid UTF-8'),
    N_('the path must not contain NUL characters'),
    N_('the query has more than %(limit)s parameters'),
    N_('the query is not valid UTF-8'),
    N_('the query string is not valid UTF-8'),
    N_('the reporter token does not belong to this report'),
    N_('the ward is uncertain (confidence %(confidence)s, below %(threshold)s)'),
    N_('this Idempotency-Key was used for a different request'),
    N_('this device_id/account_id with this key did not file the report'),
    N_('this endpoint serves only jurisdiction %(jurisdiction)s'),
    N_("this is another agency's delivery log"),
    N_('this needs a key with role %(roles)s'),
    N_('this report belongs to another agency'),
    N_('this resolution has been rated already (one rating per resolution)'),
    N_('threshold must be a share between 0 and 1'),
    N_('tolerance_m must be a number of metres'),
    N_('tolerance_m must be between 0 and %(high)s metres'),
    N_('unknown category %(code)s'),
    N_('unknown category: %(codes)s'),
    N_('unknown deadline unit %(unit)s'),
    N_('unknown status %(status)s'),
    N_('use YYYY-MM-DD or an ISO 8601 date-time'),
    N_("weight must be 'population' or 'area'"),
    N_('z: zoom must be between 0 and %(high)s'),
)


def _pattern(template: str) -> re.Pattern[str]:
    """The template as a regular expression: each placeholder captures its value (non-greedy;
    a name used twice must repeat the same value)."""
    parts, seen, position = [], set(), 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position:match.start()]))
        name = match.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts), re.DOTALL)


@cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    # The most literal text first: "... look swapped" before the plain "... is outside -90..90".
    ordered = sorted(TEMPLATES, key=lambda t: -len(_PLACEHOLDER.sub("", t)))
    return tuple((template, _pattern(template)) for template in ordered)


def template_of(detail: str) -> tuple[str, dict[str, str]] | None:
    """The template ``detail`` was written from and its values, or None.

    >>> template_of("lat=95.0 is outside -90..90")
    ('%(field)s=%(value)s is outside -90..90', {'field': 'lat', 'value': '95.0'})
    >>> template_of("something nobody wrote") is None
    True
    """
    for template, pattern in _patterns():
        found = pattern.fullmatch(detail)
        if found:
            return template, found.groupdict()
    return None


def translate(detail: str) -> str:
    """``detail`` in the request's language (unchanged in English or without a template)."""
    if str(get_locale() or "en") == "en":
        return detail
    return _translated(detail)


def _translated(detail: str) -> str:
    found = template_of(detail)
    if found is None:
        return detail
    template, values = found
    return str(gettext(template, **{name: _translated(value) for name, value in values.items()}))


__all__ = ["N_", "TEMPLATES", "template_of", "translate"]
