"""The daemon's work, independent of what schedules it.

`Daemon.dispatch()` claims due sources and polls them; `Daemon.deliver()`
sends due alerts; `run --once` calls `poll_all()` then `deliver()`, the same
code the scheduler calls on every tick.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitor import metrics
from monitor.clock import relative, zone
from monitor.config.load import Config
from monitor.daemon.replica import replica_info
from monitor.delivery.digest import send_digests
from monitor.delivery.outbox import Deliverer, DeliveryReport, SendOutcome
from monitor.fetch import Fetcher, FetchLimits
from monitor.metrics import RETENTION_PRUNED
from monitor.pipeline.harvest import ParseSlots
from monitor.pipeline.poll import PollContext, PollReport, compile_config_rules, poll_source
from monitor.sources.extract import Extractor
from monitor.wording import counted
from notifiers import Channels
from storage import StorageError, Store
from storage.types import DueSource, HeldSource, PruneReport, ReplicaInfo, SourceSpec

__all__ = [
    "MIN_LEASE",
    "Daemon",
    "claim_delay",
    "describe_held",
    "describe_next_poll",
    "fetch_limits",
    "parse_processes",
    "source_specs",
]

log = logging.getLogger("newsmon.daemon")

MIN_LEASE = 2  # seconds
# Fewer sources than this: a pass is too short to repay starting a parsing process.
POOL_SOURCES = 20
# The main process (fetching, matching, storing) is the serial part: past two
# workers more only cost memory (~100 MB each), e.g. on a many-core host.
MAX_PARSE_PROCESSES = 2


def describe_held(source: HeldSource) -> str:
    """What `run --once` says about a source it skips: why, and until when."""
    until = source.until.strftime("%Y-%m-%d %H:%M:%S UTC")
    errors = "1 error" if source.error_count == 1 else f"{source.error_count} errors"
    why = f": {source.last_error}" if source.last_error else ""
    return (
        f"run --once: skipped {source.name}: waiting until {until} after {errors}{why} "
        "(backoff or the server's Retry-After; --force polls it now)"
    )


def describe_next_poll(name: str, at: datetime, now: datetime, timezone: str) -> str:
    """The log line after a pass: "next poll: fresh-news in 14 min (21:40 Asia/Phnom_Penh)"."""
    local = at.astimezone(zone(timezone))
    return f"next poll: {name} {relative(at, now)} ({local:%H:%M} {timezone})"


def parse_processes(sources: int, cpus: int | None) -> int:
    """Worker processes to parse documents in (0: threads of this process).

    One per core beyond the first, which the event loop, matching and storage
    keep busy, at most `MAX_PARSE_PROCESSES`; none on one core or for a config too
    small to repay their start. `cpus`: the cores this process may run on.
    """
    if sources < POOL_SOURCES or not cpus:
        return 0
    return min(cpus - 1, MAX_PARSE_PROCESSES)


def usable_cpus() -> int | None:
    """The cores this process may run on (its affinity, e.g. `docker run --cpuset-cpus`),
    else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count()


def fetch_limits(config: Config) -> FetchLimits:
    s = config.settings
    return FetchLimits(
        user_agent=s.user_agent,
        timeout=float(s.timeout),
        max_bytes=s.max_bytes,
        concurrency=s.concurrency,
        per_host_concurrency=s.per_host_concurrency,
        allow_networks=tuple(s.allow_networks),
        source_headers=source_headers(config),
    )


def source_headers(config: Config) -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
    """Each source's `headers:` as `FetchLimits.source_headers` takes them."""
    return tuple((s.name, s.url, tuple(s.headers.items())) for s in config.sources if s.headers)


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
    # Who claims: written on every lease this process takes (see `newsmon replicas`).
    replica: ReplicaInfo = field(default_factory=replica_info)
    # One article-extraction pool for the daemon's life: every poll and reload shares it.
    extractor: Extractor = field(default_factory=Extractor)
    parse_slots: ParseSlots = field(default_factory=ParseSlots)  # kept across reloads too
    in_flight: set[asyncio.Task[PollReport]] = field(default_factory=set)
    last_tick: datetime | None = None
    # Set when a poll queued alerts, so the delivery loop sends them at once.
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # The daemon claims the next due source as each poll ends; `run --once` does not.
    refilling: bool = False
    refill_idle: bool = False  # the last claim found fewer due sources than free slots
    stopping: bool = False  # a clean stop began: claim nothing more
    _ctx: PollContext | None = None
    _polling: dict[asyncio.Task[PollReport], DueSource] = field(default_factory=dict)
    _refills: set[asyncio.Task[int]] = field(default_factory=set)
    _chores: set[asyncio.Task[None]] = field(default_factory=set)
    _claiming: asyncio.Lock = field(default_factory=asyncio.Lock)
    # After a pass, a claim at the soonest source's next poll time, so a poll is
    # not late by up to a dispatcher tick (the latency goal: interval + 2 s).
    _alarm: asyncio.Task[int] | None = None
    next_claim_at: datetime | None = None

    def __post_init__(self) -> None:
        self._ctx = self._context(self.config)

    def _context(self, config: Config) -> PollContext:
        rules = compile_config_rules(config)
        return PollContext(
            config,
            self.store,
            self.fetcher,
            rules,
            clock=self.clock,
            rng=self.rng,
            extractor=self.extractor,
            parse_slots=self.parse_slots,
        )

    @property
    def ctx(self) -> PollContext:
        assert self._ctx is not None
        return self._ctx

    def close(self) -> None:
        """End the parsing processes and the extraction threads (after the last poll)."""
        self.parse_slots.close()
        self.extractor.close()

    async def sync_sources(self) -> None:
        """Mirror the config's sources into the database (new ones are due now)."""
        await asyncio.to_thread(self.store.sync_sources, source_specs(self.config), self.clock())

    @property
    def lease_seconds(self) -> int:
        """How long a claim holds a source: two fetch deadlines, renewed while a
        poll runs on, so a crashed process blocks its sources only that long."""
        return max(2 * self.config.settings.timeout, MIN_LEASE)

    async def dispatch(self) -> int:
        """Claim due sources for the free poll slots and start them; returns how many.

        Claims are sized to `settings.concurrency`: a crash strands at most that
        many sources, and each finished poll claims the next one (`_refill`).
        """
        self.last_tick = self.clock()
        self.refill_idle = False
        started = await self._fill()
        # Bodies enter the full-text index in batches, off the ingest path.
        await asyncio.to_thread(self.store.index_bodies)
        return started

    async def _fill(self) -> int:
        async with self._claiming:
            free = self.config.settings.concurrency - len(self.in_flight)
            if self.stopping or free <= 0:
                return 0
            due = await asyncio.to_thread(
                self.store.claim_due_sources,
                self.clock(),
                limit=free,
                lease_seconds=self.lease_seconds,
                claimant=self.replica.id,
            )
            for source in due:
                self._start(source)
            # Fewer due than slots: nothing more until the next tick looks again.
            self.refill_idle = len(due) < free
            return len(due)

    async def poll_all(
        self, names: Iterable[str] | None = None, *, force: bool = False
    ) -> list[PollReport]:
        """Poll every (or the named) source now, whatever its schedule, and wait.

        Sources held back after errors (a backoff or the server's Retry-After)
        are skipped and logged, unless `force`. Claims follow the free slots.
        """
        wanted = list(names) if names is not None else [s.name for s in self.config.sources]
        paused = set(await asyncio.to_thread(self.store.paused_sources, wanted))
        for name in sorted(paused):
            log.info(
                "run --once: skipped %s: paused (newsmon sources resume %s)",
                name,
                name,
                extra={"source": name},
            )
        wanted = [name for name in wanted if name not in paused]
        if not force:
            held = await asyncio.to_thread(self.store.held_sources, wanted, self.clock())
            for source in held:
                log.warning("%s", describe_held(source), extra={"source": source.name})
            skip = {source.name for source in held}
            wanted = [name for name in wanted if name not in skip]
        tasks: list[asyncio.Task[PollReport]] = []
        try:
            while wanted or any(not t.done() for t in tasks):
                free = self.config.settings.concurrency - len(self.in_flight)
                if wanted and free > 0:
                    batch, wanted = wanted[:free], wanted[free:]
                    due = await asyncio.to_thread(
                        self.store.claim_sources,
                        batch,
                        self.clock(),
                        lease_seconds=self.lease_seconds,
                        force=force,
                        claimant=self.replica.id,
                    )
                    tasks += [self._start(source) for source in due]
                    continue
                await asyncio.wait(self.in_flight, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await self.abandon()
        reports = [task.result() for task in tasks]
        while await asyncio.to_thread(self.store.index_bodies):
            pass
        return reports

    async def abandon(self) -> None:
        """Stop polls still running and release their leases (a clean stop)."""
        pending = {task: self._polling[task] for task in self.in_flight if not task.done()}
        if not pending:
            return
        for task in pending:
            task.cancel()
        await asyncio.wait(pending)
        await asyncio.to_thread(self.store.release_leases, [s.id for s in pending.values()])
        log.info("released the leases of %d unfinished polls", len(pending))

    def deliverer(self) -> Deliverer:
        lease = self.config.settings.delivery_lease
        return Deliverer(
            self.store,
            self.channels,
            clock=self.clock,
            lease_seconds=lease,
            claimant=self.replica.id,
        )

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
        self.fetcher.use_source_headers(source_headers(config))
        await self.sync_sources()
        # The fetcher and the HTTP server were built from these; the rest applies now.
        was, now = old.settings, config.settings
        fixed = ("user_agent", "max_bytes", "concurrency", "per_host_concurrency")
        changed = [f"settings.{k}" for k in fixed if getattr(was, k) != getattr(now, k)]
        if (was.http.host, was.http.port) != (now.http.host, now.http.port):
            changed.append("settings.http")
        if changed:
            log.warning("reload: %s take effect after a restart", ", ".join(changed))

    async def forget_story_keys(self) -> int:
        """Drop the story index's keys older than `settings.cluster_window`; how many."""
        before = self.clock() - timedelta(seconds=self.config.settings.cluster_window)
        forgotten = await asyncio.to_thread(self.store.forget_story_keys, before)
        log.info("stories: forgot %s older than the cluster window", counted(forgotten, "key"))
        return forgotten

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
        self._polling[task] = source
        task.add_done_callback(self._poll_done)
        return task

    async def _timed_poll(self, source: DueSource) -> PollReport:
        started = time.perf_counter()
        keeper = asyncio.create_task(self._keep_lease(source))
        try:
            report = await poll_source(source, self.ctx)
        finally:
            keeper.cancel()
        observe_poll(report, time.perf_counter() - started)
        return report

    async def _keep_lease(self, source: DueSource) -> None:
        # A poll may wait for its host's slot, page, or fetch full texts: longer
        # than one lease. Renew at half-time so no one else takes it meanwhile.
        lease = self.lease_seconds
        while True:
            await asyncio.sleep(lease / 2)
            until = self.clock() + timedelta(seconds=lease)
            try:
                await asyncio.to_thread(self.store.renew_leases, [source.id], until)
            except StorageError as exc:  # the poll goes on; at worst it runs twice
                log.warning("%s", exc, extra={"source": source.name})

    def _poll_done(self, task: asyncio.Task[PollReport]) -> None:
        self.in_flight.discard(task)
        self._polling.pop(task, None)
        if self.refilling and not self.stopping and not self.refill_idle:
            refill = asyncio.create_task(self._fill())
            self._refills.add(refill)
            refill.add_done_callback(self._refill_done)
        if self.refilling and not self.stopping and not self.in_flight:
            # A pass ended: claim again when the next poll is due, and say when,
            # so a quiet log is not a stuck one.
            chore = asyncio.create_task(self._after_pass())
            self._chores.add(chore)
            chore.add_done_callback(self._chores.discard)
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:  # poll_source catches all; never silent
            log.error("poll task %s failed", task.get_name(), exc_info=exc)
        elif task.result().deliveries:
            self.wake.set()

    async def _after_pass(self) -> None:
        """Log which source is polled next and when (in `settings.timezone`), and
        claim it then rather than at the first dispatcher tick after."""
        try:
            soonest = await asyncio.to_thread(self.store.next_poll)
        except StorageError as exc:
            log.warning("%s", exc)
            return
        if soonest is not None and not self.stopping:
            name, at = soonest
            timezone = self.config.settings.timezone
            log.info("%s", describe_next_poll(name, at, self.clock(), timezone))
            self._claim_at(at)

    def _claim_at(self, at: datetime) -> None:
        """Claim due sources at `at` (by the daemon's clock); replaces an earlier alarm."""
        if self._alarm is not None:
            self._alarm.cancel()
        self.next_claim_at = at
        self._alarm = asyncio.create_task(self._fill_after(claim_delay(at, self.clock())))
        self._alarm.add_done_callback(self._refill_done)

    async def _fill_after(self, seconds: float) -> int:
        await asyncio.sleep(seconds)
        return await self._fill()

    def stop_claiming(self) -> None:
        """A clean stop begins: claim nothing more, from ticks, refills or the alarm."""
        self.stopping = True
        if self._alarm is not None:
            self._alarm.cancel()

    def _refill_done(self, task: asyncio.Task[int]) -> None:
        self._refills.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("claiming due sources failed: %s", exc)


def claim_delay(at: datetime, now: datetime) -> float:
    """Seconds from `now` until a source due at `at` can be claimed (0: now)."""
    return max(0.0, (at - now).total_seconds())


def observe_poll(report: PollReport, seconds: float) -> None:
    """Count one finished poll in the metrics."""
    metrics.POLLS.labels(report.outcome).inc()
    metrics.POLL_SECONDS.observe(seconds)
    metrics.ARTICLES.labels("new").inc(report.new)
    metrics.ARTICLES.labels("updated").inc(report.updated)
    metrics.ARTICLES.labels("duplicate").inc(report.duplicates)
    if report.window_overflow:
        metrics.WINDOW_OVERFLOWS.inc()
