"""The store: the one object the rest of newsmon uses to reach the database.

Synchronous (the daemon calls it through ``asyncio.to_thread``); each method is
one transaction (`StoreBase`), write methods take the write lock up front. Every SQLAlchemy
or driver error leaves as `StorageError` naming the operation, e.g.
``storage: ingest: database is locked``; database passwords never appear.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from storage import store_articles as articles
from storage import store_backfill as backfill
from storage import store_dashboard as dashboard
from storage import store_deliveries as deliveries
from storage import store_maintenance as maintenance
from storage import store_pages as pages
from storage import store_replicas as replicas
from storage import store_sources as sources
from storage import store_stories as stories
from storage.engine import translate_errors
from storage.store_base import StoreBase
from storage.store_ingest import ingest, unchanged_guids
from storage.store_search import count as count_matches
from storage.store_search import search, search_ids
from storage.types import (
    ArticleIn,
    ArticleRow,
    BackfillState,
    Candidate,
    ClaimedDelivery,
    DayCount,
    DeliveryIn,
    DeliveryRow,
    DueSource,
    HeldSource,
    HourCount,
    IngestResult,
    MatchRow,
    PageFailureIn,
    PollEventRow,
    PollResult,
    PruneReport,
    ReplicaInfo,
    ReplicaRow,
    SourceSpec,
    SourceStatus,
    Stories,
    StoryRow,
)

__all__ = ["Store"]


class Store(StoreBase):
    """Sources, articles, the delivery outbox and the replicas sharing them."""

    # sources

    def sync_sources(self, specs: Sequence[SourceSpec], now: datetime) -> None:
        """Mirror the configured sources; unconfigured ones become inactive."""
        with self._write("sync sources") as conn:
            sources.sync_sources(conn, specs, now)

    def claim_due_sources(
        self,
        now: datetime,
        *,
        limit: int = 100,
        lease_seconds: int = 600,
        claimant: str | None = None,
    ) -> list[DueSource]:
        """Lease up to `limit` due sources, soonest first, to `claimant`; none is
        handed out twice."""
        with self._write("claim due sources") as conn:
            return sources.claim_due_sources(
                conn, now, limit=limit, lease_seconds=lease_seconds, claimant=claimant
            )

    def claim_sources(
        self,
        names: Sequence[str] | None,
        now: datetime,
        *,
        lease_seconds: int = 600,
        force: bool = False,
        claimant: str | None = None,
    ) -> list[DueSource]:
        """Lease the named active sources (all when None), due or not (``run --once``),
        except those held back by an error backoff or Retry-After unless `force`."""
        with self._write("claim sources") as conn:
            return sources.claim_sources(
                conn, names, now, lease_seconds=lease_seconds, force=force, claimant=claimant
            )

    def held_sources(self, names: Sequence[str] | None, now: datetime) -> list[HeldSource]:
        """The sources whose retry after errors waits in the future."""
        with self._read("held sources") as conn:
            return sources.held_sources(conn, names, now)

    def renew_leases(self, ids: Sequence[int], until: datetime) -> None:
        """Extend the leases of sources still being polled."""
        with self._write("renew leases") as conn:
            sources.renew_leases(conn, ids, until)

    def release_leases(self, ids: Sequence[int]) -> None:
        """Release the leases of sources that will not be polled (a clean stop)."""
        with self._write("release leases") as conn:
            sources.release_leases(conn, ids)

    def record_poll(self, result: PollResult) -> None:
        """Record a poll's outcome on its source and release the lease."""
        with self._write("record poll") as conn:
            sources.record_poll(conn, result)

    def source_names(self) -> list[str]:
        """The names of the active sources, sorted (`source_statuses` without the counts)."""
        with self._read("source names") as conn:
            return sources.active_source_names(conn)

    def source_statuses(self, now: datetime) -> list[SourceStatus]:
        """The active sources with status ok | backoff | error | paused and article counts."""
        with self._read("source statuses") as conn:
            return sources.source_statuses(conn, now)

    def next_poll(self) -> tuple[str, datetime] | None:
        """The active, unpaused source due soonest and its next poll time."""
        with self._read("next poll") as conn:
            return sources.next_poll(conn)

    def set_paused(self, names: Sequence[str], paused: bool) -> list[str]:
        """Pause (or resume) the named active sources; the names found."""
        with self._write("pause sources" if paused else "resume sources") as conn:
            return sources.set_paused(conn, names, paused)

    def paused_sources(self, names: Sequence[str] | None) -> list[str]:
        """The named (None: all) active sources that are paused."""
        with self._read("paused sources") as conn:
            return sources.paused_sources(conn, names)

    # article pages that failed

    def failing_pages(self, source_id: int, keys: Sequence[str], now: datetime) -> dict[str, str]:
        """url_key -> last error of the pages among `keys` whose retry waits in the future."""
        with self._read("failing pages") as conn:
            return pages.failing_pages(conn, source_id, keys, now)

    def record_pages(
        self,
        source_id: int,
        failed: Sequence[PageFailureIn],
        fetched: Sequence[str],
        now: datetime,
        retry_at: Callable[[int], datetime],
        listed: Collection[str] | None = None,
    ) -> None:
        """Count the failed pages (retry at `retry_at(failures in a row)`), forget fetched
        ones and, given what a poll `listed`, those no longer listed."""
        with self._write("record pages") as conn:
            pages.record_pages(conn, source_id, failed, fetched, now, retry_at, listed)

    def pages_due(self, source_id: int, now: datetime) -> bool:
        """Whether a failed article page of the source is due for its retry."""
        with self._read("pages due") as conn:
            return pages.pages_due(conn, source_id, now)

    # articles

    def ingest(
        self,
        source_id: int,
        candidates: Sequence[Candidate],
        now: datetime,
        stories: Stories | None = None,
    ) -> IngestResult:
        """Insert what is new, update what changed, queue their deliveries: one transaction.

        Only the deliveries of articles inserted or updated here are queued. With
        `stories`, each such article joins the cluster of an earlier copy of its story.
        """
        with self._write("ingest") as conn:
            return ingest(conn, source_id, candidates, now, stories)

    def unchanged_guids(self, source_id: int, articles: Sequence[ArticleIn]) -> set[str]:
        """Guids of `articles` that `ingest` would count as duplicates (stored, same content)."""
        with self._read("unchanged articles") as conn:
            return unchanged_guids(conn, source_id, articles)

    def index_bodies(self, limit: int = 500) -> int:
        """Add the bodies of up to `limit` articles to the full-text index; how many."""
        with self._write("index bodies") as conn:
            return articles.index_bodies(conn, limit)

    def prune_bodies(self, before: datetime) -> int:
        """Empty the bodies of articles fetched before `before` (retention); how many."""
        with self._write("prune bodies") as conn:
            return articles.prune_bodies(conn, before)

    def prune(self, before: datetime, *, vacuum: bool | None = None) -> PruneReport:
        """Retention: empty bodies fetched before `before` (rows stay as tombstones),
        then VACUUM/ANALYZE, VACUUM only when worthwhile unless `vacuum` says."""
        with self._write("prune") as conn:
            pruned = articles.prune_bodies(conn, before)
            total = maintenance.article_count(conn)
            _, tombstones = articles.prune_counts(conn, before)
        with translate_errors("prune: vacuum", self._url):
            report = maintenance.tidy(self.engine, before, pruned, total, vacuum)
        return replace(report, tombstones=tombstones)

    def prune_preview(self, before: datetime) -> tuple[int, int]:
        """What `prune(before)` would do: (bodies it would empty, tombstones kept already)."""
        with self._read("prune preview") as conn:
            return articles.prune_counts(conn, before)

    def iter_articles(
        self,
        since: datetime | None = None,
        *,
        batch: int = 500,
        fetched_since: datetime | None = None,
        published_since: datetime | None = None,
    ) -> Iterator[ArticleRow]:
        """Every article (published or fetched at or after `since`), by id, in pages.

        `fetched_since` / `published_since` filter on one of the two times only.
        """
        after = 0
        while True:
            with self._read("export") as conn:
                page = articles.articles_after(
                    conn,
                    after,
                    since,
                    batch,
                    fetched_since=fetched_since,
                    published_since=published_since,
                )
            yield from page
            if len(page) < batch:
                return
            after = page[-1].id

    def get_article(self, article_id: int) -> ArticleRow | None:
        """One article, or None."""
        with self._read("get article") as conn:
            found = articles.article_rows(conn, [article_id]).get(article_id)
            return None if found is None else articles.with_outlets(conn, [found])[0]

    def search(
        self,
        words: Sequence[str],
        *,
        since: datetime | None = None,
        source: str | Sequence[str] | None = None,
        limit: int = 50,
        outlets: bool = True,
    ) -> list[ArticleRow]:
        """Articles containing every word (``word*`` a prefix), newest first;
        `source`: carried by that source (or one of those); `outlets=False` leaves
        `ArticleRow.outlets` unset (a caller that keeps few rows adds them with `with_outlets`)."""
        with self._read("search") as conn:
            found = search(conn, words, since=since, source=source, limit=limit)
            return articles.with_outlets(conn, found) if outlets else found

    def search_ids(
        self,
        words: Sequence[str],
        *,
        since: datetime | None = None,
        source: str | Sequence[str] | None = None,
        limit: int = 50,
    ) -> list[int]:
        """The ids `search` would return, in its order (rows read later with `articles`)."""
        with self._read("search") as conn:
            return search_ids(conn, words, since=since, source=source, limit=limit)

    def articles(self, ids: Sequence[int]) -> list[ArticleRow]:
        """The articles with these ids, in that order (missing ids left out), without
        their outlets."""
        with self._read("read articles") as conn:
            rows = articles.article_rows(conn, ids)
        return [rows[i] for i in ids if i in rows]

    def count_matches(
        self,
        clauses: Sequence[tuple[Sequence[str], Sequence[str]]],
        *,
        since: datetime | None = None,
        source: str | Sequence[str] | None = None,
        cap: int = 1000,
    ) -> int:
        """How many articles the full-text index finds for any of the clauses (each
        clause: words all present, words all absent), counting no further than `cap`."""
        with self._read("count matches") as conn:
            return count_matches(conn, clauses, since=since, source=source, cap=cap)

    def with_outlets(self, rows: Sequence[ArticleRow]) -> list[ArticleRow]:
        """The rows with the outlets of their stories (`ArticleRow.outlets`)."""
        with self._read("article outlets") as conn:
            return articles.with_outlets(conn, rows)

    def article_outlets(self, article_id: int) -> tuple[str, ...]:
        """Names of the sources that carried the article, its owner first."""
        with self._read("article outlets") as conn:
            return articles.article_outlets(conn, [article_id]).get(article_id, ())

    def stories(self, since: datetime, *, min_outlets: int = 1, limit: int = 100) -> list[StoryRow]:
        """Stories first seen since `since` with at least `min_outlets` outlets, widest first."""
        with self._read("stories") as conn:
            return stories.stories(conn, since, min_outlets, limit)

    def cluster_outlets(self, cluster_id: int) -> tuple[str, ...]:
        """The sources that carried a story, in the order they first carried it."""
        with self._read("story outlets") as conn:
            return stories.cluster_outlets(conn, [cluster_id]).get(cluster_id, ())

    def forget_story_keys(self, before: datetime) -> int:
        """Drop the story index's keys of articles seen before `before` (they are
        outside the cluster window); how many keys went."""
        with self._write("forget story keys") as conn:
            return stories.forget_keys(conn, before)

    def unfingerprinted_count(self, version: int) -> int:
        """How many articles have no fingerprint of this version (`db upgrade` fills them)."""
        with self._read("count unfingerprinted") as conn:
            return stories.unfingerprinted_count(conn, version)

    def unfingerprinted(self, version: int, limit: int = 500) -> list[tuple[int, str, str]]:
        """The oldest `limit` articles without a fingerprint of this version: (id, title,
        text), the text being the body, else the summary."""
        with self._read("unfingerprinted articles") as conn:
            return [(i, t, x) for i, t, x, _ in stories.unfingerprinted(conn, version, limit)]

    def refingerprint(
        self, items: Sequence[tuple[int, bytes | None, Sequence[int]]], stories_: Stories
    ) -> int:
        """Store these articles' (id, fingerprint, band keys) and place each in its story,
        in the order they were stored; how many were written."""
        with self._write("fingerprint articles") as conn:
            return stories.refingerprint(conn, items, stories_)

    def known_keys(self, source_id: int, keys: Sequence[str]) -> set[str]:
        """Which keys are stored already: guids of this source or any canonical URL."""
        with self._read("known articles") as conn:
            return backfill.known_keys(conn, source_id, keys)

    # backfill

    def load_backfill(self, source_id: int) -> BackfillState | None:
        """The source's saved backfill progress, None when it never ran."""
        with self._read("load backfill") as conn:
            return backfill.load_backfill(conn, source_id)

    def source_ids(self, names: Sequence[str]) -> dict[str, int]:
        """name -> id of the named active sources."""
        with self._read("source ids") as conn:
            return backfill.source_ids(conn, names)

    def save_backfill(self, state: BackfillState, now: datetime) -> None:
        """Save a source's backfill progress (after every page)."""
        with self._write("save backfill") as conn:
            backfill.save_backfill(conn, state, now)

    # deliveries

    def queue_deliveries(self, article_id: int, items: Sequence[DeliveryIn], now: datetime) -> int:
        """Queue deliveries for a stored article (``rematch --alert``); how many were new."""
        with self._write("queue deliveries") as conn:
            return deliveries.queue_deliveries(conn, article_id, items, now)

    def claim_deliveries(
        self,
        now: datetime,
        *,
        mode: str | None = "instant",
        rule: str | None = None,
        limit: int = 100,
        lease_seconds: int = 300,
        retries_only: bool = False,
        claimant: str | None = None,
    ) -> list[ClaimedDelivery]:
        """Lease due deliveries (and ones whose sender's lease ran out) for sending.

        `retries_only`: only failed ones due for a retry, no pending ones.
        """
        with self._write("claim deliveries") as conn:
            return deliveries.claim_deliveries(
                conn,
                now,
                mode=mode,
                rule=rule,
                limit=limit,
                lease_seconds=lease_seconds,
                retries_only=retries_only,
                claimant=claimant,
            )

    def mark_sent(self, ids: Sequence[int], now: datetime) -> None:
        """The channel accepted these deliveries."""
        with self._write("mark sent") as conn:
            deliveries.mark_sent(conn, ids, now)

    def mark_failed(
        self, ids: Sequence[int], error: str, now: datetime, next_attempt_at: datetime | None
    ) -> None:
        """A send failed: retry at `next_attempt_at`, or ``dead`` when None."""
        with self._write("mark failed") as conn:
            deliveries.mark_failed(conn, ids, error, now, next_attempt_at)

    def release(self, ids: Sequence[int]) -> None:
        """Return claimed, unsent deliveries to pending without counting an attempt."""
        with self._write("release deliveries") as conn:
            deliveries.release(conn, ids)

    def defer(self, ids: Sequence[int], until: datetime, reason: str) -> None:
        """Return claimed, unsent deliveries as failed, due at `until`; no attempt counted."""
        with self._write("defer deliveries") as conn:
            deliveries.defer(conn, ids, until, reason)

    def list_deliveries(
        self,
        status: str | None = None,
        *,
        limit: int = 1000,
        rule: str | None = None,
        channel: str | None = None,
    ) -> list[DeliveryRow]:
        """The outbox, newest first (optionally one status, rule, channel)."""
        with self._read("list deliveries") as conn:
            return deliveries.list_deliveries(conn, status, limit, rule=rule, channel=channel)

    def requeue(self, ids: Sequence[int], now: datetime) -> list[int]:
        """Failed or dead deliveries back to pending, due now; the ids requeued."""
        with self._write("requeue deliveries") as conn:
            return deliveries.requeue(conn, ids, now)

    def requeue_matching(
        self,
        now: datetime,
        *,
        statuses: Sequence[str] = ("failed", "dead"),
        rule: str | None = None,
        channel: str | None = None,
    ) -> list[int]:
        """Every failed/dead delivery (of `statuses`, `rule`, `channel`) due now; their ids."""
        with self._write("requeue deliveries") as conn:
            return deliveries.requeue_matching(
                conn, now, statuses=statuses, rule=rule, channel=channel
            )

    def delivery_counts(self) -> dict[str, int]:
        """Deliveries per status, every status present."""
        with self._read("delivery counts") as conn:
            return deliveries.delivery_counts(conn)

    # replicas

    def heartbeat(self, replica: ReplicaInfo, now: datetime) -> None:
        """Record that `replica` is running: its row, last seen `now`."""
        with self._write("heartbeat") as conn:
            replicas.heartbeat(conn, replica, now)

    def forget_replica(self, replica_id: str) -> None:
        """A clean stop: delete the replica's row and release the leases it holds."""
        with self._write("forget replica") as conn:
            replicas.forget_replica(conn, replica_id)

    def replicas(self, now: datetime, *, stale_after: float = 60.0) -> list[ReplicaRow]:
        """The replicas, alive when seen within `stale_after` seconds, with their holds."""
        with self._read("replicas") as conn:
            return replicas.replicas(conn, now, stale_after=stale_after)

    def claim_job(self, job: str, period: str, claimant: str, now: datetime) -> bool:
        """True for exactly one caller per (job, period) across replicas: the one to run it."""
        with self._write("claim job") as conn:
            return replicas.claim_job(conn, job, period, claimant, now)

    # the dashboard (read-only)

    def recent_articles(self, source: str | None = None, *, limit: int = 20) -> list[ArticleRow]:
        """The newest articles, of one source or of all."""
        with self._read("recent articles") as conn:
            return dashboard.recent_articles(conn, source, limit)

    def story_outlets(self, cluster_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        """The sources that carried each story, by cluster id, in the order they did."""
        with self._read("story outlets") as conn:
            return stories.cluster_outlets(conn, cluster_ids)

    def poll_events(
        self, source: str | None = None, *, errors_only: bool = False, limit: int = 50
    ) -> list[PollEventRow]:
        """The latest finished polls (kept two weeks), newest first."""
        with self._read("poll events") as conn:
            return dashboard.poll_events(conn, source, errors_only=errors_only, limit=limit)

    def poll_hours(self, since: datetime) -> list[HourCount]:
        """Polls and failed polls per UTC hour since `since`."""
        with self._read("polls per hour") as conn:
            return dashboard.poll_hours(conn, since)

    def article_days(
        self, since: datetime, *, offset: int = 0, source: str | None = None
    ) -> list[DayCount]:
        """Articles stored per source (or of one) and day (days from UTC + `offset` s)."""
        with self._read("articles per day") as conn:
            return dashboard.article_days(conn, since, offset, source)

    def match_days(self, since: datetime, *, offset: int = 0) -> list[DayCount]:
        """Stories matched per rule and day (days starting at UTC + `offset` seconds)."""
        with self._read("matches per day") as conn:
            return dashboard.match_days(conn, since, offset)

    def activity_since(self, since: datetime) -> tuple[int, dict[str, int]]:
        """Articles stored, and alerts queued by status, at or after `since`."""
        with self._read("activity") as conn:
            return dashboard.articles_since(conn, since), dashboard.deliveries_since(conn, since)

    def recent_matches(
        self, rule: str | None = None, *, limit: int = 50, offset: int = 0
    ) -> list[MatchRow]:
        """The newest matches from the outbox, one per (rule, story)."""
        with self._read("recent matches") as conn:
            return dashboard.recent_matches(conn, rule, limit, offset)
