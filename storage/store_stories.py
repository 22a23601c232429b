"""Story clusters: finding an article's earlier copies, outlets, listing, re-fingerprinting.

An article's fingerprint and its LSH band keys come from the pipeline
(`ArticleIn`); the comparison comes with them (`Stories.same_story`), since
storage never imports the monitor. Copies are looked up by equal band keys
among articles seen within the cluster window (the `story_band` index), and only
those few candidates are compared. A cluster's id is its earliest article's;
its outlets are the distinct sources of its articles and of their sightings.

Each function runs inside the caller's transaction (`Store` opens it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.models import ARTICLE, SIGHTING, SOURCE, STORY_BAND
from storage.sql import chunks, insert_or_ignore, transaction_lock
from storage.types import Stories, StoryRow

__all__ = [
    "MAX_CANDIDATES",
    "STORIES_LOCK",
    "Placement",
    "cluster_outlets",
    "decode",
    "encode",
    "place",
    "place_fresh",
    "refingerprint",
    "stories",
    "unfingerprinted",
    "unfingerprinted_count",
]

# The transaction lock that serialises placing articles in stories (PostgreSQL).
STORIES_LOCK = "stories"

# Articles compared per look-up, those sharing the most band keys first: bounds
# the cost when boilerplate makes a band key common.
MAX_CANDIDATES = 50


def encode(fingerprint: bytes | None) -> str | None:
    """A fingerprint as stored (hex text in `article.fingerprint`)."""
    return None if fingerprint is None else fingerprint.hex()


def decode(stored: str | None) -> bytes | None:
    """A stored fingerprint back as bytes; None when absent or not hex."""
    if not stored:
        return None
    try:
        return bytes.fromhex(stored)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Placement:
    """An article to place in a story: what it is now and what identifies its text."""

    article_id: int
    cluster_id: int  # its cluster before (its own id for a new article)
    fingerprint: bytes | None
    band_keys: Sequence[int]
    seen_at: datetime  # its fetched_at: the time its band keys carry


def _earlier_copy(
    conn: Connection, item: Placement, since: datetime, stories: Stories
) -> int | None:
    """The cluster of the earlier article (seen since `since`) that tells the same story."""
    if item.fingerprint is None or not item.band_keys:
        return None
    shared = sa.func.count().label("shared")
    query = (
        sa.select(STORY_BAND.c.article_id, ARTICLE.c.cluster_id, ARTICLE.c.fingerprint, shared)
        .join_from(STORY_BAND, ARTICLE, STORY_BAND.c.article_id == ARTICLE.c.id)
        .where(
            STORY_BAND.c.band.in_(sorted(set(item.band_keys))),
            STORY_BAND.c.seen_at >= since,
            STORY_BAND.c.article_id < item.article_id,
            ARTICLE.c.fingerprint_version == stories.version,
        )
        .group_by(STORY_BAND.c.article_id, ARTICLE.c.cluster_id, ARTICLE.c.fingerprint)
        .order_by(shared.desc(), STORY_BAND.c.article_id)
        .limit(MAX_CANDIDATES)
    )
    for row in conn.execute(query):
        other = decode(row.fingerprint)
        if other is not None and stories.same_story(item.fingerprint, other):
            return int(row.cluster_id if row.cluster_id is not None else row.article_id)
    return None


def _leads_others(conn: Connection, article_id: int) -> bool:
    """Whether other articles belong to the cluster this article leads."""
    query = sa.select(ARTICLE.c.id).where(
        ARTICLE.c.cluster_id == article_id, ARTICLE.c.id != article_id
    )
    return conn.execute(query.limit(1)).first() is not None


def place(
    conn: Connection, item: Placement, since: datetime, stories: Stories, *, fresh: bool = False
) -> int:
    """Write the article's band keys and its cluster; the cluster id.

    A copy of an earlier article (seen since `since`) joins that article's
    cluster; otherwise the article is its own cluster. An article that already
    leads a cluster with other members keeps it, so they are never orphaned.
    `fresh`: inserted just now, so it has no members yet. Keys of an older text
    stay (see `StoryBand`); keys already there are skipped.
    """
    _insert_bands(conn, [(item, _keys(item))])
    if not fresh and item.cluster_id == item.article_id and _leads_others(conn, item.article_id):
        cluster = item.article_id
    else:
        cluster = _earlier_copy(conn, item, since, stories) or item.article_id
    if cluster != item.cluster_id:
        conn.execute(
            ARTICLE.update().where(ARTICLE.c.id == item.article_id).values(cluster_id=cluster)
        )
    return cluster


def place_fresh(
    conn: Connection, items: Sequence[Placement], since: datetime, stories: Stories
) -> dict[int, int]:
    """`place` for articles inserted just now, as a batch: article id -> cluster id.

    The same clusters as placing them one by one in id order (each one's earlier
    copies among the stored articles and the batch's smaller ids), with a few
    statements for the whole batch instead of several per article: ingest's
    largest cost when a poll brings many new articles.
    """
    ordered = sorted(items, key=lambda item: item.article_id)
    keys = {item.article_id: _keys(item) for item in ordered}
    # The stored articles' keys first, the batch's own from memory: no row read back.
    postings = _postings(conn, sorted({k for ks in keys.values() for k in ks}), since, stories)
    for item in ordered:
        for key in keys[item.article_id]:
            postings.setdefault(key, []).append(item.article_id)
    _insert_bands(conn, [(item, keys[item.article_id]) for item in ordered])
    ranked = {
        item.article_id: _ranked(item.article_id, keys[item.article_id], postings)
        for item in ordered
    }
    batch = {item.article_id: item for item in ordered}
    stored = _stored_copies(conn, {a for ids in ranked.values() for a in ids if a not in batch})
    cluster_of: dict[int, int] = {}
    for item in ordered:
        cluster = item.article_id
        for other in ranked[item.article_id]:
            if other in batch:
                fingerprint, other_cluster = batch[other].fingerprint, cluster_of[other]
            else:
                fingerprint, other_cluster = stored[other]
            if (
                item.fingerprint is not None
                and fingerprint is not None
                and stories.same_story(item.fingerprint, fingerprint)
            ):
                cluster = other_cluster
                break
        cluster_of[item.article_id] = cluster
    moved = [
        {"row_id": item.article_id, "new_cluster": cluster_of[item.article_id]}
        for item in ordered
        if cluster_of[item.article_id] != item.cluster_id
    ]
    if moved:
        stmt = (
            ARTICLE.update()
            .where(ARTICLE.c.id == sa.bindparam("row_id"))
            .values(cluster_id=sa.bindparam("new_cluster"))
        )
        for rows in chunks(moved):
            conn.execute(stmt, list(rows))
    return cluster_of


# story_band without column types: a batch's rows share their seen_at, converted
# for the database once instead of once per row (85 rows an article).
_BAND_ROWS = sa.table(
    STORY_BAND.name, sa.column("article_id"), sa.column("band"), sa.column("seen_at")
)


def _insert_bands(conn: Connection, items: Sequence[tuple[Placement, Sequence[int]]]) -> None:
    """Write the band keys of placed articles (keys already there are skipped)."""
    seen_type = STORY_BAND.c.seen_at.type.dialect_impl(conn.dialect)
    convert = seen_type.bind_processor(conn.dialect)
    stmt = insert_or_ignore(conn, _BAND_ROWS)
    seen: dict[datetime, Any] = {}
    rows = []
    for item, keys in items:
        if item.seen_at not in seen:
            seen[item.seen_at] = convert(item.seen_at) if convert else item.seen_at
        at = seen[item.seen_at]
        rows += [{"article_id": item.article_id, "band": k, "seen_at": at} for k in keys]
    for part in chunks(rows):
        conn.execute(stmt, list(part))


def _keys(item: Placement) -> list[int]:
    return sorted(set(item.band_keys)) if item.fingerprint is not None else []


def _postings(
    conn: Connection, keys: Sequence[int], since: datetime, stories: Stories
) -> dict[int, list[int]]:
    """band key -> the articles (seen since `since`, this fingerprint version) carrying it."""
    found: dict[int, list[int]] = {}
    for part in chunks(keys):
        query = (
            sa.select(STORY_BAND.c.band, STORY_BAND.c.article_id)
            .join_from(STORY_BAND, ARTICLE, STORY_BAND.c.article_id == ARTICLE.c.id)
            .where(
                STORY_BAND.c.band.in_(part),
                STORY_BAND.c.seen_at >= since,
                ARTICLE.c.fingerprint_version == stories.version,
            )
        )
        for band, article_id in conn.execute(query):
            found.setdefault(band, []).append(article_id)
    return found


def _ranked(article_id: int, keys: Sequence[int], postings: dict[int, list[int]]) -> list[int]:
    """The earlier articles sharing band keys with this one, most shared first (then by
    id), at most `MAX_CANDIDATES`: the order `_earlier_copy` compares them in."""
    shared: dict[int, int] = {}
    for key in keys:
        for other in postings.get(key, ()):
            if other < article_id:
                shared[other] = shared.get(other, 0) + 1
    return sorted(shared, key=lambda other: (-shared[other], other))[:MAX_CANDIDATES]


def _stored_copies(conn: Connection, ids: set[int]) -> dict[int, tuple[bytes | None, int]]:
    """article id -> (fingerprint, cluster id) of stored articles."""
    found: dict[int, tuple[bytes | None, int]] = {}
    for part in chunks(sorted(ids)):
        query = sa.select(ARTICLE.c.id, ARTICLE.c.cluster_id, ARTICLE.c.fingerprint).where(
            ARTICLE.c.id.in_(part)
        )
        for row in conn.execute(query):
            cluster = row.cluster_id if row.cluster_id is not None else row.id
            found[row.id] = (decode(row.fingerprint), cluster)
    return found


def cluster_outlets(
    conn: Connection, cluster_ids: Sequence[int], since: datetime | None = None
) -> dict[int, tuple[str, ...]]:
    """The distinct sources that carried each story (its articles and their sightings),
    in the order they first carried it; with `since`, only copies seen since then."""
    found: dict[int, list[tuple[datetime, int, str]]] = {}
    for part in chunks(sorted(set(cluster_ids))):
        owners = (
            sa.select(ARTICLE.c.cluster_id, SOURCE.c.name, ARTICLE.c.fetched_at, ARTICLE.c.id)
            .join_from(ARTICLE, SOURCE, ARTICLE.c.source_id == SOURCE.c.id)
            .where(ARTICLE.c.cluster_id.in_(part))
        )
        seen = (
            sa.select(ARTICLE.c.cluster_id, SOURCE.c.name, SIGHTING.c.seen_at, ARTICLE.c.id)
            .join_from(SIGHTING, ARTICLE, SIGHTING.c.article_id == ARTICLE.c.id)
            .join(SOURCE, SIGHTING.c.source_id == SOURCE.c.id)
            .where(ARTICLE.c.cluster_id.in_(part))
        )
        if since is not None:
            owners = owners.where(ARTICLE.c.fetched_at >= since)
            seen = seen.where(SIGHTING.c.seen_at >= since)
        for query in (owners, seen):
            for cluster_id, name, when, article_id in conn.execute(query):
                found.setdefault(cluster_id, []).append((when, article_id, name))
    outlets: dict[int, tuple[str, ...]] = {}
    for cluster_id, copies in found.items():
        names: list[str] = []
        for _, _, name in sorted(copies):
            if name not in names:
                names.append(name)
        outlets[cluster_id] = tuple(names)
    return outlets


def stories(conn: Connection, since: datetime, min_outlets: int, limit: int) -> list[StoryRow]:
    """Stories first seen since `since` with at least `min_outlets` outlets, widest first."""
    first_seen = sa.func.min(ARTICLE.c.fetched_at).label("first_seen")
    grouped = (
        sa.select(ARTICLE.c.cluster_id, first_seen, sa.func.count().label("copies"))
        .where(ARTICLE.c.cluster_id.is_not(None))
        .group_by(ARTICLE.c.cluster_id)
        .having(sa.func.min(ARTICLE.c.fetched_at) >= since)
    )
    groups = {row.cluster_id: row for row in conn.execute(grouped)}
    outlets = cluster_outlets(conn, list(groups))
    chosen = [cid for cid in groups if len(outlets.get(cid, ())) >= min_outlets]
    chosen.sort(key=lambda cid: (-len(outlets[cid]), -groups[cid].first_seen.timestamp(), cid))
    chosen = chosen[:limit]
    heads: dict[int, tuple[str, str]] = {}
    for part in chunks(chosen):
        query = sa.select(ARTICLE.c.id, ARTICLE.c.title, ARTICLE.c.canonical_url).where(
            ARTICLE.c.id.in_(part)
        )
        heads.update({row.id: (row.title, row.canonical_url) for row in conn.execute(query)})
    return [
        StoryRow(
            cluster_id=cid,
            title=heads.get(cid, ("", ""))[0],
            url=heads.get(cid, ("", ""))[1],
            first_seen=groups[cid].first_seen,
            articles=int(groups[cid].copies),
            outlets=outlets[cid],
        )
        for cid in chosen
    ]


def forget_keys(conn: Connection, before: datetime) -> int:
    """Delete the band keys of articles seen before `before`; how many rows went.

    Copies are looked for only within the cluster window, so older keys are
    never read again; the articles keep their fingerprints and clusters.
    """
    return conn.execute(STORY_BAND.delete().where(STORY_BAND.c.seen_at < before)).rowcount


def _stale(version: int) -> sa.ColumnElement[bool]:
    return sa.or_(ARTICLE.c.fingerprint_version.is_(None), ARTICLE.c.fingerprint_version != version)


def unfingerprinted_count(conn: Connection, version: int) -> int:
    """Articles without a fingerprint of this version."""
    query = sa.select(sa.func.count()).select_from(ARTICLE).where(_stale(version))
    return int(conn.scalar(query) or 0)


def unfingerprinted(
    conn: Connection, version: int, limit: int
) -> list[tuple[int, str, str, datetime]]:
    """The oldest `limit` articles without a fingerprint of this version, as stored
    (id order): (id, title, text, fetched_at); the text is the body, else the summary
    (a pruned article keeps only its summary)."""
    text = sa.case((ARTICLE.c.body != "", ARTICLE.c.body), else_=ARTICLE.c.summary)
    query = (
        sa.select(ARTICLE.c.id, ARTICLE.c.title, text.label("text"), ARTICLE.c.fetched_at)
        .where(_stale(version))
        .order_by(ARTICLE.c.id)
        .limit(limit)
    )
    return [(row.id, row.title, row.text, row.fetched_at) for row in conn.execute(query)]


def refingerprint(
    conn: Connection, items: Sequence[tuple[int, bytes | None, Sequence[int]]], stories: Stories
) -> int:
    """Store the fingerprints of stored articles and place each in its story, in id
    order, as ingest would have (copies looked for in the window before each one's
    `fetched_at`); how many articles were written."""
    transaction_lock(conn, STORIES_LOCK)
    ids = sorted({article_id for article_id, _, _ in items})
    known: dict[int, tuple[int, datetime]] = {}
    for part in chunks(ids):
        query = sa.select(ARTICLE.c.id, ARTICLE.c.cluster_id, ARTICLE.c.fetched_at).where(
            ARTICLE.c.id.in_(part)
        )
        for row in conn.execute(query):
            cluster = row.cluster_id if row.cluster_id is not None else row.id
            known[row.id] = (cluster, row.fetched_at)
    written = 0
    for article_id, fingerprint, keys in sorted(items, key=lambda item: item[0]):
        if article_id not in known:
            continue
        cluster, fetched_at = known[article_id]
        conn.execute(
            ARTICLE.update()
            .where(ARTICLE.c.id == article_id)
            .values(fingerprint=encode(fingerprint), fingerprint_version=stories.version)
        )
        item = Placement(article_id, cluster, fingerprint, keys, fetched_at)
        place(conn, item, fetched_at - stories.window, stories)
        written += 1
    return written
