"""Tables, declared once. Migrations create them; queries and writes import them from here.

Boundaries follow mySociety MapIt: units belong to a *generation* (a dated boundary set);
each unit's polygon is also kept cut into small pieces (``admin_unit_part``) so point lookups
test a few dozen vertices instead of a coastline.
"""

from __future__ import annotations

from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

LEVELS = ("province", "district", "commune")
GENERATION_STATUSES = ("draft", "active", "retired")
UNIT_TYPES = ("Tỉnh", "Thành phố", "Quận", "Huyện", "Thị xã", "Phường", "Xã", "Thị trấn")
# Phường and thị trấn are urban, xã rural (the GSO's own urban/rural split).
SETTING_SQL = (
    "CASE unit_type WHEN 'Phường' THEN 'urban' WHEN 'Thị trấn' THEN 'urban' "
    "WHEN 'Xã' THEN 'rural' END"
)
# Pieces of at most this many vertices: point-in-polygon on them is a few microseconds.
SUBDIVIDE_MAX_VERTICES = 64


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"


generation = Table(
    "generation",
    metadata,
    Column("id", SmallInteger, Identity(), primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("valid_from", Date),
    Column("valid_to", Date),
    Column("status", Text, nullable=False, server_default="draft"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("activated_at", DateTime(timezone=True)),
    CheckConstraint(_in("status", GENERATION_STATUSES), name="status"),
    CheckConstraint("valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to", name="dates"),
)
# The migration adds two constraints SQLAlchemy Core cannot declare here: a partial unique
# index allowing one generation with status 'active', and an exclusion constraint keeping the
# validity periods of published (non-draft) generations from overlapping.

admin_unit = Table(
    "admin_unit",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("generation_id", SmallInteger, ForeignKey("generation.id", ondelete="CASCADE"),
           nullable=False),
    Column("level", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("name_ascii", Text, nullable=False),
    Column("unit_type", Text, nullable=False),
    Column("setting", Text, Computed(SETTING_SQL, persisted=True)),
    Column("parent_id", Integer),
    Column("population", Integer),
    Column("population_year", SmallInteger),
    Column("area_km2", Float, Computed("ST_Area(geom::geography) / 1e6", persisted=True)),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
    # A point guaranteed inside the unit: what forward geocoding returns for a bare ward name.
    Column("label_point", Geometry("POINT", srid=4326, spatial_index=False),
           Computed("ST_PointOnSurface(geom)", persisted=True)),
    Column("source", Text, nullable=False),
    Column("licence", Text, nullable=False),
    Column("approximate", Boolean, nullable=False, server_default="false"),
    UniqueConstraint("generation_id", "level", "code"),
    UniqueConstraint("generation_id", "id"),
    # The parent must belong to the same generation.
    ForeignKeyConstraint(
        ["generation_id", "parent_id"], ["admin_unit.generation_id", "admin_unit.id"],
        name="fk_admin_unit_parent",
    ),
    CheckConstraint(_in("level", LEVELS), name="level"),
    CheckConstraint(_in("unit_type", UNIT_TYPES), name="unit_type"),
    CheckConstraint("population IS NULL OR population >= 0", name="population"),
    CheckConstraint("NOT ST_IsEmpty(geom)", name="geom_not_empty"),
    Index("ix_admin_unit_parent_id", "parent_id"),
    Index("ix_admin_unit_geom", "geom", postgresql_using="gist"),
)

admin_unit_part = Table(
    "admin_unit_part",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("unit_id", Integer, ForeignKey("admin_unit.id", ondelete="CASCADE"), nullable=False),
    Column("generation_id", SmallInteger, nullable=False),
    Column("level", Text, nullable=False),
    Column("geom", Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False),
    Column("geog", Geography("POLYGON", srid=4326, spatial_index=False),
           Computed("geom::geography", persisted=True)),
    # btree_gist lets one GiST index filter by generation and level as well as by location.
    Index("ix_admin_unit_part_lookup", "generation_id", "level", "geom", postgresql_using="gist"),
    Index("ix_admin_unit_part_geog", "geog", postgresql_using="gist"),
    Index("ix_admin_unit_part_unit_id", "unit_id"),
)

unit_crosswalk = Table(
    "unit_crosswalk",
    metadata,
    Column("from_unit_id", Integer, ForeignKey("admin_unit.id", ondelete="CASCADE"),
           primary_key=True),
    Column("to_unit_id", Integer, ForeignKey("admin_unit.id", ondelete="CASCADE"),
           primary_key=True),
    Column("from_generation_id", SmallInteger, nullable=False),
    Column("to_generation_id", SmallInteger, nullable=False),
    Column("overlap_km2", Float, nullable=False),
    # Share of the from-unit's area that lies in the to-unit (sums to ~1 over to-units).
    Column("area_share", Float, nullable=False),
    # Share of the from-unit's population attributed to the to-unit, where it can be known.
    Column("population_share", Float),
    Column("population_method", Text),
    CheckConstraint("area_share > 0 AND area_share <= 1.000001", name="area_share"),
    CheckConstraint("population_method IS NULL OR population_method IN ('whole', 'areal')",
                    name="population_method"),
    Index("ix_unit_crosswalk_generations", "from_generation_id", "to_generation_id"),
)

boundary_load = Table(
    "boundary_load",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("generation_id", SmallInteger, ForeignKey("generation.id", ondelete="CASCADE"),
           nullable=False),
    Column("level", Text, nullable=False),
    Column("source_file", Text, nullable=False),
    Column("source_sha256", Text, nullable=False),
    Column("features", Integer, nullable=False),
    Column("repaired", Integer, nullable=False),
    Column("inserted", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("deleted", Integer, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("report", JSONB, nullable=False),
)
