"""Full-text search: every word must appear (AND), newest articles first.

A word is matched as a whole token, case-insensitively; a word of several
tokens ("Phnom Penh") is a phrase; a trailing ``*`` makes it a prefix
(``Russia*``). Words are always quoted, so no user text is read as query syntax.
SQLite uses the FTS5 table ``article_fts``, PostgreSQL the ``article.search_tsv``
column; both fold case and Latin diacritics ("Penh" finds "Pénh").
Bodies are searchable once `Store.index_bodies` has indexed them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.fold import fold
from storage.models import ARTICLE, SIGHTING, SOURCE
from storage.store_articles import (
    ARTICLE_SELECT,
    article_row,
    newest_first,
    published_or_fetched,
    with_outlets,
)
from storage.types import ArticleRow

__all__ = ["fts5_query", "search", "tsquery_term"]

_FTS = sa.table("article_fts", sa.column("rowid", sa.Integer), sa.column("article_fts"))
_SIMPLE: sa.ColumnElement[object] = sa.literal_column("'simple'::regconfig")


def _split(word: str) -> tuple[str, bool]:
    """The word without its prefix marker, and whether it had one."""
    word = word.strip()
    return word.rstrip("*").strip(), word.endswith("*")


def fts5_query(words: Sequence[str]) -> str:
    """An FTS5 MATCH expression requiring every word: ``"a" AND "b c" AND "d"*``."""
    terms = []
    for word in words:
        core, prefix = _split(word)
        if core:
            terms.append('"' + core.replace('"', '""') + '"' + ("*" if prefix else ""))
    return " AND ".join(terms)


def tsquery_term(word: str) -> sa.ColumnElement[object] | None:
    """A PostgreSQL tsquery for one word (None for a word without text)."""
    core, prefix = _split(word)
    core = fold(core)
    if not core:
        return None
    if prefix:
        quoted = "'" + core.replace("\\", "\\\\").replace("'", "''") + "':*"
        return sa.func.to_tsquery(_SIMPLE, quoted)
    return sa.func.phraseto_tsquery(_SIMPLE, core)


def _matches(conn: Connection, words: Sequence[str]) -> sa.ColumnElement[bool] | None:
    if conn.dialect.name == "postgresql":
        terms = [term for term in map(tsquery_term, words) if term is not None]
        if not terms:
            return None
        query = terms[0]
        for term in terms[1:]:
            query = query.op("&&")(term)
        return sa.literal_column("article.search_tsv").op("@@")(query)
    expression = fts5_query(words)
    if not expression:
        return None
    hits = sa.select(_FTS.c.rowid).where(_FTS.c.article_fts.op("MATCH")(expression))
    return ARTICLE.c.id.in_(hits)


def search(
    conn: Connection,
    words: Sequence[str],
    *,
    since: datetime | None,
    source: str | Sequence[str] | None,
    limit: int,
) -> list[ArticleRow]:
    """Articles containing every word, newest first; no words: the newest articles.

    `source`: a source name or several; an article carried by any of them counts.
    """
    query = ARTICLE_SELECT.order_by(*newest_first).limit(limit)
    match = _matches(conn, words)
    if match is not None:
        query = query.where(match)
    if since is not None:
        query = query.where(published_or_fetched >= since)
    if source is not None:
        names = [source] if isinstance(source, str) else list(source)
        outlet = SOURCE.alias("outlet")
        carried_by = (
            sa.select(SIGHTING.c.id)
            .join_from(SIGHTING, outlet, SIGHTING.c.source_id == outlet.c.id)
            .where(SIGHTING.c.article_id == ARTICLE.c.id, outlet.c.name.in_(names))
        )
        query = query.where(sa.or_(SOURCE.c.name.in_(names), carried_by.exists()))
    return with_outlets(conn, [article_row(row) for row in conn.execute(query)])
