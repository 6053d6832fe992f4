"""Checking and typing the rows of an import file, column by column over the whole file.

Each check is one vectorised pass (pandas/numpy) over the rows still standing; a row failing
one is set aside with the first reason it failed (the order of :data:`REASONS`) and a detail
quoting the value. What passes comes out typed for staging: times as UTC timestamps,
coordinates as floats, the satisfaction as a nullable integer, empty optional text as None
(media URLs stay the format's ``|``-separated text, split by the SQL that stores them), and
the boundary generation valid on the report's date (in Huế's time).

Coordinates pass exactly when :func:`gis_service.coords.lonlat` would accept them (finite and
in range); for the few that fail, lonlat() itself words the detail, so a row's message is the
one a single report would get.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from gis_service.boundaries.generations import Generation
from gis_service.coords import lonlat
from gis_service.db.schema import CHANNELS, LOCATION_SOURCES, REPORT_STATUSES
from gis_service.errors import InvalidInput
from gis_service.reports.calendar import TIMEZONE
from gis_service.reports.importing import summary as why
from gis_service.reports.importing.format import (
    COLUMNS,
    MEDIA_SEPARATOR,
    REQUIRED_COLUMNS,
    TIME_COLUMNS,
)
from gis_service.reports.importing.read import BAD_TEXT_PATTERN, ROW, RawRows
from gis_service.reports.importing.summary import Rejection

# The limits of single-report intake, so a report too big for it is not imported either.
from gis_service.reports.intake import MAX_DESCRIPTION_CHARS, MAX_MEDIA_URLS

# ISO 8601 date and time with an explicit offset: a time without one would be read as UTC,
# silently seven hours off for a Huế report.
_ISO_WITH_OFFSET = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)"
# The shape the import format writes, position by position: d a digit, else the characters
# allowed there.
_USUAL_SHAPE = ("d", "d", "d", "d", "-", "d", "d", "-", "d", "d", "T ", "d", "d", ":", "d", "d",
                ":", "d", "d", "+-", "d", "d", ":", "d", "d")
_QUOTE_CHARS = 40
_ENUMS: dict[str, tuple[str, ...]] = {
    "channel": CHANNELS, "location_source": LOCATION_SOURCES,
    # A file's rows all have a point (see _check_address_only): none is held for a location.
    "status": tuple(s for s in REPORT_STATUSES if s != "needs_location"),
}
_OPTIONAL_TEXT = ("address", "reporter_name", "reporter_phone", "reporter_email", "duplicate_of")
#: The typed columns :func:`validate` returns, in order.
TYPED_COLUMNS = (
    ROW, "public_id", "created_at", "generation_id", "category", "description", "channel",
    "lon", "lat", "location_source", "address", "reporter_name", "reporter_phone",
    "reporter_email", "status", "first_response_at", "resolved_at", "closed_at",
    "satisfaction", "duplicate_of", "media_urls",
)


@dataclass(frozen=True)
class Reference:
    """What the checks compare against: the category codes and the published generations."""

    categories: frozenset[str]
    generations: tuple[Generation, ...]


@dataclass(frozen=True)
class Validated:
    """The rows that passed, typed (:data:`TYPED_COLUMNS`), and those that did not."""

    rows: pd.DataFrame
    rejections: tuple[Rejection, ...]


class _Verdicts:
    """The first reason each row failed, filled check by check."""

    def __init__(self, count: int) -> None:
        self.reason = np.full(count, None, dtype=object)
        self.detail = np.full(count, None, dtype=object)
        self.failed = np.zeros(count, dtype=bool)

    @property
    def standing(self) -> npt.NDArray[np.bool_]:
        return ~self.failed

    def fail(self, mask: npt.ArrayLike, reason: str, detail: str | Details) -> None:
        """Reject the rows of ``mask`` not rejected already.

        ``detail`` is a sentence, or a function wording it for the rows rejected (given their
        mask), so the texts are built for the few failing rows only.
        """
        newly = np.asarray(mask, dtype=bool) & self.standing
        if not newly.any():
            return
        self.failed |= newly
        self.reason[newly] = reason
        self.detail[newly] = detail if isinstance(detail, str) else list(detail(newly))


#: Words the details of the rows of a mask.
Details = Callable[[npt.NDArray[np.bool_]], Iterable[str]]


def _quoting(prefix: str, values: pd.Series, suffix: str = "") -> Details:
    """Details quoting each row's value (its first characters)."""
    def word(mask: npt.NDArray[np.bool_]) -> Iterable[str]:
        return (f"{prefix}{value[:_QUOTE_CHARS]!r}{suffix}" for value in values[mask].tolist())
    return word


def validate(raw: RawRows, reference: Reference) -> Validated:
    """Check every row of ``raw``; return the typed good rows and the rejections.

    >>> validated = validate(read_rows(path), Reference(frozenset({"roads"}), gens))  # doctest: +SKIP
    >>> validated.rows.columns[:3].tolist()  # doctest: +SKIP
    ['row', 'public_id', 'created_at']
    """
    frame = raw.frame
    verdicts = _Verdicts(len(frame))
    if not raw.clean_text:
        _check_text(frame, verdicts)
    _check_address_only(frame, verdicts)
    _check_required(frame, verdicts)
    times = {name: _check_time(frame[name], name, verdicts) for name in TIME_COLUMNS}
    lon, lat = _check_coordinates(frame, verdicts)
    _check_enums(frame, verdicts)
    satisfaction = _check_satisfaction(frame["satisfaction"], verdicts)
    _check_media(frame["media_urls"], verdicts)
    _check_category(frame["category"], reference.categories, verdicts)
    _check_description(frame["description"], verdicts)
    _check_duplicate_link(frame, verdicts)
    _check_repeats(frame["public_id"], verdicts)
    generation_id = _check_generation(times["created_at"], reference.generations, verdicts)
    good = verdicts.standing
    typed = pd.DataFrame({
        ROW: frame[ROW].to_numpy(),
        "public_id": frame["public_id"],
        "created_at": times["created_at"],
        "generation_id": generation_id,
        "category": frame["category"],
        "description": frame["description"],
        "channel": frame["channel"],
        "lon": lon,
        "lat": lat,
        "location_source": frame["location_source"],
        **{name: frame[name].where(frame[name] != "", None) for name in _OPTIONAL_TEXT},
        "status": frame["status"],
        **{name: times[name] for name in TIME_COLUMNS if name != "created_at"},
        "satisfaction": satisfaction,
        "media_urls": frame["media_urls"],
    })[list(TYPED_COLUMNS)]
    return Validated(typed[good].reset_index(drop=True), _rejections(raw, frame, verdicts))


def _rejections(raw: RawRows, frame: pd.DataFrame, verdicts: _Verdicts) -> tuple[Rejection, ...]:
    failed = ~verdicts.standing
    found = [Rejection(int(row), str(reason), str(detail)) for row, reason, detail in zip(
        frame[ROW].to_numpy()[failed].tolist(), verdicts.reason[failed].tolist(),
        verdicts.detail[failed].tolist(), strict=True)]
    found += [Rejection(u.row, why.UNREADABLE, u.detail) for u in raw.unreadable]
    return tuple(sorted(found))


# --- the checks, in the order of REASONS -----------------------------------------------------------


def _check_text(frame: pd.DataFrame, verdicts: _Verdicts) -> None:
    """Only run when the file scan found a NUL byte or invalid UTF-8 somewhere."""
    for name in COLUMNS:
        bad = frame[name].str.contains(BAD_TEXT_PATTERN, regex=True)
        verdicts.fail(bad, why.BAD_TEXT, f"{name} holds a NUL character or bytes that are not UTF-8")


def _check_address_only(frame: pd.DataFrame, verdicts: _Verdicts) -> None:
    """Rows with an address and no point are rejected, not geocoded.

    An address in a file is rarely more than a street or a district (and a street without a
    ward is a district at best): routing it to a commune would be a guess. Nor are such rows
    held as needs_location: a file is history or a back-fill, with no operator to place each
    row, and a held row would sit with the operations centre for ever. The detail says what
    to do instead.
    """
    no_point = (frame["lat"] == "") & (frame["lon"] == "")
    verdicts.fail(no_point & (frame["address"] != ""), why.ADDRESS_ONLY, _quoting(
        "no lat/lon, only the address ", frame["address"],
        ": an address is not routed to a commune in a bulk import; give the point, or submit "
        "it through POST /v1/reports (channel hotline) for the operations centre to place"))


def _check_required(frame: pd.DataFrame, verdicts: _Verdicts) -> None:
    for name in REQUIRED_COLUMNS:
        verdicts.fail(frame[name] == "", why.MISSING_FIELD, f"{name} is empty")


def _check_time(text: pd.Series, name: str, verdicts: _Verdicts) -> pd.Series:
    """The column as UTC timestamps (NaT where empty); malformed values fail the row."""
    present = (text != "").to_numpy()
    parsed = pd.to_datetime(text.where(present & _iso_shaped(text)), format="ISO8601", utc=True,
                            errors="coerce")
    bad = present & parsed.isna()
    verdicts.fail(bad, why.BAD_TIME,
                  _quoting(f"{name} is not an ISO 8601 time with a UTC offset: ", text))
    return parsed.astype("datetime64[us, UTC]")


def _iso_shaped(text: pd.Series) -> npt.NDArray[np.bool_]:
    """Which values look like ISO 8601 times with an offset.

    Fast path for the shape the import format writes (``2025-10-31T08:15:42+07:00``): the
    characters are compared position by position over a numpy array of all of them at once;
    only values of other lengths go through the regular expression.
    """
    length = text.str.len().to_numpy()
    shaped = np.zeros(len(text), dtype=bool)
    usual = length == len(_USUAL_SHAPE)
    if usual.any():
        codes = np.array(text[usual].tolist(), dtype=f"U{len(_USUAL_SHAPE)}").view(np.uint32)
        codes = codes.reshape(-1, len(_USUAL_SHAPE))
        fits = np.ones(len(codes), dtype=bool)
        for position, allowed in enumerate(_USUAL_SHAPE):
            column = codes[:, position]
            fits &= ((column >= ord("0")) & (column <= ord("9")) if allowed == "d"
                     else np.isin(column, [ord(c) for c in allowed]))
        shaped[usual] = fits
    other = ~shaped & (length > 0)
    if other.any():
        shaped[other] = text[other].str.fullmatch(_ISO_WITH_OFFSET).to_numpy(dtype=bool)
    return shaped


def _check_coordinates(frame: pd.DataFrame, verdicts: _Verdicts
                       ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    good = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180.0) & (np.abs(lat) <= 90.0)
    def word(mask: npt.NDArray[np.bool_]) -> Iterable[str]:
        return (_coordinate_detail(lo, la) for lo, la in zip(
            frame["lon"][mask].tolist(), frame["lat"][mask].tolist(), strict=True))

    verdicts.fail(~good, why.BAD_COORDINATES, word)
    return lon, lat


def _coordinate_detail(lon: str, lat: str) -> str:
    """What lonlat() says about this pair (the same words a single report would get)."""
    try:
        lonlat(lon, lat)
    except InvalidInput as exc:
        return exc.detail
    return f"lon {lon[:_QUOTE_CHARS]!r} / lat {lat[:_QUOTE_CHARS]!r} are not plain decimal numbers"


def _check_enums(frame: pd.DataFrame, verdicts: _Verdicts) -> None:
    for name, allowed in _ENUMS.items():
        text = frame[name]
        verdicts.fail(~text.isin(allowed), why.BAD_VALUE,
                      _quoting(f"{name} must be one of {', '.join(allowed)}, not ", text))


def _check_satisfaction(text: pd.Series, verdicts: _Verdicts) -> pd.Series:
    value = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = (text != "") & ~(value.isin((1, 2, 3, 4, 5)))
    verdicts.fail(bad, why.BAD_VALUE,
                  _quoting("satisfaction must be a whole number from 1 to 5, not ", text))
    return value.where(~bad).astype("Int16")


def _check_media(text: pd.Series, verdicts: _Verdicts) -> None:
    """At most as many media URLs as intake takes."""
    def urls(value: str) -> int:
        return sum(1 for url in value.split(MEDIA_SEPARATOR) if url)

    # Separators bound the count from above; only rows over the limit by that bound are counted.
    bound = (text.str.count(re.escape(MEDIA_SEPARATOR)) + 1).to_numpy()
    maybe = bound > MAX_MEDIA_URLS
    count = np.zeros(len(text), dtype=np.int64)
    count[maybe] = text[maybe].map(urls).to_numpy()
    verdicts.fail(count > MAX_MEDIA_URLS, why.BAD_VALUE, lambda mask: (
        f"media_urls has {n} URLs (at most {MAX_MEDIA_URLS})" for n in count[mask].tolist()))


def _check_category(text: pd.Series, categories: Collection[str], verdicts: _Verdicts) -> None:
    verdicts.fail(~text.isin(list(categories)), why.UNKNOWN_CATEGORY,
                  _quoting("unknown category ", text))


def _check_description(text: pd.Series, verdicts: _Verdicts) -> None:
    length = text.str.len().to_numpy()

    def word(mask: npt.NDArray[np.bool_]) -> Iterable[str]:
        return (f"description has {n:,} characters (at most {MAX_DESCRIPTION_CHARS:,})"
                for n in length[mask].tolist())

    verdicts.fail(length > MAX_DESCRIPTION_CHARS, why.DESCRIPTION_TOO_LONG, word)


def _check_duplicate_link(frame: pd.DataFrame, verdicts: _Verdicts) -> None:
    linked = frame["duplicate_of"] != ""
    is_duplicate = frame["status"] == "duplicate"
    verdicts.fail(is_duplicate & ~linked, why.BAD_DUPLICATE_LINK,
                  "status is 'duplicate' but duplicate_of is empty")
    verdicts.fail(linked & ~is_duplicate, why.BAD_DUPLICATE_LINK,
                  _quoting("duplicate_of is set but status is ", frame["status"]))
    verdicts.fail(linked & (frame["duplicate_of"] == frame["public_id"]), why.BAD_DUPLICATE_LINK,
                  "a report cannot be a duplicate of itself")


def _check_repeats(public_id: pd.Series, verdicts: _Verdicts) -> None:
    """Later records with the public_id of an earlier record still standing."""
    standing = verdicts.standing
    repeated = np.zeros(len(public_id), dtype=bool)
    repeated[standing] = public_id[standing].duplicated(keep="first").to_numpy()
    verdicts.fail(repeated, why.REPEATED_PUBLIC_ID,
                  _quoting("public_id ", public_id, " already appears in an earlier row"))


def _check_generation(created_at: pd.Series, generations: Sequence[Generation],
                      verdicts: _Verdicts) -> npt.NDArray[np.int16]:
    """The generation valid on each report's date in Huế (0 where none is)."""
    day = local_days(created_at)
    found = np.zeros(len(created_at), dtype=np.int16)
    for gen in generations:
        found[_within(day, gen.valid_from, gen.valid_to)] = gen.id
    missing = (found == 0) & created_at.notna().to_numpy()
    verdicts.fail(missing, why.NO_GENERATION, lambda mask: (
        f"no published boundary generation is valid on {day}" for day in day[mask].tolist()))
    return found


def local_days(times: pd.Series) -> npt.NDArray[np.datetime64]:
    """The calendar day in Huế of each UTC time (NaT stays NaT)."""
    local = times.dt.tz_convert(TIMEZONE).dt.tz_localize(None)
    days: npt.NDArray[np.datetime64] = local.to_numpy(dtype="datetime64[us]").astype("datetime64[D]")
    return days


def _within(day: npt.NDArray[np.datetime64], first: dt.date | None, last: dt.date | None
            ) -> npt.NDArray[np.bool_]:
    inside = ~np.isnat(day)
    if first is not None:
        inside &= day >= np.datetime64(first, "D")
    if last is not None:
        inside &= day <= np.datetime64(last, "D")
    return inside

