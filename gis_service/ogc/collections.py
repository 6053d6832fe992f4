"""The OGC API's collections: what each offers and where its features come from.

- ``communes-{code}``: the communes (wards) of each published boundary generation;
- ``reports``: public field reports (no contacts, no free text, points to 4 decimals);
- ``hotspots-r8``, ``hotspots-r9``: Gi* hot spot cells of the reports at H3 resolutions 8, 9.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
from sqlalchemy import Connection

from gis_service.analysis.cache import LruCache
from gis_service.data_versions import DataVersion
from gis_service.db.schema import REPORT_STATUSES
from gis_service.errors import NotFound
from gis_service.ogc import cells, sql
from gis_service.ogc.crs import Crs
from gis_service.ogc.params import ItemsQuery
from gis_service.ogc.sql import Extent, Page

HOTSPOT_CLASSES = ("hot_99", "hot_95", "hot_90", "not_significant", "cold_90", "cold_95",
                   "cold_99")
# numberMatched and extents by (version, collection, selection): paging through a large
# collection counts it once.
_COUNTS: LruCache[tuple[object, ...], int] = LruCache(512)
_EXTENTS: LruCache[tuple[object, ...], Extent] = LruCache(64)


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    #: Property filters: name -> allowed values (None: any text).
    filters: Mapping[str, Sequence[str] | None]
    uses_boundaries: bool
    uses_reports: bool
    #: The feature property ``datetime`` compares with, if any.
    temporal_property: str | None
    generation: str | None = None
    resolution: int | None = None
    #: Properties and their JSON types, for the HTML page and the TileJSON fields.
    properties: Mapping[str, str] = field(default_factory=dict)

    def version(self, versions: DataVersion) -> str:
        return versions.of(boundaries=self.uses_boundaries, reports=self.uses_reports)


COMMUNE_PROPERTIES = {"code": "string", "name": "string", "name_ascii": "string",
                      "unit_type": "string", "setting": "string", "population": "integer",
                      "population_year": "integer", "area_km2": "number",
                      "approximate": "boolean", "source": "string", "licence": "string",
                      "generation": "string"}
REPORT_PROPERTIES = {"category": "string", "status": "string", "channel": "string",
                     "created_at": "string", "resolved_at": "string", "closed_at": "string",
                     "commune_code": "string", "commune": "string", "description": "string"}
CELL_PROPERTIES = {"cell": "string", "count": "integer", "z": "number", "p": "number",
                   "p_fdr": "number", "class": "string"}


def _communes(code: str, status: str, description: str) -> Collection:
    return Collection(
        f"communes-{code}", f"Xã, phường {code} · Communes and wards ({code})",
        f"The communes and wards of the {code} boundary generation ({status}). {description}",
        {"code": None}, uses_boundaries=True, uses_reports=False, temporal_property=None,
        generation=code, properties=COMMUNE_PROPERTIES)


def _reports(categories: Sequence[str]) -> Collection:
    return Collection(
        "reports", "Phản ánh hiện trường · Field reports",
        "Citizens' field reports, public view: category, status, dates and ward; locations "
        "rounded to 4 decimals (about 10 m); no contacts and no free text.",
        {"category": tuple(categories), "status": REPORT_STATUSES}, uses_boundaries=False,
        uses_reports=True, temporal_property="created_at", properties=REPORT_PROPERTIES)


def _hotspots(resolution: int, categories: Sequence[str]) -> Collection:
    return Collection(
        f"hotspots-r{resolution}", f"Điểm nóng H3 r{resolution} · Hot spots, H3 res {resolution}",
        f"Getis-Ord Gi* of report counts on every H3 cell (resolution {resolution}) of the "
        "service area, zeros included: count, z, p, p_fdr and class. datetime chooses the "
        "reports analysed, category their categories.",
        {"category": tuple(categories), "class": HOTSPOT_CLASSES}, uses_boundaries=True,
        uses_reports=True, temporal_property=None, resolution=resolution,
        properties=CELL_PROPERTIES)


def all_collections(conn: Connection) -> list[Collection]:
    categories = sql.category_codes(conn)
    return [*(_communes(*row) for row in sql.published_generations(conn)),
            _reports(categories), *(_hotspots(res, categories) for res in cells.HOTSPOT_RESOLUTIONS)]


def find_collection(conn: Connection, collection_id: str) -> Collection:
    for collection in all_collections(conn):
        if collection.id == collection_id:
            return collection
    raise NotFound(f"không có tập dữ liệu {collection_id[:80]!r} · no collection "
                   f"{collection_id[:80]!r}", field="collectionId")


# -- where the features come from -------------------------------------------------------------
def _frame(conn: Connection, collection: Collection, versions: DataVersion,
           query: ItemsQuery) -> gpd.GeoDataFrame:
    assert collection.resolution is not None
    return cells.cell_frame(conn, versions, collection.resolution, query)


def page(conn: Connection, collection: Collection, versions: DataVersion,
         query: ItemsQuery) -> Page:
    if collection.generation is not None:
        return sql.commune_page(conn, collection.generation, query)
    if collection.resolution is not None:
        return cells.cell_page(_frame(conn, collection, versions, query), query)
    return sql.report_page(conn, query)


def _count(conn: Connection, collection: Collection, versions: DataVersion,
           query: ItemsQuery) -> Callable[[], int]:
    if collection.generation is not None:
        code = collection.generation
        return lambda: sql.commune_count(conn, code, query)
    if collection.resolution is not None:
        return lambda: len(cells.selected(_frame(conn, collection, versions, query), query))
    return lambda: sql.report_count(conn, query)


def matched(conn: Connection, collection: Collection, versions: DataVersion,
            query: ItemsQuery) -> int:
    key = (collection.version(versions), collection.id, query.paging_key())
    return _COUNTS.get_or_make(key, _count(conn, collection, versions, query))


def feature(conn: Connection, collection: Collection, versions: DataVersion, feature_id: str,
            crs: Crs) -> str | None:
    if collection.generation is not None:
        return sql.commune_feature(conn, collection.generation, feature_id, crs)
    if collection.resolution is not None:
        return cells.cell_feature(_frame(conn, collection, versions, ItemsQuery()), feature_id,
                                  crs)
    return sql.report_feature(conn, feature_id, crs)


def extent(conn: Connection, collection: Collection, versions: DataVersion) -> Extent:
    def make() -> Extent:
        if collection.generation is not None:
            return sql.commune_extent(conn, collection.generation)
        if collection.resolution is not None:
            return cells.cell_extent(_frame(conn, collection, versions, ItemsQuery()))
        return sql.report_extent(conn)

    return _EXTENTS.get_or_make((collection.version(versions), collection.id), make)
