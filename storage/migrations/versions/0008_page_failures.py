"""Article pages that failed to fetch, retried with backoff; sources paused by the user.

`page_failure` holds one row per (source, page) whose fetch or extraction
failed: how often in a row, the last error and when to try it again, so a
listing or sitemap whose pages answer 404 does not fetch them on every poll.
`source.paused` is set by ``newsmon sources pause NAME``: a paused source is
not polled until resumed. `source.detected_kind` is the kind the last poll
found for a source whose `kind` is left to detection. Plain ADD COLUMN keeps
SQLite from rebuilding the source table (see 0005).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "source", sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("source", sa.Column("detected_kind", sa.String(), nullable=True))
    op.create_table(
        "page_failure",
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("source.id"), primary_key=True),
        sa.Column("url_key", sa.String(), primary_key=True),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("first_failed_at", UTCDateTime(), nullable=False),
        sa.Column("next_try_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("page_failure")
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild would lose the triggers.
    op.execute("ALTER TABLE source DROP COLUMN detected_kind")
    op.execute("ALTER TABLE source DROP COLUMN paused")
