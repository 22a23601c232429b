"""The full-text index holds NFKC text, as the matcher folds it.

Full-width letters and ligatures ("ＡＳＥＡＮ", "ﬁnance") are indexed as
"ASEAN", "finance", so `newsmon search` finds what the rules match. SQLite:
the triggers pass each column through `newsmon_nfkc()`, a function every
newsmon connection registers (storage/engine.py), and the index is rebuilt.
PostgreSQL: the generated tsvector column applies `normalize(…, NFKC)`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

from storage.fold import FOLD_FROM, FOLD_TO

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_TRIGGERS = ("article_fts_insert", "article_fts_update", "article_fts_delete")


def _sqlite_row(row: str, fn: str | None) -> str:
    def wrap(expr: str) -> str:
        return f"{fn}({expr})" if fn else expr

    body = f"CASE WHEN {row}.body_indexed THEN {wrap(f'{row}.body')} ELSE '' END"
    return f"{row}.id, {wrap(f'{row}.title')}, {wrap(f'{row}.summary')}, {body}"


def _sqlite_triggers(fn: str | None) -> None:
    add = "INSERT INTO article_fts(rowid, title, summary, body) VALUES ({});"
    drop = (
        "INSERT INTO article_fts(article_fts, rowid, title, summary, body) VALUES ('delete', {});"
    )
    new, old = _sqlite_row("new", fn), _sqlite_row("old", fn)
    for trigger in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
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
    # A contentless index cannot be told what it held per row: empty it, fill it anew.
    op.execute("INSERT INTO article_fts(article_fts) VALUES ('delete-all')")
    op.execute(
        "INSERT INTO article_fts(rowid, title, summary, body) "
        f"SELECT {_sqlite_row('article', fn)} FROM article"
    )


def _postgresql_column(nfkc: bool) -> None:
    body = "CASE WHEN body_indexed THEN left(body, 100000) ELSE '' END"
    text = f"title || ' ' || summary || ' ' || {body}"
    if nfkc:
        text = f"normalize({text}, NFKC)"
    folded = f"translate({text}, '{FOLD_FROM}', '{FOLD_TO}')"
    op.execute("DROP INDEX IF EXISTS ix_article_search_tsv")
    op.execute("ALTER TABLE article DROP COLUMN search_tsv")
    op.execute(
        "ALTER TABLE article ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ("
        f"to_tsvector('simple'::regconfig, {folded})) STORED"
    )
    op.execute("CREATE INDEX ix_article_search_tsv ON article USING gin (search_tsv)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_column(nfkc=True)
    else:
        _sqlite_triggers("newsmon_nfkc")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_column(nfkc=False)
    else:
        _sqlite_triggers(None)
