"""Ingest: insert-if-new for one source's batch, with the deliveries it causes.

Runs inside one write transaction (`Store.ingest`). The caller matched each
article beforehand (`Candidate.deliveries`); ingest decides which of them are
stored and queues only their deliveries. Identity, in order:
1. (source, guid): stored by this source → unchanged is a duplicate, and so is
   a pruned article (its row is the tombstone that keeps it from coming back); a
   changed content hash updates the row in place (fingerprint, band keys and
   cluster re-checked) with the deliveries of the new content, except the
   (rule, channel) pairs the article had queued before, so only a rule that did
   not match the old version alerts again; recorded as this source's sighting →
   a duplicate (the first copy keeps its fields);
2. a guid this source has not given before is always its own entry, so the
   canonical URL only merges across sources: a URL first stored by another
   source, not yet sighted by this one → a sighting of that article (an outlet);
3. otherwise a new article, indexed (title, summary) and with its deliveries,
   also when this source already carries its URL (items that all link to one
   landing page).
With `Stories` given, an inserted or changed article is placed in its story
(`store_stories.place`): a copy of an article seen within the cluster window
joins that article's cluster, so its deliveries meet the outbox key
(cluster, rule, channel) already taken and one story alerts once. A story
velocity delivery (`DeliveryIn.min_outlets`) is queued only once the story has
that many distinct outlets within its window, also when the copy that brings
the last one is a sighting.
Repeated guids inside the batch count as duplicates. New rows go in with one
Core INSERT ... ON CONFLICT DO NOTHING RETURNING per chunk; `url_key` is
unique (the canonical URL for the first copy of a URL, the URL with source and
guid appended for a source's further entries), so a row lost to a concurrent
writer from another source (PostgreSQL replicas) is classified again, as a
sighting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.errors import StorageError
from storage.models import ARTICLE, DELIVERY, SIGHTING, SOURCE, UTCDateTime
from storage.sql import chunks, insert_or_ignore, transaction_lock, utc
from storage.store_articles import article_rows
from storage.store_deliveries import delivery_values, insert_deliveries, velocity_reached
from storage.store_stories import STORIES_LOCK, Placement, encode, place, place_fresh
from storage.types import ArticleIn, ArticleRow, Candidate, DeliveryIn, IngestResult, Stories

__all__ = ["ingest", "unchanged_guids"]


@dataclass(slots=True)
class _Plan:
    """What to do with each article of a batch."""

    fresh: list[tuple[str, ArticleIn]] = field(default_factory=list)  # url_key, new
    changed: list[tuple[_Stored, ArticleIn]] = field(default_factory=list)  # stored, new
    sightings: list[tuple[int, ArticleIn]] = field(default_factory=list)  # article id, entry
    duplicates: int = 0


@dataclass(frozen=True, slots=True)
class _UrlHit:
    """A canonical URL already stored: the first copy, and whether this source carries it."""

    first_id: int
    ours: bool


def _unique(candidates: Sequence[Candidate]) -> tuple[dict[str, Candidate], int]:
    """The batch by guid without repeats (the first wins), and how many repeats there were."""
    first: dict[str, Candidate] = {}
    for candidate in candidates:
        first.setdefault(candidate.article.guid, candidate)
    return first, len(candidates) - len(first)


def _url_key(source_id: int, article: ArticleIn) -> str:
    # A canonical URL never contains a newline, so this cannot equal one.
    return f"{article.canonical_url}\n{source_id}\n{article.guid}"


@dataclass(frozen=True, slots=True)
class _Stored:
    """A row this source stored under a guid."""

    id: int
    cluster_id: int
    content_hash: str
    pruned: bool
    fetched_at: datetime


def _by_guid(
    conn: Connection, source_id: int, guids: Sequence[str]
) -> tuple[dict[str, _Stored], set[str]]:
    """This source's stored articles by guid, and the guids it is recorded as sighting."""
    found: dict[str, _Stored] = {}
    sighted: set[str] = set()
    columns = (
        ARTICLE.c.id,
        ARTICLE.c.guid,
        ARTICLE.c.cluster_id,
        ARTICLE.c.content_hash,
        ARTICLE.c.pruned,
        ARTICLE.c.fetched_at,
    )
    for part in chunks(guids):
        query = sa.select(*columns).where(
            ARTICLE.c.source_id == source_id, ARTICLE.c.guid.in_(part)
        )
        for row in conn.execute(query):
            cluster = row.cluster_id or row.id
            found[row.guid] = _Stored(
                row.id, cluster, row.content_hash, bool(row.pruned), row.fetched_at
            )
        sighted.update(
            conn.scalars(
                sa.select(SIGHTING.c.guid).where(
                    SIGHTING.c.source_id == source_id, SIGHTING.c.guid.in_(part)
                )
            )
        )
    return found, sighted


def _by_url(conn: Connection, source_id: int, urls: Sequence[str]) -> dict[str, _UrlHit]:
    """canonical URL -> the article first stored under it, and whether this source carries it."""
    first: dict[str, int] = {}
    ours: set[str] = set()
    for part in chunks(urls):
        query = (
            sa.select(ARTICLE.c.id, ARTICLE.c.canonical_url, ARTICLE.c.source_id, ARTICLE.c.url_key)
            .where(ARTICLE.c.canonical_url.in_(part))
            .order_by(ARTICLE.c.id)
        )
        for row in conn.execute(query):
            if row.url_key == row.canonical_url or row.canonical_url not in first:
                first[row.canonical_url] = row.id
            if row.source_id == source_id:
                ours.add(row.canonical_url)
    url_of = {article_id: url for url, article_id in first.items()}
    for id_part in chunks(list(url_of)):
        query = sa.select(SIGHTING.c.article_id).where(
            SIGHTING.c.source_id == source_id, SIGHTING.c.article_id.in_(id_part)
        )
        ours.update(url_of[article_id] for article_id in conn.scalars(query))
    return {url: _UrlHit(article_id, url in ours) for url, article_id in first.items()}


def _verdict(
    article: ArticleIn, hit: _Stored | None, sighted: set[str]
) -> Literal["unknown", "changed", "duplicate"]:
    """What this source's stored rows (`_by_guid`) make of an article.

    A pruned row is a tombstone: whatever the feed now says, it is not news again.
    """
    if hit is None and article.guid not in sighted:
        return "unknown"
    if hit is not None and not hit.pruned and hit.content_hash != article.content_hash:
        return "changed"
    return "duplicate"


def unchanged_guids(conn: Connection, source_id: int, articles: Sequence[ArticleIn]) -> set[str]:
    """The guids of `articles` an ingest would count as duplicates of this source's rows."""
    stored, sighted = _by_guid(conn, source_id, [a.guid for a in articles])
    return {a.guid for a in articles if _verdict(a, stored.get(a.guid), sighted) == "duplicate"}


def _classify(conn: Connection, source_id: int, batch: Sequence[ArticleIn]) -> _Plan:
    plan = _Plan()
    stored, sighted = _by_guid(conn, source_id, [a.guid for a in batch])
    unknown: list[ArticleIn] = []
    for article in batch:
        hit = stored.get(article.guid)
        verdict = _verdict(article, hit, sighted)
        if verdict == "unknown":
            unknown.append(article)
        elif verdict == "changed" and hit is not None:
            plan.changed.append((hit, article))
        else:
            plan.duplicates += 1
    elsewhere = _by_url(conn, source_id, [a.canonical_url for a in unknown])
    carried: set[str] = set()  # URLs this batch already stores or sights
    for article in unknown:
        url = article.canonical_url
        url_hit = elsewhere.get(url)
        if url_hit is not None and not url_hit.ours and url not in carried:
            plan.sightings.append((url_hit.first_id, article))
        elif url_hit is None and url not in carried:
            plan.fresh.append((url, article))
        else:
            plan.fresh.append((_url_key(source_id, article), article))
        carried.add(url)
    return plan


def _article_values(
    source_id: int, url_key: str, article: ArticleIn, now: datetime, stories: Stories | None
) -> dict[str, Any]:
    values = {
        "source_id": source_id,
        "guid": article.guid,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "url_key": url_key,
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "author": article.author,
        "lang": article.lang,
        "published_at": article.published_at,
        "fetched_at": now,
        "content_hash": article.content_hash,
        "fingerprint": encode(article.fingerprint),
        "pruned": False,
        "body_indexed": False,
    }
    if stories is not None:
        values["fingerprint_version"] = stories.version
    return values


def _insert(
    conn: Connection,
    source_id: int,
    fresh: Sequence[tuple[str, ArticleIn]],
    now: datetime,
    stories: Stories | None,
) -> dict[str, int]:
    """Insert the new articles; url_key -> id of those actually inserted."""
    ids: dict[str, int] = {}
    for part in chunks(fresh):
        stmt = insert_or_ignore(conn, ARTICLE).returning(ARTICLE.c.id, ARTICLE.c.url_key)
        values = [_article_values(source_id, k, a, now, stories) for k, a in part]
        rows = conn.execute(stmt, values)
        ids.update({row.url_key: row.id for row in rows})
    # A story cluster starts as the article itself.
    for id_part in chunks(list(ids.values())):
        conn.execute(
            ARTICLE.update().where(ARTICLE.c.id.in_(id_part)).values(cluster_id=ARTICLE.c.id)
        )
    return ids


_UPDATED_FIELDS = ("title", "summary", "body", "author", "lang", "content_hash")


def _update_changed(
    conn: Connection,
    changed: Sequence[tuple[_Stored, ArticleIn]],
    now: datetime,
    stories: Stories | None,
) -> None:
    params: dict[str, Any] = {name: sa.bindparam(f"new_{name}") for name in _UPDATED_FIELDS}
    params["fingerprint"] = sa.bindparam("new_fingerprint")
    if stories is not None:
        params["fingerprint_version"] = stories.version
    stmt = (
        ARTICLE.update()
        .where(ARTICLE.c.id == sa.bindparam("row_id"))
        .values(
            **params,
            published_at=sa.bindparam("new_published_at", type_=UTCDateTime()),
            updated_at=now,
            body_indexed=False,  # the new body waits for the deferred batch again
        )
    )
    rows = [
        {
            "row_id": stored.id,
            "new_published_at": article.published_at,
            "new_fingerprint": encode(article.fingerprint),
            **{f"new_{name}": getattr(article, name) for name in _UPDATED_FIELDS},
        }
        for stored, article in changed
    ]
    for part in chunks(rows):
        conn.execute(stmt, list(part))


def _new_row(
    article_id: int, cluster_id: int, source: str, article: ArticleIn, now: datetime
) -> ArticleRow:
    return ArticleRow(
        id=article_id,
        source=source,
        guid=article.guid,
        url=article.canonical_url,
        original_url=article.url,
        title=article.title,
        summary=article.summary,
        body=article.body,
        author=article.author,
        lang=article.lang,
        published_at=None if article.published_at is None else utc(article.published_at),
        fetched_at=now,
        updated_at=None,
        content_hash=article.content_hash,
        cluster_id=cluster_id,
    )


class _Writer:
    """Applies plans for one source's batch and collects the result and deliveries."""

    def __init__(
        self,
        conn: Connection,
        source_id: int,
        source: str,
        deliveries: Mapping[str, Sequence[DeliveryIn]],
        now: datetime,
        stories: Stories | None,
    ) -> None:
        self.conn, self.source_id, self.source = conn, source_id, source
        self.deliveries_of, self.now = deliveries, now  # guid -> what its article causes
        self.stories = stories
        self.result = IngestResult()
        # (delivery, article id, cluster id): queued when `finish` runs.
        self.queued: list[tuple[DeliveryIn, int, int]] = []
        self.updated_ids: list[int] = []

    def _queue(
        self, article_id: int, cluster_id: int, article: ArticleIn, *, velocity_only: bool = False
    ) -> None:
        self.queued += [
            (delivery, article_id, cluster_id)
            for delivery in self.deliveries_of.get(article.guid, ())
            if delivery.min_outlets > 0 or not velocity_only
        ]

    def _place(self, article_id: int, cluster_id: int, article: ArticleIn, seen: datetime) -> int:
        """A changed article's story cluster (written), or `cluster_id` without `Stories`."""
        if self.stories is None:
            return cluster_id
        item = Placement(article_id, cluster_id, article.fingerprint, article.band_keys, seen)
        return place(self.conn, item, self.now - self.stories.window, self.stories)

    def _place_fresh(self, fresh: Sequence[tuple[int, ArticleIn]]) -> dict[int, int]:
        """The story clusters of articles inserted just now (written): id -> cluster id;
        without `Stories` each is its own."""
        if self.stories is None or not fresh:
            return {article_id: article_id for article_id, _ in fresh}
        items = [
            Placement(article_id, article_id, article.fingerprint, article.band_keys, self.now)
            for article_id, article in fresh
        ]
        return place_fresh(self.conn, items, self.now - self.stories.window, self.stories)

    def apply(self, plan: _Plan) -> list[ArticleIn]:
        """Write what the plan says; the fresh articles a concurrent writer beat us to."""
        self.result.duplicates += plan.duplicates
        if plan.changed:
            _update_changed(self.conn, plan.changed, self.now, self.stories)
        for stored, article in plan.changed:
            self.updated_ids.append(stored.id)
            cluster = self._place(stored.id, stored.cluster_id, article, stored.fetched_at)
            self._queue(stored.id, cluster, article)
        sightings = [
            {
                "article_id": article_id,
                "source_id": self.source_id,
                "guid": article.guid,
                "url": article.url,
                "seen_at": self.now,
            }
            for article_id, article in plan.sightings
        ]
        for part in chunks(sightings):
            self.conn.execute(insert_or_ignore(self.conn, SIGHTING), list(part))
        self.result.sightings += len(sightings)
        inserted = _insert(self.conn, self.source_id, plan.fresh, self.now, self.stories)
        lost = [article for url_key, article in plan.fresh if url_key not in inserted]
        fresh = [(inserted[key], article) for key, article in plan.fresh if key in inserted]
        clusters = self._place_fresh(fresh)
        for new_id, article in fresh:
            cluster = clusters[new_id]
            self.result.new.append(_new_row(new_id, cluster, self.source, article, self.now))
            self._queue(new_id, cluster, article)
        if plan.sightings and any(d.min_outlets for d in self._all_deliveries()):
            # A sighting is one more outlet: it may be the one a velocity rule waits for.
            clusters = _clusters_of(self.conn, [article_id for article_id, _ in plan.sightings])
            for article_id, article in plan.sightings:
                self._queue(article_id, clusters[article_id], article, velocity_only=True)
        return lost

    def _all_deliveries(self) -> list[DeliveryIn]:
        return [d for items in self.deliveries_of.values() for d in items]

    def _rows(self) -> list[dict[str, Any]]:
        """The delivery rows to insert: velocity ones only once their story spread far
        enough, an updated article's only for (rule, channel) pairs it never had."""
        had = _queued_before(self.conn, self.updated_ids)
        rows: list[dict[str, Any]] = []
        for delivery, article_id, cluster_id in self.queued:
            if (article_id, delivery.rule, delivery.channel) in had:
                continue
            if delivery.min_outlets and not velocity_reached(
                self.conn, cluster_id, delivery, self.now
            ):
                continue
            rows.append(delivery_values(article_id, cluster_id, delivery, self.now))
        return rows

    def finish(self) -> IngestResult:
        """Insert the collected deliveries and read back the updated articles."""
        self.result.deliveries = insert_deliveries(self.conn, self._rows())
        rows = article_rows(self.conn, self.updated_ids)
        self.result.updated = [rows[article_id] for article_id in self.updated_ids]
        return self.result


def _clusters_of(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
    """article id -> its cluster id."""
    found: dict[int, int] = {}
    for part in chunks(ids):
        query = sa.select(ARTICLE.c.id, ARTICLE.c.cluster_id).where(ARTICLE.c.id.in_(part))
        found.update({row.id: row.cluster_id or row.id for row in conn.execute(query)})
    return found


def _queued_before(conn: Connection, ids: Sequence[int]) -> set[tuple[int, str, str]]:
    """(article id, rule, channel) of the deliveries these articles queued before."""
    had: set[tuple[int, str, str]] = set()
    for part in chunks(ids):
        query = sa.select(DELIVERY.c.article_id, DELIVERY.c.rule, DELIVERY.c.channel).where(
            DELIVERY.c.article_id.in_(part)
        )
        had.update((row.article_id, row.rule, row.channel) for row in conn.execute(query))
    return had


def ingest(
    conn: Connection,
    source_id: int,
    candidates: Sequence[Candidate],
    now: datetime,
    stories: Stories | None = None,
) -> IngestResult:
    """Store what is new among `candidates` and queue the deliveries of what was stored.

    Without `stories` no article is compared with others: each is its own cluster.
    """
    source = conn.scalar(sa.select(SOURCE.c.name).where(SOURCE.c.id == source_id))
    if source is None:
        raise StorageError(f"storage: ingest: no source with id {source_id}")
    if stories is not None and any(c.article.band_keys for c in candidates):
        # Two copies of a story stored at once (polls of two sources, replicas)
        # must see each other: on PostgreSQL, placing stories is serialised
        # (SQLite writers are already), so the later one waits and finds the first.
        transaction_lock(conn, STORIES_LOCK)
    by_guid, repeats = _unique(candidates)
    deliveries = {guid: c.deliveries for guid, c in by_guid.items()}
    writer = _Writer(conn, source_id, source, deliveries, utc(now), stories)
    writer.result.duplicates = repeats
    pending = [c.article for c in by_guid.values()]
    # A second round only re-reads rows that a concurrent writer committed meanwhile.
    for _ in range(2):
        if pending:
            pending = writer.apply(_classify(conn, source_id, pending))
    if pending:
        raise StorageError(f"storage: ingest: {len(pending)} article(s) kept conflicting")
    return writer.finish()
