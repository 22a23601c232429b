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
from storage.store_articles import article_rows, newest_first, published_or_fetched
from storage.types import ArticleRow

__all__ = ["Clause", "count", "fts5_query", "search", "search_ids", "tsquery_term"]

_FTS = sa.table("article_fts", sa.column("rowid", sa.Integer), sa.column("article_fts"))
_SIMPLE: sa.ColumnElement[object] = sa.literal_column("'simple'::regconfig")


# One clause of an index query: words every match holds, and words none holds.
Clause = tuple[Sequence[str], Sequence[str]]


def _split(word: str) -> tuple[str, bool]:
    """The word without its prefix marker, and whether it had one."""
    word = word.strip()
    return word.rstrip("*").strip(), word.endswith("*")


def _fts5_word(word: str) -> str | None:
    core, prefix = _split(word)
    if not core:
        return None
    return '"' + core.replace('"', '""') + '"' + ("*" if prefix else "")


def fts5_query(words: Sequence[str]) -> str:
    """An FTS5 MATCH expression requiring every word: ``"a" AND "b c" AND "d"*``."""
    return " AND ".join(term for term in map(_fts5_word, words) if term)


def _fts5_clauses(clauses: Sequence[Clause]) -> str:
    """``(("a" AND "b") NOT ("c" OR "d")) OR ...``: any clause, each its words without
    its excluded ones."""
    parts = []
    for required, excluded in clauses:
        expression = fts5_query(required)
        if not expression:
            return ""  # a clause without a word holds every article: no narrowing
        left_out = " OR ".join(term for term in map(_fts5_word, excluded) if term)
        parts.append(f"(({expression}) NOT ({left_out}))" if left_out else f"({expression})")
    return " OR ".join(parts)


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


def _tsquery(words: Sequence[str], operator: str) -> sa.ColumnElement[object] | None:
    terms = [term for term in map(tsquery_term, words) if term is not None]
    if not terms:
        return None
    query = terms[0]
    for term in terms[1:]:
        query = query.op(operator)(term)
    return query


def _tsquery_clauses(clauses: Sequence[Clause]) -> sa.ColumnElement[object] | None:
    query = None
    for required, excluded in clauses:
        clause = _tsquery(required, "&&")
        if clause is None:
            return None
        left_out = _tsquery(excluded, "||")
        if left_out is not None:
            clause = clause.op("&&")(sa.func.tsquery_not(left_out))
        query = clause if query is None else query.op("||")(clause)
    return query


def _matches(conn: Connection, clauses: Sequence[Clause]) -> sa.ColumnElement[bool] | None:
    if conn.dialect.name == "postgresql":
        query = _tsquery_clauses(clauses)
        if query is None:
            return None
        return sa.literal_column("article.search_tsv").op("@@")(query)
    expression = _fts5_clauses(clauses)
    if not expression:
        return None
    hits = sa.select(_FTS.c.rowid).where(_FTS.c.article_fts.op("MATCH")(expression))
    return ARTICLE.c.id.in_(hits)


def _filtered(
    conn: Connection,
    query: sa.Select[tuple[int]],
    clauses: Sequence[Clause],
    since: datetime | None,
    source: str | Sequence[str] | None,
) -> sa.Select[tuple[int]]:
    """`query` over ARTICLE narrowed to the clauses' matches, `since` and `source`."""
    match = _matches(conn, clauses)
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
        owner = sa.select(SOURCE.c.id).where(SOURCE.c.name.in_(names))
        query = query.where(sa.or_(ARTICLE.c.source_id.in_(owner), carried_by.exists()))
    return query


def search_ids(
    conn: Connection,
    words: Sequence[str],
    *,
    since: datetime | None,
    source: str | Sequence[str] | None,
    limit: int,
) -> list[int]:
    """Ids of the articles containing every word, newest first; no words: the newest.

    `source`: a source name or several; an article carried by any of them counts.
    Only ids are sorted: rows with their bodies would make every match's text pass
    through the sort.
    """
    query = sa.select(ARTICLE.c.id).order_by(*newest_first).limit(limit)
    return list(conn.scalars(_filtered(conn, query, [(words, ())], since, source)))


def search(
    conn: Connection,
    words: Sequence[str],
    *,
    since: datetime | None,
    source: str | Sequence[str] | None,
    limit: int,
) -> list[ArticleRow]:
    """The articles `search_ids` finds, in its order; their `outlets` are unset."""
    ids = search_ids(conn, words, since=since, source=source, limit=limit)
    rows = article_rows(conn, ids)
    return [rows[i] for i in ids if i in rows]


def count(
    conn: Connection,
    clauses: Sequence[Clause],
    *,
    since: datetime | None,
    source: str | Sequence[str] | None,
    cap: int,
) -> int:
    """How many articles match any clause (its words, none of its excluded words),
    counting no further than `cap`."""
    query = sa.select(ARTICLE.c.id).limit(cap)
    found = _filtered(conn, query, clauses, since, source).subquery()
    return int(conn.execute(sa.select(sa.func.count()).select_from(found)).scalar_one())
