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

# Sixteen rows; a statement trigger on report sets a fresh random revision in its backend's row
# (migration 0007), so tiles and OGC items of reports may be cached while the revisions hold.
REPORT_REVISION_SLOTS = 16
report_revision = Table(
    "report_revision",
    metadata,
    Column("slot", SmallInteger, primary_key=True, autoincrement=False),
    Column("revision", Uuid, nullable=False),
    CheckConstraint(f"slot >= 0 AND slot < {REPORT_REVISION_SLOTS}", name="slot"),
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
    # Held, unplaced: the address was too vague to route (migration 0007); IOC places it.
    "needs_location",
    "received", "accepted", "rejected", "assigned", "in_progress", "resolved", "closed",
    "reopened", "duplicate",
)
CHANNELS = ("app", "web", "hotline")
LOCATION_SOURCES = ("gps", "geocoded", "manual")
AGENCY_KINDS = ("commune_committee", "district_committee", "city_committee", "department", "utility",
                "operations_centre")
H3_RESOLUTIONS = (6, 7, 8, 9, 10)
# What a report with a point must have (a held one has none of it).
_PLACED_COLUMNS = (*(f"h3_r{res}" for res in H3_RESOLUTIONS), "commune_id", "province_id",
                   "current_commune_id", "current_province_id", "snap_match", "snap_distance_m",
                   "due_at")
PLACED_SQL = "geom IS NULL OR (" + " AND ".join(f"{c} IS NOT NULL" for c in _PLACED_COLUMNS) + ")"

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
    # NULL (with the units, cells, snap and deadline) only while needs_location (0007).
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
    Column("location_source", Text, nullable=False),
    Column("geocode_precision", Text),
    Column("geocode_confidence", Float),
    Column("address", Text),
    *(Column(f"h3_r{res}", BigInteger) for res in H3_RESOLUTIONS),
    # Units in the generation valid when the report was made ...
    Column("snap_generation_id", SmallInteger, ForeignKey("generation.id"), nullable=False),
    Column("commune_id", Integer, ForeignKey("admin_unit.id")),
    Column("district_id", Integer, ForeignKey("admin_unit.id")),
    Column("province_id", Integer, ForeignKey("admin_unit.id")),
    # ... and in the current generation.
    Column("current_generation_id", SmallInteger, ForeignKey("generation.id"), nullable=False),
    Column("current_commune_id", Integer, ForeignKey("admin_unit.id")),
    Column("current_district_id", Integer, ForeignKey("admin_unit.id")),
    Column("current_province_id", Integer, ForeignKey("admin_unit.id")),
    Column("snap_match", Text),
    Column("snap_distance_m", Float),
    # Within 50 m of another commune: staff should confirm the ward.
    Column("near_boundary", Boolean, nullable=False, server_default="false"),
    Column("neighbour_commune_id", Integer, ForeignKey("admin_unit.id")),
    Column("media_urls", ARRAY(Text), nullable=False, server_default="{}"),
    Column("status", Text, nullable=False, server_default="received"),
    Column("agency_id", Integer, ForeignKey("agency.id"), nullable=False),
    # NULL when no rule matched and the commune's People's Committee took it by default.
    Column("routing_rule_id", Integer, ForeignKey("jurisdiction_rule.id", ondelete="SET NULL")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("due_at", DateTime(timezone=True)),
    Column("first_response_at", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("escalated_at", DateTime(timezone=True)),
    Column("satisfaction", SmallInteger),
    Column("duplicate_of", BigInteger, ForeignKey("report.id")),
    Column("import_batch", Text),
    # The public record (migration 0007): the redacted public text that search reads, an
    # agency's edit or hiding of the public text (the originals above never change), the team
    # it is assigned to, and the reporter's credentials for rating (hashes only).
    Column("search_text", Text, nullable=False, server_default=""),
    Column("public_description", Text),
    Column("public_address", Text),
    Column("public_text_hidden", Boolean, nullable=False, server_default="false"),
    Column("team", Text),
    Column("reporter_token_hash", Text),
    Column("reporter_device_hash", Text),
    CheckConstraint("char_length(public_description) <= 4000", name="public_description_length"),
    # The point is not in the ward the address names (nor its predecessors): kept, flagged.
    Column("location_conflict", Boolean, nullable=False, server_default="false"),
    CheckConstraint(_in("status", REPORT_STATUSES), name="status"),
    CheckConstraint("status <> 'needs_location' OR geom IS NULL", name="held_unplaced"),
    CheckConstraint("geom IS NOT NULL OR status IN ('needs_location', 'rejected', 'duplicate')",
                    name="unplaced_held"),
    CheckConstraint(PLACED_SQL, name="placed_complete"),
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
    # For "open reports within 150 m" (gis_service/reports/duplicates.py renders this cast).
    Index("ix_report_geog", text("(geom::geography)"), postgresql_using="gist"),
    Index("ix_report_status_due_at", "status", "due_at"),
    # Diacritic-blind search (migration 0007): a trigram GIN index on the folded public text.
    Index("ix_report_search_text", func.immutable_unaccent(text("search_text")),
          postgresql_using="gin", postgresql_ops={"immutable_unaccent": "gin_trgm_ops"}),
    # Tiles' and OGC items' envelopes (migration 0007).
    Index("ix_report_geom", "geom", postgresql_using="gist"),
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
    #: The internal note: staff only (the report's agency and admins).
    Column("note", Text, nullable=False, server_default=""),
    #: The answer residents read (redacted when published); ``team``: who inside the agency.
    Column("public_note", Text, nullable=False, server_default=""),
    Column("team", Text),
    CheckConstraint(
        "kind IN ('created', 'routed', 'status', 'escalated', 'rating', 'duplicate', 'note', "
        "'public_text', 'placed', 'overdue')",
        name="kind",
    ),
    Index("ix_report_event_report_id_at", "report_id", "at"),
)

# One rating per resolution (the n-th move to ``resolved``): a second is refused by the key.
report_rating = Table(
    "report_rating",
    metadata,
    Column("report_id", BigInteger, ForeignKey("report.id", ondelete="CASCADE"), primary_key=True),
    Column("resolution", SmallInteger, primary_key=True),
    Column("satisfaction", SmallInteger, nullable=False),
    Column("rated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", Text, nullable=False),
    CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction"),
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

# -- notifications (issue 14, migration 0007_notification_outbox) ---------------------------
CHANNEL_KINDS = ("webhook", "email")
DELIVERY_STATUSES = ("pending", "retrying", "delivered", "dead")

# How an agency is notified, from agencies.toml. A webhook names the environment variable
# that holds its HMAC secret: the secret itself is never in the repository or the database.
agency_channel = Table(
    "agency_channel",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("agency_id", Integer, ForeignKey("agency.id", ondelete="CASCADE"), nullable=False),
    Column("kind", Text, nullable=False),
    # The webhook's URL or the e-mail address.
    Column("target", Text, nullable=False),
    Column("secret_env", Text),
    UniqueConstraint("agency_id", "kind", "target"),
    CheckConstraint(_in("kind", CHANNEL_KINDS), name="kind"),
    CheckConstraint("(kind = 'webhook') = (secret_env IS NOT NULL)", name="webhook_secret"),
)

# The transactional outbox: one row per event, recipient and channel, written in the event's
# transaction (so it exists iff the event committed) and delivered by `gis-service notify run`.
# The channel is copied in, so a later config change does not redirect history.
notification = Table(
    "notification",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    # The same on every attempt: receivers drop repeats by it.
    Column("delivery_id", Uuid, nullable=False, unique=True, server_default=func.gen_random_uuid()),
    Column("event_id", BigInteger, ForeignKey("report_event.id"), nullable=False),
    Column("report_id", BigInteger, ForeignKey("report.id"), nullable=False),
    Column("agency_id", Integer, ForeignKey("agency.id"), nullable=False),
    Column("channel", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("secret_env", Text),
    # The event as it was when written; the body sent is this plus the delivery id.
    Column("payload", JSONB, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # When the row may next be claimed; while a worker holds it, the end of its lease (a worker
    # that dies leaves the row to be claimed again once the lease runs out).
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("lease_token", Uuid),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    UniqueConstraint("event_id", "agency_id", "channel", "target"),
    CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
    CheckConstraint(_in("channel", CHANNEL_KINDS), name="channel"),
    CheckConstraint("attempts >= 0", name="attempts"),
    Index("ix_notification_due", "next_attempt_at",
          postgresql_where=text("status IN ('pending', 'retrying')")),
    Index("ix_notification_agency_id_id", "agency_id", "id"),
    Index("ix_notification_report_id", "report_id"),
)

# One row per report and deadline that passed: the overdue check's memory, so each deadline
# gives one `overdue` event however often (and in however many workers) the check runs.
overdue_notice = Table(
    "overdue_notice",
    metadata,
    Column("report_id", BigInteger, ForeignKey("report.id"), primary_key=True),
    Column("due_at", DateTime(timezone=True), primary_key=True),
    Column("noticed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The overdue check's scan (notify/overdue.py): open, live reports by deadline; imported rows
# (import_batch set) never enter it, so bulk imports do not pay for it.
OPEN_DUE_PREDICATE = (
    "status IN ('received', 'accepted', 'assigned', 'in_progress', 'reopened') "
    "AND import_batch IS NULL"
)
Index("ix_report_open_due", report.c.due_at, postgresql_where=text(OPEN_DUE_PREDICATE))
