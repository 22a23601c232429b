"""Story clusters: fingerprint versions and the LSH band index.

`article.fingerprint_version` says which fingerprint algorithm produced
`article.fingerprint` (None: not fingerprinted yet); `story_band` holds each
fingerprint's LSH band keys with the article's `fetched_at`, keyed on
(band, seen_at, article_id), so the copies of a story within the cluster window are found
by an index look-up. Rows stored before have no fingerprint: `newsmon db
upgrade` computes them afterwards (the fingerprint is the pipeline's, which a
migration cannot import) and assigns their clusters, in batches.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Plain ADD COLUMN keeps SQLite from rebuilding the article table (see 0005).
    op.add_column("article", sa.Column("fingerprint_version", sa.Integer(), nullable=True))
    # The primary key is the look-up index; on SQLite the table is that index.
    op.create_table(
        "story_band",
        sa.Column("band", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("article.id"),
            nullable=False,
            autoincrement=False,
        ),
        sa.PrimaryKeyConstraint("band", "seen_at", "article_id"),
        sqlite_with_rowid=False,
    )
    # Every article is a cluster of its own until its fingerprint says otherwise.
    op.execute("UPDATE article SET cluster_id = id WHERE cluster_id IS NULL")


def downgrade() -> None:
    op.drop_table("story_band")
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild would lose the triggers.
    op.execute("ALTER TABLE article DROP COLUMN fingerprint_version")
