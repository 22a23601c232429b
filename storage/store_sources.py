"""Sources: the config mirror, polling leases and poll results.

Each function runs inside the caller's transaction (`Store` opens it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.models import ARTICLE, POLL_EVENT, SOURCE
from storage.sql import AnyRow, insert_or_ignore, transaction_lock, utc
from storage.types import DueSource, HeldSource, PollResult, SourceSpec, SourceStatus

__all__ = [
    "POLL_EVENT_DAYS",
    "active_source_names",
    "claim_due_sources",
    "claim_sources",
    "held_sources",
    "next_poll",
    "paused_sources",
    "record_poll",
    "release_leases",
    "renew_leases",
    "set_paused",
    "source_status",
    "source_statuses",
    "sync_sources",
]

# How long poll events are kept: the dashboard charts two weeks at most.
POLL_EVENT_DAYS = 14

_DUE_COLUMNS = (
    SOURCE.c.id,
    SOURCE.c.name,
    SOURCE.c.url,
    SOURCE.c.kind,
    SOURCE.c.interval_seconds,
    SOURCE.c.etag,
    SOURCE.c.last_modified,
    SOURCE.c.error_count,
    SOURCE.c.last_success_at,
    SOURCE.c.overflow_streak,
)


# What a sync compares: the columns every schema version has, so older
# migrations' tests can still configure sources.
_SYNC_COLUMNS = (
    SOURCE.c.id,
    SOURCE.c.name,
    SOURCE.c.url,
    SOURCE.c.kind,
    SOURCE.c.interval_seconds,
    SOURCE.c.active,
    SOURCE.c.etag,
    SOURCE.c.last_modified,
    SOURCE.c.next_poll_at,
    SOURCE.c.last_poll_at,
)


def sync_sources(conn: Connection, specs: Sequence[SourceSpec], now: datetime) -> None:
    """Mirror the configured sources; those no longer configured become inactive.

    A source whose URL changed forgets its validators (ETag, Last-Modified),
    which belonged to the old URL, and is due at once. A changed interval moves
    the next poll to at most one new interval after the last poll.

    Replicas starting together all run this: the lock makes each sync wait for
    the one before it and then read what that one wrote (SQLite's BEGIN
    IMMEDIATE does the same), and a new name is inserted only if still absent.
    """
    transaction_lock(conn, "sync sources")
    existing = {row.name: row for row in conn.execute(sa.select(*_SYNC_COLUMNS))}
    for spec in specs:
        old = existing.get(spec.name)
        fields = {"url": spec.url, "kind": spec.kind, "interval_seconds": spec.interval_seconds}
        if old is None:
            conn.execute(
                insert_or_ignore(conn, SOURCE).values(
                    name=spec.name, active=True, next_poll_at=now, created_at=now, **fields
                )
            )
            continue
        values: dict[str, object] = {**fields, "active": True}
        if old.url != spec.url:
            values.update(etag=None, last_modified=None, next_poll_at=now)
        elif old.interval_seconds != spec.interval_seconds:
            # A shorter interval applies now, not after the old (say 6 h) wait.
            since = utc(old.last_poll_at) if old.last_poll_at is not None else now
            sooner = since + timedelta(seconds=spec.interval_seconds)
            current = utc(old.next_poll_at) if old.next_poll_at is not None else sooner
            values["next_poll_at"] = min(current, sooner)
        if any(getattr(old, key) != value for key, value in values.items()):
            conn.execute(SOURCE.update().where(SOURCE.c.id == old.id).values(**values))
    names = [spec.name for spec in specs]
    conn.execute(
        SOURCE.update().where(SOURCE.c.name.not_in(names), SOURCE.c.active).values(active=False)
    )


def _claim(
    conn: Connection,
    where: Sequence[sa.ColumnElement[bool]],
    now: datetime,
    lease_seconds: int,
    limit: int | None,
    claimant: str | None,
) -> list[DueSource]:
    free = sa.or_(SOURCE.c.lease_until.is_(None), SOURCE.c.lease_until < now)
    # SKIP LOCKED (PostgreSQL) lets replicas claim side by side; SQLite ignores it
    # and relies on BEGIN IMMEDIATE, which admits one writer at a time.
    query = (
        sa.select(*_DUE_COLUMNS)
        .where(SOURCE.c.active, sa.not_(SOURCE.c.paused), free, *where)
        .order_by(SOURCE.c.next_poll_at, SOURCE.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = conn.execute(query).all()
    if rows:
        lease = now + timedelta(seconds=lease_seconds)
        ids = [row.id for row in rows]
        conn.execute(
            SOURCE.update()
            .where(SOURCE.c.id.in_(ids))
            .values(lease_until=lease, claimed_by=claimant)
        )
    return [_due(row) for row in rows]


def _due(row: AnyRow) -> DueSource:
    return DueSource(
        id=row.id,
        name=row.name,
        url=row.url,
        kind=row.kind,
        interval_seconds=row.interval_seconds,
        etag=row.etag,
        last_modified=row.last_modified,
        error_count=row.error_count,
        last_success_at=row.last_success_at,
        overflow_streak=row.overflow_streak,
    )


def claim_due_sources(
    conn: Connection,
    now: datetime,
    *,
    limit: int,
    lease_seconds: int,
    claimant: str | None = None,
) -> list[DueSource]:
    """Lease the active sources whose next poll is due, soonest first, to `claimant`."""
    return _claim(conn, [SOURCE.c.next_poll_at <= now], now, lease_seconds, limit, claimant)


def _held(now: datetime) -> sa.ColumnElement[bool]:
    # Only failures hold a source back: its next poll then carries the error
    # backoff and any Retry-After, which a successful poll's schedule never needs.
    return sa.and_(SOURCE.c.error_count > 0, SOURCE.c.next_poll_at > now)


def claim_sources(
    conn: Connection,
    names: Sequence[str] | None,
    now: datetime,
    *,
    lease_seconds: int,
    force: bool = False,
    claimant: str | None = None,
) -> list[DueSource]:
    """Lease the named active sources (all when `names` is None), due or not,
    except those held back after errors (see `held_sources`) unless `force`."""
    where: list[sa.ColumnElement[bool]] = []
    if names is not None:
        where.append(SOURCE.c.name.in_(list(names)))
    if not force:
        where.append(sa.not_(_held(now)))
    return _claim(conn, where, now, lease_seconds, None, claimant)


def held_sources(conn: Connection, names: Sequence[str] | None, now: datetime) -> list[HeldSource]:
    """The named active, unpaused sources whose retry after errors waits in the future."""
    where = [SOURCE.c.active, sa.not_(SOURCE.c.paused), _held(now)]
    if names is not None:
        where.append(SOURCE.c.name.in_(list(names)))
    query = sa.select(
        SOURCE.c.name, SOURCE.c.next_poll_at, SOURCE.c.error_count, SOURCE.c.last_error
    ).where(*where)
    return [
        HeldSource(row.name, utc(row.next_poll_at), row.error_count, row.last_error)
        for row in conn.execute(query.order_by(SOURCE.c.name))
    ]


def set_paused(conn: Connection, names: Sequence[str], paused: bool) -> list[str]:
    """Pause or resume the named active sources; the names found, sorted."""
    where = (SOURCE.c.active, SOURCE.c.name.in_(list(names)))
    found = sorted(conn.execute(sa.select(SOURCE.c.name).where(*where)).scalars())
    if found:
        conn.execute(SOURCE.update().where(*where).values(paused=paused))
    return found


def paused_sources(conn: Connection, names: Sequence[str] | None) -> list[str]:
    """The named (None: all) active sources that are paused, sorted."""
    where: list[sa.ColumnElement[bool]] = [SOURCE.c.active, SOURCE.c.paused]
    if names is not None:
        where.append(SOURCE.c.name.in_(list(names)))
    return sorted(conn.execute(sa.select(SOURCE.c.name).where(*where)).scalars())


def next_poll(conn: Connection) -> tuple[str, datetime] | None:
    """The active, unpaused source polled soonest, and when."""
    query = (
        sa.select(SOURCE.c.name, SOURCE.c.next_poll_at)
        .where(SOURCE.c.active, sa.not_(SOURCE.c.paused), SOURCE.c.next_poll_at.is_not(None))
        .order_by(SOURCE.c.next_poll_at, SOURCE.c.name)
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else (row.name, utc(row.next_poll_at))


def renew_leases(conn: Connection, ids: Sequence[int], until: datetime) -> None:
    """Extend the leases of sources still being polled; a released lease stays released."""
    if ids:
        conn.execute(
            SOURCE.update()
            .where(SOURCE.c.id.in_(list(ids)), SOURCE.c.lease_until.is_not(None))
            .values(lease_until=until)
        )


def release_leases(conn: Connection, ids: Sequence[int]) -> None:
    """Give up the leases of sources this process will not poll after all."""
    if ids:
        conn.execute(
            SOURCE.update()
            .where(SOURCE.c.id.in_(list(ids)))
            .values(lease_until=None, claimed_by=None)
        )


def record_poll(conn: Connection, result: PollResult) -> None:
    """Store what a poll did and release the source's lease."""
    values: dict[str, object] = {
        "lease_until": None,
        "claimed_by": None,
        "last_poll_at": result.polled_at,
        "next_poll_at": result.next_poll_at,
        "items_seen_last": result.items_seen,
    }
    if result.kind is not None:
        values["detected_kind"] = result.kind
    if result.error is None:
        values.update(error_count=0, last_error=None, last_success_at=result.polled_at)
        if result.etag is not None:
            values["etag"] = result.etag
        if result.last_modified is not None:
            values["last_modified"] = result.last_modified
    else:
        values.update(error_count=SOURCE.c.error_count + 1, last_error=result.error)
    if result.window_overflow:
        values["window_overflows"] = SOURCE.c.window_overflows + 1
        values["overflow_streak"] = SOURCE.c.overflow_streak + 1
    elif result.error is None:
        values["overflow_streak"] = 0  # a poll that saw known items again
    conn.execute(SOURCE.update().where(SOURCE.c.id == result.source_id).values(**values))
    # The event log stays bounded: each poll drops its own source's events past the window
    # (an indexed range of one source, so the cost is that of the rows it removes).
    conn.execute(
        POLL_EVENT.insert().values(
            source_id=result.source_id,
            polled_at=result.polled_at,
            error=result.error,
            items=result.items_seen,
        )
    )
    conn.execute(
        POLL_EVENT.delete().where(
            POLL_EVENT.c.source_id == result.source_id,
            POLL_EVENT.c.polled_at < result.polled_at - timedelta(days=POLL_EVENT_DAYS),
        )
    )


def source_status(error_count: int, next_poll_at: datetime | None, now: datetime) -> str:
    """``ok`` when the last poll succeeded; after failures, ``backoff`` while the retry
    waits in the future and ``error`` once it is due or overdue (no daemon retried it)."""
    if error_count == 0:
        return "ok"
    if next_poll_at is not None and utc(next_poll_at) > utc(now):
        return "backoff"
    return "error"


def active_source_names(conn: Connection) -> list[str]:
    """The names of the active sources, sorted."""
    query = sa.select(SOURCE.c.name).where(SOURCE.c.active).order_by(SOURCE.c.name)
    return list(conn.scalars(query))


def source_statuses(conn: Connection, now: datetime) -> list[SourceStatus]:
    """The active sources by name, with their article counts."""
    counts = (
        sa.select(ARTICLE.c.source_id, sa.func.count().label("articles"))
        .group_by(ARTICLE.c.source_id)
        .subquery()
    )
    query = (
        sa.select(SOURCE, sa.func.coalesce(counts.c.articles, 0).label("articles"))
        .outerjoin(counts, counts.c.source_id == SOURCE.c.id)
        .where(SOURCE.c.active)
        .order_by(SOURCE.c.name)
    )
    return [
        SourceStatus(
            name=row.name,
            url=row.url,
            kind=row.kind or row.detected_kind,
            status="paused"
            if row.paused
            else source_status(row.error_count, row.next_poll_at, now),
            last_poll_at=row.last_poll_at,
            last_success_at=row.last_success_at,
            next_poll_at=row.next_poll_at,
            error_count=row.error_count,
            last_error=row.last_error,
            articles=row.articles,
            window_overflows=row.window_overflows,
        )
        for row in conn.execute(query)
    ]
