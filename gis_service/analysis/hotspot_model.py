"""What a hot spot analysis compares reports against, and at which scale: the background
(residents or area), the study area of a selection, and the scale chosen from the data.

- **Measure** ``excess`` (the default): reports against residents, the areal-weighted 2019
  census population per cell (:mod:`gis_service.analysis.residents`): a hot spot is a place
  with more reports than its residents explain, not the population map. ``count``: reports
  against area (every cell alike), the raw concentration of reports.
- **Study area**: the service area's cells (the active province, plus cells holding a
  selected report). For a selection of *categories*, only the cells where those categories
  occur: cells whose resolution-7 parent (about 5 km², 1.2 km across) holds a report of one
  of them at any time, or touches one that does. Trees are not reported in the rice fields;
  counting those fields as places where none were reported would make every tree-lined street
  look hot and hide the cold ones. A time window or a channel does not shrink the area: the
  window's reports could have come from anywhere the selection ever occurs.
- **Scale**: resolution and rings as given, else chosen by :mod:`.statistics.scale` (at most
  resolution 9 unasked), stepping to a coarser resolution while the finer one lacks the power
  to find a 3x cluster ~1 km across (:mod:`.statistics.power`). Unasked rings (binary
  weights) are *adaptive*: each cell the fewest of 1 to
  :func:`~.statistics.neighbourhoods.max_rings` rings whose cells expect
  :data:`~.statistics.neighbourhoods.TARGET_EXPECTED` reports
  (:mod:`.statistics.neighbourhoods`); with decay weights, where Moran's I z peaks. Given
  rings are the same for every cell.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import h3.api.numpy_int as h3n
import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from gis_service.analysis import grid
from gis_service.analysis.hierarchy import parents
from gis_service.analysis.residents import (
    resident_raster,
    resident_raster_job,
    residents_per_cell,
)
from gis_service.analysis.selection import ANALYSIS_RESOLUTIONS, ReportSelection
from gis_service.analysis.sql import hotspots as sql
from gis_service.analysis.statistics import power, scale
from gis_service.analysis.statistics.inference import (
    DEFAULT_MIN_COUNT,
    dispersion,
    expected_counts,
    pearson_residuals,
)
from gis_service.analysis.statistics.neighbourhoods import (
    TARGET_EXPECTED,
    adaptive_weights,
    max_rings,
    rings_by_steps,
)
from gis_service.analysis.statistics.validation import Setup
from gis_service.analysis.statistics.weights import CellWeights, WeightScheme
from gis_service.errors import InvalidInput, NotFound

Measure = Literal["excess", "count"]
MEASURES: tuple[Measure, ...] = ("excess", "count")
CellArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: The footprint's resolution (see the module docstring).
FOOTPRINT_RESOLUTION = 7
#: The finest resolution chosen unasked: res-10 cells (0.015 km², a street block) hold a
#: province of 290,000 cells, and rings over them cost minutes; ask for res=10 to get it.
AUTO_MAX_RESOLUTION = 9


def check_measure(measure: str) -> Measure:
    for known in MEASURES:
        if measure == known:
            return known
    raise InvalidInput("measure must be excess (reports against residents) or count",
                       field="measure")


def background(conn: Connection, cells: CellArray, resolution: int, measure: Measure
               ) -> FloatArray:
    """Residents per cell (``excess``) or ones (``count``)."""
    if measure == "count":
        return np.ones(len(cells))
    raster = resident_raster(conn)
    if raster is None:
        raise NotFound("no boundary generation carries the 2019 census population, so reports "
                       "cannot be compared with residents: use measure=count", field="measure")
    return residents_per_cell(raster, cells, resolution)


def footprint(conn: Connection, selection: ReportSelection, cells: CellArray) -> npt.NDArray[np.bool_]:
    """Which of ``cells`` lie where the selection's categories occur (all, without categories)."""
    if selection.categories is None:
        return np.ones(len(cells), dtype=bool)
    ever = sql.cell_counts(conn, FOOTPRINT_RESOLUTION, ReportSelection(categories=selection.categories))
    if len(ever.cells) == 0:
        return np.ones(len(cells), dtype=bool)
    reach = np.unique(np.concatenate(
        [h3n.grid_disk(int(cell), 1).astype(np.int64) for cell in ever.cells.tolist()]))
    resolution = h3n.get_resolution(int(cells[0])) if len(cells) else FOOTPRINT_RESOLUTION
    coarse = parents(cells, FOOTPRINT_RESOLUTION) if resolution > FOOTPRINT_RESOLUTION else cells
    return np.isin(coarse, reach)


@dataclass(frozen=True)
class Scale:
    """The resolution and rings used, how they were chosen, and the figures behind it."""

    resolution: int
    k: int
    chosen_by: str
    figures: dict[str, object]
    adaptive: bool = False  # k is then each cell's most rings (binary weights only)


def _counts_at(conn: Connection, selection: ReportSelection) -> dict[int, npt.NDArray[np.int64]]:
    """Reports per occupied cell at every analysis resolution, from one count at the finest."""
    finest = max(ANALYSIS_RESOLUTIONS)
    found = sql.cell_counts(conn, finest, selection)
    out: dict[int, npt.NDArray[np.int64]] = {}
    for resolution in ANALYSIS_RESOLUTIONS:
        owners = found.cells if resolution == finest else parents(found.cells, resolution)
        _, index = np.unique(owners, return_inverse=True)
        out[resolution] = np.bincount(index.ravel(), weights=found.counts).astype(np.int64)
    return out


def choose_scale(conn: Connection, selection: ReportSelection, *, measure: Measure,
                 resolution: int | None, k: int | None, scheme: WeightScheme,
                 max_resolution: int = max(ANALYSIS_RESOLUTIONS)) -> Scale:
    """The resolution and rings: as given, else from the data (module docstring). An unasked
    resolution too fine to find a 3x cluster ~1 km across (predicted recall under
    :data:`~.statistics.power.TARGET_RECALL`, :mod:`.statistics.power`) gives way to the next
    coarser one, and ``chosen_by`` says so."""
    figures: dict[str, object] = {}
    chosen: list[str] = []
    adaptive = k is None and scheme == "binary"
    if resolution is None:
        finest = min(max_resolution, AUTO_MAX_RESOLUTION)
        occupied = {r: c for r, c in _counts_at(conn, selection).items() if r <= finest}
        figures["mean_count_per_occupied_cell"] = {
            str(r): round(scale.mean_occupied_count(c), 3) for r, c in occupied.items()}
        dense = scale.choose_resolution(occupied)
        chosen.append(f"resolution: the finest whose occupied cells hold at least "
                      f"{scale.MIN_MEAN_COUNT:g} reports on average")
        resolution, k = _powered_scale(conn, selection, measure=measure, scheme=scheme,
                                       dense=dense, k=k, figures=figures, chosen=chosen)
    elif k is None and adaptive:
        # No Moran's I here: it would count the reports once more and build every ring's
        # weights by h3 (seconds on a million reports) for a figure the choice does not use.
        k = max_rings(resolution)
        chosen.append(_K_REASON[True])
    elif k is None:
        k, figures["moran_z_by_k"] = _unasked_k(conn, selection, measure, resolution, scheme)
        chosen.append(_K_REASON[False])
    return Scale(resolution=resolution, k=k, chosen_by="; ".join(chosen) or "given",
                 figures=figures, adaptive=adaptive)


_K_REASON = {
    True: (f"k: per cell, the fewest rings (up to k, one beyond a ~1 km cluster's radius) whose "
           f"cells expect at least {TARGET_EXPECTED:g} reports (adaptive)"),
    False: "k: the rings where Moran's I z of the analysed values peaks",
}


def _unasked_k(conn: Connection, selection: ReportSelection, measure: Measure, resolution: int,
               scheme: WeightScheme) -> tuple[int, dict[str, float]]:
    """Unasked rings: adaptive up to :func:`max_rings` with binary weights, else where
    Moran's I z peaks; and the z by rings (for decay weights only)."""
    if scheme == "binary":  # no Moran's I: see choose_scale
        return max_rings(resolution), {}
    z_by_k = _moran_by_k(conn, selection, measure, resolution, scheme)
    return scale.choose_k(z_by_k), {str(ring): round(z, 3) for ring, z in enumerate(z_by_k, 1)}


def _powered_scale(conn: Connection, selection: ReportSelection, *, measure: Measure,
                   scheme: WeightScheme, dense: int, k: int | None,
                   figures: dict[str, object], chosen: list[str]) -> tuple[int, int]:
    """From ``dense`` down to the coarsest analysis resolution: the first whose predicted
    recall reaches the target (else the best), with its own rings."""
    tried: dict[str, dict[str, object]] = {}
    best: tuple[float, int, int] | None = None
    for resolution in range(dense, min(ANALYSIS_RESOLUTIONS) - 1, -1):
        tried_here: dict[str, object] = {}
        rings = k
        if rings is None:
            rings, moran = _unasked_k(conn, selection, measure, resolution, scheme)
            if moran:
                tried_here["moran_z_by_k"] = moran
        recall = scale_power(conn, selection, measure=measure, resolution=resolution, k=rings,
                             scheme=scheme, adaptive=k is None).recall
        tried[str(resolution)] = {"k": rings, "predicted_recall": round(recall, 3), **tried_here}
        if best is None or recall > best[0]:
            best = (recall, resolution, rings)
        if recall >= power.TARGET_RECALL:
            best = (recall, resolution, rings)
            break
    assert best is not None  # the loop runs at least once: dense is an analysis resolution
    figures["predicted_recall_by_resolution"] = tried
    if "moran_z_by_k" in tried[str(best[1])]:
        figures["moran_z_by_k"] = tried[str(best[1])]["moran_z_by_k"]
    if k is None:
        chosen.append(_K_REASON[scheme == "binary"])
    if best[1] != dense:
        first = tried[str(dense)]["predicted_recall"]
        chosen.append(f"resolution {dense} would find {first:g} "
                      f"of a 3x cluster ~1 km across (under {power.TARGET_RECALL:g}): "
                      f"resolution {best[1]}")
    if best[0] < power.TARGET_RECALL:
        chosen.append(f"no resolution reaches a predicted recall of {power.TARGET_RECALL:g} "
                      f"(best {best[0]:.2f}): clusters of this selection can be missed")
    return best[1], best[2]


def scale_power(conn: Connection, selection: ReportSelection, *, measure: Measure,
                resolution: int, k: int, scheme: WeightScheme, adaptive: bool = False
                ) -> power.Power:
    """The predicted recall of a 3x ~1 km cluster at this scale (:mod:`.statistics.power`)."""
    found = analysis_cells(conn, selection, resolution, measure)
    weights, _ = neighbourhood(found, k, scheme, adaptive=adaptive and scheme == "binary")
    # The dispersion the test will read (duplicates cost power), as the answer's power has it.
    x = np.where(found.background > 0, found.counts, 0).astype(np.float64)
    phi = dispersion(x, expected_counts(x, found.background), weights)
    return cells_power(found, weights, resolution, phi=phi)


def neighbourhood(found: Cells, k: int, scheme: WeightScheme, *, adaptive: bool,
                  periods: int = 1) -> tuple[CellWeights, npt.NDArray[np.int64]]:
    """The weights of the test and each cell's rings: ``k`` for every cell, or adaptive
    (:mod:`.statistics.neighbourhoods`, on the reports expected per period)."""
    if not adaptive:
        return grid.weights(found.cells, k, scheme), np.full(len(found.cells), k, dtype=np.int64)
    tested = float(np.where(found.background > 0, found.counts, 0).sum()) / max(periods, 1)
    share = found.background / found.background.sum() if found.background.sum() > 0 else 0.0
    by_k = rings_by_steps(grid.weights(found.cells, 1, "binary"), k)
    return adaptive_weights(by_k, np.asarray(share * tested, dtype=np.float64))


def cells_power(found: Cells, weights: CellWeights, resolution: int, *, phi: float = 1.0,
                periods: int = 1, min_count: int = DEFAULT_MIN_COUNT) -> power.Power:
    """:func:`.statistics.power.predicted_recall` of these cells' reports (per period)."""
    tested = float(np.where(found.background > 0, found.counts, 0).sum()) / max(periods, 1)
    return power.predicted_recall(found.cells, found.background, weights, tested,
                                  radius=power.cluster_rings(resolution), phi=phi,
                                  min_count=min_count)


@dataclass(frozen=True)
class Cells:
    """The cells an analysis tests, their counts and background."""

    cells: CellArray
    counts: npt.NDArray[np.int64]
    background: FloatArray
    area_cells: int


def analysis_cells(conn: Connection, selection: ReportSelection, resolution: int,
                   measure: Measure) -> Cells:
    """The study area's cells (zeros included) with their counts and background."""
    area_job = grid.study_area_job(conn, resolution)
    raster_job = resident_raster_job(conn) if measure == "excess" else None
    # The study area's cells and the residents' raster (CPU only, cached after the first call)
    # are built while the database counts the reports: a cold analysis waits for the slower of
    # the two, not their sum (0.6 s of SQL on a million reports).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(area_job)
        if raster_job is not None:
            pool.submit(raster_job)
        found = sql.cell_counts(conn, resolution, selection)
        area = pending.result()
    cells = grid.with_cells(area, found.cells)
    counts = np.zeros(len(cells), dtype=np.int64)
    counts[np.searchsorted(cells, found.cells)] = found.counts
    keep = footprint(conn, selection, cells) | (counts > 0)
    cells, counts = cells[keep], counts[keep]
    return Cells(cells=cells, counts=counts,
                 background=background(conn, cells, resolution, measure),
                 area_cells=len(area.cells))


def _moran_by_k(conn: Connection, selection: ReportSelection, measure: Measure,
                resolution: int, scheme: WeightScheme) -> list[float]:
    found = analysis_cells(conn, selection, resolution, measure)
    x = found.counts.astype(np.float64)
    values = (pearson_residuals(x, expected_counts(x, found.background))
              if measure == "excess" else x)
    return [scale.moran_z(values, grid.weights(found.cells, ring, scheme))
            for ring in range(1, scale.MAX_AUTO_K + 1)]


def validation_setup(conn: Connection, resolution: int, k: int = 1,
                     measure: Measure = "excess") -> Setup:
    """Huế's cells, weights and residents at ``resolution``, for the validation studies
    (:mod:`gis_service.analysis.statistics.validation`): the cells with residents (a null map
    drawn from residents has nothing elsewhere)."""
    area = grid.study_area(conn, resolution)
    residents = background(conn, area.cells, resolution, "excess")
    cells = area.cells[residents > 0]
    return Setup(cells=cells, weights=grid.weights(cells, k, "binary"),
                 background=residents[residents > 0], measure=measure)
