"""Poll events: one row per finished poll, for the dashboard's charts and error history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "poll_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("source.id"), nullable=False),
        sa.Column("polled_at", UTCDateTime(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("items", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_index("ix_poll_event_polled_at", "poll_event", ["polled_at"])
    op.create_index("ix_poll_event_source_polled", "poll_event", ["source_id", "polled_at"])


def downgrade() -> None:
    op.drop_index("ix_poll_event_source_polled", table_name="poll_event")
    op.drop_index("ix_poll_event_polled_at", table_name="poll_event")
    op.drop_table("poll_event")
