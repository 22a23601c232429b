"""Initial schema: source, article, sighting, delivery and the full-text index.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

The full-text index covers title and summary from the moment a row is inserted
and the body once `article.body_indexed` is set (the deferred batch in
`Store.index_bodies`): indexing bodies inline was the most expensive step of
ingest. SQLite keeps a contentless FTS5 table fed by triggers; PostgreSQL a
generated ``tsvector`` column with a GIN index ('simple' configuration: no
stemming, no stop words, like FTS5's unicode61; diacritics folded as FTS5's
``remove_diacritics 2`` does, see `storage.fold`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.fold import FOLD_FROM, FOLD_TO
from storage.models import UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _time(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def _str(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(), nullable=nullable)


def _int(name: str, *, default: str | None = None) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), nullable=False, server_default=default)


def upgrade() -> None:
    # Long on purpose: the initial schema is declared in one place, table by table.
    op.create_table(
        "source",
        sa.Column("id", sa.Integer(), primary_key=True),
        _str("name"),
        _str("url"),
        _str("kind", nullable=True),
        _int("interval_seconds"),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        _str("etag", nullable=True),
        _str("last_modified", nullable=True),
        _time("next_poll_at"),
        _time("lease_until"),
        _time("last_poll_at"),
        _time("last_success_at"),
        _int("error_count", default="0"),
        _str("last_error", nullable=True),
        _int("items_seen_last", default="0"),
        _int("window_overflows", default="0"),
        _time("created_at", nullable=False),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_source_next_poll_at", "source", ["next_poll_at"])

    op.create_table(
        "article",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("source.id"), nullable=False),
        _str("guid"),
        _str("url"),
        _str("canonical_url"),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _str("author", nullable=True),
        _str("lang", nullable=True),
        _time("published_at"),
        _time("fetched_at", nullable=False),
        _time("updated_at"),
        _str("content_hash"),
        _str("fingerprint", nullable=True),
        sa.Column("cluster_id", sa.Integer(), nullable=True),
        sa.Column("pruned", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("body_indexed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("canonical_url"),
        sa.UniqueConstraint("source_id", "guid", name="uq_article_source_guid"),
    )
    op.create_index("ix_article_cluster_id", "article", ["cluster_id"])
    op.create_index(
        "ix_article_body_unindexed",
        "article",
        ["id"],
        sqlite_where=sa.text("body_indexed = 0"),
        postgresql_where=sa.text("NOT body_indexed"),
    )

    op.create_table(
        "sighting",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("article.id"), nullable=False),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("source.id"), nullable=False),
        _str("guid"),
        _str("url"),
        _time("seen_at", nullable=False),
        sa.UniqueConstraint("article_id", "source_id", name="uq_sighting_article_source"),
    )
    op.create_index("ix_sighting_source_id", "sighting", ["source_id"])

    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("article.id"), nullable=False),
        _int("cluster_id"),
        _str("rule"),
        _str("channel"),
        _str("mode"),
        _str("status"),
        _int("attempts", default="0"),
        _time("next_attempt_at"),
        _time("lease_until"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _time("created_at", nullable=False),
        _time("first_attempt_at"),
        _time("sent_at"),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("snippet", sa.Text(), nullable=False),
        sa.Column("spans", sa.Text(), nullable=False),
        sa.UniqueConstraint(
            "cluster_id", "rule", "channel", name="uq_delivery_cluster_rule_channel"
        ),
    )
    op.create_index("ix_delivery_article_id", "delivery", ["article_id"])
    op.create_index("ix_delivery_status_next_attempt_at", "delivery", ["status", "next_attempt_at"])

    if op.get_bind().dialect.name == "postgresql":
        _postgresql_fts()
    else:
        _sqlite_fts()


# What the index holds for a row: the body only once the deferred batch got to it.
_SQLITE_ROW = "{0}.id, {0}.title, {0}.summary, CASE WHEN {0}.body_indexed THEN {0}.body ELSE '' END"


def _sqlite_fts() -> None:
    # Contentless: the index stores no copy of the text; search joins back to article.
    op.execute(
        "CREATE VIRTUAL TABLE article_fts USING fts5("
        "title, summary, body, content='', tokenize='unicode61 remove_diacritics 2')"
    )
    add = "INSERT INTO article_fts(rowid, title, summary, body) VALUES ({});"
    # A contentless table forgets a row only when told the exact values it indexed.
    drop = (
        "INSERT INTO article_fts(article_fts, rowid, title, summary, body) VALUES ('delete', {});"
    )
    new, old = _SQLITE_ROW.format("new"), _SQLITE_ROW.format("old")
    op.execute(
        f"CREATE TRIGGER article_fts_insert AFTER INSERT ON article BEGIN {add.format(new)} END"
    )
    op.execute(
        "CREATE TRIGGER article_fts_update AFTER UPDATE OF title, summary, body, body_indexed "
        f"ON article BEGIN {drop.format(old)} {add.format(new)} END"
    )
    op.execute(
        f"CREATE TRIGGER article_fts_delete AFTER DELETE ON article BEGIN {drop.format(old)} END"
    )


def _postgresql_fts() -> None:
    # to_tsvector fails beyond 1 MB of lexemes; 100k characters of body stay well below.
    body = "CASE WHEN body_indexed THEN left(body, 100000) ELSE '' END"
    text = f"title || ' ' || summary || ' ' || {body}"
    folded = f"translate({text}, '{FOLD_FROM}', '{FOLD_TO}')"
    op.execute(
        "ALTER TABLE article ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ("
        f"to_tsvector('simple'::regconfig, {folded})) STORED"
    )
    op.execute("CREATE INDEX ix_article_search_tsv ON article USING gin (search_tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_article_search_tsv")
    else:
        for trigger in ("article_fts_insert", "article_fts_update", "article_fts_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS article_fts")
    for table in ("delivery", "sighting", "article", "source"):
        op.drop_table(table)
