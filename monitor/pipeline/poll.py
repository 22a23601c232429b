"""The whole poll of one source in one readable function.

schedule next poll -> conditional GET -> parse -> normalise -> store new
articles with the deliveries they cause (one transaction) -> record the poll.
A failing source is data: its error is recorded on its row, never raised.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitor.config.load import Config, SourceConfig
from monitor.errors import ConfigError, FetchError, MonitorError
from monitor.fetch import Fetcher
from monitor.match.query import QuerySyntaxError
from monitor.match.rules import Matcher, RuleSpec, compile_rules
from monitor.pipeline.articles import RuleRoute, deliveries_for
from monitor.pipeline.collect import Harvest, collect
from monitor.pipeline.timing import PollTiming, max_age_seconds, next_poll_at
from storage import StorageError, Store
from storage.types import ArticleIn, DeliveryIn, DueSource, PollResult

__all__ = ["PollContext", "PollReport", "Rules", "compile_config_rules", "poll_source"]

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
        routes[rule.name] = RuleRoute(config.rule_channels(rule), rule.mode)
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

    def source(self, name: str) -> SourceConfig | None:
        return next((s for s in self.config.sources if s.name == name), None)


async def poll_source(due: DueSource, ctx: PollContext) -> PollReport:
    """Poll one claimed source and record the outcome on its row. Never raises."""
    cfg = ctx.source(due.name)
    interval = due.interval_seconds
    timeout = float(cfg.timeout if cfg and cfg.timeout else ctx.config.settings.timeout)
    try:
        report, timing, result_fields = await _fetch_and_store(due, cfg, ctx, timeout)
    except (MonitorError, StorageError) as exc:
        retry_after = exc.retry_after if isinstance(exc, FetchError) else None
        report = PollReport(due.name, "error", error=str(exc))
        timing = PollTiming(interval, error_count=due.error_count + 1, retry_after=retry_after)
        result_fields = {}
        log.warning("%s", exc, extra={"source": due.name, "url": due.url})
    except Exception as exc:  # a bug must not stop the other sources, nor hide
        error = f"poll: {due.name}: internal error: {type(exc).__name__}: {exc}"
        report = PollReport(due.name, "error", error=error)
        timing = PollTiming(interval, error_count=due.error_count + 1)
        result_fields = {}
        log.exception("%s", error, extra={"source": due.name, "url": due.url})
    now = ctx.clock()
    result = PollResult(
        source_id=due.id,
        polled_at=now,
        next_poll_at=next_poll_at(now, timing, ctx.rng.random()),
        error=report.error,
        items_seen=report.items,
        window_overflow=report.window_overflow,
        **result_fields,
    )
    try:
        await asyncio.to_thread(ctx.store.record_poll, result)
    except StorageError as exc:  # the lease expires and the source is polled again
        log.error("%s", exc, extra={"source": due.name})
    return report


async def _fetch_and_store(
    due: DueSource, cfg: SourceConfig | None, ctx: PollContext, deadline: float
) -> tuple[PollReport, PollTiming, dict[str, str | None]]:
    response = await ctx.fetcher.get(
        due.url,
        subject=due.name,
        origin="config",
        etag=due.etag,
        last_modified=due.last_modified,
        timeout=deadline,
    )
    validators = {"etag": response.etag, "last_modified": response.last_modified}
    max_age = max_age_seconds(response.headers.get("cache-control"))
    if response.not_modified:
        log.info("not modified", extra={"source": due.name, "url": due.url})
        timing = PollTiming(due.interval_seconds, max_age=max_age)
        validators = {
            "etag": response.etag or due.etag,
            "last_modified": response.last_modified or due.last_modified,
        }
        return PollReport(due.name, "not_modified"), timing, validators

    # Per kind (feed, html, sitemap, detect); parsing runs off the event loop there.
    harvest = Harvest(
        due.id,
        due.name,
        cfg,
        ctx.fetcher,
        ctx.store,
        deadline,
        max_body=ctx.config.settings.max_body,
    )
    collected = await collect(response, cfg.kind if cfg else due.kind, harvest)
    articles = collected.articles
    if not collected.cacheable:
        validators = {"etag": None, "last_modified": None}
    tags = frozenset(cfg.tags) if cfg else frozenset()

    def route(article: ArticleIn) -> list[DeliveryIn]:
        return deliveries_for(
            article, matcher=ctx.rules.matcher, routes=ctx.rules.routes, source=due.name, tags=tags
        )

    result = await asyncio.to_thread(ctx.store.ingest, due.id, articles, route, ctx.clock())
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
    )
    log.info(
        "polled: %d items, %d new, %d updated, %d alerts queued",
        report.items,
        report.new,
        report.updated,
        report.deliveries,
        extra={"source": due.name, "url": due.url},
    )
    timing = PollTiming(
        due.interval_seconds,
        max_age=max_age,
        ttl=collected.ttl_seconds,
        window_overflow=overflow,
        overflow_streak=due.overflow_streak + 1,
    )
    return report, timing, validators
