"""The daemon's work, independent of what schedules it.

`Daemon.dispatch()` claims due sources and polls them; `Daemon.deliver()`
sends due alerts; `run --once` calls `poll_all()` then `deliver()`, the same
code the scheduler calls on every tick.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitor import metrics
from monitor.config.load import Config
from monitor.delivery.digest import send_digests
from monitor.delivery.outbox import Deliverer, DeliveryReport, SendOutcome
from monitor.fetch import Fetcher, FetchLimits
from monitor.metrics import RETENTION_PRUNED
from monitor.pipeline.poll import PollContext, PollReport, compile_config_rules, poll_source
from notifiers import Channels
from storage import Store
from storage.types import DueSource, PruneReport, SourceSpec

__all__ = ["Daemon", "fetch_limits", "source_specs"]

log = logging.getLogger("newsmon.daemon")


def fetch_limits(config: Config) -> FetchLimits:
    s = config.settings
    return FetchLimits(
        user_agent=s.user_agent,
        timeout=float(s.timeout),
        max_bytes=s.max_bytes,
        concurrency=s.concurrency,
        per_host_concurrency=s.per_host_concurrency,
    )


def source_specs(config: Config) -> list[SourceSpec]:
    return [SourceSpec(s.name, s.url, s.kind, config.source_interval(s)) for s in config.sources]


@dataclass(slots=True)
class Daemon:
    """Polling and delivery for one config, one store, one fetcher."""

    config: Config
    store: Store
    fetcher: Fetcher
    channels: Channels
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    rng: random.Random = field(default_factory=random.Random)
    in_flight: set[asyncio.Task[PollReport]] = field(default_factory=set)
    last_tick: datetime | None = None
    # Set when a poll queued alerts, so the delivery loop sends them at once.
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    _ctx: PollContext | None = None

    def __post_init__(self) -> None:
        self._ctx = self._context(self.config)

    def _context(self, config: Config) -> PollContext:
        rules = compile_config_rules(config)
        return PollContext(config, self.store, self.fetcher, rules, clock=self.clock, rng=self.rng)

    @property
    def ctx(self) -> PollContext:
        assert self._ctx is not None
        return self._ctx

    async def sync_sources(self) -> None:
        """Mirror the config's sources into the database (new ones are due now)."""
        await asyncio.to_thread(self.store.sync_sources, source_specs(self.config), self.clock())

    async def dispatch(self) -> int:
        """Claim due sources and start polling them; returns how many were started."""
        self.last_tick = self.clock()
        due = await asyncio.to_thread(self.store.claim_due_sources, self.clock())
        for source in due:
            self._start(source)
        # Bodies enter the full-text index in batches, off the ingest path.
        await asyncio.to_thread(self.store.index_bodies)
        return len(due)

    async def poll_all(self, names: Iterable[str] | None = None) -> list[PollReport]:
        """Poll every (or the named) source now, whatever its schedule, and wait."""
        wanted = list(names) if names is not None else None
        due = await asyncio.to_thread(self.store.claim_sources, wanted, self.clock())
        tasks = [self._start(source) for source in due]
        reports = list(await asyncio.gather(*tasks))
        while await asyncio.to_thread(self.store.index_bodies):
            pass
        return reports

    def deliverer(self) -> Deliverer:
        lease = self.config.settings.delivery_lease
        return Deliverer(self.store, self.channels, clock=self.clock, lease_seconds=lease)

    async def deliver(self) -> DeliveryReport:
        return await self.deliverer().deliver_pending()

    async def send_digests(self, rules: Sequence[str] | None = None) -> list[SendOutcome]:
        """Send the pending digests of `rules` (None: every rule) now."""
        return await send_digests(self.deliverer(), rules)

    async def drain(self, seconds: float) -> bool:
        """Wait for in-flight polls; True when all finished within `seconds`."""
        if not self.in_flight:
            return True
        _, pending = await asyncio.wait(set(self.in_flight), timeout=seconds)
        return not pending

    async def reload(self, config: Config, channels: Channels) -> None:
        """Switch to a new config: rules, channels and sources apply from the next tick.

        The rules compile first, so a bad config raises (MonitorError) and
        nothing changes. Polls in flight finish with the config they started with.
        """
        ctx = self._context(config)
        old = self.config
        self.config, self.channels, self._ctx = config, channels, ctx
        await self.sync_sources()
        # The fetcher and the HTTP server were built from these; the rest applies now.
        was, now = old.settings, config.settings
        fixed = ("user_agent", "max_bytes", "concurrency", "per_host_concurrency")
        changed = [f"settings.{k}" for k in fixed if getattr(was, k) != getattr(now, k)]
        if (was.http.host, was.http.port) != (now.http.host, now.http.port):
            changed.append("settings.http")
        if changed:
            log.warning("reload: %s take effect after a restart", ", ".join(changed))

    async def prune(self) -> PruneReport | None:
        """Apply `settings.retention` now (None when no retention is set)."""
        retention = self.config.settings.retention
        if retention is None:
            return None
        before = self.clock() - timedelta(seconds=retention)
        report = await asyncio.to_thread(self.store.prune, before)
        RETENTION_PRUNED.inc(report.pruned)
        log.info("retention: %s", report.describe())
        return report

    def _start(self, source: DueSource) -> asyncio.Task[PollReport]:
        task = asyncio.create_task(self._timed_poll(source), name=f"poll:{source.name}")
        self.in_flight.add(task)
        task.add_done_callback(self._poll_done)
        return task

    async def _timed_poll(self, source: DueSource) -> PollReport:
        started = time.perf_counter()
        report = await poll_source(source, self.ctx)
        observe_poll(report, time.perf_counter() - started)
        return report

    def _poll_done(self, task: asyncio.Task[PollReport]) -> None:
        self.in_flight.discard(task)
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:  # poll_source catches all; never silent
            log.error("poll task %s failed", task.get_name(), exc_info=exc)
        elif task.result().deliveries:
            self.wake.set()


def observe_poll(report: PollReport, seconds: float) -> None:
    """Count one finished poll in the metrics."""
    metrics.POLLS.labels(report.outcome).inc()
    metrics.POLL_SECONDS.observe(seconds)
    metrics.ARTICLES.labels("new").inc(report.new)
    metrics.ARTICLES.labels("updated").inc(report.updated)
    metrics.ARTICLES.labels("duplicate").inc(report.duplicates)
    if report.window_overflow:
        metrics.WINDOW_OVERFLOWS.inc()
