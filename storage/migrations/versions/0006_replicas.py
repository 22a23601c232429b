"""Replicas on one database: who holds each lease, heartbeats, singleton job runs.

`claimed_by` on source and delivery names the replica holding the lease;
`replica` holds one heartbeat row per running replica; `job_run` lets exactly
one replica run a singleton job (a digest tick, a retention run) per period.
Plain ADD COLUMN keeps SQLite from rebuilding tables (see 0005).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("source", sa.Column("claimed_by", sa.String(), nullable=True))
    op.add_column("delivery", sa.Column("claimed_by", sa.String(), nullable=True))
    op.create_table(
        "replica",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "job_run",
        sa.Column("job", sa.String(), primary_key=True),
        sa.Column("period", sa.String(), primary_key=True),
        sa.Column("claimant", sa.String(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_job_run_claimed_at", "job_run", ["claimed_at"])


def downgrade() -> None:
    op.drop_index("ix_job_run_claimed_at", table_name="job_run")
    op.drop_table("job_run")
    op.drop_table("replica")
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild would lose the triggers.
    op.execute("ALTER TABLE delivery DROP COLUMN claimed_by")
    op.execute("ALTER TABLE source DROP COLUMN claimed_by")
