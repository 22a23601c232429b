"""Read-only queries for the dashboard: recent articles, poll events, matches, counts.

Each function runs inside the caller's (read) transaction and writes nothing.
Counts per day or hour are grouped in SQL on whole-second epochs, so a chart
reads one row per (key, bucket), not one per article.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.models import ARTICLE, DELIVERY, POLL_EVENT, SOURCE
from storage.sql import AnyRow, match_terms_spans
from storage.store_articles import ARTICLE_SELECT, article_row, article_rows, newest_first
from storage.types import ArticleRow, DayCount, HourCount, MatchRow, PollEventRow

__all__ = [
    "article_days",
    "articles_since",
    "deliveries_since",
    "match_days",
    "poll_events",
    "poll_hours",
    "recent_articles",
    "recent_matches",
]


def _epoch(conn: Connection, column: sa.ColumnElement[datetime]) -> sa.ColumnElement[int]:
    """Whole seconds since the epoch of a stored (naive UTC) timestamp."""
    if conn.dialect.name == "postgresql":
        return sa.cast(sa.func.extract("epoch", column), sa.BigInteger)
    return sa.cast(sa.func.strftime("%s", column), sa.BigInteger)


def _bucket(
    conn: Connection, column: sa.ColumnElement[datetime], size: int, offset: int = 0
) -> sa.ColumnElement[int]:
    # Times after 1970 only: integer division truncates, which is floor for them.
    return ((_epoch(conn, column) + offset) // size).label("bucket")


def recent_articles(conn: Connection, source: str | None, limit: int) -> list[ArticleRow]:
    """The newest articles (of one source, or of all), newest first."""
    query = ARTICLE_SELECT.order_by(*newest_first).limit(limit)
    if source is not None:
        query = query.where(SOURCE.c.name == source)
    return [article_row(row) for row in conn.execute(query)]


def poll_events(
    conn: Connection, source: str | None, *, errors_only: bool, limit: int
) -> list[PollEventRow]:
    """The latest poll events, newest first."""
    query = (
        sa.select(
            SOURCE.c.name,
            POLL_EVENT.c.polled_at,
            POLL_EVENT.c.error,
            POLL_EVENT.c["items"].label("found"),
        )
        .join_from(POLL_EVENT, SOURCE, POLL_EVENT.c.source_id == SOURCE.c.id)
        .order_by(POLL_EVENT.c.polled_at.desc(), POLL_EVENT.c.id.desc())
        .limit(limit)
    )
    if source is not None:
        query = query.where(SOURCE.c.name == source)
    if errors_only:
        query = query.where(POLL_EVENT.c.error.is_not(None))
    return [
        PollEventRow(row.name, row.polled_at, row.error, row.found) for row in conn.execute(query)
    ]


def poll_hours(conn: Connection, since: datetime) -> list[HourCount]:
    """Polls and failed polls per UTC hour since `since`, oldest hour first."""
    hour = _bucket(conn, POLL_EVENT.c.polled_at, 3600)
    failed = sa.func.sum(sa.case((POLL_EVENT.c.error.is_not(None), 1), else_=0))
    query = (
        sa.select(hour, sa.func.count(), failed)
        .where(POLL_EVENT.c.polled_at >= since)
        .group_by(hour)
        .order_by(hour)
    )
    return [
        HourCount(int(b), int(polls), int(errors or 0)) for b, polls, errors in conn.execute(query)
    ]


def article_days(
    conn: Connection, since: datetime, offset: int, source: str | None = None
) -> list[DayCount]:
    """Articles first stored per source (or of one) and day since `since`; days start at
    UTC+`offset` s."""
    day = _bucket(conn, ARTICLE.c.fetched_at, 86400, offset)
    query = (
        sa.select(SOURCE.c.name, day, sa.func.count())
        .join_from(ARTICLE, SOURCE, ARTICLE.c.source_id == SOURCE.c.id)
        .where(ARTICLE.c.fetched_at >= since)
        .group_by(SOURCE.c.name, day)
    )
    if source is not None:
        query = query.where(SOURCE.c.name == source)
    return [DayCount(name, int(b), int(n)) for name, b, n in conn.execute(query)]


def match_days(conn: Connection, since: datetime, offset: int) -> list[DayCount]:
    """Stories each rule matched per day since `since` (one per story, whatever the channels)."""
    day = _bucket(conn, DELIVERY.c.created_at, 86400, offset)
    query = (
        sa.select(DELIVERY.c.rule, day, sa.func.count(sa.distinct(DELIVERY.c.cluster_id)))
        .where(DELIVERY.c.created_at >= since)
        .group_by(DELIVERY.c.rule, day)
    )
    return [DayCount(rule, int(b), int(n)) for rule, b, n in conn.execute(query)]


def articles_since(conn: Connection, since: datetime) -> int:
    """How many articles were first stored at or after `since`."""
    query = sa.select(sa.func.count()).select_from(ARTICLE).where(ARTICLE.c.fetched_at >= since)
    return int(conn.scalar(query) or 0)


def deliveries_since(conn: Connection, since: datetime) -> dict[str, int]:
    """Alerts queued at or after `since`, by status."""
    query = (
        sa.select(DELIVERY.c.status, sa.func.count())
        .where(DELIVERY.c.created_at >= since)
        .group_by(DELIVERY.c.status)
    )
    return {status: int(n) for status, n in conn.execute(query)}


def recent_matches(
    conn: Connection, rule: str | None, limit: int, offset: int = 0
) -> list[MatchRow]:
    """The newest matches, one per (rule, story), with the channels each went to.

    Deliveries are read newest first in pages and merged by (rule, cluster), so
    a story alerted on three channels is one match with three channels.
    """
    query = sa.select(DELIVERY).order_by(DELIVERY.c.created_at.desc(), DELIVERY.c.id.desc())
    if rule is not None:
        query = query.where(DELIVERY.c.rule == rule)
    wanted = offset + limit
    firsts: dict[tuple[str, int], AnyRow] = {}
    channels: dict[tuple[str, int], set[tuple[str, str]]] = {}
    page, start = max(4 * wanted, 100), 0
    while True:
        rows = list(conn.execute(query.offset(start).limit(page)))
        for row in rows:
            key = (row.rule, row.cluster_id)
            if key not in firsts:
                if len(firsts) >= wanted:
                    continue  # later channels of the stories already taken still count
                firsts[key] = row
            channels.setdefault(key, set()).add((row.channel, row.status))
        if len(rows) < page or len(firsts) >= wanted:
            break
        start += page
    chosen = list(firsts)[offset:wanted]
    articles = article_rows(conn, sorted({firsts[key].article_id for key in chosen}))
    return [
        _match_row(firsts[key], articles[firsts[key].article_id], channels[key])
        for key in chosen
        if firsts[key].article_id in articles
    ]


def _match_row(row: AnyRow, article: ArticleRow, channels: set[tuple[str, str]]) -> MatchRow:
    terms, spans = match_terms_spans(row)
    return MatchRow(
        rule=row.rule,
        created_at=row.created_at,
        terms=terms,
        snippet=row.snippet,
        spans=spans,
        article=article,
        channels=tuple(sorted(channels)),
    )
