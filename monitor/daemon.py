"""The daemon's work, independent of what schedules it.

`Daemon.dispatch()` claims due sources and polls them; `Daemon.deliver()`
sends due alerts; `run --once` calls `poll_all()` then `deliver()`, the same
code the scheduler calls on every tick.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitor.config import Config
from monitor.delivery import Deliverer, DeliveryReport
from monitor.fetch import Fetcher, FetchLimits
from monitor.pipeline import PollContext, PollReport, compile_config_rules, poll_source
from notifiers import Channels
from storage import Store
from storage.types import DueSource, SourceSpec

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
        self._ctx = PollContext(
            self.config,
            self.store,
            self.fetcher,
            compile_config_rules(self.config),
            clock=self.clock,
            rng=self.rng,
        )

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
        return len(due)

    async def poll_all(self, names: Iterable[str] | None = None) -> list[PollReport]:
        """Poll every (or the named) source now, whatever its schedule, and wait."""
        wanted = list(names) if names is not None else None
        due = await asyncio.to_thread(self.store.claim_sources, wanted, self.clock())
        tasks = [self._start(source) for source in due]
        return list(await asyncio.gather(*tasks))

    async def deliver(self) -> DeliveryReport:
        return await Deliverer(self.store, self.channels, clock=self.clock).deliver_pending()

    async def drain(self, seconds: float) -> bool:
        """Wait for in-flight polls; True when all finished within `seconds`."""
        if not self.in_flight:
            return True
        _, pending = await asyncio.wait(set(self.in_flight), timeout=seconds)
        return not pending

    def _start(self, source: DueSource) -> asyncio.Task[PollReport]:
        task = asyncio.create_task(poll_source(source, self.ctx), name=f"poll:{source.name}")
        self.in_flight.add(task)
        task.add_done_callback(self._poll_done)
        return task

    def _poll_done(self, task: asyncio.Task[PollReport]) -> None:
        self.in_flight.discard(task)
        if not task.cancelled() and task.exception() is None and task.result().deliveries:
            self.wake.set()
