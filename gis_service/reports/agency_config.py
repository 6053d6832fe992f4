"""Parsing ``boundaries/reports/agencies.toml``: agencies, generated committees and rules.

This module only reads and checks the file (no database); :mod:`gis_service.reports.agencies`
resolves unit codes against a boundary generation and writes the tables. The file format is
described at the top of the file itself. Every mistake raises :class:`DataError` naming the
entry (``[[rule]] 7 ('citadel-monuments')``) and what is wrong with it.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gis_service import tomlcheck
from gis_service.db.schema import AGENCY_KINDS, LEVELS
from gis_service.errors import DataError
from gis_service.notify.channel_config import NOTIFY_KEY, ChannelSpec, read_channels

AGENCIES_FILE = "agencies.toml"
#: ``supervisor = "parent"`` in a [[committees]] entry: the agency answering for the parent unit.
PARENT = "parent"
#: Fields a [[committees]] code or name template may use.
TEMPLATE_FIELDS = frozenset({"generation", "code", "name", "level"})
#: A buffer wider than this is a polygon drawn the hard way: draw the polygon.
MAX_BUFFER_M = 5000.0
# Longitude/latitude bounds of Vietnam's territory (islands included), loosely: a shape outside
# them is almost always lat/lon swapped or in a projected CRS.
_LON = (102.0, 118.0)
_LAT = (7.0, 24.0)
#: Agency and rule codes (a committee code template is checked once rendered).
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.{}-]{0,79}")

_AGENCY_KEYS = {"code", "name", "kind", "supervisor", "unit", "unit_level", "email", NOTIFY_KEY}
_COMMITTEE_KEYS = {"level", "kind", "code", "name", "supervisor"}
_RULE_KEYS = {"code", "agency", "categories", "priority", "description", "approximate", "unit",
              "unit_level", "generation", "polygon", "line", "buffer_m"}
_AREA_KEYS = ("unit", "polygon", "line")


@dataclass(frozen=True)
class UnitSelector:
    """A unit of the generation being loaded, by code and/or level."""

    code: str | None
    level: str | None

    def describe(self) -> str:
        return " ".join(p for p in (self.level, repr(self.code) if self.code else None) if p)


@dataclass(frozen=True)
class AgencySpec:
    code: str
    name: str
    kind: str
    supervisor: str | None
    unit: UnitSelector | None
    email: str | None
    where: str
    #: How the agency is notified ([[agency.notify]]); none: it is not.
    channels: tuple[ChannelSpec, ...] = ()


@dataclass(frozen=True)
class CommitteeSpec:
    """One agency per unit of ``level`` in the generation, named from templates."""

    level: str
    kind: str
    code: str
    name: str
    supervisor: str
    where: str

    def render(self, template: str, generation: str, code: str, name: str) -> str:
        return template.format(generation=generation, code=code, name=name, level=self.level)


@dataclass(frozen=True)
class RuleSpec:
    code: str
    agency: str
    categories: tuple[str, ...] | None
    priority: int
    description: str
    approximate: bool
    area_kind: str
    unit: UnitSelector | None
    shape: BaseGeometry | None
    buffer_m: float | None
    generation: str | None
    where: str


@dataclass(frozen=True)
class AgencyConfig:
    source: str
    agencies: tuple[AgencySpec, ...]
    committees: tuple[CommitteeSpec, ...]
    rules: tuple[RuleSpec, ...]


def read_agency_config(path: Path) -> AgencyConfig:
    """Parse and check the agency file (no database).

    >>> config = read_agency_config(Path("boundaries/reports/agencies.toml"))  # doctest: +SKIP
    >>> config.agencies[0].code  # doctest: +SKIP
    'ubnd-hue'
    """
    document = tomlcheck.read_toml(path)
    where = str(path)
    tomlcheck.no_unknown_keys(document, {"agency", "committees", "rule"}, where)
    agencies = tuple(_agency(t, f"{where} [[agency]] {n}")
                     for n, t in enumerate(tomlcheck.tables(document, "agency", where), start=1))
    committees = tuple(
        _committee(t, f"{where} [[committees]] {n}")
        for n, t in enumerate(tomlcheck.tables(document, "committees", where), start=1)
    )
    rules = tuple(_rule(t, f"{where} [[rule]] {n}")
                  for n, t in enumerate(tomlcheck.tables(document, "rule", where), start=1))
    _check_unique([a.code for a in agencies], "agency", where)
    _check_unique([r.code for r in rules], "rule", where)
    return AgencyConfig(where, agencies, committees, rules)


def _check_unique(codes: list[str], what: str, where: str) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise DataError(f"{where}: {what} {code!r} is declared twice")
        seen.add(code)


def _code(table: Mapping[str, Any], where: str) -> str:
    code = tomlcheck.string(table, "code", where)
    if not CODE_PATTERN.fullmatch(code):
        raise DataError(f"{where}: code {code!r} must be ASCII letters, digits, '-', '_' or '.'")
    return code


def _kind(table: Mapping[str, Any], where: str) -> str:
    kind = tomlcheck.string(table, "kind", where)
    if kind not in AGENCY_KINDS:
        raise DataError(f"{where}: kind must be one of {', '.join(AGENCY_KINDS)}, not {kind!r}")
    return kind


def _level(table: Mapping[str, Any], key: str, where: str) -> str | None:
    level = tomlcheck.optional_string(table, key, where)
    if level is not None and level not in LEVELS:
        raise DataError(f"{where}: {key} must be one of {', '.join(LEVELS)}, not {level!r}")
    return level


def _unit_selector(table: Mapping[str, Any], where: str) -> UnitSelector | None:
    code = tomlcheck.optional_string(table, "unit", where)
    level = _level(table, "unit_level", where)
    return None if code is None and level is None else UnitSelector(code, level)


def _agency(table: Mapping[str, Any], where: str) -> AgencySpec:
    tomlcheck.no_unknown_keys(table, _AGENCY_KEYS, where)
    code = _code(table, where)
    where = f"{where} ({code!r})"
    return AgencySpec(
        code=code,
        name=tomlcheck.string(table, "name", where),
        kind=_kind(table, where),
        supervisor=tomlcheck.optional_string(table, "supervisor", where),
        unit=_unit_selector(table, where),
        email=tomlcheck.optional_string(table, "email", where),
        where=where,
        channels=read_channels(table, where),
    )


def _template(table: Mapping[str, Any], key: str, where: str) -> str:
    template = tomlcheck.string(table, key, where)
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise DataError(f"{where}: {key} template {template!r}: {exc}") from exc
    unknown = sorted(fields - TEMPLATE_FIELDS)
    if unknown:
        raise DataError(f"{where}: {key} template uses {{{unknown[0]}}}; it may use "
                        + ", ".join(f"{{{f}}}" for f in sorted(TEMPLATE_FIELDS)))
    return template


def _committee(table: Mapping[str, Any], where: str) -> CommitteeSpec:
    tomlcheck.no_unknown_keys(table, _COMMITTEE_KEYS, where)
    level = _level(table, "level", where)
    if level is None:
        raise DataError(f"{where}: 'level' is required")
    code = _template(table, "code", where)
    if "{code}" not in code:
        raise DataError(f"{where}: the code template must contain {{code}} (one agency per unit)")
    return CommitteeSpec(level, _kind(table, where), code, _template(table, "name", where),
                         tomlcheck.string(table, "supervisor", where), where)


def _rule(table: Mapping[str, Any], where: str) -> RuleSpec:
    tomlcheck.no_unknown_keys(table, _RULE_KEYS, where)
    code = _code(table, where)
    where = f"{where} ({code!r})"
    areas = [key for key in _AREA_KEYS if key in table]
    if len(areas) != 1:
        raise DataError(f"{where}: give exactly one area: 'unit', 'polygon' or 'line' "
                        f"(found {', '.join(areas) or 'none'})")
    area = areas[0]
    if ("buffer_m" in table) != (area == "line"):
        raise DataError(f"{where}: 'buffer_m' (metres) goes with 'line', and only with it")
    if "unit_level" in table and area != "unit":
        raise DataError(f"{where}: 'unit_level' goes with 'unit'")
    categories = tomlcheck.string_list(table, "categories", where)
    return RuleSpec(
        code=code,
        agency=tomlcheck.string(table, "agency", where),
        categories=None if categories is None else tuple(sorted(set(categories))),
        priority=tomlcheck.integer(table, "priority", where, default=0),
        description=str(table.get("description", "")),
        approximate=tomlcheck.boolean(table, "approximate", where),
        area_kind={"unit": "unit", "polygon": "polygon", "line": "line_buffer"}[area],
        unit=_unit_selector(table, where) if area == "unit" else None,
        shape=None if area == "unit" else _shape(table[area], area, where),
        buffer_m=_buffer(table, where) if area == "line" else None,
        generation=tomlcheck.optional_string(table, "generation", where),
        where=where,
    )


def _buffer(table: Mapping[str, Any], where: str) -> float:
    value = table["buffer_m"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_BUFFER_M:
        raise DataError(f"{where}: 'buffer_m' must be a number of metres in (0, {MAX_BUFFER_M:g}]")
    return float(value)


def _shape(value: object, area: str, where: str) -> BaseGeometry:
    """A polygon or line from WKT, a GeoJSON string or an inline GeoJSON table, checked."""
    geometry = _parse_shape(value, area, where)
    wanted = ("Polygon", "MultiPolygon") if area == "polygon" else ("LineString", "MultiLineString")
    if geometry.geom_type not in wanted or geometry.is_empty:
        raise DataError(f"{where}: '{area}' must be a non-empty {' or '.join(wanted)}, "
                        f"not {geometry.geom_type}")
    if not shapely.is_valid(geometry):
        raise DataError(f"{where}: invalid {area}: {shapely.is_valid_reason(geometry)}")
    minx, miny, maxx, maxy = geometry.bounds
    if not (_LON[0] <= minx and maxx <= _LON[1] and _LAT[0] <= miny and maxy <= _LAT[1]):
        raise DataError(f"{where}: {area} coordinates must be longitude latitude (EPSG:4326) in "
                        f"Vietnam; bounds are ({minx:g} {miny:g}, {maxx:g} {maxy:g}): swapped?")
    return shapely.force_2d(geometry)


def _parse_shape(value: object, area: str, where: str) -> BaseGeometry:
    try:
        if isinstance(value, Mapping):
            return shape(dict(value))
        if isinstance(value, str) and value.lstrip().startswith("{"):
            return shape(json.loads(value))
        if isinstance(value, str):
            return shapely.from_wkt(value)
    except (ShapelyError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise DataError(f"{where}: cannot read '{area}' as WKT or GeoJSON: {exc}") from exc
    raise DataError(f"{where}: '{area}' must be WKT, a GeoJSON string or a GeoJSON table")
