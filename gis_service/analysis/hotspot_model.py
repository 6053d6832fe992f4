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
  resolution 9 unasked).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import h3.api.numpy_int as h3n
import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from gis_service.analysis import grid
from gis_service.analysis.hierarchy import parents
from gis_service.analysis.residents import resident_raster, residents_per_cell
from gis_service.analysis.selection import ANALYSIS_RESOLUTIONS, ReportSelection
from gis_service.analysis.sql import hotspots as sql
from gis_service.analysis.statistics import scale
from gis_service.analysis.statistics.inference import expected_counts, pearson_residuals
from gis_service.analysis.statistics.validation import Setup
from gis_service.analysis.statistics.weights import WeightScheme
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
    """The resolution and rings: as given, else from the data (module docstring)."""
    figures: dict[str, object] = {}
    chosen: list[str] = []
    if resolution is None:
        finest = min(max_resolution, AUTO_MAX_RESOLUTION)
        occupied = {r: c for r, c in _counts_at(conn, selection).items() if r <= finest}
        figures["mean_count_per_occupied_cell"] = {
            str(r): round(scale.mean_occupied_count(c), 3) for r, c in occupied.items()}
        resolution = scale.choose_resolution(occupied)
        chosen.append(f"resolution: the finest whose occupied cells hold at least "
                      f"{scale.MIN_MEAN_COUNT:g} reports on average")
    if k is None:
        z_by_k = _moran_by_k(conn, selection, measure, resolution, scheme)
        figures["moran_z_by_k"] = {str(ring): round(z, 3) for ring, z in enumerate(z_by_k, 1)}
        k = scale.choose_k(z_by_k)
        chosen.append("k: the rings where Moran's I z of the analysed values peaks")
    return Scale(resolution=resolution, k=k, chosen_by="; ".join(chosen) or "given",
                 figures=figures)


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
    found = sql.cell_counts(conn, resolution, selection)
    area = grid.study_area(conn, resolution)
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
