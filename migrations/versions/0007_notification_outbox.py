"""Notifications that are never lost: agencies' channels, the transactional outbox, and the
notices that make the overdue check idempotent.

- ``agency_channel``: how each agency is notified (a webhook with the *name* of the environment
  variable holding its HMAC secret, never the secret; or an e-mail address), loaded from
  ``boundaries/reports/agencies.toml``.
- ``notification``: the outbox. One row per event, recipient agency and channel, written in
  the event's own transaction; the worker (``gis-service notify run``) claims due rows with
  ``FOR UPDATE SKIP LOCKED`` and records each attempt. ``delivery_id`` is stable across
  attempts, so a receiver can drop repeats.
- ``overdue_notice``: one row per report and deadline that passed, so the worker's periodic
  check writes each ``overdue`` event once, however often and in however many workers it runs.
- ``report_event.kind`` gains ``overdue``.

Revision ID: 0007_notification_outbox
Revises: 0006
Create Date: 2026-12-07
"""

# Long lines are column definitions.
# ruff: noqa: E501
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_notification_outbox"
# After the public record and held locations, whose event kinds it keeps.
down_revision = "0007_needs_location"
branch_labels = None
depends_on = None

_KINDS_BEFORE = ("'created', 'routed', 'status', 'escalated', 'rating', 'duplicate', 'note', "
                 "'public_text', 'placed'")
_KINDS_AFTER = _KINDS_BEFORE + ", 'overdue'"
OPEN_STATUSES = "'received', 'accepted', 'assigned', 'in_progress', 'reopened'"


def _event_kinds(kinds: str) -> None:
    op.drop_constraint(op.f("ck_report_event_kind"), "report_event", type_="check")
    op.create_check_constraint(op.f("ck_report_event_kind"), "report_event", f"kind IN ({kinds})")


def upgrade() -> None:
    _event_kinds(_KINDS_AFTER)
    op.create_table(
        "agency_channel",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("secret_env", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('webhook', 'email')", name=op.f("ck_agency_channel_kind")),
        sa.CheckConstraint("(kind = 'webhook') = (secret_env IS NOT NULL)",
                           name=op.f("ck_agency_channel_webhook_secret")),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_agency_channel_agency_id"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_channel")),
        sa.UniqueConstraint("agency_id", "kind", "target", name=op.f("uq_agency_channel_agency_id_kind_target")),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("secret_env", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("lease_token", sa.Uuid(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'retrying', 'delivered', 'dead')",
                           name=op.f("ck_notification_status")),
        sa.CheckConstraint("channel IN ('webhook', 'email')", name=op.f("ck_notification_channel")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_notification_attempts")),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_notification_agency_id")),
        sa.ForeignKeyConstraint(["event_id"], ["report_event.id"], name=op.f("fk_notification_event_id")),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"], name=op.f("fk_notification_report_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_notification_delivery_id")),
        sa.UniqueConstraint("event_id", "agency_id", "channel", "target",
                            name=op.f("uq_notification_event_id_agency_id_channel_target")),
    )
    # The worker's claim: only rows still to deliver, by when they are due (a small index
    # however long the delivered history grows).
    op.create_index("ix_notification_due", "notification", ["next_attempt_at"], unique=False,
                    postgresql_where=sa.text("status IN ('pending', 'retrying')"))
    op.create_index("ix_notification_agency_id_id", "notification", ["agency_id", "id"], unique=False)
    op.create_index("ix_notification_report_id", "notification", ["report_id"], unique=False)
    op.create_table(
        "overdue_notice",
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"], name=op.f("fk_overdue_notice_report_id")),
        sa.PrimaryKeyConstraint("report_id", "due_at", name=op.f("pk_overdue_notice")),
    )


    # The overdue check, every minute: open, live (not imported) reports by deadline. Imported
    # rows never enter it, so it costs bulk imports nothing.
    op.create_index("ix_report_open_due", "report", ["due_at"], unique=False,
                    postgresql_where=sa.text(f"status IN ({OPEN_STATUSES}) AND import_batch IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_report_open_due", table_name="report")
    op.drop_table("overdue_notice")
    op.drop_index("ix_notification_report_id", table_name="notification")
    op.drop_index("ix_notification_agency_id_id", table_name="notification")
    op.drop_index("ix_notification_due", table_name="notification")
    op.drop_table("notification")
    op.drop_table("agency_channel")
    # report_event is append-only: 'overdue' events cannot be deleted, so the old constraint
    # comes back NOT VALID (it holds for new rows; the history keeps what happened).
    op.drop_constraint(op.f("ck_report_event_kind"), "report_event", type_="check")
    op.execute(f"ALTER TABLE report_event ADD CONSTRAINT ck_report_event_kind "
               f"CHECK (kind IN ({_KINDS_BEFORE})) NOT VALID")
