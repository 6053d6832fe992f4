"""The vector tile layers: boundaries of each published generation, public reports, hot spot
cells. Each names the OGC collection it draws, so both describe the same data alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import h3
from sqlalchemy import Connection

from gis_service.analysis.cache import LruCache
from gis_service.data_versions import DataVersion
from gis_service.errors import NotFound
from gis_service.ogc import sql as ogc_sql

MIN_ZOOM, MAX_ZOOM = 6, 16
#: From this zoom reports are points (rounded to 4 decimals); below it, counts on H3 cells.
REPORT_POINT_ZOOM = 14
HOTSPOT_RESOLUTIONS = (8, 9)


@dataclass(frozen=True)
class Layer:
    id: str
    description: str
    collection_id: str
    fields: Mapping[str, str]
    uses_boundaries: bool
    uses_reports: bool
    generation: str | None = None
    resolution: int | None = None


def report_resolution(z: int) -> int:
    """The H3 resolution reports are counted on at zoom ``z`` (below REPORT_POINT_ZOOM): a
    cell a few pixels across on a 256-pixel tile (r6 at z 9, r9 at z 12, r10 at z 13).

    >>> [report_resolution(z) for z in (6, 9, 12, 13)]
    [6, 6, 9, 10]
    """
    return min(10, max(6, z - 3))


def cell_margin_deg(resolution: int) -> float:
    """How far outside a tile the reports of a cell reaching into it can lie: a hexagon's
    diameter (two edges; three for the cells whose edges are longer than the average), in
    degrees (a degree is at least 106 km below 17° N)."""
    return 3 * float(h3.average_hexagon_edge_length(resolution, "km")) / 106


def _boundaries(code: str) -> Layer:
    return Layer(f"boundaries-{code}", f"Communes and wards of the {code} generation",
                 f"communes-{code}", {"code": "GSO code", "name": "name",
                                      "unit_type": "Phường, Xã, Thị trấn",
                                      "setting": "urban or rural"},
                 uses_boundaries=True, uses_reports=False, generation=code)


REPORTS = Layer(
    "reports", f"Public field reports: points (4 decimals) from zoom {REPORT_POINT_ZOOM}, "
    "below it counts on H3 cells (resolution = zoom - 3, 6 to 10)", "reports",
    {"id": "report id (points)", "category": "category (points)", "status": "status (points)",
     "cell": "H3 cell (counts)", "count": "reports in the cell (counts)",
     "resolution": "H3 resolution (counts)"},
    uses_boundaries=False, uses_reports=True)


def _hotspots(resolution: int) -> Layer:
    return Layer(f"hotspots-r{resolution}", f"Gi* hot spot cells, H3 resolution {resolution}",
                 f"hotspots-r{resolution}", {"cell": "H3 cell", "count": "reports",
                                             "z": "Gi* z-score", "class": "hot_99 ... cold_99"},
                 uses_boundaries=True, uses_reports=True, resolution=resolution)


# The layers by boundary revision (a generation published or retired changes it): a warm tile
# then costs one statement, the versions' read.
_LAYERS: LruCache[str, tuple[Layer, ...]] = LruCache(8)


def all_layers(conn: Connection, versions: DataVersion | None = None) -> tuple[Layer, ...]:
    def make() -> tuple[Layer, ...]:
        generations = [code for code, _status, _about in ogc_sql.published_generations(conn)]
        return (*(_boundaries(code) for code in generations), REPORTS,
                *(_hotspots(res) for res in HOTSPOT_RESOLUTIONS))

    if versions is None:
        return make()
    return _LAYERS.get_or_make(versions.boundaries, make)


def find_layer(conn: Connection, layer_id: str, versions: DataVersion | None = None) -> Layer:
    for layer in all_layers(conn, versions):
        if layer.id == layer_id:
            return layer
    raise NotFound(f"không có lớp {layer_id[:80]!r} · no tile layer {layer_id[:80]!r}",
                   field="layer")
