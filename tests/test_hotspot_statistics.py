"""Gi*, Benjamini-Hochberg, Mann-Kendall and the emerging hot spot categories, against PySAL
esda, scipy, pymannkendall and hand-worked examples (no database)."""

from __future__ import annotations

import warnings

import h3
import h3.api.numpy_int as h3n
import numpy as np
import pymannkendall
import pytest
import shapely
from esda.getisord import G_Local
from libpysal.weights import W
from scipy import stats

from gis_service.analysis.grid import cells_in_parts
from gis_service.analysis.statistics.emerging import (
    CATEGORIES,
    MIN_PERIODS,
    classify_series,
    emerging,
)
from gis_service.analysis.statistics.hotspots import (
    benjamini_hochberg,
    classify,
    gi_star,
    gi_star_z,
    two_sided_p,
)
from gis_service.analysis.statistics.trend import mann_kendall
from gis_service.analysis.statistics.weights import CellWeights, check_k, ring_weights
from gis_service.errors import InvalidInput

CITADEL = (16.4690, 107.5780)  # (lat, lng) for h3


def crescent_cells(resolution: int = 9) -> np.ndarray:
    """The cells of a crescent (a disc with a bite out of it) round Huế's citadel: a study
    area with a concave edge, where many cells have neighbours outside it."""
    lat, lng = CITADEL
    disc = shapely.Point(lng, lat).buffer(0.04)
    bite = shapely.Point(lng + 0.024, lat).buffer(0.024)
    return cells_in_parts([disc.difference(bite).wkb], resolution)


def clustered_counts(cells: np.ndarray, seed: int = 1) -> np.ndarray:
    """Poisson background with a busy spot two rings wide in the crescent's west."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(2.0, len(cells)).astype(np.float64)
    lat, lng = CITADEL
    spot = h3n.grid_disk(h3n.latlng_to_cell(lat, lng - 0.024, 9), 2).astype(np.int64)
    counts[np.isin(cells, spot)] += rng.poisson(15.0, np.isin(cells, spot).sum())
    return counts


def esda_z(counts: np.ndarray, weights: CellWeights, transform: str = "B") -> np.ndarray:
    with warnings.catch_warnings():
        # esda warns about the crescent's islands (NaN z for "R") and its self-weight default.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        graph = W(weights.neighbours(), silence_warnings=True)
        return np.asarray(G_Local(counts, graph, transform=transform, star=True, permutations=0).Zs)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_binary_gi_star_equals_esda(k: int) -> None:
    cells = crescent_cells()
    counts = clustered_counts(cells)
    weights = ring_weights(cells, k, "binary")
    ours = gi_star_z(counts, weights)
    assert len(cells) > 300
    assert np.abs(ours - esda_z(counts, weights)).max() < 1e-6
    # esda's default row-standardised weights give other values: not what we compute.
    assert np.nanmax(np.abs(ours - esda_z(counts, weights, transform="R"))) > 1e-3


def test_neighbours_are_grid_disk_within_the_study_area() -> None:
    cells = crescent_cells()
    weights = ring_weights(cells, 2, "binary")
    area = set(cells.tolist())
    for row in (0, len(cells) // 2, len(cells) - 1):
        expected = {int(c) for c in h3n.grid_disk(int(cells[row]), 2)} & area
        found = {int(cells[col]) for col in weights.matrix[[row], :].indices}
        assert found == expected
    assert weights.row_sum.max() == 19  # 1 + 6 + 12: a full two-ring disk
    assert weights.row_sum.min() < 19  # the crescent's edge cuts some disks


@pytest.mark.parametrize(("k", "scheme"), [(1, "binary"), (2, "decay"), (3, "binary")])
def test_weights_cut_from_the_study_area_equal_ring_weights(k: int, scheme: str) -> None:
    """A cell list mostly inside the study area takes its weights and polygons from the
    area's (cut out, plus cells outside it): exactly what building them directly gives."""
    from gis_service.analysis import grid  # noqa: PLC0415

    centre = h3n.latlng_to_cell(16.46, 107.59, 9)
    area = grid.StudyArea("test-cut", 9, np.sort(h3n.grid_disk(centre, 20).astype(np.int64)))
    grid._LATEST[9] = area  # as grid.study_area records it
    rng = np.random.default_rng(k)
    kept = area.cells[rng.random(len(area.cells)) > 0.1]
    outside = np.concatenate([h3n.grid_ring(centre, 21)[:7], h3n.grid_ring(centre, 23)[:5]])
    cells = np.union1d(kept, outside.astype(np.int64))
    try:
        cut = grid.weights(cells, k, scheme)  # type: ignore[arg-type]  # a scheme's name
        polygons = grid.cell_polygons(cells)
    finally:
        grid._LATEST.pop(9, None)
    direct = ring_weights(cells, k, scheme)  # type: ignore[arg-type]
    assert (cut.matrix.indptr == direct.matrix.indptr).all()
    assert (cut.matrix.indices == direct.matrix.indices).all()
    np.testing.assert_allclose(cut.matrix.data, direct.matrix.data)
    assert shapely.equals(polygons, grid._build_polygons(cells)).all()


def test_decay_weights_fall_with_grid_distance() -> None:
    cells = crescent_cells()
    weights = ring_weights(cells, 3, "decay").matrix.tocoo()
    distance = np.array([h3.grid_distance(h3.int_to_str(int(cells[r])), h3.int_to_str(int(cells[c])))
                         for r, c in zip(weights.row[:500], weights.col[:500], strict=True)])
    assert np.allclose(weights.data[:500], 1.0 / (1.0 + distance))
    assert distance.max() <= 3


def test_decay_gi_star_follows_ord_and_getis() -> None:
    """The general formula, written out cell by cell, for weights that are not binary."""
    cells = crescent_cells()
    counts = clustered_counts(cells, seed=3)
    weights = ring_weights(cells, 2, "decay")
    dense = weights.matrix.toarray()
    n, mean, sd = len(counts), counts.mean(), counts.std()
    expected = [
        (row @ counts - mean * row.sum()) / (sd * np.sqrt((n * (row**2).sum() - row.sum() ** 2) / (n - 1)))
        for row in dense
    ]
    assert np.allclose(gi_star_z(counts, weights), expected, atol=1e-9)


def test_gi_star_of_a_constant_map_is_zero() -> None:
    cells = crescent_cells()
    result = gi_star(np.full(len(cells), 4.0), ring_weights(cells, 1))
    assert not result.z.any()
    assert (result.p == 1).all() and (result.cls == "not_significant").all()


def test_gi_star_of_many_series_equals_each_series_alone() -> None:
    cells = crescent_cells()
    weights = ring_weights(cells, 1)
    matrix = np.column_stack([clustered_counts(cells, seed) for seed in range(4)])
    together = gi_star_z(matrix, weights)
    for column in range(4):
        assert np.allclose(together[:, column], gi_star_z(matrix[:, column], weights))


def test_benjamini_hochberg_by_hand() -> None:
    # m = 5. Sorted: 0.001 (rank 1) -> 0.005; 0.02 (2) -> 0.05; 0.03 (3) -> 0.05;
    # 0.04 (4) -> 0.05; 0.9 (5) -> 0.9.
    assert benjamini_hochberg([0.04, 0.001, 0.03, 0.02, 0.9]) == pytest.approx(
        [0.05, 0.005, 0.05, 0.05, 0.9])
    # Step-up: 0.04 * 3 / 2 = 0.06 is lowered to the next rank's 0.045 * 3 / 3 = 0.045.
    assert benjamini_hochberg([0.01, 0.04, 0.045]) == pytest.approx([0.03, 0.045, 0.045])
    assert benjamini_hochberg([0.5, 0.9]) == pytest.approx([0.9, 0.9])


def test_benjamini_hochberg_equals_scipy() -> None:
    p = np.random.default_rng(7).uniform(0, 1, 500) ** 3
    assert np.allclose(benjamini_hochberg(p), stats.false_discovery_control(p, method="bh"))
    columns = np.column_stack([p, p[::-1]])
    assert np.allclose(benjamini_hochberg(columns)[:, 1], stats.false_discovery_control(p[::-1]))


def test_p_values_are_two_sided() -> None:
    assert two_sided_p(np.array([1.959963984540054, -2.5758293035489]))  == pytest.approx([0.05, 0.01])


def test_classes_use_the_adjusted_p_value_thresholds() -> None:
    z = np.array([3.0, 3.0, 3.0, 3.0, -3.0, -3.0, -3.0, 0.0])
    p_fdr = np.array([0.009, 0.01, 0.05, 0.099, 0.005, 0.02, 0.09, 0.0])
    assert classify(z, p_fdr).tolist() == [
        "hot_99", "hot_95", "hot_90", "hot_90", "cold_99", "cold_95", "cold_90", "not_significant"]
    assert classify(np.array([3.0]), np.array([0.1])).tolist() == ["not_significant"]


def test_a_planted_cluster_is_hot_and_survives_fdr() -> None:
    cells = crescent_cells()
    result = gi_star(clustered_counts(cells), ring_weights(cells, 1))
    lat, lng = CITADEL
    centre = h3n.latlng_to_cell(lat, lng - 0.024, 9)
    assert result.cls[cells == centre][0] == "hot_99"
    assert (result.p_fdr >= result.p).all()
    # Noise alone, at raw p < 0.1, would flag ~10% of cells; FDR keeps the map to the spot.
    assert (result.cls != "not_significant").sum() < 0.1 * len(cells)


def test_mann_kendall_by_hand() -> None:
    # 1..5: all 10 pairs rise, var = 5*4*15/18, z = (10 - 1) / sqrt(var).
    result = mann_kendall([[1.0, 2.0, 3.0, 4.0, 5.0]])
    assert result.s[0] == 10
    assert result.var_s[0] == pytest.approx(50 / 3)
    assert result.z[0] == pytest.approx(9 / np.sqrt(50 / 3))
    assert result.p[0] == pytest.approx(2 * stats.norm.sf(9 / np.sqrt(50 / 3)))
    assert result.tau[0] == 1
    # With ties: 1, 1, 2: pairs (1,1) 0, (1,2) +1, (1,2) +1 -> S = 2; one tie group of 2:
    # var = (3*2*11 - 2*1*9) / 18 = 48 / 18.
    tied = mann_kendall([[1.0, 1.0, 2.0]])
    assert tied.s[0] == 2 and tied.var_s[0] == pytest.approx(48 / 18)


def test_mann_kendall_equals_pymannkendall() -> None:
    rng = np.random.default_rng(11)
    series = np.vstack([
        rng.normal(0, 1, (5, 24)) + np.linspace(0, 2, 24),
        rng.integers(0, 4, (5, 24)).astype(float),  # many ties
        rng.normal(0, 1, (5, 24)),
    ])
    result = mann_kendall(series)
    for row, values in enumerate(series):
        oracle = pymannkendall.original_test(values)
        assert result.s[row] == oracle.s
        assert result.var_s[row] == pytest.approx(oracle.var_s)
        assert result.z[row] == pytest.approx(oracle.z)
        assert result.p[row] == pytest.approx(oracle.p)
        assert result.tau[row] == pytest.approx(oracle.Tau)


def test_mann_kendall_of_a_constant_series_is_no_trend() -> None:
    result = mann_kendall([[2.0] * 12])
    assert result.s[0] == 0 and result.z[0] == 0 and result.p[0] == 1


HOT, QUIET = 3.0, 0.0
T = 20  # periods


def series(*runs: tuple[float, int]) -> list[float]:
    values = [value for value, times in runs for _ in range(times)]
    assert len(values) == T
    return values


CONSTRUCTED = {
    "new_hot": series((QUIET, 19), (HOT, 1)),
    "consecutive_hot": series((QUIET, 16), (HOT, 4)),
    "intensifying_hot": list(np.linspace(2.0, 6.0, T)),
    "persistent_hot": [HOT + 0.1 * (-1) ** t for t in range(T)],
    "diminishing_hot": list(np.linspace(6.0, 2.0, T)),
    "sporadic_hot": [HOT if t % 3 == 1 else QUIET for t in range(T)],
    # Cold, quiet, hot, quiet, cold, ... ending hot.
    "oscillating_hot": [*((-HOT if t % 4 == 0 else HOT) if t % 2 == 0 else QUIET for t in range(T - 1)), HOT],
    "historical_hot": series((HOT, 19), (QUIET, 1)),
    "no_pattern": series((QUIET, 5), (HOT, 3), (QUIET, 12)),
}


def categorise(rows: list[list[float]]) -> list[str]:
    z = np.array(rows)
    return classify_series(z, np.abs(z) > 1.645, mann_kendall(z)).tolist()


@pytest.mark.parametrize("expected", sorted(CONSTRUCTED))
def test_each_emerging_hot_category(expected: str) -> None:
    assert categorise([CONSTRUCTED[expected]]) == [expected]


@pytest.mark.parametrize("hot", sorted(name for name in CONSTRUCTED if name != "no_pattern"))
def test_each_emerging_cold_category_mirrors_the_hot_one(hot: str) -> None:
    cold = hot.replace("_hot", "_cold")
    assert cold in CATEGORIES
    assert categorise([[-value for value in CONSTRUCTED[hot]]]) == [cold]


def test_emerging_precedence_and_edges() -> None:
    rows = {
        # Hot only in the last period but once cold: new wins over oscillating (ESRI's order).
        "new_hot": series((-HOT, 1), (QUIET, 18), (HOT, 1)),
        # Two hot runs: not consecutive, sporadic.
        "sporadic_hot": series((HOT, 2), (QUIET, 15), (HOT, 3)),
        # 17 of 20 hot (85%) ending hot, no cold: sporadic, not persistent.
        "consecutive_hot": series((QUIET, 3), (HOT, 17)),
        # Exactly 90% hot, ending hot, flat (the gap mid-way adds no trend): persistent.
        "persistent_hot": series((HOT, 9), (QUIET, 2), (HOT, 9)),
        # 90% hot but rising from two quiet periods at the start: intensifying.
        "intensifying_hot": series((QUIET, 2), (HOT, 18)),
    }
    assert categorise(list(rows.values())) == list(rows)


def planted_category(extra: np.ndarray | float, periods_with: slice = slice(None)) -> str:
    """The category of a place planted in a quiet city (Poisson(1) reports per cell and
    month, 12 months): ``extra`` reports a month on each of its 7 cells. The trend test is at
    alpha 0.10, so some seeds give a steady place a chance trend: the seed is fixed."""
    centre = h3n.latlng_to_cell(*CITADEL, 9)
    cells = np.sort(h3n.grid_disk(centre, 12).astype(np.int64))
    place = np.isin(cells, h3n.grid_disk(centre, 1).astype(np.int64))
    counts = np.random.default_rng(0).poisson(1.0, (len(cells), 12)).astype(np.float64)
    bump = np.zeros(12)
    bump[periods_with] = extra
    counts[place] += bump
    result = emerging(counts, ring_weights(cells, 1))
    assert (result.category == "no_pattern").mean() > 0.8
    return str(result.category[np.searchsorted(cells, centre)])


def test_emerging_on_counts_cubes() -> None:
    assert planted_category(25.0) == "persistent_hot"
    assert planted_category(np.linspace(3, 60, 12)) == "intensifying_hot"
    assert planted_category(np.linspace(60, 3, 12)) == "diminishing_hot"
    assert planted_category(40.0, slice(-1, None)) == "new_hot"
    assert planted_category(40.0, slice(-3, None)) == "consecutive_hot"
    assert planted_category(40.0, slice(0, 11)) == "historical_hot"


def test_emerging_quiet_cells_share_one_trend() -> None:
    """The shortcut for cells with no reports nearby gives what testing each would."""
    centre = h3n.latlng_to_cell(*CITADEL, 9)
    cells = np.sort(h3n.grid_disk(centre, 10).astype(np.int64))
    counts = np.zeros((len(cells), 15))
    active = np.isin(cells, h3n.grid_disk(centre, 2).astype(np.int64))
    counts[active] = np.random.default_rng(5).poisson(3.0, (int(active.sum()), 15))
    weights = ring_weights(cells, 1)
    result = emerging(counts, weights)
    direct = mann_kendall(result.z)
    assert np.allclose(result.trend.s, direct.s) and np.allclose(result.trend.p, direct.p)
    assert len(np.unique(result.trend.s)) > 2  # not one answer for every cell


def test_emerging_needs_ten_periods() -> None:
    cells = crescent_cells()
    with pytest.raises(InvalidInput) as raised:
        emerging(np.ones((len(cells), MIN_PERIODS - 1)), ring_weights(cells, 1))
    assert raised.value.field == "period"


@pytest.mark.parametrize("k", [0, 6, -1, True, 1.5])
def test_k_out_of_range_is_invalid(k: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_k(k)  # type: ignore[arg-type]
    assert raised.value.field == "k"
