"""Per-minute request counts of each API key, for rate limits shared by all workers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key_usage",
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"], name="fk_api_key_usage_api_key_id",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("api_key_id", "window_start", name="pk_api_key_usage"),
    )


def downgrade() -> None:
    op.drop_table("api_key_usage")
