"""Value types that cross the storage boundary.

`storage` owns these; `monitor` converts its own objects into them before
calling the store, and reads them back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "ArticleIn",
    "ArticleRow",
    "BackfillState",
    "Candidate",
    "ClaimedDelivery",
    "DayCount",
    "DeliveryIn",
    "DeliveryRow",
    "DueSource",
    "HeldSource",
    "HourCount",
    "IngestResult",
    "MatchRow",
    "PageFailureIn",
    "PollEventRow",
    "PollResult",
    "PruneReport",
    "ReplicaInfo",
    "ReplicaRow",
    "SourceSpec",
    "SourceStatus",
    "Stories",
    "StoryRow",
]


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """The configured part of a source, mirrored into the `source` table."""

    name: str
    url: str
    kind: str | None  # feed | html | sitemap | None (detect)
    interval_seconds: int


@dataclass(frozen=True, slots=True)
class DueSource:
    """A source claimed for polling, with the state a conditional GET needs."""

    id: int
    name: str
    url: str
    kind: str | None
    interval_seconds: int
    etag: str | None
    last_modified: str | None
    error_count: int
    last_success_at: datetime | None = None  # None: never polled successfully
    overflow_streak: int = 0  # consecutive polls in which every item was new


@dataclass(frozen=True, slots=True)
class HeldSource:
    """A source whose retry waits in the future after errors (backoff or Retry-After)."""

    name: str
    until: datetime
    error_count: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class PageFailureIn:
    """An article page that could not be fetched or extracted on a poll."""

    url_key: str  # the page's canonical URL
    url: str
    error: str


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll of a source did, recorded on its row.

    `error` None means success (including 304 Not Modified).
    """

    source_id: int
    polled_at: datetime
    next_poll_at: datetime
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    items_seen: int = 0
    window_overflow: bool = False
    kind: str | None = None  # the kind the document turned out to be


@dataclass(frozen=True, slots=True)
class DeliveryIn:
    """An alert to queue for one (rule, channel) pair, written with its article."""

    rule: str
    channel: str
    mode: str  # instant | digest
    terms: tuple[str, ...] = ()
    snippet: str = ""
    # Character spans [start, end) of the hits inside `snippet`.
    spans: tuple[tuple[int, int], ...] = ()
    # Story velocity: queued only once the story has this many distinct outlets
    # within `within_seconds` (0: an ordinary alert).
    min_outlets: int = 0
    within_seconds: int = 0


@dataclass(frozen=True, slots=True)
class ArticleIn:
    """A normalised article as the pipeline hands it to the store."""

    guid: str
    url: str
    canonical_url: str
    title: str
    summary: str
    body: str
    author: str | None
    published_at: datetime | None  # tz-aware UTC or None
    content_hash: str
    lang: str | None = None
    # The similarity fingerprint of title + body (None: too little text) and its
    # LSH band keys, computed by the pipeline; ingest looks copies up by the keys.
    fingerprint: bytes | None = None
    band_keys: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ArticleRow:
    """A stored article."""

    id: int
    source: str
    guid: str
    url: str  # the canonical URL
    original_url: str
    title: str
    summary: str
    body: str
    author: str | None
    lang: str | None
    published_at: datetime | None
    fetched_at: datetime
    updated_at: datetime | None
    content_hash: str
    cluster_id: int
    # The sources that carried the story (its cluster), first first: derived data,
    # filled where articles are listed, so not part of a row's equality.
    outlets: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Stories:
    """How ingest tells stories apart; the pipeline owns the comparison and hands it in.

    `same_story` compares two fingerprints; copies are looked for among articles
    stored within `window` before; `version` is stored with each fingerprint so a
    changed algorithm can be recomputed (`Store.assign_stories`).
    """

    same_story: Callable[[bytes, bytes], bool]
    window: timedelta
    version: int


@dataclass(frozen=True, slots=True)
class StoryRow:
    """A story cluster as `newsmon stories` shows it."""

    cluster_id: int  # the id of its representative (earliest) article
    title: str
    url: str
    first_seen: datetime
    articles: int  # stored copies (sightings not counted)
    outlets: tuple[str, ...]  # distinct sources, in the order they carried it


@dataclass(frozen=True, slots=True)
class Candidate:
    """An article offered to `Store.ingest`, with the deliveries it causes if stored.

    The caller matches before the transaction; ingest queues `deliveries` only
    when it inserts the article or updates it in place (changed content).
    """

    article: ArticleIn
    deliveries: tuple[DeliveryIn, ...] = ()


@dataclass(slots=True)
class IngestResult:
    """What an ingest did: only inserted/updated articles flow on."""

    new: list[ArticleRow] = field(default_factory=list)
    updated: list[ArticleRow] = field(default_factory=list)
    duplicates: int = 0  # seen before in this source, unchanged
    sightings: int = 0  # same canonical URL already stored from another source
    deliveries: int = 0  # delivery rows queued


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery row claimed by the delivery loop, with what rendering needs."""

    id: int
    rule: str
    channel: str
    mode: str
    attempts: int
    created_at: datetime
    first_attempt_at: datetime | None
    terms: tuple[str, ...]
    snippet: str
    spans: tuple[tuple[int, int], ...]
    article: ArticleRow
    outlets: tuple[str, ...]  # sources that carried the story: this article's first


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A row of the outbox as `newsmon alerts` shows it."""

    id: int
    rule: str
    channel: str
    mode: str
    status: str  # pending | sending | sent | failed | dead
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None
    article_id: int
    url: str
    title: str


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A source as `newsmon sources` shows it."""

    name: str
    url: str
    kind: str | None
    status: str  # ok | error | backoff | paused
    last_poll_at: datetime | None
    last_success_at: datetime | None
    next_poll_at: datetime | None
    error_count: int
    last_error: str | None
    articles: int
    window_overflows: int = 0  # polls in which every item was new (items may be missed)


@dataclass(slots=True)
class BackfillState:
    """A source's backfill progress as the CLI reads and writes it."""

    source_id: int
    params: dict[str, str | None] = field(default_factory=dict)
    queue: list[str] = field(default_factory=list)
    page_no: int = 1
    pages: int = 0
    new: int = 0
    duplicates: int = 0
    failed: int = 0
    done: bool = False


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What a retention pass did."""

    before: datetime
    pruned: int  # bodies emptied now
    articles: int  # article rows (tombstones included)
    vacuumed: bool
    analyzed: bool
    tombstones: int = 0  # article rows whose body is gone (these and earlier ones)

    def describe(self) -> str:
        """One line for the daemon's log."""
        done = [
            what for what, ran in (("VACUUM", self.vacuumed), ("ANALYZE", self.analyzed)) if ran
        ]
        tail = f"; ran {' and '.join(done)}" if done else ""
        bodies = "article body" if self.pruned == 1 else "article bodies"
        rows = "article" if self.articles == 1 else "articles"
        return (
            f"pruned {self.pruned} {bodies} fetched before "
            f"{self.before.isoformat(timespec='seconds')} ({self.articles} {rows} kept){tail}"
        )


@dataclass(frozen=True, slots=True)
class ReplicaInfo:
    """Who a running replica is: its claimant id and what its heartbeat row says."""

    id: str  # the claimant id stored in `claimed_by` (host, pid, start time)
    host: str
    pid: int
    started_at: datetime
    version: str


@dataclass(frozen=True, slots=True)
class ReplicaRow:
    """A replica as `newsmon replicas` shows it, with what it holds now."""

    id: str
    host: str
    pid: int
    started_at: datetime
    last_seen: datetime
    alive: bool  # its last heartbeat is recent (within `stale_after`)
    sources: list[str]  # names of the sources it holds an unexpired lease on
    deliveries: int  # deliveries it holds claimed (sending, lease unexpired)
    version: str = ""


# --- what the dashboard reads (read-only queries, `storage/store_dashboard.py`) ----------


@dataclass(frozen=True, slots=True)
class PollEventRow:
    """One finished poll of a source; `error` None when it succeeded."""

    source: str
    polled_at: datetime
    error: str | None
    items: int


@dataclass(frozen=True, slots=True)
class DayCount:
    """How many of something `key` (a source, a rule) had on one day.

    `day` counts days since 1970-01-01 in the caller's UTC offset.
    """

    key: str
    day: int
    count: int


@dataclass(frozen=True, slots=True)
class HourCount:
    """Polls and failed polls in one hour (`hour`: hours since the Unix epoch, UTC)."""

    hour: int
    polls: int
    errors: int


@dataclass(frozen=True, slots=True)
class MatchRow:
    """A rule's match of a story as the outbox holds it, the channels it went to merged."""

    rule: str
    created_at: datetime
    terms: tuple[str, ...]
    snippet: str
    spans: tuple[tuple[int, int], ...]
    article: ArticleRow
    channels: tuple[tuple[str, str], ...]  # (channel, status) pairs
