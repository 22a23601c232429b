"""Full-text search: every word must appear (AND), newest articles first.

A word is matched as a whole token, case-insensitively; a word of several
tokens ("Phnom Penh") is a phrase; a trailing ``*`` makes it a prefix
(``Russia*``). Words are always quoted, so no user text is read as query syntax.
SQLite uses the FTS5 table ``article_fts``, PostgreSQL the ``article.search_tsv``
column; both fold case and Latin diacritics ("Penh" finds "Pénh").
Bodies are searchable once `Store.index_bodies` has indexed them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.fold import fold
from storage.models import ARTICLE, SIGHTING, SOURCE
from storage.store_articles import article_rows, newest_first, published_or_fetched
from storage.types import ArticleRow

__all__ = [
    "NEWEST_INDEX",
    "Clause",
    "count",
    "dense_from",
    "fts5_query",
    "search",
    "search_ids",
    "tsquery_term",
]

_FTS = sa.table("article_fts", sa.column("rowid", sa.Integer), sa.column("article_fts"))
NEWEST_INDEX = "ix_article_newest"  # migration 0010: newest first, as `newest_first`
# A sorted match costs about this many walked index entries (see `dense_from`).
_WALK_PER_SORT = 50
# The dense plan's windows of the index, in multiples of the limit (see `_walked`).
_FIRST_WINDOW = 4
_LAST_WINDOW = 16
_ZERO: sa.ColumnElement[int] = sa.literal_column("0", sa.Integer)
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


def _matches(
    conn: Connection,
    clauses: Sequence[Clause],
    *,
    walk: bool = False,
    within: tuple[int, int] | None = None,
) -> sa.ColumnElement[bool] | None:
    """The clauses' condition on ARTICLE; `walk` (SQLite): as a set each row is looked
    up in, never an id look-up that would leave ``ix_article_newest`` unused;
    `within`: only the matches with ids in that range (inclusive) are in the set."""
    if conn.dialect.name == "postgresql":
        query = _tsquery_clauses(clauses)
        if query is None:
            return None
        return sa.literal_column("article.search_tsv").op("@@")(query)
    expression = _fts5_clauses(clauses)
    if not expression:
        return None
    hits = sa.select(_FTS.c.rowid).where(_FTS.c.article_fts.op("MATCH")(expression))
    if within is not None:
        hits = hits.where(_FTS.c.rowid.between(*within))
    # SQLite has no index hints in SQLAlchemy; "id + 0" is no index key, so the
    # planner's only way to skip the sort is the walk newest first.
    return (ARTICLE.c.id + _ZERO if walk else ARTICLE.c.id).in_(hits)


def _filtered(
    conn: Connection,
    query: sa.Select[int],
    clauses: Sequence[Clause],
    since: datetime | None,
    source: str | Sequence[str] | None,
    *,
    walk: bool = False,
    within: tuple[int, int] | None = None,
) -> sa.Select[int]:
    """`query` over ARTICLE narrowed to the clauses' matches, `since` and `source`
    (`walk`, `within`: see `_matches`)."""
    match = _matches(conn, clauses, walk=walk, within=within)
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


def dense_from(limit: int, articles: int) -> int:
    """How many matches make walking ``ix_article_newest`` cheaper than sorting them.

    Sorting reads every match's row; the walk reads index entries newest first,
    about ``limit * articles / matches`` of them, each ~1/`_WALK_PER_SORT` the cost
    of a sorted match (measured on 100,000 and 1,000,000 generated articles): the
    walk wins above ``sqrt(limit * articles / _WALK_PER_SORT)`` matches.
    """
    return max(limit, math.isqrt(limit * articles // _WALK_PER_SORT))


def _more_than(conn: Connection, expression: str, matches: int) -> bool:
    """Whether the FTS5 `expression` matches more than `matches` articles (reads no
    more than one past that)."""
    hits = (
        sa.select(_FTS.c.rowid)
        .where(_FTS.c.article_fts.op("MATCH")(expression))
        .limit(matches + 1)
        .subquery()
    )
    return int(conn.execute(sa.select(sa.func.count()).select_from(hits)).scalar_one()) > matches


def _walked(
    conn: Connection,
    words: Sequence[str],
    since: datetime | None,
    source: str | Sequence[str] | None,
    limit: int,
) -> list[int]:
    """The dense plan: ``ix_article_newest`` walked newest first, keeping matches.

    Building the whole match set costs ~30 ms for 300,000 matches, so the walk
    first tries a window: the newest `_FIRST_WINDOW` × `limit` entries, with only
    the matches whose ids lie within the window's id range (new articles have
    high ids, so the range is narrow). Within the window the set is exact; if the
    `limit`-th id found lies within it (or the window holds every entry) the
    answer is too, else the window grows fourfold, then the whole set is used.
    """
    newest = sa.select(ARTICLE.c.id, published_or_fetched.label("at")).order_by(*newest_first)
    if since is not None:
        newest = newest.where(published_or_fetched >= since)
    clauses: list[Clause] = [(words, ())]
    window = _FIRST_WINDOW * limit
    while window <= _LAST_WINDOW * limit:
        entries = newest.with_only_columns(ARTICLE.c.id).limit(window).subquery()
        low, high, size = conn.execute(
            sa.select(sa.func.min(entries.c.id), sa.func.max(entries.c.id), sa.func.count())
        ).one()
        if not size:
            return []
        edge = conn.execute(newest.offset(size - 1).limit(1)).one()
        query = sa.select(ARTICLE.c.id).where(published_or_fetched >= edge.at)
        query = query.order_by(*newest_first).limit(limit)
        query = _filtered(conn, query, clauses, since, source, walk=True, within=(low, high))
        found = list(conn.scalars(query))
        if size < window:  # the window is every entry
            return found
        if len(found) == limit:
            at = conn.execute(sa.select(published_or_fetched).where(ARTICLE.c.id == found[-1]))
            if (at.scalar_one(), found[-1]) >= (edge.at, edge.id):
                return found
        window *= 4
    query = sa.select(ARTICLE.c.id).order_by(*newest_first).limit(limit)
    return list(conn.scalars(_filtered(conn, query, clauses, since, source, walk=True)))


def search_ids(
    conn: Connection,
    words: Sequence[str],
    *,
    since: datetime | None,
    source: str | Sequence[str] | None,
    limit: int,
    dense: int | None = None,
) -> list[int]:
    """Ids of the articles containing every word, newest first; no words: the newest.

    `source`: a source name or several; an article carried by any of them counts.
    Only ids are sorted: rows with their bodies would make every match's text pass
    through the sort. On SQLite, when the words match more than `dense` articles
    (default `dense_from`), the matches are not sorted: ``ix_article_newest`` is
    walked newest first, keeping the ids in the match set, up to `limit` (see
    `_walked`); the order is the same (ties newest id first).
    """
    expression = _fts5_clauses([(words, ())]) if conn.dialect.name == "sqlite" else ""
    if expression:
        if dense is None:
            newest_id = conn.execute(sa.select(sa.func.max(ARTICLE.c.id))).scalar_one()
            dense = dense_from(limit, newest_id or 0)
        if _more_than(conn, expression, dense):
            return _walked(conn, words, since, source, limit)
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
