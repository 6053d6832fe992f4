"""The vietnamadminunits gazetteer: Vietnam's 2025 wards, the legacy (pre-2025) communes, and
the official mapping between them.

This is the one module that reads the package's data. It reads the files shipped in the
installed package (``data/dataset.db`` and ``data/converter_2025.json``) directly, without
importing the package itself (whose import builds address parsers: a third of a second) and
without any network access. Everything is returned as frozen dataclasses and cached.

Keys (``key``, ``short_key``, ``aliases``, ``keywords``) are the gazetteer's own search keys,
folded again with :func:`name_key` so all of them are plain lower-case ASCII: the package
stores a few of them with their diacritics.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from gis_service.coords import LonLat
from gis_service.text import fold_vietnamese

PACKAGE = "vietnamadminunits"
HUE = "46"
# Spherical Earth radius for nearest-commune distances (metres); the error is well under 1%.
_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class BBox:
    """A lon/lat bounding box.

    >>> BBox(107.5, 16.4, 107.6, 16.5).contains(LonLat(107.55, 16.45))
    True
    """

    west: float
    south: float
    east: float
    north: float

    def contains(self, point: LonLat) -> bool:
        return self.west <= point.lon <= self.east and self.south <= point.lat <= self.north


@dataclass(frozen=True)
class Province:
    """A province-level unit (2025 structure; Huế's code and name did not change in 2025)."""

    code: str
    name: str
    short_name: str
    unit_type: str
    position: LonLat
    key: str
    short_key: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Ward2025:
    """A ward (phường) or commune (xã) of the 2025 two-tier structure."""

    code: str
    name: str
    short_name: str
    unit_type: str
    province_code: str
    position: LonLat
    area_km2: float
    key: str
    short_key: str
    aliases: tuple[str, ...]
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class LegacyDistrict:
    """A district of the legacy (pre-2025) three-tier structure."""

    code: str
    name: str
    short_name: str
    unit_type: str
    province_code: str
    position: LonLat
    bbox: BBox
    key: str
    short_key: str
    aliases: tuple[str, ...]
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class LegacyCommune:
    """A commune (xã, phường, thị trấn) of the legacy (pre-2025) structure.

    ``aliases`` are the keys of communes merged into this one before 2025 (and older names).
    ``position_is_district``: the gazetteer gave this commune its district's position (its
    geocoder found no better), so the point says nothing about where the commune lies;
    ``bbox_is_district`` likewise for the bounding box.
    """

    code: str
    name: str
    short_name: str
    unit_type: str
    district_code: str
    province_code: str
    position: LonLat
    bbox: BBox
    key: str
    short_key: str
    aliases: tuple[str, ...]
    keywords: tuple[str, ...]
    position_is_district: bool
    bbox_is_district: bool


@dataclass(frozen=True)
class OldCommune:
    """A commune of an older boundary set (e.g. the 2019 GSO list), to be linked to the gazetteer."""

    code: str
    name: str
    district_code: str
    centroid: LonLat


MatchMethod = Literal["code", "alias", "alias_short", "nearest"]


@dataclass(frozen=True)
class CommuneLink:
    """How one old commune was linked to a legacy commune, and the 2025 ward it became part of.

    ``method``: ``code`` (same GSO code), ``alias`` (its folded full name, e.g. ``xaphuthanh``,
    is an alias of the legacy commune it merged into), ``alias_short`` (the same with the name
    without its type), ``nearest`` (no alias: the legacy commune whose point is nearest to its
    centroid, ``distance_m`` away).
    """

    old_code: str
    legacy_code: str
    ward_code: str
    method: MatchMethod
    distance_m: float | None = None


def name_key(text: str) -> str:
    """Fold a name to the gazetteer's key form: lower-case ASCII letters and digits only.

    >>> name_key("Xã Phú Thanh")
    'xaphuthanh'
    """
    return re.sub(r"[^a-z0-9]", "", fold_vietnamese(text).lower())


@cache
def data_dir() -> Path:
    """The installed package's data folder (found without importing the package)."""
    spec = find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {PACKAGE} package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@cache
def _rows(table: Literal["admin_units", "admin_units_legacy"], province_code: str
          ) -> tuple[dict[str, Any], ...]:
    uri = (data_dir() / "dataset.db").as_uri() + "?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        db.row_factory = sqlite3.Row
        # The table name comes from the Literal above, never from input.
        rows = db.execute(
            f"SELECT * FROM {table} WHERE provinceCode = ? ORDER BY rowid",
            (province_code,),
        ).fetchall()
    return tuple(dict(row) for row in rows)


def _keys(*raw: str | None) -> tuple[str, ...]:
    """Merge JSON lists of keys, folded and without repeats, in their first order."""
    merged: dict[str, None] = {}
    for item in raw:
        for key in json.loads(item) if item else ():
            merged.setdefault(name_key(key), None)
    return tuple(merged)


def _bbox(text: str | None, position: LonLat) -> BBox:
    """Parse the gazetteer's ``"lat,lon – lat,lon"`` bounds (south-west – north-east).

    A few legacy communes elsewhere in Vietnam have no bounds: their box is their position.
    """
    if not text:
        return BBox(west=position.lon, south=position.lat, east=position.lon, north=position.lat)
    south_west, north_east = (part.strip() for part in text.split("–"))
    south, west = (float(v) for v in south_west.split(","))
    north, east = (float(v) for v in north_east.split(","))
    return BBox(west=west, south=south, east=east, north=north)


def _unit_type(name: str, short_name: str) -> str:
    return name[: len(name) - len(short_name)].strip()


@cache
def province(code: str = HUE) -> Province:
    """The province (2025 structure).

    >>> province().name
    'Thành phố Huế'
    """
    rows = _rows("admin_units", code)
    if not rows:
        raise LookupError(f"the gazetteer has no province {code!r}")
    row = rows[0]
    return Province(
        code=code,
        name=row["province"],
        short_name=row["provinceShort"],
        unit_type=_unit_type(row["province"], row["provinceShort"]),
        position=LonLat(row["provinceLon"], row["provinceLat"]),
        key=name_key(row["provinceKey"]),
        short_key=name_key(row["provinceShortKey"]),
        keywords=_keys(row["provinceKeywords"]),
    )


@cache
def wards_2025(province_code: str = HUE) -> tuple[Ward2025, ...]:
    """The wards and communes of the 2025 structure (40 for Huế).

    >>> len(wards_2025())
    40
    """
    return tuple(
        Ward2025(
            code=row["wardCode"],
            name=row["ward"],
            short_name=row["wardShort"],
            unit_type=row["wardType"],
            province_code=province_code,
            position=LonLat(row["wardLon"], row["wardLat"]),
            # (a few wards elsewhere in Vietnam have no area in the gazetteer)
            area_km2=float(row["wardAreaKm2"] or "nan"),
            key=name_key(row["wardKey"]),
            short_key=name_key(row["wardShortKey"]),
            aliases=_keys(row["wardAlias"]),
            keywords=_keys(row["wardKeywords"]),
        )
        for row in _rows("admin_units", province_code)
    )


@cache
def legacy_districts(province_code: str = HUE) -> tuple[LegacyDistrict, ...]:
    """The districts of the legacy structure (9 for Huế, Nam Đông already inside Phú Lộc)."""
    seen: dict[str, LegacyDistrict] = {}
    for row in _rows("admin_units_legacy", province_code):
        if row["districtCode"] in seen:
            continue
        seen[row["districtCode"]] = LegacyDistrict(
            code=row["districtCode"],
            name=row["district"],
            short_name=row["districtShort"],
            unit_type=row["districtType"],
            province_code=province_code,
            position=(position := LonLat(row["districtLon"], row["districtLat"])),
            bbox=_bbox(row["districtBounds"], position),
            key=name_key(row["districtKey"]),
            short_key=name_key(row["districtShortKey"]),
            aliases=_keys(row["districtAlias"]),
            keywords=_keys(row["districtKeywords"]),
        )
    return tuple(seen.values())


def _legacy_commune(row: Mapping[str, Any], district_boxes: frozenset[str]) -> LegacyCommune:
    position = LonLat(row["wardLon"], row["wardLat"])
    return LegacyCommune(
        code=row["wardCode"],
        name=row["ward"],
        short_name=row["wardShort"],
        unit_type=row["wardType"],
        district_code=row["districtCode"],
        province_code=row["provinceCode"],
        position=position,
        bbox=_bbox(row["wardBounds"], position),
        key=name_key(row["wardKey"]),
        short_key=name_key(row["wardShortKey"]),
        aliases=_keys(row["wardAlias"]),
        keywords=_keys(row["wardKeywords"]),
        position_is_district=position == LonLat(row["districtLon"], row["districtLat"]),
        # Some communes carry another district's box (Phường Hương Phong has Hương Trà's).
        bbox_is_district=row["wardBounds"] in district_boxes,
    )


@cache
def legacy_communes(province_code: str = HUE) -> tuple[LegacyCommune, ...]:
    """The communes of the legacy structure (133 for Huế), in the gazetteer's order.

    >>> next(c for c in legacy_communes() if c.code == "19909").aliases[:2]
    ('xaphuduong', 'phuduong')
    """
    rows = _rows("admin_units_legacy", province_code)
    district_boxes = frozenset(
        {row["districtBounds"] for row in rows} | {row["provinceBounds"] for row in rows}
    )
    # Districts without communes (island districts such as Hoàng Sa, Bạch Long Vĩ elsewhere in
    # Vietnam) have one row with no ward: not a commune.
    return tuple(_legacy_commune(row, district_boxes) for row in rows if row["wardCode"])


@cache
def _converter() -> dict[str, Any]:
    with open(data_dir() / "converter_2025.json", encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@cache
def legacy_to_2025(province_code: str = HUE) -> Mapping[str, str]:
    """Legacy commune code -> code of the 2025 ward it became part of (the official mapping).

    Read from the package's converter. Legacy communes split between several 2025 wards are
    not in this mapping (Huế has none); they raise in :func:`commune_2019_to_2025`.

    >>> legacy_to_2025()["19780"]  # Phường Đúc -> Phường Thuận Hóa
    '19789'
    """
    rows = _rows("admin_units_legacy", province_code)
    if not rows:
        return MappingProxyType({})
    # The converter joins "<province key>_<district key>_<ward key>" with the raw keys.
    legacy_by_key = {
        f"{row['provinceKey']}_{row['districtKey']}_{row['wardKey']}": row["wardCode"]
        for row in rows
    }
    new_rows = _rows("admin_units", province_code)
    new_by_key = {row["wardKey"]: row["wardCode"] for row in new_rows}
    new_province_key = new_rows[0]["provinceKey"]
    wards = _converter()["DICT_PROVINCE_WARD_NO_DIVIDED"].get(new_province_key, {})
    return MappingProxyType({
        legacy_by_key[old_key]: new_by_key[new_key]
        for new_key, old_keys in wards.items()
        for old_key in old_keys
        if old_key in legacy_by_key
    })


def _distance_m(a: LonLat, b: LonLat) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi, dlam = phi2 - phi1, math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(math.sqrt(h))


def _short_key(commune: OldCommune) -> str:
    """The key of the name without its type prefix ("Xã Phú Thanh" -> "phuthanh")."""
    key = name_key(commune.name)
    for prefix in ("thitran", "phuong", "xa"):
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix):]
    return key


def _pick(commune: OldCommune, candidates: Iterable[LegacyCommune]) -> LegacyCommune | None:
    """Prefer a candidate in the same district, then the nearest one."""
    ranked = sorted(
        candidates,
        key=lambda c: (c.district_code != commune.district_code,
                       _distance_m(commune.centroid, c.position)),
    )
    return ranked[0] if ranked else None


def _link_one(commune: OldCommune, legacy: tuple[LegacyCommune, ...]) -> tuple[LegacyCommune,
                                                                                 MatchMethod]:
    by_code = {c.code: c for c in legacy}
    if commune.code in by_code:
        return by_code[commune.code], "code"
    # Only aliases (names merged in), not keywords: a keyword is a commune's own name, and
    # "phuthuan" is both Xã Phú Thuận's name and an alias of Phường Thuận Hòa.
    full, short = name_key(commune.name), _short_key(commune)
    found = _pick(commune, (c for c in legacy if full in c.aliases))
    if found is not None:
        return found, "alias"
    found = _pick(commune, (c for c in legacy if short in c.aliases))
    if found is not None:
        return found, "alias_short"
    nearest = min(legacy, key=lambda c: _distance_m(commune.centroid, c.position))
    return nearest, "nearest"


@cache
def commune_2019_to_2025(communes: tuple[OldCommune, ...], province_code: str = HUE
                         ) -> Mapping[str, CommuneLink]:
    """Link each old commune (e.g. the 152 of the 2019 GSO list) to the 2025 ward it is part of.

    Communes whose code is still in the legacy list (133 of Huế's 152) link by code; the
    others were merged into a legacy commune between 2019 and 2025 and link by alias (see
    :class:`CommuneLink`). Raises ``LookupError`` when a linked legacy commune has no 2025 ward.

    >>> link = commune_2019_to_2025((OldCommune("19924", "Xã Phú Thanh", "478",
    ...                              LonLat(107.63, 16.51)),))["19924"]
    >>> (link.legacy_code, link.ward_code, link.method)
    ('19909', '19909', 'alias')
    """
    legacy = legacy_communes(province_code)
    mapping = legacy_to_2025(province_code)
    links: dict[str, CommuneLink] = {}
    for commune in communes:
        found, method = _link_one(commune, legacy)
        if found.code not in mapping:
            raise LookupError(f"legacy commune {found.code} ({found.name}) has no 2025 ward")
        distance = _distance_m(commune.centroid, found.position) if method == "nearest" else None
        links[commune.code] = CommuneLink(commune.code, found.code, mapping[found.code], method,
                                          distance)
    return MappingProxyType(links)
