"""Turning parsed feed entries into normalised articles, and matches into delivery rows.

The story fingerprint (`normalize.fingerprint`) is added to the articles that
may be stored (`candidates`, `fingerprinted`); `story_policy` hands its
comparison to the store, which finds earlier copies of a story by it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta

from monitor.match.rules import Document, Match, Matcher
from monitor.normalize.clean import (
    canonical_url,
    clean_title,
    content_hash,
    fragment_dependent,
    html_to_text,
)
from monitor.normalize.fingerprint import FINGERPRINT_VERSION, band_keys, fingerprint, same_story
from monitor.normalize.limits import (
    DEFAULT_MAX_BODY,
    MAX_AUTHOR,
    MAX_SUMMARY,
    MAX_TITLE,
    clip,
    raw_bound,
    url_problem,
)
from monitor.sources.feed import Entry
from storage.types import ArticleIn, Candidate, DeliveryIn, Stories

__all__ = [
    "RuleRoute",
    "article_from_entry",
    "articles_from_entries",
    "candidates",
    "deliveries_for",
    "delivery_rows",
    "document_of",
    "feed_articles",
    "fingerprint_text",
    "fingerprinted",
    "log_skipped",
    "story_fingerprint",
    "story_fingerprints",
    "story_policy",
]

log = logging.getLogger("newsmon.collect")


def articles_from_entries(
    entries: Iterable[Entry], *, source: str, feed_url: str, max_body: int = DEFAULT_MAX_BODY
) -> list[ArticleIn]:
    """The articles of one feed document.

    Whether a link's fragment is part of its canonical URL is decided for the
    document as a whole: it is kept where the feed's entries differ only by it.
    An entry whose link is too long to store is skipped, and logged.
    """
    articles, skipped = feed_articles(entries, source=source, feed_url=feed_url, max_body=max_body)
    log_skipped(source, skipped)
    return articles


def feed_articles(
    entries: Iterable[Entry], *, source: str, feed_url: str, max_body: int = DEFAULT_MAX_BODY
) -> tuple[list[ArticleIn], list[str]]:
    """`articles_from_entries` without logging (pure; it may run in a worker process):
    the articles, and why each skipped entry was skipped, for `log_skipped`."""
    usable, skipped = [], []
    for entry in entries:
        problem = url_problem(entry.link.strip())
        if problem is None:
            usable.append(entry)
        else:
            skipped.append(problem)
    by_fragment = fragment_dependent((e.link for e in usable if e.link.strip()), base=feed_url)
    articles = [
        article_from_entry(
            e,
            source=source,
            feed_url=feed_url,
            fragment_dependent=by_fragment,
            max_body=max_body,
        )
        for e in usable
    ]
    return articles, skipped


def log_skipped(source: str, problems: Iterable[str]) -> None:
    """One warning per feed entry that was skipped, saying why."""
    for problem in problems:
        log.warning("parse: %s: entry skipped: %s", source, problem, extra={"source": source})


def article_from_entry(
    entry: Entry,
    *,
    source: str,
    feed_url: str,
    fragment_dependent: frozenset[str] = frozenset(),
    max_body: int = DEFAULT_MAX_BODY,
) -> ArticleIn:
    """A normalised article from a feed entry (pure).

    `fragment_dependent`: canonical URLs whose fragment tells this feed's
    entries apart (`normalize.fragment_dependent`); for those it is kept.
    """
    title = clip(clean_title(raw_bound(entry.title, MAX_TITLE)), MAX_TITLE)
    summary = clip(html_to_text(raw_bound(entry.summary, MAX_SUMMARY)), MAX_SUMMARY)
    body = (
        clip(html_to_text(raw_bound(entry.content, max_body)), max_body)
        if entry.content
        else summary
    )
    link = entry.link.strip()
    if link:
        canonical = canonical_url(link, base=feed_url)
        if canonical in fragment_dependent:
            canonical = canonical_url(link, base=feed_url, keep_fragment=True)
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
        author=clip(entry.author or "", MAX_AUTHOR) or None,
        published_at=entry.published,
        content_hash=content_hash(title, body if body else summary),
    )


def story_fingerprint(title: str, text: str) -> tuple[bytes | None, tuple[int, ...]]:
    """The story fingerprint of a normalised title and text, and its band keys (pure)."""
    fp = fingerprint(title, text)
    return (None, ()) if fp is None else (fp, tuple(band_keys(fp)))


def story_fingerprints(
    texts: Sequence[tuple[str, str]],
) -> list[tuple[bytes | None, tuple[int, ...]]]:
    """`story_fingerprint` of each (title, text): one job for a worker process (pure)."""
    return [story_fingerprint(title, text) for title, text in texts]


def fingerprint_text(article: ArticleIn) -> tuple[str, str]:
    """What an article's fingerprint is made of: its title and body (its summary when it
    has no body)."""
    return article.title, article.body or article.summary


def fingerprinted(article: ArticleIn) -> ArticleIn:
    """The article with the fingerprint of its title and body (its summary when it has
    no body) and the fingerprint's band keys."""
    fp, keys = story_fingerprint(*fingerprint_text(article))
    return dataclasses.replace(article, fingerprint=fp, band_keys=keys)


def _same_story(a: bytes, b: bytes) -> bool:
    try:
        return same_story(a, b)
    except ValueError:  # a fingerprint of another version: never the same story
        return False


def story_policy(window_seconds: int) -> Stories:
    """What the store needs to cluster stories: the comparison, window and version."""
    return Stories(_same_story, timedelta(seconds=window_seconds), FINGERPRINT_VERSION)


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
    """Where a rule's matches go: its channels and mode, how old an article may be
    to alert on a poll (`max_age` seconds after publication; None: any age), and for
    a story velocity rule how many outlets within how many seconds it waits for."""

    __slots__ = ("channels", "max_age", "min_outlets", "mode", "within_seconds")

    def __init__(
        self,
        channels: Sequence[str],
        mode: str,
        max_age: int | None = None,
        *,
        min_outlets: int = 0,
        within_seconds: int = 0,
    ) -> None:
        self.channels = tuple(channels)
        self.mode = mode
        self.max_age = max_age
        self.min_outlets = min_outlets
        self.within_seconds = within_seconds

    def too_old(self, published: datetime | None, now: datetime) -> bool:
        """Whether an article of that date is past `max_age` (undated: published now)."""
        if self.max_age is None or published is None:
            return False
        return published < now - timedelta(seconds=self.max_age)


def deliveries_for(
    article: ArticleIn,
    *,
    matcher: Matcher,
    routes: dict[str, RuleRoute],
    source: str,
    tags: frozenset[str],
) -> list[DeliveryIn]:
    """The outbox rows an article causes: one per matching rule and channel."""
    return [
        row
        for match in matcher.match(document_of(article, source=source, tags=tags))
        for row in delivery_rows(match, routes[match.rule])
    ]


def delivery_rows(match: Match, route: RuleRoute) -> list[DeliveryIn]:
    """The outbox rows one match causes: one per channel of its rule."""
    return [
        DeliveryIn(
            rule=match.rule,
            channel=channel,
            mode=route.mode,
            terms=match.terms,
            snippet=match.snippet,
            spans=match.spans,
            min_outlets=route.min_outlets,
            within_seconds=route.within_seconds,
        )
        for channel in route.channels
    ]


def candidates(
    articles: Sequence[ArticleIn],
    *,
    unchanged: Collection[str],
    matcher: Matcher,
    routes: dict[str, RuleRoute],
    source: str,
    tags: frozenset[str],
    now: datetime | None = None,
) -> list[Candidate]:
    """Each article with the deliveries it causes if the store takes it.

    Articles whose guid is in `unchanged` (stored already with this content,
    `Store.unchanged_guids`) are neither fingerprinted nor matched: ingest counts
    them as duplicates and queues nothing for them. Articles that carry band keys
    were fingerprinted already (in a worker process: `story_fingerprints`). Given
    `now` (a poll), a rule does not alert on articles published longer ago than its
    `max_age`; they are stored all the same.
    """
    out = []
    for a in articles:
        if a.guid in unchanged:
            out.append(Candidate(a))
            continue
        rows = deliveries_for(a, matcher=matcher, routes=routes, source=source, tags=tags)
        if now is not None:
            rows = [r for r in rows if not routes[r.rule].too_old(a.published_at, now)]
        out.append(Candidate(a if a.band_keys else fingerprinted(a), tuple(rows)))
    return out
