"""Deliveries: the transactional outbox and its row leases.

A delivery is pending (due at `next_attempt_at`), sending (leased by a sender
until `lease_until`), sent, failed (retry at `next_attempt_at`) or dead.
Each function runs inside the caller's transaction (`Store` opens it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.errors import StorageError
from storage.models import ARTICLE, DELIVERY, DELIVERY_STATUSES
from storage.sql import AnyRow, chunks, insert_or_ignore, match_terms_spans
from storage.store_articles import article_rows
from storage.store_stories import cluster_outlets
from storage.types import ArticleRow, ClaimedDelivery, DeliveryIn, DeliveryRow

__all__ = [
    "claim_deliveries",
    "defer",
    "delivery_counts",
    "delivery_values",
    "insert_deliveries",
    "list_deliveries",
    "mark_failed",
    "mark_sent",
    "queue_deliveries",
    "release",
    "requeue",
    "requeue_matching",
    "velocity_reached",
]


# What every end of a claim writes: no lease, no claimant.
_UNCLAIMED: dict[str, Any] = {"lease_until": None, "claimed_by": None}


def delivery_values(
    article_id: int, cluster_id: int, delivery: DeliveryIn, now: datetime
) -> dict[str, Any]:
    """The row for a new delivery, due at once."""
    return {
        "article_id": article_id,
        "cluster_id": cluster_id,
        "rule": delivery.rule,
        "channel": delivery.channel,
        "mode": delivery.mode,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "terms": json.dumps(list(delivery.terms)),
        "snippet": delivery.snippet,
        "spans": json.dumps([list(span) for span in delivery.spans]),
    }


def velocity_reached(
    conn: Connection, cluster_id: int, delivery: DeliveryIn, now: datetime
) -> bool:
    """Whether the story has `delivery.min_outlets` distinct outlets within its window."""
    since = now - timedelta(seconds=delivery.within_seconds)
    outlets = cluster_outlets(conn, [cluster_id], since).get(cluster_id, ())
    return len(outlets) >= delivery.min_outlets


def insert_deliveries(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows a (cluster, rule, channel) has not had yet; how many were new."""
    inserted = 0
    for part in chunks(rows):
        stmt = insert_or_ignore(conn, DELIVERY).returning(DELIVERY.c.id)
        inserted += len(conn.execute(stmt, list(part)).all())
    return inserted


def queue_deliveries(
    conn: Connection, article_id: int, deliveries: Sequence[DeliveryIn], now: datetime
) -> int:
    """Queue deliveries for a stored article (e.g. ``rematch --alert``); how many were new."""
    cluster_id: int | None = conn.scalar(
        sa.select(sa.func.coalesce(ARTICLE.c.cluster_id, ARTICLE.c.id)).where(
            ARTICLE.c.id == article_id
        )
    )
    if cluster_id is None:
        raise StorageError(f"storage: queue deliveries: no article with id {article_id}")
    ready = [
        d for d in deliveries if not d.min_outlets or velocity_reached(conn, cluster_id, d, now)
    ]
    return insert_deliveries(conn, [delivery_values(article_id, cluster_id, d, now) for d in ready])


def claim_deliveries(
    conn: Connection,
    now: datetime,
    *,
    mode: str | None,
    rule: str | None,
    limit: int,
    lease_seconds: int,
    retries_only: bool = False,
    claimant: str | None = None,
) -> list[ClaimedDelivery]:
    """Lease the due deliveries, oldest due first, with their articles and outlets.

    Due: pending or failed with `next_attempt_at` reached, or sending with an
    expired lease (its sender died). `retries_only` leaves pending rows alone
    (digest rows wait for their schedule; their retries do not).
    PostgreSQL skips rows other replicas hold; `claimant` is recorded on the rows.
    """
    waiting = ("failed",) if retries_only else ("pending", "failed")
    retry_due = sa.and_(DELIVERY.c.status.in_(waiting), DELIVERY.c.next_attempt_at <= now)
    abandoned = sa.and_(DELIVERY.c.status == "sending", DELIVERY.c.lease_until < now)
    query = sa.select(DELIVERY.c.id).where(sa.or_(retry_due, abandoned))
    if mode is not None:
        query = query.where(DELIVERY.c.mode == mode)
    if rule is not None:
        query = query.where(DELIVERY.c.rule == rule)
    query = query.order_by(DELIVERY.c.next_attempt_at, DELIVERY.c.id).limit(limit)
    ids = list(conn.scalars(query.with_for_update(skip_locked=True)))
    if not ids:
        return []
    lease = now + timedelta(seconds=lease_seconds)
    claimed: list[AnyRow] = []
    for part in chunks(ids):
        conn.execute(
            DELIVERY.update()
            .where(DELIVERY.c.id.in_(part))
            .values(
                status="sending",
                lease_until=lease,
                claimed_by=claimant,
                first_attempt_at=sa.func.coalesce(DELIVERY.c.first_attempt_at, now),
            )
        )
        claimed.extend(conn.execute(sa.select(DELIVERY).where(DELIVERY.c.id.in_(part))))
    article_ids = sorted({row.article_id for row in claimed})
    articles = article_rows(conn, article_ids)
    outlets = cluster_outlets(conn, [row.cluster_id for row in claimed])
    order = {delivery_id: index for index, delivery_id in enumerate(ids)}
    claimed.sort(key=lambda row: order[row.id])
    return [
        _claimed(row, articles[row.article_id], outlets.get(row.cluster_id, ())) for row in claimed
    ]


def _claimed(row: AnyRow, article: ArticleRow, outlets: tuple[str, ...]) -> ClaimedDelivery:
    """A leased delivery row as the sender sees it, with its article and the story's
    outlets known now, the article's own source first."""
    outlets = (article.source, *(name for name in outlets if name != article.source))
    terms, spans = match_terms_spans(row)
    return ClaimedDelivery(
        id=row.id,
        rule=row.rule,
        channel=row.channel,
        mode=row.mode,
        attempts=row.attempts,
        created_at=row.created_at,
        first_attempt_at=row.first_attempt_at,
        terms=terms,
        snippet=row.snippet,
        spans=spans,
        article=article,
        outlets=outlets,
    )


def _update(
    conn: Connection,
    ids: Sequence[int],
    values: dict[str, Any],
    *,
    statuses: Sequence[str] | None = None,
) -> list[int]:
    """Update the deliveries with these ids (and one of `statuses`); the ids changed."""
    changed: list[int] = []
    for part in chunks(ids):
        stmt = DELIVERY.update().where(DELIVERY.c.id.in_(part)).values(**values)
        if statuses is not None:
            stmt = stmt.where(DELIVERY.c.status.in_(statuses))
        changed.extend(conn.scalars(stmt.returning(DELIVERY.c.id)))
    return sorted(changed)


def mark_sent(conn: Connection, ids: Sequence[int], now: datetime) -> None:
    """The channel accepted these deliveries."""
    attempts = DELIVERY.c.attempts + 1
    _update(conn, ids, {"status": "sent", "sent_at": now, "attempts": attempts, **_UNCLAIMED})


def mark_failed(
    conn: Connection,
    ids: Sequence[int],
    error: str,
    now: datetime,
    next_attempt_at: datetime | None,
) -> None:
    """A send failed: retry at `next_attempt_at`, or give up (``dead``) when it is None."""
    status = "dead" if next_attempt_at is None else "failed"
    values = {
        "status": status,
        "attempts": DELIVERY.c.attempts + 1,
        "last_error": error,
        "next_attempt_at": next_attempt_at,
        **_UNCLAIMED,
    }
    _update(conn, ids, values)


def release(conn: Connection, ids: Sequence[int]) -> None:
    """Hand claimed deliveries back unsent (shutdown); no attempt is counted."""
    _update(conn, ids, {"status": "pending", **_UNCLAIMED}, statuses=("sending",))


def defer(conn: Connection, ids: Sequence[int], until: datetime, reason: str) -> None:
    """Hand claimed deliveries back unsent, due at `until` (the channel asked to wait).

    No attempt is counted; the status is ``failed`` so a digest row is retried
    at `until` rather than waiting for its next scheduled digest.
    """
    values = {"status": "failed", "next_attempt_at": until, **_UNCLAIMED}
    _update(conn, ids, {**values, "last_error": reason}, statuses=("sending",))


def requeue(conn: Connection, ids: Sequence[int], now: datetime) -> list[int]:
    """Failed or dead deliveries become pending, due now, with a fresh retry window."""
    values = {
        "status": "pending",
        "next_attempt_at": now,
        **_UNCLAIMED,
        "first_attempt_at": None,
    }
    return _update(conn, ids, values, statuses=("failed", "dead"))


def requeue_matching(
    conn: Connection,
    now: datetime,
    *,
    statuses: Sequence[str],
    rule: str | None = None,
    channel: str | None = None,
) -> list[int]:
    """Every failed or dead delivery of `statuses` (and `rule`, `channel`) back to pending."""
    query = sa.select(DELIVERY.c.id).where(DELIVERY.c.status.in_(statuses))
    if rule is not None:
        query = query.where(DELIVERY.c.rule == rule)
    if channel is not None:
        query = query.where(DELIVERY.c.channel == channel)
    wanted = [s for s in statuses if s in ("failed", "dead")]
    return requeue(conn, list(conn.scalars(query)), now) if wanted else []


def list_deliveries(
    conn: Connection,
    status: str | None,
    limit: int,
    *,
    rule: str | None = None,
    channel: str | None = None,
) -> list[DeliveryRow]:
    """The outbox, newest first, optionally of one status, rule and channel."""
    query = (
        sa.select(DELIVERY, ARTICLE.c.canonical_url, ARTICLE.c.title)
        .join_from(DELIVERY, ARTICLE, DELIVERY.c.article_id == ARTICLE.c.id)
        .order_by(DELIVERY.c.created_at.desc(), DELIVERY.c.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(DELIVERY.c.status == status)
    if rule is not None:
        query = query.where(DELIVERY.c.rule == rule)
    if channel is not None:
        query = query.where(DELIVERY.c.channel == channel)
    return [
        DeliveryRow(
            id=row.id,
            rule=row.rule,
            channel=row.channel,
            mode=row.mode,
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            sent_at=row.sent_at,
            next_attempt_at=row.next_attempt_at,
            article_id=row.article_id,
            url=row.canonical_url,
            title=row.title,
        )
        for row in conn.execute(query)
    ]


def delivery_counts(conn: Connection) -> dict[str, int]:
    """How many deliveries are in each status (every status present, zeros included)."""
    counts = dict.fromkeys(DELIVERY_STATUSES, 0)
    query = sa.select(DELIVERY.c.status, sa.func.count()).group_by(DELIVERY.c.status)
    for status, count in conn.execute(query):
        counts[status] = count
    return counts
