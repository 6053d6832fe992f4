"""The public record: public and internal notes, teams, hidden or edited public text, the
reporter's credentials, one rating per resolution, and diacritic-blind search.

- ``report_event.note`` stays the internal note (staff only); ``public_note`` is the answer
  residents read; ``team`` the team inside the agency an assignment names.
- ``report.search_text``: the redacted public description and address (gis_service.redaction,
  computed in Python where a report is written), the only text public search reads; existing
  rows are filled here.
- ``report.public_description`` / ``public_address`` / ``public_text_hidden``: an agency's or
  admin's edit of the public text (the original columns are never changed).
- ``report.reporter_token_hash`` (SHA-256 of the token returned once at submission) and
  ``reporter_device_hash`` (of the submitting key and Open311 ``account_id``/``device_id``).
- ``report_rating``: one row per (report, resolution), so rating twice is refused by the key.
- ``unaccent`` and ``pg_trgm``; ``public.immutable_unaccent(text)`` wraps ``unaccent()`` (only
  STABLE: it reads its dictionary through search_path) with the dictionary schema-qualified,
  so an expression index may use it.

Revision ID: 0007_public_record
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gis_service.redaction import search_text

revision = "0007_public_record"
down_revision = "0006"
branch_labels = None
depends_on = None

KINDS_BEFORE = "'created', 'routed', 'status', 'escalated', 'rating', 'duplicate', 'note'"
KINDS_AFTER = KINDS_BEFORE + ", 'public_text'"
# Fixed to the extension's own schema and dictionary, so the result depends on the argument
# only: what IMMUTABLE promises, and what an index on it needs.
IMMUTABLE_UNACCENT = """
CREATE FUNCTION public.immutable_unaccent(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$
"""
BATCH = 5_000


def _kinds(kinds: str) -> None:
    # op.f(): the final name; a plain name gets the naming convention's prefix.
    op.drop_constraint(op.f("ck_report_event_kind"), "report_event", type_="check")
    op.create_check_constraint("kind", "report_event", f"kind IN ({kinds})")


def _fill_search_text() -> None:
    """Existing reports' search text, computed by the same Python as new ones get."""
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(sa.text(
            "SELECT id, description, address FROM report WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH}).all()
        if not rows:
            return
        bind.execute(sa.text("UPDATE report SET search_text = :text WHERE id = :id"),
                     [{"id": row.id, "text": search_text(row.description, row.address)}
                      for row in rows])
        last = rows[-1].id


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    op.execute(IMMUTABLE_UNACCENT)
    op.add_column("report_event", sa.Column("public_note", sa.Text(), server_default="",
                                            nullable=False))
    op.add_column("report_event", sa.Column("team", sa.Text(), nullable=True))
    _kinds(KINDS_AFTER)
    for name, kind, extra in (
            ("search_text", sa.Text(), {"server_default": "", "nullable": False}),
            ("public_description", sa.Text(), {}), ("public_address", sa.Text(), {}),
            ("public_text_hidden", sa.Boolean(), {"server_default": "false", "nullable": False}),
            ("team", sa.Text(), {}), ("reporter_token_hash", sa.Text(), {}),
            ("reporter_device_hash", sa.Text(), {})):
        op.add_column("report", sa.Column(name, kind, **extra))
    op.create_check_constraint("public_description_length", "report",
                               "char_length(public_description) <= 4000")
    op.create_table(
        "report_rating",
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("satisfaction", sa.SmallInteger(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.CheckConstraint("satisfaction BETWEEN 1 AND 5",
                           name=op.f("ck_report_rating_satisfaction")),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"], ondelete="CASCADE",
                                name=op.f("fk_report_rating_report_id")),
        sa.PrimaryKeyConstraint("report_id", "resolution", name=op.f("pk_report_rating")),
    )
    _fill_search_text()
    op.execute("CREATE INDEX ix_report_search_text ON report "
               "USING gin (public.immutable_unaccent(search_text) gin_trgm_ops)")
    op.create_index("ix_report_status_due_at", "report", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_report_status_due_at", table_name="report")
    op.drop_index("ix_report_search_text", table_name="report")
    op.drop_table("report_rating")
    op.drop_constraint(op.f("ck_report_public_description_length"), "report", type_="check")
    for name in ("search_text", "public_description", "public_address", "public_text_hidden",
                 "team", "reporter_token_hash", "reporter_device_hash"):
        op.drop_column("report", name)
    _kinds(KINDS_BEFORE)
    op.drop_column("report_event", "team")
    op.drop_column("report_event", "public_note")
    op.execute("DROP FUNCTION public.immutable_unaccent(text)")
