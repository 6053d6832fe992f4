"""Loading one level of a generation's units into PostGIS, all or nothing.

The features go to a temporary staging table in one bulk insert; parent codes are resolved
and the units upserted in one statement each, and units of that generation and level that
the new file no longer has are deleted. Nothing is committed here: the caller owns the
transaction, so a :class:`DataError` raised half-way leaves the database as it was once the
caller rolls back. A row is unchanged unless one of its values is, so loading the same file
twice writes nothing but the ``boundary_load`` log row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import shapely
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Table,
    Text,
    and_,
    delete,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert

from gis_service.boundaries.features import Provenance, UnitFeature
from gis_service.boundaries.generations import by_code
from gis_service.boundaries.validate import (
    DEFAULT_MIN_AREA_M2,
    ValidationReport,
    levels_present,
    parent_level_of,
    validate,
)
from gis_service.db.schema import LEVELS, UNIT_TYPES, admin_unit, boundary_load
from gis_service.errors import DataError
from gis_service.text import fold_vietnamese

# Session-private and dropped at commit: concurrent loads never see each other's rows.
_staging = Table(
    "boundary_staging",
    MetaData(),
    Column("feature_index", Integer, nullable=False),
    Column("code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("name_ascii", Text, nullable=False),
    Column("unit_type", Text, nullable=False),
    Column("parent_code", Text),
    Column("population", Integer),
    Column("population_year", SmallInteger),
    Column("wkb", LargeBinary, nullable=False),
    Column("approximate", Boolean, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)

# What a re-load may change on an existing unit (its identity is generation, level and code).
_UPDATABLE = (
    "name", "name_ascii", "unit_type", "parent_id", "population", "population_year",
    "geom", "source", "licence", "approximate",
)


@dataclass(frozen=True)
class LoadSummary:
    """What one load did, with the generation's validation report afterwards."""

    load_id: int
    generation: str
    level: str
    source_file: str
    features: int
    repaired: int
    inserted: int
    updated: int
    deleted: int
    report: ValidationReport

    @property
    def unchanged(self) -> int:
        return self.features - self.inserted - self.updated

    def counts(self) -> dict[str, object]:
        return {
            "generation": self.generation,
            "level": self.level,
            "source_file": self.source_file,
            "features": self.features,
            "repaired": self.repaired,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
        }

    def to_dict(self) -> dict[str, object]:
        return {"load_id": self.load_id, **self.counts(), "validation": self.report.to_dict()}

    def describe(self) -> str:
        return (f"generation {self.generation}, {self.level}: {self.features} features from "
                f"{self.source_file} ({self.repaired} repaired): {self.inserted} inserted, "
                f"{self.updated} updated, {self.unchanged} unchanged, {self.deleted} deleted")


def load_units(
    conn: Connection,
    generation_code: str,
    level: str,
    features: Sequence[UnitFeature],
    provenance: Provenance,
    *,
    source_file: str,
    source_sha256: str,
    repaired: int = 0,
    min_area_m2: float = DEFAULT_MIN_AREA_M2,
) -> LoadSummary:
    """Make the generation's units of ``level`` exactly ``features``; never commits.

    ``parent_code`` is looked up among the units of the nearest level above that has units in
    the generation (districts for communes, or the province in a two-level generation).

    >>> with engine.begin() as conn:  # doctest: +SKIP
    ...     load_units(conn, "2019", "district", layer.features, Provenance("gis.chinhphu.vn",
    ...                "GPL-3.0"), source_file="districts.geojson", source_sha256=layer.sha256)
    """
    if level not in LEVELS:
        raise DataError(f"level must be one of {', '.join(LEVELS)}, not {level!r}", field="level")
    _check_features(features)
    generation = by_code(conn, generation_code)
    parent_level = parent_level_of(level, levels_present(conn, generation.id))
    _stage(conn, features)
    _check_parents(conn, generation.id, level, parent_level)
    inserted, updated = _upsert(conn, generation.id, level, parent_level, provenance)
    deleted = _delete_absent(conn, generation.id, level)
    report = validate(conn, generation_code, min_area_m2=min_area_m2)
    summary = LoadSummary(0, generation_code, level, source_file, len(features), repaired,
                          inserted, updated, deleted, report)
    return replace(summary, load_id=_record(conn, generation.id, summary, source_sha256, provenance))


def _where(feature: UnitFeature) -> str:
    return f"feature {feature.feature_index} (code {feature.code!r})"


def _check_features(features: Sequence[UnitFeature]) -> None:
    """What the database would reject less clearly: duplicates, bad types, empty geometry."""
    seen: dict[str, UnitFeature] = {}
    for feature in features:
        if feature.code in seen:
            first = seen[feature.code]
            raise DataError(f"{_where(feature)}: duplicate code, already used by feature "
                            f"{first.feature_index}")
        seen[feature.code] = feature
        if feature.unit_type not in UNIT_TYPES:
            raise DataError(f"{_where(feature)}: unknown unit type {feature.unit_type!r}")
        if feature.geometry.is_empty:
            raise DataError(f"{_where(feature)}: empty geometry")
        if feature.population is not None and feature.population < 0:
            raise DataError(f"{_where(feature)}: negative population")


def _stage(conn: Connection, features: Sequence[UnitFeature]) -> None:
    """Bulk-insert the features into a fresh staging table (geometries as WKB)."""
    _staging.drop(conn, checkfirst=True)
    _staging.create(conn)
    if not features:
        return
    wkbs = shapely.to_wkb([f.geometry for f in features])
    rows = [
        {
            "feature_index": f.feature_index,
            "code": f.code,
            "name": f.name,
            "name_ascii": fold_vietnamese(f.name),
            "unit_type": f.unit_type,
            "parent_code": f.parent_code,
            "population": f.population,
            "population_year": f.population_year,
            "wkb": wkb,
            "approximate": f.approximate,
        }
        for f, wkb in zip(features, wkbs, strict=True)
    ]
    conn.execute(_staging.insert(), rows)


def _parent_join(generation_id: int, parent_level: str | None) -> Any:
    """Staged features left-joined to their parent unit by code."""
    parent = admin_unit.alias("parent")
    if parent_level is None:
        # Nothing above this level: every parent code given is unknown.
        return parent, _staging.outerjoin(parent, false())
    on = and_(
        parent.c.generation_id == generation_id,
        parent.c.level == parent_level,
        parent.c.code == _staging.c.parent_code,
    )
    return parent, _staging.outerjoin(parent, on)


def _check_parents(
    conn: Connection, generation_id: int, level: str, parent_level: str | None
) -> None:
    parent, joined = _parent_join(generation_id, parent_level)
    unknown = conn.execute(
        select(_staging.c.feature_index, _staging.c.code, _staging.c.parent_code)
        .select_from(joined)
        .where(_staging.c.parent_code.is_not(None), parent.c.id.is_(None))
        .order_by(_staging.c.feature_index)
    ).all()
    if not unknown:
        return
    index, code, parent_code = unknown[0]
    among = f"the {parent_level} units" if parent_level else f"any level above {level}"
    more = f" ({len(unknown) - 1} more features have unknown parents)" if len(unknown) > 1 else ""
    raise DataError(f"feature {index} (code {code!r}): parent code {parent_code!r} is not among "
                    f"{among} of this generation{more}")


def _upsert(
    conn: Connection, generation_id: int, level: str, parent_level: str | None,
    provenance: Provenance,
) -> tuple[int, int]:
    """Insert new units and update changed ones; return (inserted, updated)."""
    parent, joined = _parent_join(generation_id, parent_level)
    rows = select(
        literal(generation_id, SmallInteger),
        literal(level, Text),
        _staging.c.code,
        _staging.c.name,
        _staging.c.name_ascii,
        _staging.c.unit_type,
        parent.c.id,
        _staging.c.population,
        _staging.c.population_year,
        func.ST_Multi(func.ST_GeomFromWKB(_staging.c.wkb, 4326)),
        literal(provenance.source, Text),
        literal(provenance.licence, Text),
        _staging.c.approximate,
    ).select_from(joined)
    columns = ["generation_id", "level", "code", "name", "name_ascii", "unit_type", "parent_id",
               "population", "population_year", "geom", "source", "licence", "approximate"]
    stmt = insert(admin_unit).from_select(columns, rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[admin_unit.c.generation_id, admin_unit.c.level, admin_unit.c.code],
        set_={name: stmt.excluded[name] for name in _UPDATABLE},
        # Only rows whose values differ are written: a re-load leaves xmin and parts alone.
        # (geometry's = compares every coordinate in order, so an identical polygon is equal.)
        where=or_(*(admin_unit.c[name].is_distinct_from(stmt.excluded[name])
                    for name in _UPDATABLE)),
    )
    # xmax is 0 on a freshly inserted row and set on one the upsert updated.
    written = conn.execute(stmt.returning(literal_column("xmax = 0", Boolean))).scalars().all()
    inserted = sum(1 for was_insert in written if was_insert)
    return inserted, len(written) - inserted


def _delete_absent(conn: Connection, generation_id: int, level: str) -> int:
    """Delete the level's units the file no longer has, unless other units still hang off them."""
    absent = and_(
        admin_unit.c.generation_id == generation_id,
        admin_unit.c.level == level,
        admin_unit.c.code.not_in(select(_staging.c.code)),
    )
    child = admin_unit.alias("child")
    blocked = conn.execute(
        select(admin_unit.c.code, func.count(child.c.id))
        .join(child, child.c.parent_id == admin_unit.c.id)
        .where(absent)
        .group_by(admin_unit.c.code)
        .order_by(admin_unit.c.code)
    ).first()
    if blocked is not None:
        code, children = blocked
        raise DataError(f"{level} {code!r} is not in the file, but {children} units still name "
                        "it as their parent: load their level with new parents first")
    return conn.execute(delete(admin_unit).where(absent)).rowcount


def _record(
    conn: Connection, generation_id: int, summary: LoadSummary, source_sha256: str,
    provenance: Provenance,
) -> int:
    report = {
        **summary.counts(),
        "source": provenance.source,
        "licence": provenance.licence,
        "validation": summary.report.to_dict(),
    }
    return int(conn.execute(
        insert(boundary_load)
        .values(
            generation_id=generation_id,
            level=summary.level,
            source_file=summary.source_file,
            source_sha256=source_sha256,
            features=summary.features,
            repaired=summary.repaired,
            inserted=summary.inserted,
            updated=summary.updated,
            deleted=summary.deleted,
            report=report,
        )
        .returning(boundary_load.c.id)
    ).scalar_one())
