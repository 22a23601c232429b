"""Builders shared by the storage tests: sources, articles, ingest candidates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from storage import ArticleIn, Candidate, DeliveryIn, SourceSpec, Store

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def add_sources(store: Store, *names: str, now: datetime = NOW) -> dict[str, int]:
    """Configure sources `names` (due at `now`); their ids by name."""
    specs = [SourceSpec(name, f"https://{name}.example/feed.xml", "feed", 600) for name in names]
    store.sync_sources(specs, now)
    return source_ids(store)


def source_ids(store: Store) -> dict[str, int]:
    """Every source's id by name."""
    with store.engine.connect() as conn:
        return {name: id_ for id_, name in conn.execute(sa.text("SELECT id, name FROM source"))}


def article(
    key: str,
    *,
    guid: str | None = None,
    url: str | None = None,
    title: str | None = None,
    summary: str = "",
    body: str = "",
    content_hash: str = "v1",
    published_at: datetime | None = None,
) -> ArticleIn:
    """An article whose guid, URL and title derive from `key` unless given."""
    canonical = url or f"https://news.example/{key}"
    return ArticleIn(
        guid=guid or f"guid-{key}",
        url=canonical + "?utm_source=feed",
        canonical_url=canonical,
        title=title if title is not None else f"Story {key}",
        summary=summary,
        body=body,
        author="Desk",
        published_at=published_at,
        content_hash=content_hash,
    )


def quiet(articles: Sequence[ArticleIn]) -> list[Candidate]:
    """The articles as ingest candidates that no rule matches."""
    return [Candidate(a) for a in articles]


def alerting(articles: Sequence[ArticleIn], *rules: str, mode: str = "instant") -> list[Candidate]:
    """The articles as candidates that each queue one delivery per rule to channel 'ops'."""
    deliveries = tuple(
        DeliveryIn(rule, "ops", mode, ("asean",), "ASEAN summit", ((0, 5),)) for rule in rules
    )
    return [Candidate(a, deliveries) for a in articles]
