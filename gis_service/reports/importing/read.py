"""Reading a bulk-import file into one table of text fields, before any checking.

Two formats carry the columns of :mod:`gis_service.reports.importing.format`: the CSV itself, and
GeoJSON (a FeatureCollection of Points whose properties are those columns; the point comes
from the geometry, and any ``lat``/``lon`` properties are ignored). Either way the result is a
DataFrame of strings, one column per import column, ``""`` for an empty field, and a ``row``
column numbering the records from 1 (the header is not a record). GeoJSON features that
cannot be read as a row (no Point, a property that is an object) come back as
:class:`Unreadable` rows for the summary. A file that is not a CSV of these columns or a
FeatureCollection at all raises :class:`DataError`, and nothing is imported; so does a CSV
record with more fields than the header. A record with fewer fields reads its missing
trailing fields as empty (as pandas does), and is then checked like any other.
"""

from __future__ import annotations

import codecs
import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gis_service.errors import DataError
from gis_service.reports.importing.format import COLUMNS, MEDIA_SEPARATOR

ROW = "row"
#: Reading in chunks of this many bytes to look for NUL bytes and invalid UTF-8.
_SCAN_CHUNK = 16 * 1024 * 1024
_GEOJSON_SUFFIXES = (".geojson", ".json")
# Strings decoded with errors="surrogateescape" carry each undecodable byte as a lone surrogate.
BAD_TEXT_PATTERN = "[\x00\udc80-\udcff]"


@dataclass(frozen=True)
class Unreadable:
    """A record that could not be read as a row of the import format."""

    row: int
    detail: str


@dataclass(frozen=True)
class RawRows:
    """The file's records as text, and those that could not be read."""

    frame: pd.DataFrame
    unreadable: tuple[Unreadable, ...]
    #: False when the scan found a NUL byte or invalid UTF-8, so fields must be checked for them.
    clean_text: bool

    @property
    def count(self) -> int:
        return len(self.frame) + len(self.unreadable)


def read_rows(path: Path) -> RawRows:
    """Read a CSV or GeoJSON import file (by its suffix) as text.

    >>> read_rows(Path("history.csv")).frame.columns[:3].tolist()  # doctest: +SKIP
    ['public_id', 'created_at', 'category']
    """
    if not path.is_file():
        raise DataError(f"no such file: {path}", field="file")
    if path.suffix.lower() in _GEOJSON_SUFFIXES:
        return read_geojson(path)
    return read_csv(path)


def _clean_bytes(path: Path) -> bool:
    """Whether the file is valid UTF-8 without NUL bytes (PostgreSQL text holds neither)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_SCAN_CHUNK), b""):
            if b"\x00" in chunk:
                return False
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def read_csv(path: Path) -> RawRows:
    """Read the CSV import format; the header must name exactly the import columns."""
    clean = _clean_bytes(path)
    try:
        with warnings.catch_warnings():
            # A surplus field in the first record is only a warning (it would shift columns).
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_filter=False, engine="c",
                index_col=False,
                # utf-8-sig drops a byte-order mark; undecodable bytes are kept as surrogates so
                # the rows holding them are rejected one by one instead of failing the file.
                encoding="utf-8-sig", encoding_errors="surrogateescape",
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning, pd.errors.EmptyDataError,
            ValueError) as exc:
        raise DataError(f"{path.name} is not a readable CSV file: {exc}", field="file") from exc
    _check_header(list(frame.columns), path)
    frame = frame[list(COLUMNS)]
    frame.insert(0, ROW, pd.RangeIndex(1, len(frame) + 1))
    return RawRows(frame, (), clean)


def _check_header(names: list[str], path: Path) -> None:
    missing = [name for name in COLUMNS if name not in names]
    unknown = [name for name in names if name not in COLUMNS]
    if missing or unknown or len(names) != len(COLUMNS):
        parts = [f"missing {', '.join(missing)}" if missing else "",
                 f"unknown {', '.join(map(repr, unknown))}" if unknown else ""]
        raise DataError(
            f"{path.name}: the header must name the import columns "
            f"({'; '.join(p for p in parts if p) or 'a column is repeated'})", field="file")


# --- GeoJSON -----------------------------------------------------------------------------------


def read_geojson(path: Path) -> RawRows:
    """Read a FeatureCollection of Points whose properties are the import columns."""
    clean = _clean_bytes(path)
    try:
        document = json.loads(path.read_bytes().decode("utf-8-sig", errors="surrogateescape"))
    except (ValueError, RecursionError) as exc:
        raise DataError(f"{path.name} is not valid JSON: {exc}", field="file") from exc
    if not isinstance(document, Mapping) or document.get("type") != "FeatureCollection" \
            or not isinstance(document.get("features"), list):
        raise DataError(f"{path.name} is not a GeoJSON FeatureCollection", field="file")
    records: list[dict[str, str]] = []
    unreadable: list[Unreadable] = []
    for row, feature in enumerate(document["features"], 1):
        try:
            records.append({ROW: str(row), **_feature_fields(feature)})
        except ValueError as exc:
            unreadable.append(Unreadable(row, str(exc)))
    frame = pd.DataFrame.from_records(records, columns=[ROW, *COLUMNS]).fillna("")
    frame[ROW] = frame[ROW].astype("int64")
    return RawRows(frame, tuple(unreadable), clean)


def _feature_fields(feature: object) -> dict[str, str]:
    """A feature's properties as import fields, its point as ``lon``/``lat``."""
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    lon, lat = _point(feature.get("geometry"))
    properties = feature.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise ValueError("the feature's properties are not an object")
    fields = {name: _field(name, properties.get(name)) for name in COLUMNS}
    fields["lon"], fields["lat"] = lon, lat
    return fields


def _point(geometry: object) -> tuple[str, str]:
    if not isinstance(geometry, Mapping) or geometry.get("type") != "Point":
        raise ValueError("the feature has no Point geometry")
    coordinates = geometry.get("coordinates")
    # A position is [lon, lat] or [lon, lat, height] of numbers (RFC 7946 3.1.1): anything
    # else is a malformed file, not a point to read the first two values of.
    if not isinstance(coordinates, list) or len(coordinates) not in (2, 3) or not all(
            isinstance(value, int | float) and not isinstance(value, bool) for value in coordinates):
        raise ValueError("the Point's coordinates must be [lon, lat] or [lon, lat, height] numbers")
    return _scalar("lon", coordinates[0]), _scalar("lat", coordinates[1])


def _field(name: str, value: object) -> str:
    if name == "media_urls" and isinstance(value, list):
        return MEDIA_SEPARATOR.join(_scalar(name, item) for item in value)
    return _scalar(name, value)


def _scalar(name: str, value: object) -> str:
    """A JSON scalar as the text a CSV field would hold; objects and lists are refused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"  # fails the checks of every column, as it should
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "nan"
    raise ValueError(f"property {name} is a JSON {type(value).__name__}, not a string or number")

