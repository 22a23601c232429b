"""The tables: source, article, sighting, delivery, replica, job_run, poll_event and
page_failure.

Times are stored as naive UTC on both databases (`UTCDateTime`) and handed back
tz-aware. The full-text index is not a model: it is dialect-specific (an FTS5
table on SQLite, a generated ``tsvector`` column on PostgreSQL) and lives in the
migrations; `article.body_indexed` says whether the body is in it yet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from storage.sql import utc

__all__ = [
    "ARTICLE",
    "DELIVERY",
    "DELIVERY_STATUSES",
    "JOB_RUN",
    "PAGE_FAILURE",
    "POLL_EVENT",
    "REPLICA",
    "SIGHTING",
    "SOURCE",
    "STORY_BAND",
    "Article",
    "Delivery",
    "JobRun",
    "PageFailure",
    "PollEvent",
    "Replica",
    "Sighting",
    "Source",
    "StoryBand",
    "UTCDateTime",
    "metadata",
]

DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "dead")


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored as naive UTC; aware datetimes in, aware UTC datetimes out."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else utc(value).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def _time(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class Source(SQLModel, table=True):
    """A configured source and its polling state."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    url: str
    kind: str | None = None
    detected_kind: str | None = None  # what the last poll found when `kind` is detected
    interval_seconds: int
    active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    etag: str | None = None
    last_modified: str | None = None
    next_poll_at: datetime | None = _time(index=True)
    lease_until: datetime | None = _time()
    claimed_by: str | None = None  # the replica holding the lease (`ReplicaInfo.id`)
    last_poll_at: datetime | None = _time()
    last_success_at: datetime | None = _time()
    error_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_error: str | None = None
    items_seen_last: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    window_overflows: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Consecutive polls in which every item was new; the interval halves per step.
    overflow_streak: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = _time(nullable=False)
    # Set by `newsmon sources pause`: not polled until resumed. No client-side
    # default, so inserts also work on schemas from before the column (older migrations).
    paused: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false(), "default": None}
    )


class Article(SQLModel, table=True):
    """A stored article; `cluster_id` is the id of its story cluster's earliest article."""

    __table_args__ = (
        sa.UniqueConstraint("source_id", "guid", name="uq_article_source_guid"),
        # The deferred body-indexing batch scans only rows still waiting.
        sa.Index(
            "ix_article_body_unindexed",
            "id",
            sqlite_where=sa.text("body_indexed = 0"),
            postgresql_where=sa.text("NOT body_indexed"),
        ),
        # "Newest first" (`store_articles.newest_first`): search walks it (migration 0010).
        sa.Index(
            "ix_article_newest",
            sa.text("coalesce(published_at, fetched_at) DESC"),
            sa.text("id DESC"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id")
    guid: str
    url: str
    canonical_url: str = Field(index=True)
    # Unique: the canonical URL for the first copy stored under it, so a copy
    # from another source racing it loses the insert and becomes a sighting; a
    # source's further entries under that URL append their source and guid.
    url_key: str = Field(unique=True)
    title: str = Field(sa_type=sa.Text)
    summary: str = Field(sa_type=sa.Text)
    body: str = Field(sa_type=sa.Text)
    author: str | None = None
    lang: str | None = None
    published_at: datetime | None = _time()
    fetched_at: datetime = _time(nullable=False)
    updated_at: datetime | None = _time()
    content_hash: str
    fingerprint: str | None = None  # hex of the pipeline's similarity fingerprint
    fingerprint_version: int | None = None  # None: not fingerprinted yet (an older archive)
    cluster_id: int | None = Field(default=None, index=True)
    pruned: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    body_indexed: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class Sighting(SQLModel, table=True):
    """An article seen in another source: one of its outlets."""

    __table_args__ = (
        sa.UniqueConstraint("article_id", "source_id", name="uq_sighting_article_source"),
    )

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id")
    source_id: int = Field(foreign_key="source.id", index=True)
    guid: str
    url: str
    seen_at: datetime = _time(nullable=False)


class StoryBand(SQLModel, table=True):
    """One LSH band key of an article's fingerprint: copies are found by equal keys.

    `seen_at` is the article's `fetched_at`. The primary key (band, seen_at,
    article_id) is the look-up index: the copies within the cluster window are
    one range scan per key. On SQLite the table is that index (WITHOUT ROWID),
    so each key costs one B-tree insert. Keys left by an article's older text (an
    edit, an older fingerprint version) stay: they only bring it up as a
    candidate, and candidates are compared by their current fingerprint. Keys
    older than the cluster window are never read; the daemon's daily job
    deletes them (`Store.forget_story_keys`).
    """

    __tablename__ = "story_band"
    __table_args__ = ({"sqlite_with_rowid": False},)

    band: int = Field(
        sa_type=sa.BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    seen_at: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    article_id: int = Field(
        foreign_key="article.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )


class Delivery(SQLModel, table=True):
    """The outbox: one alert for one (cluster, rule, channel)."""

    __table_args__ = (
        sa.UniqueConstraint(
            "cluster_id", "rule", "channel", name="uq_delivery_cluster_rule_channel"
        ),
        sa.Index("ix_delivery_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    cluster_id: int
    rule: str
    channel: str
    mode: str
    status: str = Field(default="pending")
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_attempt_at: datetime | None = _time()
    lease_until: datetime | None = _time()
    claimed_by: str | None = None  # the replica sending it (`ReplicaInfo.id`)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _time(nullable=False)
    first_attempt_at: datetime | None = _time()
    sent_at: datetime | None = _time()
    terms: str = Field(default="[]", sa_type=sa.Text)  # JSON array of strings
    snippet: str = Field(default="", sa_type=sa.Text)
    spans: str = Field(default="[]", sa_type=sa.Text)  # JSON array of [start, end]


class Replica(SQLModel, table=True):
    """A running replica's heartbeat: `newsmon replicas` lists these."""

    id: str = Field(primary_key=True)
    host: str
    pid: int
    version: str
    started_at: datetime = _time(nullable=False)
    last_seen: datetime = _time(nullable=False)


class JobRun(SQLModel, table=True):
    """A singleton job's run: the primary key lets one replica per (job, period) in."""

    __tablename__ = "job_run"

    job: str = Field(primary_key=True)
    period: str = Field(primary_key=True)
    claimant: str
    claimed_at: datetime = _time(nullable=False, index=True)


class PollEvent(SQLModel, table=True):
    """One finished poll of a source: the dashboard's polls and errors per hour and a
    source's error history. Rows older than `POLL_EVENT_DAYS` go as new ones come."""

    __tablename__ = "poll_event"
    __table_args__ = (sa.Index("ix_poll_event_source_polled", "source_id", "polled_at"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id")
    polled_at: datetime = _time(nullable=False, index=True)
    error: str | None = Field(default=None, sa_type=sa.Text)  # None: the poll succeeded
    items: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class PageFailure(SQLModel, table=True):
    """An article page that failed to fetch or extract: retried at `next_try_at`, not sooner."""

    __tablename__ = "page_failure"

    source_id: int = Field(foreign_key="source.id", primary_key=True)
    url_key: str = Field(primary_key=True)  # the page's canonical URL
    url: str
    failures: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    first_failed_at: datetime = _time(nullable=False)
    next_try_at: datetime = _time(nullable=False)


metadata = SQLModel.metadata
SOURCE: sa.Table = metadata.tables["source"]
ARTICLE: sa.Table = metadata.tables["article"]
SIGHTING: sa.Table = metadata.tables["sighting"]
STORY_BAND: sa.Table = metadata.tables["story_band"]
DELIVERY: sa.Table = metadata.tables["delivery"]
REPLICA: sa.Table = metadata.tables["replica"]
JOB_RUN: sa.Table = metadata.tables["job_run"]
POLL_EVENT: sa.Table = metadata.tables["poll_event"]
PAGE_FAILURE: sa.Table = metadata.tables["page_failure"]
