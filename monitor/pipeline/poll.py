"""The whole poll of one source, stage by stage.

conditional GET -> kind.collect (parse, normalise) -> match the articles not
stored yet -> store the new ones with the deliveries they cause (one
transaction) -> record the poll and its next time. A failing source is data:
its error is recorded on its row, never raised.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitor.config.load import Config, SourceConfig
from monitor.errors import ConfigError, FetchError, MonitorError
from monitor.fetch import Fetcher, Response
from monitor.match.query import QuerySyntaxError
from monitor.match.rules import Matcher, RuleSpec, compile_rules
from monitor.pipeline.articles import (
    RuleRoute,
    candidates,
    fingerprint_text,
    story_fingerprints,
    story_policy,
)
from monitor.pipeline.collect import collect
from monitor.pipeline.harvest import Collected, Harvest, ParseSlots
from monitor.pipeline.timing import PollTiming, max_age_seconds, next_poll_at
from monitor.sources.extract import Extractor
from monitor.wording import counted
from storage import StorageError, Store
from storage.types import ArticleIn, Candidate, DueSource, IngestResult, PollResult, Stories

__all__ = [
    "PollContext",
    "PollReport",
    "Rules",
    "compile_config_rules",
    "match_candidates",
    "poll_source",
]

log = logging.getLogger("newsmon.poll")


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll did, for logs, metrics and `run --once`."""

    source: str
    outcome: str  # ok | not_modified | error
    items: int = 0
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    deliveries: int = 0
    error: str | None = None
    window_overflow: bool = False
    kind: str | None = None  # feed | html | sitemap: what the document turned out to be


@dataclass(frozen=True, slots=True)
class Rules:
    """The compiled rules of a config and where their matches go."""

    matcher: Matcher
    routes: dict[str, RuleRoute]


def compile_config_rules(config: Config) -> Rules:
    """Compile the config's rules into one matcher (raises ConfigError on bad rules)."""
    specs: list[RuleSpec] = []
    routes: dict[str, RuleRoute] = {}
    for i, rule in enumerate(config.rules):
        terms = tuple(rule.keywords or ())
        names = frozenset(s for s in rule.sources if not s.startswith("tag:"))
        tags = frozenset(s[4:] for s in rule.sources if s.startswith("tag:"))
        spec = RuleSpec(rule.name, terms, rule.case_sensitive, names, tags, rule.query)
        try:
            spec.tree()  # load_config already checked queries; this guards built configs
        except QuerySyntaxError as exc:
            raise ConfigError(f"{config.path.name}: rules[{i}].query: {exc}") from None
        specs.append(spec)
        within = rule.within or config.settings.cluster_window
        routes[rule.name] = RuleRoute(
            config.rule_channels(rule),
            rule.mode,
            config.rule_max_age(rule),
            min_outlets=rule.min_outlets or 0,
            within_seconds=within if rule.min_outlets else 0,
        )
    return Rules(compile_rules(specs), routes)


@dataclass(slots=True)
class PollContext:
    """Everything a poll needs; built once per daemon (and per config reload)."""

    config: Config
    store: Store
    fetcher: Fetcher
    rules: Rules
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    rng: random.Random = field(default_factory=random.Random)
    # The article-page extraction pool; the daemon hands the same one to every
    # context it builds, so reloads do not pile up thread pools.
    extractor: Extractor = field(default_factory=Extractor)
    # Large documents are parsed one at a time across every poll of the process.
    parse_slots: ParseSlots = field(default_factory=ParseSlots)

    def source(self, name: str) -> SourceConfig | None:
        return next((s for s in self.config.sources if s.name == name), None)

    @property
    def stories(self) -> Stories:
        """How ingest clusters stories under this config (`settings.cluster_window`)."""
        return story_policy(self.config.settings.cluster_window)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """A poll's report, what it tells about the next poll, and the validators to keep."""

    report: PollReport
    timing: PollTiming
    validators: dict[str, str | None] = field(default_factory=dict)


async def poll_source(due: DueSource, ctx: PollContext) -> PollReport:
    """Poll one claimed source and record the outcome on its row. Never raises.

    fetch -> kind.collect (parse, normalise) -> match -> store (articles and their
    deliveries, one transaction): `_poll`; then record the poll: `_record`.
    """
    cfg = ctx.source(due.name)
    interval = due.interval_seconds
    try:
        outcome = await _poll(due, cfg, ctx)
    except (MonitorError, StorageError) as exc:
        retry_after = exc.retry_after if isinstance(exc, FetchError) else None
        outcome = _Outcome(
            PollReport(due.name, "error", error=str(exc)),
            PollTiming(interval, error_count=due.error_count + 1, retry_after=retry_after),
        )
        log.warning("%s", exc, extra={"source": due.name, "url": due.url})
    except Exception as exc:  # a bug must not stop the other sources, nor hide
        error = f"poll: {due.name}: internal error: {type(exc).__name__}: {exc}"
        outcome = _Outcome(
            PollReport(due.name, "error", error=error),
            PollTiming(interval, error_count=due.error_count + 1),
        )
        log.exception("%s", error, extra={"source": due.name, "url": due.url})
    await _record(due, ctx, outcome)
    return outcome.report


async def _poll(due: DueSource, cfg: SourceConfig | None, ctx: PollContext) -> _Outcome:
    """The stages that may fail, in order."""
    deadline = float(cfg.timeout if cfg and cfg.timeout else ctx.config.settings.timeout)
    response = await ctx.fetcher.get(
        due.url,
        subject=due.name,
        origin="config",
        etag=due.etag,
        last_modified=due.last_modified,
        timeout=deadline,
    )
    if response.not_modified and await asyncio.to_thread(ctx.store.pages_due, due.id, ctx.clock()):
        # An article page that failed is due for its retry: read the document again.
        response = await ctx.fetcher.get(
            due.url, subject=due.name, origin="config", timeout=deadline
        )
    if response.not_modified:
        return _not_modified(due, response)

    # Per kind (feed, html, sitemap, detect); parsing runs off the event loop there.
    # Normalising (canonical URL, clean text, limits, content hash) happens as the
    # kind builds its articles (`pipeline/articles.py`).
    harvest = Harvest(
        due.id,
        due.name,
        cfg,
        ctx.fetcher,
        ctx.store,
        deadline,
        ctx.extractor,
        max_body=ctx.config.settings.max_body,
        parse_slots=ctx.parse_slots,
        interval=due.interval_seconds,
        clock=ctx.clock,
    )
    collected = await collect(response, cfg.kind if cfg else due.kind, harvest)
    if collected.pages_all_failed():
        # Not "missed items" that would shorten the interval: the source is in error.
        raise collected.pages_error(due.name)
    tags = frozenset(cfg.tags) if cfg else frozenset()
    # `baseline: true`: the first poll of a source stores its backlog without alerting.
    baseline = bool(cfg and cfg.baseline and due.last_success_at is None)
    articles, unchanged = collected.articles, set[str]()
    if articles and not baseline:
        unchanged = await asyncio.to_thread(ctx.store.unchanged_guids, due.id, articles)
        articles = await _fingerprint_new(ctx, due.name, articles, unchanged)
    matched = await asyncio.to_thread(
        match_candidates,
        ctx,
        due.id,
        due.name,
        tags,
        articles,
        now=ctx.clock(),
        silent=baseline,
        unchanged=unchanged,
    )
    result = await asyncio.to_thread(ctx.store.ingest, due.id, matched, ctx.clock(), ctx.stories)
    if baseline:
        log.info(
            "baseline: first poll stored %s without alerts",
            counted(len(result.new), "article"),
            extra={"source": due.name, "url": due.url},
        )
    return _stored(due, response, collected, result)


async def _fingerprint_new(
    ctx: PollContext, source: str, articles: Sequence[ArticleIn], unchanged: set[str]
) -> list[ArticleIn]:
    """The articles, those not `unchanged` with their story fingerprints, made where
    documents are parsed (a worker process on another core when there is one)."""
    todo = [i for i, a in enumerate(articles) if a.guid not in unchanged]
    out = list(articles)
    if not todo:
        return out
    job = functools.partial(story_fingerprints, [fingerprint_text(out[i]) for i in todo])
    prints = await ctx.parse_slots.compute(job, subject=source)
    for i, (fp, keys) in zip(todo, prints, strict=True):
        out[i] = dataclasses.replace(out[i], fingerprint=fp, band_keys=keys)
    return out


def match_candidates(
    ctx: PollContext,
    source_id: int,
    source: str,
    tags: frozenset[str],
    articles: Sequence[ArticleIn],
    *,
    now: datetime | None = None,
    silent: bool = False,
    unchanged: set[str] | None = None,
) -> list[Candidate]:
    """The articles with the deliveries each causes if stored (blocking: run in a thread).

    Given `now` (a poll), articles published longer ago than a rule's
    `alert_max_age` cause no deliveries of that rule (`backfill --alert` passes
    none: not limited); `silent` (a baseline poll) causes none at all.

    Only what ingest may store is matched: articles this source holds already
    with the same content (most of a feed, poll after poll) are looked up first
    and skipped, so the cost of matching stays with what is new or changed. The
    look-up is a read outside the write transaction; ingest decides again
    inside it. Should a concurrent writer of the same source change a row in
    between, that row goes in without deliveries: its content was matched when
    it was first stored, and the outbox key drops repeated (rule, channel) pairs.
    A poll that looked them up already passes them as `unchanged`.
    """
    if silent:
        return [Candidate(a) for a in articles]
    if unchanged is None:
        unchanged = ctx.store.unchanged_guids(source_id, articles) if articles else set()
    rules = ctx.rules
    return candidates(
        articles,
        unchanged=unchanged,
        matcher=rules.matcher,
        routes=rules.routes,
        source=source,
        tags=tags,
        now=now,
    )


def _not_modified(due: DueSource, response: Response) -> _Outcome:
    log.info("not modified", extra={"source": due.name, "url": due.url})
    max_age = max_age_seconds(response.headers.get("cache-control"))
    validators = {
        "etag": response.etag or due.etag,
        "last_modified": response.last_modified or due.last_modified,
    }
    timing = PollTiming(due.interval_seconds, max_age=max_age)
    return _Outcome(PollReport(due.name, "not_modified"), timing, validators)


def _stored(
    due: DueSource, response: Response, collected: Collected, result: IngestResult
) -> _Outcome:
    """The outcome of a poll whose articles were stored."""
    # Items held back by the per-poll page cap are waiting too: poll sooner.
    overflow = collected.held_back > 0 or (
        due.last_success_at is not None and collected.seen > 1 and len(result.new) == collected.seen
    )
    report = PollReport(
        due.name,
        "ok",
        items=collected.seen,
        new=len(result.new),
        updated=len(result.updated),
        duplicates=result.duplicates + result.sightings,
        deliveries=result.deliveries,
        window_overflow=overflow,
        kind=collected.kind,
    )
    log.info(
        "polled: %s, %d new, %d updated, %s queued",
        counted(report.items, "item"),
        report.new,
        report.updated,
        counted(report.deliveries, "alert"),
        extra={"source": due.name, "url": due.url},
    )
    timing = PollTiming(
        due.interval_seconds,
        max_age=max_age_seconds(response.headers.get("cache-control")),
        ttl=collected.ttl_seconds,
        window_overflow=overflow,
        overflow_streak=due.overflow_streak + 1,
    )
    validators: dict[str, str | None] = {"etag": None, "last_modified": None}
    if collected.cacheable:
        validators = {"etag": response.etag, "last_modified": response.last_modified}
    return _Outcome(report, timing, validators)


async def _record(due: DueSource, ctx: PollContext, outcome: _Outcome) -> None:
    """Write the outcome and the next poll time on the source's row."""
    now = ctx.clock()
    report = outcome.report
    result = PollResult(
        source_id=due.id,
        polled_at=now,
        next_poll_at=next_poll_at(now, outcome.timing, ctx.rng.random()),
        error=report.error,
        items_seen=report.items,
        window_overflow=report.window_overflow,
        kind=report.kind,
        **outcome.validators,
    )
    try:
        await asyncio.to_thread(ctx.store.record_poll, result)
    except StorageError as exc:  # the lease expires and the source is polled again
        log.error("%s", exc, extra={"source": due.name})
