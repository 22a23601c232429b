"""An article's canonical URL is no longer unique: a source's own entries keep theirs.

Entries of one source with distinct GUIDs are distinct articles even when they
share a canonical URL (items that all link to one landing page); only copies
from *other* sources become sightings. The old UNIQUE column is renamed
`url_key` and keeps its constraint: it holds the canonical URL for the first
copy stored under that URL (so a concurrent copy from another source loses the
insert and is classified again as a sighting), and the URL with the source and
GUID appended for a source's further entries under it. `canonical_url` is added
back as a plain indexed column. Renaming keeps SQLite from rebuilding the
article table, which its foreign keys and full-text triggers would not survive
inside the migration's transaction.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute("ALTER TABLE article RENAME COLUMN canonical_url TO url_key")
    if postgres:
        op.execute(
            "ALTER TABLE article RENAME CONSTRAINT article_canonical_url_key TO article_url_key_key"
        )
    # SQLite adds a NOT NULL column only with a default; it is filled at once.
    op.add_column(
        "article", sa.Column("canonical_url", sa.String(), nullable=False, server_default="")
    )
    op.execute("UPDATE article SET canonical_url = url_key")
    if postgres:
        op.alter_column("article", "canonical_url", server_default=None)
    op.create_index("ix_article_canonical_url", "article", ["canonical_url"])


def downgrade() -> None:
    # Rows added since keep their url_key (unique) as their canonical URL.
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_article_canonical_url", table_name="article")
    op.drop_column("article", "canonical_url")
    if postgres:
        op.execute(
            "ALTER TABLE article RENAME CONSTRAINT article_url_key_key TO article_canonical_url_key"
        )
    op.execute("ALTER TABLE article RENAME COLUMN url_key TO canonical_url")
