"""Communes' deep interiors held in memory, so most one-point lookups need one tiny round trip.

A point more than ``MARGIN_DEG`` inside one commune and at least that far from every other
commune of its generation is "inside" that commune under every rule of the spatial package (covered
by it alone: no edge, overlap, gap or tolerance comes into it). For such a point snap_point
needs from PostgreSQL only the proof that the boundaries are still those the interiors were
cut from: the boundary revision (migration 0005), a one-row read. Edges, overlaps, gaps and
the sea still go to the SQL, which stays the one definition of the rules.

Cutting the cores: each commune shrunk by ``2 * MARGIN_DEG``, less every sibling that reaches
into the commune shrunk by ``MARGIN_DEG``, grown by ``MARGIN_DEG``. So a point of a core is
at least ``MARGIN_DEG`` inside its commune and from every sibling (a sibling that does not
reach into the once-shrunk commune lies outside a ``MARGIN_DEG`` disc around any point of the
twice-shrunk one). GEOS (here) and PostGIS (the SQL) could disagree only about points within
rounding error (~1e-15°) of an edge; the margin, ~1.1 m, is ten orders of magnitude wider,
and GEOS's approximation of the buffers' round corners costs a few percent of it at most.

Cores are cut once per boundary revision and process, after ``BUILD_AFTER`` lookups under it
went to the SQL, so a revision seen once or twice (as in tests that write boundaries) never
pays for them. Measured here: ~110 ms for the 152 communes of 2019, ~300 ms for the demo
database's two generations (192 communes), once.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence

import numpy as np
import shapely
from sqlalchemy import Connection, select

from gis_service.boundaries import generations
from gis_service.boundaries.generations import Generation
from gis_service.db.schema import admin_unit, generation
from gis_service.errors import GisError
from gis_service.revision_cache import RevisionCache, current_revision
from gis_service.spatial.proximity import NEAR_BOUNDARY_M

#: ~1.1 m in latitude, ~1.07 m in longitude at Huế.
MARGIN_DEG = 1e-5
#: Fewest metres in a degree of latitude (at the equator) on WGS84.
_M_PER_DEG_LAT_MIN = 110_574.0
#: Side of the grid that lists, for each cell, the cores whose bounding box meets it.
GRID_DEG = 0.005
#: Lookups answered by the SQL under one revision before this process cuts cores for it.
BUILD_AFTER = 200
#: Revisions whose cores a process keeps (a process may talk to several databases).
KEPT_REVISIONS = 4


def cut_cores(communes: np.ndarray, margin_deg: float = MARGIN_DEG) -> np.ndarray:
    """Each commune's deep interior (see the module docstring); None where nothing is left.

    A point of a core lies at least ``margin_deg`` inside its commune and from every sibling.

    Two unit-high boxes overlapping over [0.5, 1]: each keeps its own part, shrunk.

    >>> [round(float(shapely.area(c)), 6) for c in cut_cores(np.array(
    ...     [shapely.box(0, 0, 1, 1), shapely.box(0.5, 0, 2, 1)]))]
    [0.49995, 0.99993]
    """
    once = shapely.buffer(communes, -margin_deg)
    twice = shapely.buffer(communes, -2 * margin_deg)
    tree = shapely.STRtree(communes)
    cores = np.empty(len(communes), dtype=object)
    for i, shrunk in enumerate(twice):
        reaching = [j for j in tree.query(once[i], predicate="intersects") if j != i]
        core = shrunk if not reaching else shapely.difference(
            shrunk, shapely.union_all(shapely.buffer(communes[reaching], margin_deg)))
        cores[i] = None if core is None or shapely.is_empty(core) else core
    return cores


def _clear_margin_deg(communes: np.ndarray) -> float:
    """Degrees that are surely more than ``NEAR_BOUNDARY_M`` metres in every direction over
    these communes (5% spare), as gis_service.spatial.grid's prefilter reckons."""
    bounds = shapely.bounds(communes)
    farthest = float(np.nanmax(np.abs(bounds[:, [1, 3]]))) if len(bounds) else 0.0
    shortest_m_per_deg = _M_PER_DEG_LAT_MIN * math.cos(math.radians(min(farthest + 0.1, 89.0)))
    return NEAR_BOUNDARY_M * 1.05 / shortest_m_per_deg


class _GenerationCores:
    """One generation's cores and grown communes, found through a grid of ``GRID_DEG`` cells.

    Each cell lists the communes whose grown polygon's bounding box meets it, or holds the
    commune's id itself when the cell lies wholly inside its core (no polygon test then). A
    cell missing from the grid is farther than ``MARGIN_DEG`` from every commune.
    """

    def __init__(self, code: str, commune_ids: Sequence[int], communes: np.ndarray) -> None:
        self.code = code
        self._ids = [int(i) for i in commune_ids]
        self._communes = communes
        self._clear: dict[int, shapely.Geometry | None] | None = None
        self._cores = cut_cores(communes)
        self._grown = shapely.buffer(communes, MARGIN_DEG)
        shapely.prepare(self._cores)
        shapely.prepare(self._grown)
        cx, cy, index = self._cells_of_boxes(shapely.bounds(self._grown))
        order = np.lexsort((index, cy, cx))
        cx, cy, index = cx[order], cy[order], index[order]
        starts = np.flatnonzero(np.r_[True, (np.diff(cx) != 0) | (np.diff(cy) != 0)])
        self._grid: dict[tuple[int, int], int | tuple[int, ...]] = {
            (cell_x, cell_y): tuple(indexes) for cell_x, cell_y, indexes in zip(
                cx[starts].tolist(), cy[starts].tolist(),
                (part.tolist() for part in np.split(index, starts[1:])), strict=True)}
        # A cell wholly inside a core answers without a polygon test. A point whose division by
        # GRID_DEG rounds it into the cell from a hair outside is still surely in the commune:
        # the core's margin is ten orders of magnitude wider than that hair.
        whole = shapely.contains(self._cores[index], shapely.box(
            cx * GRID_DEG, cy * GRID_DEG, (cx + 1) * GRID_DEG, (cy + 1) * GRID_DEG))
        for cell_x, cell_y, i in zip(cx[whole].tolist(), cy[whole].tolist(),
                                     index[whole].tolist(), strict=True):
            self._grid[(cell_x, cell_y)] = self._ids[i]

    @staticmethod
    def _cells_of_boxes(bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (cell x, cell y, box index) whose cell meets a box (one row of ``bounds``; an
        empty geometry's row, all NaN, meets none)."""
        known = np.flatnonzero(~np.isnan(bounds).any(axis=1))
        low = np.floor(bounds[known, :2] / GRID_DEG).astype(np.int64)
        high = np.floor(bounds[known, 2:] / GRID_DEG).astype(np.int64)
        parts = [np.empty((0, 3), dtype=np.int64)]
        for i, (x0, y0), (x1, y1) in zip(known.tolist(), low.tolist(), high.tolist(), strict=True):
            xs, ys = np.meshgrid(np.arange(x0, x1 + 1), np.arange(y0, y1 + 1))
            parts.append(np.column_stack([xs.ravel(), ys.ravel(), np.full(xs.size, i)]))
        cells = np.vstack(parts)
        return cells[:, 0], cells[:, 1], cells[:, 2]

    def core_at(self, lon: float, lat: float) -> int | None:
        """The commune whose core holds the point, or None."""
        entry = self._grid.get((math.floor(lon / GRID_DEG), math.floor(lat / GRID_DEG)))
        if entry is None or isinstance(entry, int):
            return entry
        for index in entry:
            core = self._cores[index]
            if core is not None and shapely.contains_xy(core, lon, lat):
                return self._ids[index]
        return None

    def clear_of_others(self, commune_id: int, lon: float, lat: float) -> bool:
        """Whether the point is surely farther than ``NEAR_BOUNDARY_M`` from every other commune
        of the generation, so reverse geocoding needs no neighbour query.

        Proved in degrees: the commune's interior cut with a margin that is at least
        ``NEAR_BOUNDARY_M`` metres at every latitude of the generation (a degree of longitude
        is shortest at the latitude farthest from the equator). Cut on first use.
        """
        if self._clear is None:
            self._clear = dict(zip(self._ids, cut_cores(self._communes, _clear_margin_deg(
                self._communes)).tolist(), strict=True))
            shapely.prepare([core for core in self._clear.values() if core is not None])
        core = self._clear.get(commune_id)
        return core is not None and bool(shapely.contains_xy(core, lon, lat))

    def in_no_commune(self, lon: float, lat: float) -> bool:
        """Whether the point is surely covered by no commune (farther than the margin from all)."""
        entry = self._grid.get((math.floor(lon / GRID_DEG), math.floor(lat / GRID_DEG)))
        if entry is None:
            return True
        if isinstance(entry, int):
            return False
        return not any(shapely.contains_xy(self._grown[index], lon, lat) for index in entry)


class CommuneCores:
    """The cores of every generation, as the boundaries stood at ``revision``."""

    def __init__(self, revision: uuid.UUID, generations: Sequence[Generation],
                 by_generation: dict[int, _GenerationCores]) -> None:
        self.revision = revision
        self._generations = tuple(generations)
        self._by_generation = by_generation
        # Requests name few distinct (code, date) pairs; each is resolved once.
        self._picked: dict[tuple[str | None, dt.date | None], _GenerationCores | None] = {}

    def of_generation(self, conn: Connection, code: str | None, at: dt.date | None
                      ) -> _GenerationCores | None:
        """The cores of the generation the snapping SQL would pick, if it has communes.

        The pick is :func:`gis_service.boundaries.generations.resolve`'s, asked once per
        (code, date) and kept: any change to a generation changes the revision, and with it
        these cores. None when no generation answers (the SQL then raises its own error).
        """
        key = (code, at)
        if key in self._picked:
            return self._picked[key]
        try:
            generation_id = generations.resolve(conn, code=code, at=at).id
        except GisError:
            generation_id = None
        picked = None if generation_id is None else self._by_generation.get(generation_id)
        if len(self._picked) < 4096:
            self._picked[key] = picked
        return picked


def read_cores(conn: Connection) -> CommuneCores | None:
    """Cut the cores from the boundaries ``conn`` sees; None if they changed while being read."""
    revision = current_revision()
    generations = conn.execute(select(
        revision, generation.c.id, generation.c.code, generation.c.description,
        generation.c.valid_from, generation.c.valid_to, generation.c.status,
    ).select_from(generation)).all()
    communes = conn.execute(
        select(revision, admin_unit.c.id, admin_unit.c.generation_id,
               admin_unit.c.geom.ST_AsBinary())
        .where(admin_unit.c.level == "commune")
        .order_by(admin_unit.c.id)
    ).all()
    revisions = {row[0] for row in (*generations, *communes)}
    if len(revisions) != 1:
        return None  # none stored, or a write came between the two statements
    known = [Generation(*row[1:]) for row in generations]
    by_generation: dict[int, _GenerationCores] = {}
    for one in known:
        rows = [row for row in communes if row[2] == one.id]
        if rows:
            polygons = shapely.from_wkb([bytes(row[3]) for row in rows])
            by_generation[one.id] = _GenerationCores(one.code, [row[1] for row in rows], polygons)
    return CommuneCores(revisions.pop(), known, by_generation)


_ALL = "all generations"  # the cores are stored whole, one entry per revision


class CoreCache:
    """Cores by revision for this process, cut once a revision has been looked up often."""

    def __init__(self) -> None:
        self._cores: RevisionCache[str, CommuneCores] = RevisionCache(KEPT_REVISIONS)
        self._lookups: dict[uuid.UUID, int] = {}

    def get(self, revision: uuid.UUID | None) -> CommuneCores | None:
        return None if revision is None else self._cores.get(revision, _ALL)

    def looked_up(self, conn: Connection, revision: uuid.UUID) -> None:
        """Count a lookup the SQL answered under ``revision``; cut the cores at ``BUILD_AFTER``."""
        count = self._lookups.get(revision, 0) + 1
        if revision not in self._lookups and len(self._lookups) >= 16 * KEPT_REVISIONS:
            self._lookups = {}  # counts of revisions long gone
        self._lookups[revision] = count
        if count % BUILD_AFTER == 0 and self.get(revision) is None:
            # (tried again BUILD_AFTER lookups later if the boundaries changed meanwhile)
            self.build(conn)

    def build(self, conn: Connection) -> CommuneCores | None:
        """Cut and keep the cores of the boundaries ``conn`` sees now."""
        cores = read_cores(conn)
        if cores is not None:
            self._cores.put(cores.revision, _ALL, cores)
        return cores
