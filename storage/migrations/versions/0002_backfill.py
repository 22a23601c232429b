"""Backfill resume state: one row per source.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _count(name: str, default: str = "0") -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), nullable=False, server_default=default)


def upgrade() -> None:
    op.create_table(
        "backfill",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("source.id"), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        _count("page_no", "1"),
        _count("pages"),
        _count("new"),
        _count("duplicates"),
        _count("failed"),
        sa.Column("done", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("source_id"),
    )


def downgrade() -> None:
    op.drop_table("backfill")
