"""Reference boundaries: Vietnam's 34 provinces and 3,321 wards of 2025, for context only.

The ``vn_reference`` builder (``boundaries/vn2025.toml``) reads the national files of
sapnhap.bando.com.vn (simplified to ~22 m) into a generation of kind ``reference``: what says
which province (and ward) a point outside Huế lies in, and where Vietnam's land ends. Reports
are never filed under it and it is never published (see :mod:`gis_service.boundaries.generations`).

Loading is lean, because every test session and demo loads it: one vectorised read per file,
``make_valid`` only on invalid shapes, and no tiling validation (the source is a clean coverage,
checked when it was simplified; the 2025 Huế generation is validated as before). Unit types come
from each ``fullName`` less its ``name`` ("Phường" + "Ba Đình"); the wards' parent is their
``province_code``. The ward layer may be left out (``wards = ""``): then a point is placed in its
province only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.errors
import shapely
from sqlalchemy import Connection, select, update

from gis_service.boundaries.derive import DerivedGeneration, Layer
from gis_service.boundaries.features import Provenance, UnitFeature
from gis_service.boundaries.generations import by_code
from gis_service.boundaries.sources import normalise_unit_type, polygonal_parts
from gis_service.boundaries.surroundings import split_surroundings, store_surroundings
from gis_service.coords import LonLat
from gis_service.db.schema import admin_unit, generation
from gis_service.errors import DataError

_COLUMNS = ("code", "name", "fullName")
_PARENT = "province_code"


def _text(spec: Mapping[str, object], key: str, *, required: bool = True) -> str:
    value = spec.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise DataError(f"[derive] needs a text value for {key!r}", field=key)
    return value


def unit_type_of(full_name: str, name: str) -> str | None:
    """The unit type a full name puts before the short name.

    >>> unit_type_of("Đặc khu Phú Quốc", "Phú Quốc"), unit_type_of("xã Bắc Sơn", "Bắc Sơn")
    ('Đặc khu', 'Xã')
    """
    prefix = full_name[: len(full_name) - len(name)].strip() if full_name.endswith(name) else ""
    return normalise_unit_type(prefix)


def _read(path: Path, columns: tuple[str, ...]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    try:
        meta, _fids, wkb, data = pyogrio.raw.read(path, columns=list(columns), force_2d=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError) as exc:
        raise DataError(f"cannot read reference boundaries {path}: {exc}") from exc
    found = dict(zip((str(f) for f in meta["fields"]), data, strict=True))
    missing = [c for c in columns if c not in found]
    if missing:
        raise DataError(f"{path}: no field {missing[0]!r}", field=missing[0])
    if meta.get("crs") not in (None, "EPSG:4326", "OGC:CRS84"):
        raise DataError(f"{path}: reference boundaries must be in lon/lat (EPSG:4326), "
                        f"not {meta.get('crs')}")
    shapes = shapely.from_wkb(wkb)
    invalid = ~shapely.is_valid(shapes)
    shapes[invalid] = shapely.make_valid(shapes[invalid])
    return shapes, found


def read_reference_units(path: Path, *, with_parent: bool) -> list[UnitFeature]:
    """One national file's units (parents by ``province_code`` when ``with_parent``)."""
    shapes, columns = _read(path, _COLUMNS + ((_PARENT,) if with_parent else ()))
    features = []
    for index, shape in enumerate(shapes):
        code, name, full = (str(columns[c][index]) for c in _COLUMNS)
        unit_type = unit_type_of(full, name)
        where = f"{path}: feature {index} (code {code!r})"
        if unit_type is None:
            raise DataError(f"{where}: no unit type in the full name {full!r}")
        parts = polygonal_parts(shape) if shape is not None else None
        if parts is None or parts.is_empty:
            raise DataError(f"{where}: no polygon")
        parent = str(columns[_PARENT][index]) if with_parent else None
        features.append(UnitFeature(index, code, full, unit_type, parts, parent_code=parent))
    return features


def _points(spec: Mapping[str, object], key: str) -> list[LonLat]:
    raw = spec.get(key, [])
    if not isinstance(raw, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(v, int | float) for v in p)
            for p in raw):
        raise DataError(f"[derive] {key!r} must be a list of [lon, lat] pairs", field=key)
    return [LonLat(float(p[0]), float(p[1])) for p in raw]


def _window(spec: Mapping[str, object]) -> float:
    value = spec.get("window_deg", 0.1)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 2:
        raise DataError("[derive] 'window_deg' must be a number of degrees in (0, 2]",
                        field="window_deg")
    return float(value)


def _codes(spec: Mapping[str, object], key: str) -> list[str]:
    raw = spec.get(key)
    if not isinstance(raw, list) or not raw or not all(isinstance(c, str) and c for c in raw):
        raise DataError(f"[derive] {key!r} must be a non-empty list of generation codes",
                        field=key)
    return list(raw)


def surround(conn: Connection, reference_code: str, service_codes: Sequence[str],
             home_code: str) -> list[str]:
    """Make the reference generation surround the service generations (``surrounded_by``):
    from then on its boundaries speak for their points (see
    :mod:`gis_service.spatial.service_area`). Each must be a service generation whose province
    is ``home_code``, the province the surroundings were cut around. Returns the codes."""
    reference_id = by_code(conn, reference_code).id
    for code in service_codes:
        target = by_code(conn, code)
        if target.is_reference:
            raise DataError(f"[derive] surrounds: {code!r} is a reference generation",
                            field="surrounds")
        provinces = conn.execute(select(admin_unit.c.code).where(
            admin_unit.c.generation_id == target.id, admin_unit.c.level == "province")).scalars()
        if home_code not in set(provinces):
            raise DataError(f"[derive] surrounds: generation {code!r} has no province "
                            f"{home_code!r} (the service_province)", field="surrounds")
        conn.execute(update(generation).where(generation.c.id == target.id)
                     .values(surrounded_by=reference_id))
    return list(service_codes)


def build_vn_reference(_conn: object, spec: Mapping[str, object], data_root: Path
                       ) -> DerivedGeneration:
    """Vietnam's provinces and (unless ``wards = ""``) wards, as a reference generation, and
    the service province's surroundings (see :mod:`gis_service.boundaries.surroundings`).

    ``spec`` keys: ``provinces`` and ``wards`` (files under ``data_root``), ``source``,
    ``licence``, ``service_province`` (a code), ``window_deg``, ``foreign_land_points`` and
    ``surrounds`` (the service generations it speaks for: their province is the service one).
    """
    provenance = Provenance(_text(spec, "source"), _text(spec, "licence"))
    provinces = read_reference_units(data_root / _text(spec, "provinces"), with_parent=False)
    layers: list[Layer] = [("province", provenance, provinces)]
    wards = _text(spec, "wards", required=False)
    if wards:
        layers.append(("commune", provenance,
                       read_reference_units(data_root / wards, with_parent=True)))
    home, surrounded = _text(spec, "service_province"), _codes(spec, "surrounds")
    foreign, water = split_surroundings(provinces, home, _window(spec),
                                        _points(spec, "foreign_land_points"))

    def store(conn: Connection, code: str) -> Mapping[str, object]:
        return {"surroundings": store_surroundings(conn, code, foreign, water),
                "surrounds": surround(conn, code, surrounded, home)}

    return DerivedGeneration(layers, {"reference": True, "levels": {
        level: len(features) for level, _p, features in layers}}, validate=False,
        after_load=store)
