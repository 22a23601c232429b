"""Articles: reading rows back, their outlets, and index maintenance (bodies, pruning).

Each function runs inside the caller's transaction (`Store` opens it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.models import ARTICLE, SIGHTING, SOURCE, UTCDateTime
from storage.sql import AnyRow, chunks
from storage.store_stories import cluster_outlets
from storage.types import ArticleRow

__all__ = [
    "ARTICLE_SELECT",
    "article_outlets",
    "article_row",
    "article_rows",
    "articles_after",
    "index_bodies",
    "newest_first",
    "prune_bodies",
    "prune_counts",
    "published_or_fetched",
    "with_outlets",
]

ARTICLE_SELECT = sa.select(
    ARTICLE.c.id,
    SOURCE.c.name.label("source"),
    ARTICLE.c.guid,
    ARTICLE.c.canonical_url,
    ARTICLE.c.url,
    ARTICLE.c.title,
    ARTICLE.c.summary,
    ARTICLE.c.body,
    ARTICLE.c.author,
    ARTICLE.c.lang,
    ARTICLE.c.published_at,
    ARTICLE.c.fetched_at,
    ARTICLE.c.updated_at,
    ARTICLE.c.content_hash,
    ARTICLE.c.cluster_id,
).join_from(ARTICLE, SOURCE, ARTICLE.c.source_id == SOURCE.c.id)

# The date a reader means by "since" and "newest": publication, else first sight.
published_or_fetched = sa.func.coalesce(
    ARTICLE.c.published_at, ARTICLE.c.fetched_at, type_=UTCDateTime()
)
newest_first = (published_or_fetched.desc(), ARTICLE.c.id.desc())


def article_row(row: AnyRow) -> ArticleRow:
    """An `ArticleRow` from a row of `ARTICLE_SELECT`."""
    return ArticleRow(
        id=row.id,
        source=row.source,
        guid=row.guid,
        url=row.canonical_url,
        original_url=row.url,
        title=row.title,
        summary=row.summary,
        body=row.body,
        author=row.author,
        lang=row.lang,
        published_at=row.published_at,
        fetched_at=row.fetched_at,
        updated_at=row.updated_at,
        content_hash=row.content_hash,
        cluster_id=row.cluster_id if row.cluster_id is not None else row.id,
    )


def article_rows(conn: Connection, ids: Sequence[int]) -> dict[int, ArticleRow]:
    """The articles with these ids, by id; missing ids are absent."""
    found: dict[int, ArticleRow] = {}
    for part in chunks(ids):
        for row in conn.execute(ARTICLE_SELECT.where(ARTICLE.c.id.in_(part))):
            found[row.id] = article_row(row)
    return found


def with_outlets(conn: Connection, rows: Sequence[ArticleRow]) -> list[ArticleRow]:
    """The rows with the outlets of their stories (`ArticleRow.outlets`)."""
    outlets = cluster_outlets(conn, [row.cluster_id for row in rows])
    return [
        dataclasses.replace(row, outlets=outlets.get(row.cluster_id, (row.source,))) for row in rows
    ]


def articles_after(
    conn: Connection,
    after_id: int,
    since: datetime | None,
    limit: int,
    *,
    fetched_since: datetime | None = None,
    published_since: datetime | None = None,
) -> list[ArticleRow]:
    """Up to `limit` articles with id > `after_id`, by id (one page of an export).

    `since`: published (or, when undated, fetched) at or after; `fetched_since`:
    fetched at or after; `published_since`: published at or after (undated ones left out).
    """
    query = ARTICLE_SELECT.where(ARTICLE.c.id > after_id).order_by(ARTICLE.c.id).limit(limit)
    if since is not None:
        query = query.where(published_or_fetched >= since)
    if fetched_since is not None:
        query = query.where(ARTICLE.c.fetched_at >= fetched_since)
    if published_since is not None:
        query = query.where(ARTICLE.c.published_at >= published_since)
    return with_outlets(conn, [article_row(row) for row in conn.execute(query)])


def article_outlets(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """Source names that carried each article: its owner first, then sightings in order."""
    names: dict[int, list[str]] = {}
    for part in chunks(ids):
        owners = sa.select(ARTICLE.c.id, SOURCE.c.name).join_from(
            ARTICLE, SOURCE, ARTICLE.c.source_id == SOURCE.c.id
        )
        for article_id, name in conn.execute(owners.where(ARTICLE.c.id.in_(part))):
            names[article_id] = [name]
        seen = (
            sa.select(SIGHTING.c.article_id, SOURCE.c.name)
            .join_from(SIGHTING, SOURCE, SIGHTING.c.source_id == SOURCE.c.id)
            .where(SIGHTING.c.article_id.in_(part))
            .order_by(SIGHTING.c.article_id, SIGHTING.c.seen_at, SIGHTING.c.id)
        )
        for article_id, name in conn.execute(seen):
            outlets = names.setdefault(article_id, [])
            if name not in outlets:
                outlets.append(name)
    return {article_id: tuple(outlets) for article_id, outlets in names.items()}


def index_bodies(conn: Connection, limit: int) -> int:
    """Put the bodies of up to `limit` articles into the full-text index, oldest first.

    Setting `body_indexed` is enough: an SQLite trigger re-indexes the row, and
    the PostgreSQL ``tsvector`` column is generated from it.
    """
    waiting = (
        sa.select(ARTICLE.c.id)
        .where(ARTICLE.c.body_indexed == sa.false())
        .order_by(ARTICLE.c.id)
        .limit(limit)
    )
    ids = list(conn.scalars(waiting))
    for part in chunks(ids):
        conn.execute(ARTICLE.update().where(ARTICLE.c.id.in_(part)).values(body_indexed=True))
    return len(ids)


def prune_counts(conn: Connection, before: datetime) -> tuple[int, int]:
    """(bodies `prune_bodies` would empty now, tombstones there already)."""
    due = sa.and_(ARTICLE.c.fetched_at < before, ARTICLE.c.pruned == sa.false())
    query = sa.select(
        sa.func.count().filter(due), sa.func.count().filter(ARTICLE.c.pruned == sa.true())
    )
    row = conn.execute(query).one()
    return int(row[0] or 0), int(row[1] or 0)


def prune_bodies(conn: Connection, before: datetime) -> int:
    """Drop the bodies of articles fetched before `before`; their rows stay as tombstones."""
    result = conn.execute(
        ARTICLE.update()
        .where(ARTICLE.c.fetched_at < before, ARTICLE.c.pruned == sa.false())
        .values(body="", pruned=True)
    )
    return result.rowcount
