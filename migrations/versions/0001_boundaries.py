"""Boundary generations, administrative units, their subdivided pieces and crosswalks.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography, Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SETTING_SQL = (
    "CASE unit_type WHEN 'Phường' THEN 'urban' WHEN 'Thị trấn' THEN 'urban' "
    "WHEN 'Xã' THEN 'rural' END"
)
UNIT_TYPES = "'Tỉnh', 'Thành phố', 'Quận', 'Huyện', 'Thị xã', 'Phường', 'Xã', 'Thị trấn'"

# Keeps admin_unit_part in step with admin_unit: any new or changed polygon is cut again.
# (Deleted units lose their parts through the foreign key's ON DELETE CASCADE.)
SYNC_PARTS = """
CREATE FUNCTION admin_unit_sync_parts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM admin_unit_part WHERE unit_id = NEW.id;
    INSERT INTO admin_unit_part (unit_id, generation_id, level, geom)
    SELECT NEW.id, NEW.generation_id, NEW.level, piece
    FROM ST_Subdivide(NEW.geom, 64) AS piece;
    RETURN NULL;
END;
$$;
CREATE TRIGGER admin_unit_sync_parts
AFTER INSERT OR UPDATE OF geom, generation_id, level ON admin_unit
FOR EACH ROW EXECUTE FUNCTION admin_unit_sync_parts();
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")

    op.create_table(
        "generation",
        sa.Column("id", sa.SmallInteger, sa.Identity(), primary_key=True),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_to", sa.Date),
        sa.Column("status", sa.Text, nullable=False, server_default="draft"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("activated_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("code", name="uq_generation_code"),
        sa.CheckConstraint("status IN ('draft', 'active', 'retired')",
                           name="ck_generation_status"),
        sa.CheckConstraint("valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to",
                           name="ck_generation_dates"),
    )
    op.execute("CREATE UNIQUE INDEX uq_generation_one_active ON generation ((true)) "
               "WHERE status = 'active'")
    # Published generations never overlap in time, so a date names at most one of them.
    op.execute(
        "ALTER TABLE generation ADD CONSTRAINT ex_generation_validity EXCLUDE USING gist "
        "(daterange(valid_from, valid_to, '[]') WITH &&) WHERE (status <> 'draft')"
    )

    op.create_table(
        "admin_unit",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("generation_id", sa.SmallInteger,
                  sa.ForeignKey("generation.id", ondelete="CASCADE",
                                name="fk_admin_unit_generation_id"), nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_ascii", sa.Text, nullable=False),
        sa.Column("unit_type", sa.Text, nullable=False),
        sa.Column("setting", sa.Text, sa.Computed(SETTING_SQL, persisted=True)),
        sa.Column("parent_id", sa.Integer),
        sa.Column("population", sa.Integer),
        sa.Column("population_year", sa.SmallInteger),
        sa.Column("area_km2", sa.Float,
                  sa.Computed("ST_Area(geom::geography) / 1e6", persisted=True)),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
                  nullable=False),
        sa.Column("label_point", Geometry("POINT", srid=4326, spatial_index=False),
                  sa.Computed("ST_PointOnSurface(geom)", persisted=True)),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("licence", sa.Text, nullable=False),
        sa.Column("approximate", sa.Boolean, nullable=False, server_default="false"),
        sa.UniqueConstraint("generation_id", "level", "code",
                            name="uq_admin_unit_generation_id_level_code"),
        sa.UniqueConstraint("generation_id", "id", name="uq_admin_unit_generation_id_id"),
        sa.ForeignKeyConstraint(["generation_id", "parent_id"],
                                ["admin_unit.generation_id", "admin_unit.id"],
                                name="fk_admin_unit_parent"),
        sa.CheckConstraint("level IN ('province', 'district', 'commune')",
                           name="ck_admin_unit_level"),
        sa.CheckConstraint(f"unit_type IN ({UNIT_TYPES})", name="ck_admin_unit_unit_type"),
        sa.CheckConstraint("population IS NULL OR population >= 0",
                           name="ck_admin_unit_population"),
        sa.CheckConstraint("NOT ST_IsEmpty(geom)", name="ck_admin_unit_geom_not_empty"),
    )
    op.create_index("ix_admin_unit_parent_id", "admin_unit", ["parent_id"])
    op.create_index("ix_admin_unit_geom", "admin_unit", ["geom"], postgresql_using="gist")

    op.create_table(
        "admin_unit_part",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("unit_id", sa.Integer,
                  sa.ForeignKey("admin_unit.id", ondelete="CASCADE",
                                name="fk_admin_unit_part_unit_id"), nullable=False),
        sa.Column("generation_id", sa.SmallInteger, nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("geom", Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.Column("geog", Geography("POLYGON", srid=4326, spatial_index=False),
                  sa.Computed("geom::geography", persisted=True)),
    )
    op.create_index("ix_admin_unit_part_lookup", "admin_unit_part",
                    ["generation_id", "level", "geom"], postgresql_using="gist")
    op.create_index("ix_admin_unit_part_geog", "admin_unit_part", ["geog"],
                    postgresql_using="gist")
    op.create_index("ix_admin_unit_part_unit_id", "admin_unit_part", ["unit_id"])
    op.execute(SYNC_PARTS)

    op.create_table(
        "unit_crosswalk",
        sa.Column("from_unit_id", sa.Integer,
                  sa.ForeignKey("admin_unit.id", ondelete="CASCADE",
                                name="fk_unit_crosswalk_from_unit_id"), primary_key=True),
        sa.Column("to_unit_id", sa.Integer,
                  sa.ForeignKey("admin_unit.id", ondelete="CASCADE",
                                name="fk_unit_crosswalk_to_unit_id"), primary_key=True),
        sa.Column("from_generation_id", sa.SmallInteger, nullable=False),
        sa.Column("to_generation_id", sa.SmallInteger, nullable=False),
        sa.Column("overlap_km2", sa.Float, nullable=False),
        sa.Column("area_share", sa.Float, nullable=False),
        sa.Column("population_share", sa.Float),
        sa.Column("population_method", sa.Text),
        sa.CheckConstraint("area_share > 0 AND area_share <= 1.000001",
                           name="ck_unit_crosswalk_area_share"),
        sa.CheckConstraint("population_method IS NULL OR population_method IN ('whole', 'areal')",
                           name="ck_unit_crosswalk_population_method"),
    )
    op.create_index("ix_unit_crosswalk_generations", "unit_crosswalk",
                    ["from_generation_id", "to_generation_id"])

    op.create_table(
        "boundary_load",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("generation_id", sa.SmallInteger,
                  sa.ForeignKey("generation.id", ondelete="CASCADE",
                                name="fk_boundary_load_generation_id"), nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("source_sha256", sa.Text, nullable=False),
        sa.Column("features", sa.Integer, nullable=False),
        sa.Column("repaired", sa.Integer, nullable=False),
        sa.Column("inserted", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("deleted", sa.Integer, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("report", JSONB, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("boundary_load")
    op.drop_table("unit_crosswalk")
    op.execute("DROP TRIGGER IF EXISTS admin_unit_sync_parts ON admin_unit")
    op.execute("DROP FUNCTION IF EXISTS admin_unit_sync_parts()")
    op.drop_table("admin_unit_part")
    op.drop_table("admin_unit")
    op.drop_table("generation")
    # The postgis and btree_gist extensions stay: other schemas on the server may use them.
