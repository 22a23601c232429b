"""Turning parsed feed entries into normalised articles and matchable documents."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from monitor.match.rules import Document, Matcher
from monitor.normalize.clean import canonical_url, clean_title, content_hash, html_to_text
from monitor.sources.feed import Entry
from storage.types import ArticleIn, DeliveryIn

__all__ = ["RuleRoute", "article_from_entry", "deliveries_for", "document_of"]


def article_from_entry(entry: Entry, *, source: str, feed_url: str) -> ArticleIn:
    """A normalised article from a feed entry (pure)."""
    title = clean_title(entry.title)
    summary = html_to_text(entry.summary)
    body = html_to_text(entry.content) if entry.content else summary
    link = entry.link.strip()
    if link:
        canonical = canonical_url(link, base=feed_url)
    else:
        # No link: the identity is the entry's guid within its source.
        digest = hashlib.sha256(entry.guid.encode()).hexdigest()[:32]
        canonical = f"urn:newsmon:{source}:{digest}"
    return ArticleIn(
        guid=entry.guid,
        url=link or canonical,
        canonical_url=canonical,
        title=title,
        summary=summary,
        body=body,
        author=entry.author or None,
        published_at=entry.published,
        content_hash=content_hash(title, body if body else summary),
    )


def document_of(article: ArticleIn, *, source: str, tags: frozenset[str]) -> Document:
    """The matchable view of an article."""
    return Document(
        title=article.title,
        summary=article.summary,
        body=article.body,
        source=source,
        tags=tags,
        url=article.canonical_url,
        author=article.author or "",
    )


class RuleRoute:
    """Where a rule's matches go: its channels and mode."""

    __slots__ = ("channels", "mode")

    def __init__(self, channels: Sequence[str], mode: str) -> None:
        self.channels = tuple(channels)
        self.mode = mode


def deliveries_for(
    article: ArticleIn,
    *,
    matcher: Matcher,
    routes: dict[str, RuleRoute],
    source: str,
    tags: frozenset[str],
) -> list[DeliveryIn]:
    """The outbox rows an article causes: one per matching rule and channel."""
    out: list[DeliveryIn] = []
    for match in matcher.match(document_of(article, source=source, tags=tags)):
        route = routes[match.rule]
        for channel in route.channels:
            out.append(
                DeliveryIn(
                    rule=match.rule,
                    channel=channel,
                    mode=route.mode,
                    terms=match.terms,
                    snippet=match.snippet,
                    spans=match.spans,
                )
            )
    return out
