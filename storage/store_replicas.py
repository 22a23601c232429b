"""Replicas sharing one database: heartbeats, what each holds, singleton jobs.

Each function runs inside the caller's transaction (`Store` opens it).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from storage.models import DELIVERY, JOB_RUN, REPLICA, SOURCE
from storage.sql import insert_or_ignore
from storage.types import ReplicaInfo, ReplicaRow

__all__ = ["JOB_RUNS_KEPT", "claim_job", "forget_replica", "heartbeat", "replicas"]

# Job runs older than this are pruned: a period is never claimed again that late.
JOB_RUNS_KEPT = timedelta(days=7)


FORGOTTEN_AFTER = timedelta(days=1)


def heartbeat(conn: Connection, replica: ReplicaInfo, now: datetime) -> None:
    """Insert the replica's row, or refresh it: `last_seen` becomes `now`."""
    values = {
        "id": replica.id,
        "host": replica.host,
        "pid": replica.pid,
        "version": replica.version,
        "started_at": replica.started_at,
        "last_seen": now,
    }
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(REPLICA).values(**values)
    update = {key: stmt.excluded[key] for key in values if key != "id"}
    conn.execute(stmt.on_conflict_do_update(index_elements=[REPLICA.c.id], set_=update))
    # A replica killed without a clean stop never forgets itself: a day of
    # silence means it is gone (its leases ran out long ago), so the list stays short.
    conn.execute(REPLICA.delete().where(REPLICA.c.last_seen < now - FORGOTTEN_AFTER))


def forget_replica(conn: Connection, replica_id: str) -> None:
    """Delete the replica's row and hand back what it holds, for others to take now
    rather than when the leases run out."""
    conn.execute(REPLICA.delete().where(REPLICA.c.id == replica_id))
    conn.execute(
        SOURCE.update()
        .where(SOURCE.c.claimed_by == replica_id)
        .values(lease_until=None, claimed_by=None)
    )
    conn.execute(
        DELIVERY.update()
        .where(DELIVERY.c.claimed_by == replica_id, DELIVERY.c.status == "sending")
        .values(status="pending", lease_until=None, claimed_by=None)
    )


def replicas(conn: Connection, now: datetime, *, stale_after: float) -> list[ReplicaRow]:
    """Every replica with a heartbeat row, oldest first, with its unexpired holds."""
    held: defaultdict[str, list[str]] = defaultdict(list)
    query = (
        sa.select(SOURCE.c.claimed_by, SOURCE.c.name)
        .where(SOURCE.c.claimed_by.is_not(None), SOURCE.c.lease_until > now)
        .order_by(SOURCE.c.name)
    )
    for claimant, name in conn.execute(query):
        held[claimant].append(name)
    sending: Counter[str] = Counter()
    query = (
        sa.select(DELIVERY.c.claimed_by, sa.func.count())
        .where(
            DELIVERY.c.claimed_by.is_not(None),
            DELIVERY.c.status == "sending",
            DELIVERY.c.lease_until > now,
        )
        .group_by(DELIVERY.c.claimed_by)
    )
    for claimant, count in conn.execute(query):
        sending[claimant] = count
    fresh_since = now - timedelta(seconds=stale_after)
    rows = conn.execute(sa.select(REPLICA).order_by(REPLICA.c.started_at, REPLICA.c.id))
    return [
        ReplicaRow(
            id=row.id,
            host=row.host,
            pid=row.pid,
            started_at=row.started_at,
            last_seen=row.last_seen,
            alive=row.last_seen >= fresh_since,
            sources=held.get(row.id, []),
            deliveries=sending[row.id],
            version=row.version,
        )
        for row in rows
    ]


def claim_job(conn: Connection, job: str, period: str, claimant: str, now: datetime) -> bool:
    """Record that `claimant` runs `job` for `period`; False when someone already did.

    The primary key (job, period) decides: on PostgreSQL a concurrent insert of
    the same key waits for the first transaction and then inserts nothing.
    """
    conn.execute(JOB_RUN.delete().where(JOB_RUN.c.claimed_at < now - JOB_RUNS_KEPT))
    values = {"job": job, "period": period, "claimant": claimant, "claimed_at": now}
    stmt = insert_or_ignore(conn, JOB_RUN).values(**values).returning(JOB_RUN.c.job)
    return conn.execute(stmt).first() is not None
