"""Reading boundary files: field mapping, CRSs (VN-2000 included), repairs and bad features."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from gis_service.boundaries.sources import (
    VN2000_TM3_HUE,
    VN2000_UTM48N,
    FieldMapping,
    PopulationTable,
    normalise_unit_type,
    read_units,
)
from gis_service.errors import DataError
from gis_service.text import fold_vietnamese

FIELDS = FieldMapping(code="code", name="name", type="type", parent="parent")
GEOD = Geod(ellps="WGS84")


def box(lon: float, lat: float, size: float = 0.01) -> Polygon:
    return shapely.box(lon, lat, lon + size, lat + size)


def bow_tie(lon: float, lat: float, size: float = 0.01) -> Polygon:
    """Two triangles meeting at a point: a self-intersecting ring GEOS calls invalid."""
    x1, y1 = lon + size, lat + size
    return Polygon([(lon, lat), (x1, y1), (x1, lat), (lon, y1), (lon, lat)])


def write(path: Path, rows: list[dict[str, object]], crs: str | None = "EPSG:4326") -> Path:
    geometries = [row.pop("geometry") for row in rows]
    with warnings.catch_warnings():
        # Writing a file without a CRS is the point of some tests.
        warnings.filterwarnings("ignore", message="'crs' was not provided")
        gpd.GeoDataFrame(rows, geometry=geometries, crs=crs).to_file(path)
    return path


def row(code: str | None, geometry: BaseGeometry | None, **extra: object) -> dict[str, object]:
    values: dict[str, object] = {"code": code, "name": f"Phường {code}", "type": "Phường",
                                 "parent": "474", "geometry": geometry}
    return values | extra


@pytest.mark.parametrize(("text", "folded"), [
    ("Thừa Thiên Huế", "Thua Thien Hue"),
    ("Phường Đông Ba", "Phuong Dong Ba"),
    ("đường Lê Lợi, Vỹ Dạ", "duong Le Loi, Vy Da"),
    ("THỊ TRẤN A LƯỚI", "THI TRAN A LUOI"),
    ("Huế", "Hue"),
    ("plain ASCII 123", "plain ASCII 123"),
    # Decomposed input (NFD, as some macOS tools write it) folds the same.
    ("Hue\u0301", "Hue"),
])
def test_fold_vietnamese(text: str, folded: str) -> None:
    assert fold_vietnamese(text) == folded


@pytest.mark.parametrize(("raw", "unit_type"), [
    ("Phường", "Phường"),
    ("Thịtrấn", "Thị trấn"),
    ("Thị Trấn", "Thị trấn"),
    ("Thành Phố", "Thành phố"),
    ("TP", "Thành phố"),
    ("TP.", "Thành phố"),
    ("Huyen", "Huyện"),
    ("huyện", "Huyện"),
    ("Thị xã", "Thị xã"),
    ("Xa", "Xã"),
    ("Tinh", "Tỉnh"),
    ("Quận", "Quận"),
    ("Ward", None),
    ("", None),
])
def test_normalise_unit_type(raw: str, unit_type: str | None) -> None:
    assert normalise_unit_type(raw) == unit_type


def test_reads_fields_and_makes_multipolygons(tmp_path: Path) -> None:
    path = write(tmp_path / "units.geojson", [
        row("19777", box(107.6, 16.46), name="Phường Vỹ Dạ", type="Phuong"),
        row("20101", MultiPolygon([box(107.3, 16.0), box(107.4, 16.0)]), type="Xã",
            parent=None),
    ])
    layer = read_units(path, FIELDS)
    first, second = layer.features
    assert (first.feature_index, first.code, first.name, first.unit_type, first.parent_code) == (
        0, "19777", "Phường Vỹ Dạ", "Phường", "474")
    assert second.parent_code is None and second.unit_type == "Xã"
    assert all(isinstance(f.geometry, MultiPolygon) for f in layer.features)
    assert _same_shape(first.geometry, box(107.6, 16.46))
    assert len(second.geometry.geoms) == 2
    assert layer.repaired == 0 and layer.crs == "EPSG:4326"
    assert len(layer.sha256) == 64


def test_numeric_codes_lose_their_decimal_point(tmp_path: Path) -> None:
    path = write(tmp_path / "units.gpkg", [row("x", box(107.6, 16.4))])
    frame = gpd.read_file(path)
    frame["code"] = [19777.0]
    frame.to_file(path)
    assert read_units(path, FIELDS).features[0].code == "19777"


def _same_shape(a: BaseGeometry, b: BaseGeometry) -> bool:
    return bool(shapely.equals_exact(_normal(a), _normal(b), tolerance=1e-9))


def _normal(geometry: BaseGeometry) -> BaseGeometry:
    """Vertices in a canonical order: writers may re-orient rings (shapefiles go clockwise)."""
    parts = shapely.get_parts(geometry)
    return shapely.normalize(MultiPolygon(list(parts)))


def _max_distance_m(a: BaseGeometry, b: BaseGeometry) -> float:
    """The largest distance between corresponding vertices, in metres on the ellipsoid."""
    ours = shapely.get_coordinates(_normal(a))
    theirs = shapely.get_coordinates(_normal(b))
    assert ours.shape == theirs.shape
    _, _, distance = GEOD.inv(ours[:, 0], ours[:, 1], theirs[:, 0], theirs[:, 1])
    return float(np.max(distance))


def _projected(geometry: BaseGeometry, crs: str) -> BaseGeometry:
    forward = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return shapely.transform(geometry, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])))


def test_vn2000_utm_geopackage_is_reprojected(tmp_path: Path) -> None:
    original = shapely.Polygon([(107.58, 16.45), (107.61, 16.44), (107.62, 16.47), (107.58, 16.45)])
    metric = _projected(original, VN2000_UTM48N)
    assert shapely.bounds(metric)[0] > 100_000  # really in metres, not degrees
    path = write(tmp_path / "vn2000.gpkg", [row("1", metric)], crs=VN2000_UTM48N)

    layer = read_units(path, FIELDS)

    assert _max_distance_m(layer.features[0].geometry, original) < 1.0


def test_tm3_shapefile_without_crs_needs_and_takes_an_override(tmp_path: Path) -> None:
    original = box(107.55, 16.40, 0.02)
    path = write(tmp_path / "tm3.shp", [row("1", _projected(original, VN2000_TM3_HUE))], crs=None)
    assert not path.with_suffix(".prj").exists()

    with pytest.raises(DataError, match="declares no CRS"):
        read_units(path, FIELDS)
    layer = read_units(path, FIELDS, source_crs=VN2000_TM3_HUE)

    assert _max_distance_m(layer.features[0].geometry, original) < 1.0


def test_metres_read_as_degrees_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "wrong.shp", [row("1", box(500_000, 1_800_000, 100))], crs=None)
    with pytest.raises(DataError, match="feature 0 lies outside lon/lat range"):
        read_units(path, FIELDS, source_crs="EPSG:4326")


def test_bow_tie_is_repaired_and_counted(tmp_path: Path) -> None:
    path = write(tmp_path / "bowtie.geojson", [
        row("A", box(107.5, 16.4)),
        row("B", bow_tie(107.6, 16.4)),
        row("C", box(107.7, 16.4)),
    ])
    layer = read_units(path, FIELDS)
    assert layer.repaired == 1 and layer.repaired_codes == ("B",)
    repaired = layer.features[1].geometry
    assert isinstance(repaired, MultiPolygon) and repaired.is_valid
    # Both triangles are kept: half the bounding square.
    assert repaired.area == pytest.approx(0.5 * 0.01**2)
    assert len(repaired.geoms) == 2


@pytest.mark.parametrize(("bad", "message"), [
    (row(None, box(107.6, 16.4)), r"feature 1: no code in field 'code'"),
    (row("C2", box(107.6, 16.4), name=None), r"feature 1 \(code 'C2'\): no name"),
    (row("C2", box(107.6, 16.4), type="Ward"), r"feature 1 \(code 'C2'\): unknown unit type 'Ward'"),
    (row("C2", Point(107.6, 16.4)), r"feature 1 \(code 'C2'\): Point geometry"),
    (row("C2", None), r"feature 1 \(code 'C2'\): empty geometry"),
    (row("C2", box(107.6, 16.4), pop="many"), r"feature 1 \(code 'C2'\): population 'many'"),
])
def test_a_bad_feature_is_named(tmp_path: Path, bad: dict[str, object], message: str) -> None:
    rows = [row("C1", box(107.5, 16.4), pop="10"), bad, row("C3", box(107.7, 16.4), pop="30")]
    rows = [{"pop": "1"} | r for r in rows]
    path = write(tmp_path / "bad.geojson", rows)
    fields = FieldMapping("code", "name", "type", "parent", population="pop")
    with pytest.raises(DataError, match=message):
        read_units(path, fields)


def test_missing_mapped_field_names_the_field(tmp_path: Path) -> None:
    path = write(tmp_path / "units.geojson", [row("1", box(107.6, 16.4))])
    with pytest.raises(DataError, match=r"mapped field 'district' is not in the file"):
        read_units(path, FieldMapping("code", "name", "type", parent="district"))


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.geojson"
    path.write_text("{ this is not json")
    with pytest.raises(DataError, match="cannot read"):
        read_units(path, FIELDS)


def test_population_field_and_table(tmp_path: Path) -> None:
    path = write(tmp_path / "units.geojson", [
        row("1", box(107.5, 16.4), pop=100),
        row("2", box(107.6, 16.4), pop=200),
        row("3", box(107.7, 16.4), pop=None),
    ])
    fields = FieldMapping("code", "name", "type", population="pop", population_year=2009)
    from_field = read_units(path, fields).features
    assert [(f.population, f.population_year) for f in from_field] == [
        (100, 2009), (200, 2009), (None, None)]

    table = tmp_path / "population.csv"
    table.write_text("gso,total\n1,1500\n3,3500\n")
    joined = read_units(path, fields, population=PopulationTable(table, "gso", "total", 2019))
    # The table wins where it has the code; the file's own figure stays elsewhere.
    assert [(f.population, f.population_year) for f in joined.features] == [
        (1500, 2019), (200, 2009), (3500, 2019)]


def test_population_table_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "units.geojson", [row("1", box(107.5, 16.4))])
    table = tmp_path / "population.csv"
    table.write_text("gso,total\n1,1500\n1,1600\n")
    with pytest.raises(DataError, match=r"line 3: code '1' appears twice"):
        read_units(path, FIELDS, population=PopulationTable(table, "gso", "total"))
    with pytest.raises(DataError, match=r"no column 'people'"):
        read_units(path, FIELDS, population=PopulationTable(table, "gso", "people"))


def test_approximate_flag_is_carried(tmp_path: Path) -> None:
    path = write(tmp_path / "units.geojson", [row("1", box(107.5, 16.4))])
    assert read_units(path, FIELDS, approximate=True).features[0].approximate
    assert not read_units(path, FIELDS).features[0].approximate
