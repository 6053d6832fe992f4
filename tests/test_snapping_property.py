"""Real Huế data: PostGIS snapping agrees with an in-memory shapely answer over the same polygons.

The oracle works in UTM zone 48N (EPSG:32648, metres) with shapely's STRtree; the database
measures on the WGS84 spheroid. The two can honestly disagree within a few metres of a
boundary (or of the tolerance, or between two near-equal candidates), so those examples are
skipped with assume(); everywhere else the commune, the match and the distance must agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from sqlalchemy import Connection, select

from gis_service.coords import LonLat
from gis_service.db.schema import admin_unit, generation
from gis_service.spatial import single
from gis_service.spatial.bulk import snap_points
from gis_service.spatial.single import snap_point
from tests.conftest import HueDB

GENERATION = "2019"
TOLERANCE_M = 2000.0
MARGIN_M = 5.0  # closer than this to a boundary, the tolerance or a tie: no verdict
UTM_48N = "EPSG:32648"

pytestmark = pytest.mark.realdata

Answer = tuple[str, str | None, float | None]  # match, commune code, distance in metres


@dataclass(frozen=True)
class Oracle:
    """The snapping rules over the stored commune polygons, in memory."""

    codes: list[str]
    lonlat: np.ndarray  # shapely polygons, degrees
    metric: np.ndarray  # the same polygons in UTM 48N
    tree: shapely.STRtree
    metric_tree: shapely.STRtree
    to_metric: Transformer

    def answer(self, lon: float, lat: float, tolerance_m: float = TOLERANCE_M) -> Answer | None:
        """The expected answer, or None where a few metres could change it."""
        point = shapely.Point(self.to_metric.transform(lon, lat))
        near = self.metric_tree.query(point, predicate="dwithin", distance=tolerance_m + MARGIN_M)
        distances = shapely.distance(self.metric[near], point)
        boundaries = shapely.distance(shapely.boundary(self.metric[near]), point)
        if (boundaries < MARGIN_M).any():
            return None
        covering = self.tree.query(shapely.Point(lon, lat), predicate="covered_by")
        if len(covering):
            return self._deepest(covering, point)
        return self._nearest(near, distances, tolerance_m)

    def _deepest(self, covering: np.ndarray, point: shapely.Point) -> Answer | None:
        depths = shapely.distance(shapely.boundary(self.metric[covering]), point)
        order = np.argsort(-depths)
        if len(order) > 1 and depths[order[0]] - depths[order[1]] < MARGIN_M:
            return None
        return "inside", self.codes[covering[order[0]]], 0.0

    def _nearest(self, near: np.ndarray, distances: np.ndarray, tolerance_m: float
                 ) -> Answer | None:
        if not len(near):
            return "outside", None, None
        order = np.argsort(distances)
        best = distances[order[0]]
        if abs(best - tolerance_m) < MARGIN_M:
            return None
        if best > tolerance_m:
            return "outside", None, None
        if len(order) > 1 and distances[order[1]] - best < MARGIN_M:
            return None
        return "nearest", self.codes[near[order[0]]], float(best)


@pytest.fixture(scope="module")
def oracle(hue_db: HueDB) -> Oracle:
    with hue_db.engine.connect() as connection:
        rows = connection.execute(
            select(admin_unit.c.code, admin_unit.c.geom.ST_AsBinary())
            .join(generation, generation.c.id == admin_unit.c.generation_id)
            .where(generation.c.code == GENERATION, admin_unit.c.level == "commune")
        ).all()
    assert len(rows) == 152
    codes = [code for code, _ in rows]
    polygons = shapely.from_wkb([bytes(wkb) for _, wkb in rows])
    to_metric = Transformer.from_crs("EPSG:4326", UTM_48N, always_xy=True)
    metric = shapely.transform(polygons, lambda xy: np.column_stack(
        to_metric.transform(xy[:, 0], xy[:, 1])))
    return Oracle(codes, polygons, metric, shapely.STRtree(polygons), shapely.STRtree(metric),
                  to_metric)


@pytest.fixture(scope="module")
def hue_conn(hue_db: HueDB) -> Iterator[Connection]:
    """One connection for the module's examples (hypothesis runs many per test), with the
    commune cores cut, so snap_point answers as a busy process would (most points from the
    cores, the rest from the SQL)."""
    with hue_db.engine.connect() as connection:
        assert single._CORES.build(connection) is not None
        yield connection
        connection.rollback()


def _matches(answer: Answer, match: str, code: str | None, distance: float | None) -> bool:
    expected_match, expected_code, expected_distance = answer
    if (match, code) != (expected_match, expected_code):
        return False
    if expected_distance is None or distance is None:
        return expected_distance is distance
    return abs(distance - expected_distance) <= 1.0 + 0.002 * expected_distance


# The province's bounding box, and a band of sea and lagoon shore to its north-east.
PROVINCE = st.tuples(st.floats(107.0, 108.25), st.floats(15.95, 16.85))
OFFSHORE = st.tuples(st.floats(107.3, 108.4), st.floats(16.3, 17.0))
POINTS = st.one_of(PROVINCE, PROVINCE, OFFSHORE)
HYPOTHESIS = settings(max_examples=250, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])


@HYPOTHESIS
@given(lonlat=POINTS)
def test_snap_point_agrees_with_shapely(oracle: Oracle, hue_conn: Connection,
                                        lonlat: tuple[float, float]) -> None:
    expected = oracle.answer(*lonlat)
    assume(expected is not None)
    assert expected is not None
    snap = snap_point(hue_conn, LonLat(*lonlat), generation=GENERATION)
    code = snap.commune.code if snap.commune else None
    assert _matches(expected, snap.match, code, snap.distance_m), (lonlat, expected, snap)


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(points=st.lists(POINTS, min_size=1, max_size=60))
def test_snap_points_agrees_with_shapely(oracle: Oracle, hue_conn: Connection,
                                         points: list[tuple[float, float]]) -> None:
    snaps = snap_points(hue_conn, [LonLat(*p) for p in points], generation=GENERATION)
    for point, snap in zip(points, snaps, strict=True):
        expected = oracle.answer(*point)
        if expected is not None:
            code = snap.commune.code if snap.commune else None
            assert _matches(expected, snap.match, code, snap.distance_m), (point, expected, snap)


def test_a_thousand_points_cover_every_kind_of_answer(oracle: Oracle, hue_conn: Connection
                                                      ) -> None:
    """A fixed sample, so every run sees inside, nearest and outside answers."""
    rng = np.random.default_rng(20190401)
    lon, lat = rng.uniform(107.0, 108.4, 1000), rng.uniform(15.95, 17.0, 1000)
    snaps = snap_points(hue_conn, [LonLat(x, y) for x, y in zip(lon, lat, strict=True)],
                        generation=GENERATION)
    verdicts: Counter[str] = Counter()
    for x, y, snap in zip(lon, lat, snaps, strict=True):
        expected = oracle.answer(x, y)
        if expected is None:
            verdicts["skipped"] += 1
            continue
        code = snap.commune.code if snap.commune else None
        assert _matches(expected, snap.match, code, snap.distance_m), ((x, y), expected, snap)
        verdicts[snap.match] += 1
    assert min(verdicts["inside"], verdicts["nearest"], verdicts["outside"]) >= 20, verdicts
    assert verdicts["skipped"] < 50, verdicts


def test_snap_point_from_the_cores_equals_the_set_based_answer(oracle: Oracle,
                                                               hue_conn: Connection) -> None:
    """Points all over the province and on, beside and across every commune boundary: the
    cores and lean statements of snap_point give exactly the set-based form's answers."""
    rng = np.random.default_rng(2025)
    boundary = shapely.get_coordinates(shapely.boundary(oracle.lonlat))
    vertex = rng.choice(len(boundary) - 1, 1500)
    share = rng.uniform(0, 1, (1500, 1))
    # Along the edge to the next vertex (a chord, where the next vertex starts another ring).
    along = boundary[vertex] + share * (boundary[vertex + 1] - boundary[vertex])
    nudged = along + rng.choice([0.0, 1e-9, -1e-9, 5e-6, -5e-6, 3e-5, -3e-5], (1500, 2))
    spread = np.column_stack([rng.uniform(107.0, 108.4, 1500), rng.uniform(15.95, 17.0, 1500)])
    points = [LonLat(float(x), float(y)) for x, y in np.vstack([nudged, spread])]
    expected = snap_points(hue_conn, points, generation=GENERATION)
    [snap_point(hue_conn, p, generation=GENERATION) for p in points]  # warms the answer cache
    assert [snap_point(hue_conn, p, generation=GENERATION) for p in points] == expected
