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
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

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
# service: reports are filed under its units; reference: context only (other provinces, the
# land border), never published (migration 0007).
GENERATION_KINDS = ("service", "reference")
# Đặc khu: the special zones of the 2025 reform (Phú Quốc, Côn Đảo, ...), in the national file.
UNIT_TYPES = ("Tỉnh", "Thành phố", "Quận", "Huyện", "Thị xã", "Phường", "Xã", "Thị trấn",
              "Đặc khu")
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
    Column("kind", Text, nullable=False, server_default="service"),
    CheckConstraint(_in("status", GENERATION_STATUSES), name="status"),
    CheckConstraint(_in("kind", GENERATION_KINDS), name="kind"),
    # A reference generation is never published, so no date or activation can pick it.
    CheckConstraint("kind = 'service' OR status = 'draft'", name="reference_unpublished"),
    CheckConstraint("valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to", name="dates"),
    # At most one generation is active.
    Index("uq_generation_one_active", text("(true)"), unique=True,
          postgresql_where=text("status = 'active'")),
)
# The migration adds an exclusion constraint SQLAlchemy Core cannot declare here, keeping the
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
    # Snapping's: commune pieces only, so no text comparison of level at each entry (0006).
    Index("ix_admin_unit_part_commune", "generation_id", "geom", postgresql_using="gist",
          postgresql_where=text("level = 'commune'")),
    Index("ix_admin_unit_part_geog", "geog", postgresql_using="gist"),
    Index("ix_admin_unit_part_unit_id", "unit_id"),
)

# One row; statement triggers set a fresh random revision on every write to generation or
# admin_unit (migration 0005), so a process may cache units while the revision it read holds.
boundary_revision = Table(
    "boundary_revision",
    metadata,
    Column("one", Boolean, primary_key=True, server_default=text("true")),
    Column("revision", Uuid, nullable=False),
    CheckConstraint("one", name="one_row"),
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

# -- field reports (issue 4) ---------------------------------------------------------------
REPORT_STATUSES = (
    "received", "accepted", "rejected", "assigned", "in_progress", "resolved", "closed",
    "reopened", "duplicate",
)
CHANNELS = ("app", "web", "hotline")
LOCATION_SOURCES = ("gps", "geocoded", "manual")
AGENCY_KINDS = ("commune_committee", "district_committee", "city_committee", "department", "utility")
H3_RESOLUTIONS = (6, 7, 8, 9, 10)

category = Table(
    "category",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("name_vi", Text, nullable=False),
    Column("category_group", Text, nullable=False),
    Column("deadline_amount", Integer, nullable=False),
    Column("deadline_unit", Text, nullable=False),
    Column("urgent", Boolean, nullable=False, server_default="false"),
    Column("description", Text, nullable=False, server_default=""),
    CheckConstraint("deadline_unit IN ('working_days', 'hours')", name="deadline_unit"),
    CheckConstraint("deadline_amount > 0", name="deadline_amount"),
)

agency = Table(
    "agency",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    # Committees answer for one administrative unit (of the current generation).
    Column("unit_id", Integer, ForeignKey("admin_unit.id", ondelete="SET NULL")),
    # Overdue reports escalate to the supervising agency (commune -> district or city).
    Column("supervisor_id", Integer, ForeignKey("agency.id", ondelete="SET NULL")),
    Column("email", Text),
    CheckConstraint(_in("kind", AGENCY_KINDS), name="kind"),
    Index("ix_agency_unit_id", "unit_id"),
)

jurisdiction_rule = Table(
    "jurisdiction_rule",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("agency_id", Integer, ForeignKey("agency.id", ondelete="CASCADE"), nullable=False),
    # NULL: every category.
    Column("categories", ARRAY(Text)),
    Column("area_kind", Text, nullable=False),
    Column("unit_id", Integer, ForeignKey("admin_unit.id", ondelete="CASCADE")),
    Column("buffer_m", Float),
    # The area the rule covers: the unit's polygon, the polygon, or the buffered line.
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
    # What was drawn (the line before buffering), for maps and explanations.
    Column("source_geom", Geometry("GEOMETRY", srid=4326, spatial_index=False)),
    Column("area_m2", Float, Computed("ST_Area(geom::geography)", persisted=True)),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("description", Text, nullable=False, server_default=""),
    Column("approximate", Boolean, nullable=False, server_default="false"),
    CheckConstraint("area_kind IN ('unit', 'polygon', 'line_buffer')", name="area_kind"),
    CheckConstraint("(area_kind = 'unit') = (unit_id IS NOT NULL)", name="unit_rule_has_unit"),
    CheckConstraint("(area_kind = 'line_buffer') = (buffer_m IS NOT NULL AND buffer_m > 0)",
                    name="line_rule_has_buffer"),
    # Area rules only (migration 0004): unit rules match by unit id, never by geometry.
    Index("ix_jurisdiction_rule_geom", "geom", postgresql_using="gist",
          postgresql_where=text("area_kind <> 'unit'")),
)

report = Table(
    "report",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("public_id", Text, nullable=False, unique=True),
    Column("category", Text, ForeignKey("category.code"), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("channel", Text, nullable=False),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("location_source", Text, nullable=False),
    Column("geocode_precision", Text),
    Column("geocode_confidence", Float),
    Column("address", Text),
    *(Column(f"h3_r{res}", BigInteger, nullable=False) for res in H3_RESOLUTIONS),
    # Units in the generation valid when the report was made ...
    Column("snap_generation_id", SmallInteger, ForeignKey("generation.id"), nullable=False),
    Column("commune_id", Integer, ForeignKey("admin_unit.id"), nullable=False),
    Column("district_id", Integer, ForeignKey("admin_unit.id")),
    Column("province_id", Integer, ForeignKey("admin_unit.id"), nullable=False),
    # ... and in the current generation.
    Column("current_generation_id", SmallInteger, ForeignKey("generation.id"), nullable=False),
    Column("current_commune_id", Integer, ForeignKey("admin_unit.id"), nullable=False),
    Column("current_district_id", Integer, ForeignKey("admin_unit.id")),
    Column("current_province_id", Integer, ForeignKey("admin_unit.id"), nullable=False),
    Column("snap_match", Text, nullable=False),
    Column("snap_distance_m", Float, nullable=False),
    # Within 50 m of another commune: staff should confirm the ward.
    Column("near_boundary", Boolean, nullable=False, server_default="false"),
    Column("neighbour_commune_id", Integer, ForeignKey("admin_unit.id")),
    Column("media_urls", ARRAY(Text), nullable=False, server_default="{}"),
    Column("status", Text, nullable=False, server_default="received"),
    Column("agency_id", Integer, ForeignKey("agency.id"), nullable=False),
    # NULL when no rule matched and the commune's People's Committee took it by default.
    Column("routing_rule_id", Integer, ForeignKey("jurisdiction_rule.id", ondelete="SET NULL")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("first_response_at", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("escalated_at", DateTime(timezone=True)),
    Column("satisfaction", SmallInteger),
    Column("duplicate_of", BigInteger, ForeignKey("report.id")),
    Column("import_batch", Text),
    CheckConstraint(_in("status", REPORT_STATUSES), name="status"),
    CheckConstraint(_in("channel", CHANNELS), name="channel"),
    CheckConstraint(_in("location_source", LOCATION_SOURCES), name="location_source"),
    CheckConstraint("char_length(description) <= 4000", name="description_length"),
    CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction"),
    CheckConstraint("snap_match IN ('inside', 'nearest')", name="snap_match"),
    CheckConstraint("geocode_confidence IS NULL OR geocode_confidence BETWEEN 0 AND 1",
                    name="geocode_confidence"),
    CheckConstraint("(status = 'duplicate') = (duplicate_of IS NOT NULL)", name="duplicate_link"),
    *(Index(f"ix_report_h3_r{res}", f"h3_r{res}") for res in H3_RESOLUTIONS),
    Index("ix_report_created_at", "created_at"),
    Index("ix_report_agency_status", "agency_id", "status"),
    Index("ix_report_current_commune_id", "current_commune_id"),
    Index("ix_report_commune_id", "commune_id"),
    Index("ix_report_category_created_at", "category", "created_at"),
    Index("ix_report_duplicate_of", "duplicate_of"),
    # For "open reports within 250 m" (gis_service/reports/duplicates.py renders this cast).
    Index("ix_report_geog", text("(geom::geography)"), postgresql_using="gist"),
)

# Private: never joined into a public response, export, map or feed.
report_contact = Table(
    "report_contact",
    metadata,
    Column("report_id", BigInteger, ForeignKey("report.id", ondelete="CASCADE"), primary_key=True),
    Column("name", Text),
    Column("phone", Text),
    Column("email", Text),
)

# Append-only (a trigger refuses UPDATE and DELETE).
report_event = Table(
    "report_event",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("report_id", BigInteger, ForeignKey("report.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("from_status", Text),
    Column("to_status", Text),
    Column("agency_id", Integer, ForeignKey("agency.id")),
    Column("note", Text, nullable=False, server_default=""),
    CheckConstraint(
        "kind IN ('created', 'routed', 'status', 'escalated', 'rating', 'duplicate', 'note')",
        name="kind",
    ),
    Index("ix_report_event_report_id_at", "report_id", "at"),
)

# Working days for deadlines, so due dates are computed in SQL for bulk imports too:
# the due date of N working days is the day whose working_seq is N past the start's.
calendar_day = Table(
    "calendar_day",
    metadata,
    Column("day", Date, primary_key=True),
    Column("working", Boolean, nullable=False),
    Column("working_seq", Integer, nullable=False),
    Column("holiday", Text),
    Index("ix_calendar_day_working_seq", "working_seq"),
)

api_key = Table(
    "api_key",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    # The first characters of the key, stored plain to find the row; the rest only as a hash.
    Column("prefix", Text, nullable=False, unique=True),
    Column("secret_hash", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("agency_id", Integer, ForeignKey("agency.id", ondelete="CASCADE")),
    Column("rate_limit_per_minute", Integer, nullable=False, server_default="600"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    CheckConstraint("role IN ('client', 'agency', 'admin')", name="role"),
    CheckConstraint("(role = 'agency') = (agency_id IS NOT NULL)", name="agency_role"),
)

idempotency_key = Table(
    "idempotency_key",
    metadata,
    Column("api_key_id", Integer, ForeignKey("api_key.id", ondelete="CASCADE"), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("request_hash", Text, nullable=False),
    Column("status_code", SmallInteger, nullable=False),
    Column("response", JSONB, nullable=False),
    Column("report_id", BigInteger, ForeignKey("report.id")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Requests per API key per minute, for rate limits shared by every worker process.
api_key_usage = Table(
    "api_key_usage",
    metadata,
    Column("api_key_id", Integer, ForeignKey("api_key.id", ondelete="CASCADE"), primary_key=True),
    Column("window_start", DateTime(timezone=True), primary_key=True),
    Column("requests", Integer, nullable=False),
)

# Around the service province, what lies outside every reference province: land of another
# country (Laos west of A Lưới) or water (the sea), cut up for point lookups. Derived from the
# reference generation's province outlines (Vietnam's land border) at load time (migration 0007,
# gis_service/boundaries/surroundings.py).
SURROUNDING_KINDS = ("foreign_land", "water")
surrounding_area = Table(
    "surrounding_area",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("generation_id", SmallInteger, ForeignKey("generation.id", ondelete="CASCADE"),
           nullable=False),
    Column("kind", Text, nullable=False),
    Column("geom", Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False),
    CheckConstraint(_in("kind", SURROUNDING_KINDS), name="kind"),
    Index("ix_surrounding_area_lookup", "generation_id", "geom", postgresql_using="gist"),
)
