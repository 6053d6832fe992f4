"""Reference boundaries: generations that give context and are never filed under.

A generation's ``kind`` is ``service`` (the units reports are filed under, as before) or
``reference`` (Vietnam's 34 provinces and 3,321 wards of 2025: which province a point outside
Huế lies in, and the country's land border). A reference generation is never published: its
status stays ``draft`` (a CHECK), so nothing that picks a generation by date or as the active one
can pick it, and the exclusion constraint on published periods never sees it.

The national file also has 13 *đặc khu* (special zones: Phú Quốc, Côn Đảo, ...), a unit type of
the 2025 reform, added to the allowed types (its ``setting`` is neither urban nor rural: NULL).

A service generation names the reference generation that surrounds it (``surrounded_by``, set
from the reference manifest's ``surrounds``): the reference boundaries speak only for those
(a drawn test generation near 107°E 16°N lies inside Vietnam too, and must keep the plain
nearest rule).

``surrounding_area`` holds, around the service province, what lies in no reference province:
another country's land or water, derived from the provinces' outlines at load time.

Reference units are cut into pieces of up to 128 vertices instead of 64: the 1.53 million
vertices of the national wards then take ~4.8 s to subdivide instead of ~7 s (measured on a busy
machine), which every test session and demo pays. Bigger pieces subdivide faster (1,024: ~0.8 s)
but are stored compressed out of line (TOAST): every point lookup then decompresses ~16 kB a
piece, and the snapping of points outside Huế ran ~3x slower.

Revision ID: 0007_reference_boundaries
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0007_reference_boundaries"
# After the report revision (the last of the 0007 migrations merged before it).
down_revision = "0007_report_revision"
branch_labels = None
depends_on = None

_OLD_TYPES = "'Tỉnh', 'Thành phố', 'Quận', 'Huyện', 'Thị xã', 'Phường', 'Xã', 'Thị trấn'"
_NEW_TYPES = _OLD_TYPES + ", 'Đặc khu'"

_SYNC_PARTS = """
CREATE OR REPLACE FUNCTION admin_unit_sync_parts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM admin_unit_part WHERE unit_id = NEW.id;
    INSERT INTO admin_unit_part (unit_id, generation_id, level, geom)
    SELECT NEW.id, NEW.generation_id, NEW.level, piece
    FROM ST_Subdivide(NEW.geom, CASE WHEN (SELECT kind FROM generation
                                          WHERE id = NEW.generation_id) = 'reference'
                                     THEN %d ELSE 64 END) AS piece;
    RETURN NULL;
END;
$$;
"""
_SYNC_PARTS_0001 = """
CREATE OR REPLACE FUNCTION admin_unit_sync_parts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM admin_unit_part WHERE unit_id = NEW.id;
    INSERT INTO admin_unit_part (unit_id, generation_id, level, geom)
    SELECT NEW.id, NEW.generation_id, NEW.level, piece
    FROM ST_Subdivide(NEW.geom, 64) AS piece;
    RETURN NULL;
END;
$$;
"""
#: Vertices per piece of a reference unit (service units keep 64).
REFERENCE_PIECE_VERTICES = 128


def upgrade() -> None:
    op.execute("ALTER TABLE generation ADD COLUMN kind text NOT NULL DEFAULT 'service'")
    op.create_check_constraint("ck_generation_kind", "generation",
                               "kind IN ('service', 'reference')")
    op.create_check_constraint("ck_generation_reference_unpublished", "generation",
                               "kind = 'service' OR status = 'draft'")
    op.add_column("generation", sa.Column(
        "surrounded_by", sa.SmallInteger,
        sa.ForeignKey("generation.id", ondelete="SET NULL", name="fk_generation_surrounded_by")))
    op.create_check_constraint("ck_generation_reference_not_surrounded", "generation",
                               "kind = 'service' OR surrounded_by IS NULL")
    op.drop_constraint("ck_admin_unit_unit_type", "admin_unit", type_="check")
    op.create_check_constraint("ck_admin_unit_unit_type", "admin_unit",
                               f"unit_type IN ({_NEW_TYPES})")
    op.execute(_SYNC_PARTS % REFERENCE_PIECE_VERTICES)
    op.create_table(
        "surrounding_area",
        sa.Column("id", sa.Integer, sa.Identity(), nullable=False),
        sa.Column("generation_id", sa.SmallInteger,
                  sa.ForeignKey("generation.id", ondelete="CASCADE",
                                name="fk_surrounding_area_generation_id"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_surrounding_area"),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("geom", Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.CheckConstraint("kind IN ('foreign_land', 'water')", name="ck_surrounding_area_kind"),
    )
    op.create_index("ix_surrounding_area_lookup", "surrounding_area", ["generation_id", "geom"],
                    postgresql_using="gist")


def downgrade() -> None:
    op.drop_table("surrounding_area")
    op.execute("DELETE FROM generation WHERE kind = 'reference'")
    op.execute(_SYNC_PARTS_0001)
    op.drop_constraint("ck_admin_unit_unit_type", "admin_unit", type_="check")
    op.create_check_constraint("ck_admin_unit_unit_type", "admin_unit",
                               f"unit_type IN ({_OLD_TYPES})")
    op.drop_constraint("ck_generation_reference_not_surrounded", "generation", type_="check")
    op.drop_column("generation", "surrounded_by")
    op.drop_constraint("ck_generation_reference_unpublished", "generation", type_="check")
    op.drop_constraint("ck_generation_kind", "generation", type_="check")
    op.drop_column("generation", "kind")
