"""Boundary files (GeoJSON, GeoPackage, Shapefile) read into :class:`UnitFeature` lists.

Everything a file can get wrong is caught here, before the database is touched: a missing
mapped field, a feature without code or name, an unknown unit type, an empty or non-polygonal
geometry. Each raises :class:`DataError` naming the feature (its index and code) and why.
Geometries are reprojected to EPSG:4326 and invalid ones repaired (and counted).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.errors
import pyogrio.raw
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gis_service.boundaries.features import UnitFeature
from gis_service.db.schema import UNIT_TYPES
from gis_service.errors import DataError
from gis_service.text import fold_vietnamese

WGS84 = CRS.from_epsg(4326)

#: VN-2000 / UTM zone 48N: the national grid most Vietnamese GIS files for Huế use.
VN2000_UTM48N = "EPSG:3405"
#: VN-2000 local TM-3 zone of Thừa Thiên Huế (central meridian 107°00', k = 0.9999, Circular
#: 973/2001/TT-TCĐC), with the Ministry's seven-parameter shift to WGS84: cadastral files
#: ship in it without a .prj more often than not.
VN2000_TM3_HUE = (
    "+proj=tmerc +lat_0=0 +lon_0=107 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 "
    "+towgs84=-191.90441429,-39.30318279,-111.45032835,-0.00928836,0.01975479,-0.00427372,"
    "0.252906278 +units=m +no_defs"
)

_PYOGRIO_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
)

# Spellings seen in Vietnamese datasets, keyed by their ASCII-folded, lower-case letters only:
# GADM writes 'Thịtrấn', others 'Thành Phố', 'TP.', 'Huyen'.
_TYPE_BY_KEY = {
    "tinh": "Tỉnh",
    "thanhpho": "Thành phố",
    "tp": "Thành phố",
    "quan": "Quận",
    "huyen": "Huyện",
    "thixa": "Thị xã",
    "tx": "Thị xã",
    "phuong": "Phường",
    "xa": "Xã",
    "thitran": "Thị trấn",
    "tt": "Thị trấn",
}
_NOT_LETTERS = re.compile(r"[^a-z]")


@dataclass(frozen=True)
class FieldMapping:
    """Which attribute of a source holds each property of a unit.

    ``population_year`` is the year the ``population`` field counts (a value, not a field).

    >>> FieldMapping(code="gso_code", name="name", type="type", parent="province_code").parent
    'province_code'
    """

    code: str
    name: str
    type: str
    parent: str | None = None
    population: str | None = None
    population_year: int | None = None

    def columns(self) -> list[str]:
        """The source attributes this mapping reads."""
        named = (self.code, self.name, self.type, self.parent, self.population)
        return [column for column in named if column]


@dataclass(frozen=True)
class PopulationTable:
    """A CSV of population by unit code, joined onto the features by code."""

    path: Path
    code: str
    value: str
    year: int | None = None


@dataclass(frozen=True)
class SourceLayer:
    """The units read from one file, with what it took to read them."""

    path: Path
    sha256: str
    crs: str
    features: list[UnitFeature]
    repaired: int
    repaired_codes: tuple[str, ...]


def normalise_unit_type(raw: str) -> str | None:
    """The unit type in ``schema.UNIT_TYPES`` that ``raw`` spells, or None.

    >>> normalise_unit_type("Thịtrấn"), normalise_unit_type("TP."), normalise_unit_type("Ward")
    ('Thị trấn', 'Thành phố', None)
    """
    if raw in UNIT_TYPES:
        return raw
    return _TYPE_BY_KEY.get(_NOT_LETTERS.sub("", fold_vietnamese(raw).lower()))


def file_sha256(path: Path) -> str:
    """SHA-256 of a data file (a shapefile's sidecar files included), to record what was loaded."""
    digest = hashlib.sha256()
    for part in _data_files(path):
        with part.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _data_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    if path.suffix.lower() == ".shp":
        sidecars = (path.with_suffix(s) for s in (".dbf", ".shx", ".prj", ".cpg"))
        return [path, *(p for p in sidecars if p.exists())]
    return [path]


def read_population(table: PopulationTable) -> dict[str, int]:
    """Population by code from a CSV; a duplicate code or a bad count raises DataError."""
    try:
        with table.path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in (table.code, table.value) if c not in (reader.fieldnames or ())]
            if missing:
                raise DataError(f"{table.path}: no column {missing[0]!r} "
                                f"(columns: {', '.join(reader.fieldnames or ())})")
            return _population_rows(table, reader)
    except OSError as exc:
        raise DataError(f"cannot read population table {table.path}: {exc.strerror}") from exc


def _population_rows(table: PopulationTable, rows: Iterable[Mapping[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        code = _text(row[table.code])
        where = f"{table.path} line {line}"
        if code is None:
            raise DataError(f"{where}: no code in column {table.code!r}")
        if code in counts:
            raise DataError(f"{where}: code {code!r} appears twice")
        count = _count(row[table.value], where)
        if count is not None:
            counts[code] = count
    return counts


def read_units(
    path: Path,
    fields: FieldMapping,
    *,
    source_crs: str | None = None,
    layer: str | None = None,
    population: PopulationTable | None = None,
    approximate: bool = False,
) -> SourceLayer:
    """Read one layer of a boundary file as units in EPSG:4326.

    ``source_crs`` (anything pyproj accepts: ``"EPSG:3405"``, a PROJ string such as
    :data:`VN2000_TM3_HUE`) overrides the file's own CRS, and is required when it has none.

    >>> fields = FieldMapping("gso_code", "name", "type", parent="province_code")
    >>> read_units(Path("districts.geojson"), fields).features[0].code  # doctest: +SKIP
    '474'
    """
    file_crs, geometries, columns = _read_layer(path, fields, layer)
    crs = source_crs or file_crs
    if not crs:
        raise DataError(f"{path}: the file declares no CRS; give the source CRS (e.g. EPSG:3405)")
    shapes = _to_wgs84(path, shapely.from_wkb(geometries), crs)
    table = read_population(population) if population else {}
    year = population.year if population else None
    features: list[UnitFeature] = []
    repaired: list[str] = []
    for index, shape in enumerate(shapes):
        feature, was_repaired = _feature(index, shape, columns, fields)
        if feature.code in table:
            feature = replace(feature, population=table[feature.code], population_year=year)
        features.append(replace(feature, approximate=approximate))
        if was_repaired:
            repaired.append(feature.code)
    return SourceLayer(path, file_sha256(path), crs, features, len(repaired), tuple(repaired))


def _read_layer(
    path: Path, fields: FieldMapping, layer: str | None
) -> tuple[str | None, np.ndarray, dict[str, np.ndarray]]:
    """The layer's CRS, WKB geometries and mapped columns; a missing field raises."""
    try:
        info = pyogrio.read_info(path, layer=layer)
        available = [str(f) for f in info["fields"]]
        missing = [c for c in fields.columns() if c not in available]
        if missing:
            raise DataError(f"{path}: mapped field {missing[0]!r} is not in the file "
                            f"(fields: {', '.join(available)})")
        meta, _fids, geometries, data = pyogrio.raw.read(
            path, layer=layer, columns=fields.columns(), force_2d=True
        )
    except _PYOGRIO_ERRORS as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    columns = dict(zip((str(f) for f in meta["fields"]), data, strict=True))
    return meta.get("crs") or None, geometries, columns


@functools.lru_cache(maxsize=32)
def transformer_to_wgs84(crs: str) -> Transformer | None:
    """A cached lon/lat-ordered transformer from ``crs`` to EPSG:4326 (None when it is 4326)."""
    source = CRS.from_user_input(crs)
    if source.equals(WGS84, ignore_axis_order=True):
        return None
    return Transformer.from_crs(source, WGS84, always_xy=True)


def _to_wgs84(path: Path, shapes: np.ndarray, crs: str) -> np.ndarray:
    try:
        transformer = transformer_to_wgs84(crs)
    except CRSError as exc:
        raise DataError(f"{path}: unknown CRS {crs[:80]!r}") from exc
    if transformer is not None:
        try:
            shapes = shapely.transform(shapes, _project(transformer))
        except ProjError as exc:
            raise DataError(f"{path}: cannot reproject from {crs[:80]!r}: {exc}") from exc
    _check_lonlat(path, shapes, crs)
    return shapes


def _project(transformer: Transformer) -> Callable[[np.ndarray], np.ndarray]:
    def project(coords: np.ndarray) -> np.ndarray:
        lon, lat = transformer.transform(coords[:, 0], coords[:, 1], errcheck=True)
        return np.column_stack([lon, lat])

    return project


def _check_lonlat(path: Path, shapes: np.ndarray, crs: str) -> None:
    """Coordinates outside lon/lat range mean the CRS is wrong: say so, naming a feature."""
    bounds = shapely.bounds(shapes)
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(bounds[:, 0]) & (
            (bounds[:, 0] < -180) | (bounds[:, 2] > 180) | (bounds[:, 1] < -90) | (bounds[:, 3] > 90)
        )
    if bad.any():
        index = int(np.argmax(bad))
        raise DataError(f"{path}: feature {index} lies outside lon/lat range after reading it "
                        f"as {crs[:80]!r}: is the source CRS right?")


def _feature(
    index: int, shape: BaseGeometry | None, columns: Mapping[str, np.ndarray], fields: FieldMapping
) -> tuple[UnitFeature, bool]:
    code = _text(columns[fields.code][index])
    where = f"feature {index} (code {code!r})" if code else f"feature {index}"
    if code is None:
        raise DataError(f"{where}: no code in field {fields.code!r}")
    name = _text(columns[fields.name][index])
    if name is None:
        raise DataError(f"{where}: no name in field {fields.name!r}")
    raw_type = _text(columns[fields.type][index]) or ""
    unit_type = normalise_unit_type(raw_type)
    if unit_type is None:
        raise DataError(f"{where}: unknown unit type {raw_type!r} in field {fields.type!r} "
                        f"(expected one of {', '.join(UNIT_TYPES)})")
    geometry, repaired = _multipolygon(shape, where)
    population = _count(columns[fields.population][index], where) if fields.population else None
    feature = UnitFeature(
        feature_index=index,
        code=code,
        name=name,
        unit_type=unit_type,
        geometry=geometry,
        parent_code=_text(columns[fields.parent][index]) if fields.parent else None,
        population=population,
        population_year=fields.population_year if population is not None else None,
    )
    return feature, repaired


def _multipolygon(shape: BaseGeometry | None, where: str) -> tuple[MultiPolygon, bool]:
    """The feature's polygon as a valid MultiPolygon, and whether it had to be repaired."""
    if shape is None or shape.is_empty:
        raise DataError(f"{where}: empty geometry")
    if not isinstance(shape, Polygon | MultiPolygon):
        raise DataError(f"{where}: {shape.geom_type} geometry, expected a Polygon or MultiPolygon")
    if shape.is_valid:
        return _as_multi(shape), False
    fixed = polygonal_parts(shapely.make_valid(shape))
    if fixed.is_empty:
        raise DataError(f"{where}: invalid geometry with no area left once repaired")
    return fixed, True


def polygonal_parts(shape: BaseGeometry) -> MultiPolygon:
    """The polygons of any geometry (make_valid may add stray lines and points), dissolved."""
    parts = [g for g in shapely.get_parts(shape) if isinstance(g, Polygon | MultiPolygon)]
    if not parts:
        return MultiPolygon()
    return _as_multi(shapely.union_all(parts))


def _as_multi(shape: BaseGeometry) -> MultiPolygon:
    if isinstance(shape, MultiPolygon):
        return shape
    if isinstance(shape, Polygon):
        return MultiPolygon([shape])
    return polygonal_parts(shape)


def _text(value: object) -> str | None:
    """A code or name as text: numeric fields lose their '.0', blanks become None."""
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    text = str(value).strip()
    return text or None


def _count(value: object, where: str) -> int | None:
    """A population count; None when blank, DataError when not a whole number >= 0."""
    text = _text(value)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        raise DataError(f"{where}: population {text!r} is not a number") from None
    if not (number >= 0 and number.is_integer()):
        raise DataError(f"{where}: population {text!r} is not a whole number >= 0")
    return int(number)
