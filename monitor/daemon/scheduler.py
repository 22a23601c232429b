"""The long-running daemon: APScheduler jobs around `Daemon`, and a graceful stop.

The only module that imports apscheduler. Scheduling state lives in the
database; the scheduler only decides when to look at it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from monitor.config.cron import parse_crontab
from monitor.config.load import Config
from monitor.daemon.service import Daemon
from monitor.daemon.tasks import (
    delivery_loop,
    drain_polls,
    forget_replica,
    heartbeat_loop,
    ops_server,
    prune,
)
from monitor.delivery.digest import send_digests
from monitor.delivery.outbox import SendOutcome
from monitor.errors import MonitorError
from monitor.wording import counted
from notifiers import NotifyError
from storage import StorageError

__all__ = [
    "DIGEST_JITTER",
    "DISPATCH_SECONDS",
    "DigestTimer",
    "cron_trigger",
    "digest_timer",
    "digest_triggers",
    "run_daemon",
    "run_due_digests",
]

log = logging.getLogger("newsmon.scheduler")

DISPATCH_SECONDS = 5.0
DRAIN_SECONDS = 30.0
# Seconds: replicas and neighbours do not all send at hh:00:00. Under a minute,
# so the minute of a jittered fire time is the cron time (the digest's period).
DIGEST_JITTER = 30


async def run_daemon(
    daemon: Daemon,
    *,
    stop: asyncio.Event | None = None,
    dispatch_seconds: float = DISPATCH_SECONDS,
    drain_seconds: float = DRAIN_SECONDS,
    reload: Callable[[], Awaitable[None]] | None = None,
    http: bool = True,
) -> None:
    """Run until SIGTERM/SIGINT (or `stop` is set), then finish in-flight work.

    SIGHUP calls `reload` (re-read the config and hand it to the daemon); `http`
    serves the dashboard, /healthz and /metrics on settings.http (uvicorn on this
    loop, without signal handlers of its own: SIGTERM stays the daemon's).
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    server = ops_server(daemon, dispatch_seconds) if http else None
    if server is not None:
        await server.start()  # a taken port fails the start, before any work
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    await daemon.sync_sources()
    beating = asyncio.Event()
    heartbeat = asyncio.create_task(heartbeat_loop(daemon, beating))
    daemon.refilling = True
    scheduler = _scheduler(daemon, dispatch_seconds)
    reloads = _Reloads(daemon, reload, scheduler) if reload is not None else None
    if reloads is not None:
        loop.add_signal_handler(signal.SIGHUP, reloads.start)
    scheduler.start()
    drained = asyncio.Event()
    delivery = asyncio.create_task(delivery_loop(daemon, drained, dispatch_seconds))
    log.info(
        "daemon started: %s, %s",
        counted(len(daemon.config.sources), "source"),
        counted(len(daemon.config.rules), "rule"),
    )
    try:
        await stop.wait()
    finally:
        await _stop(daemon, scheduler, reloads, drain_seconds)
        drained.set()
        daemon.wake.set()
        await delivery  # its last pass sends what the drained polls queued
        scheduler.shutdown(wait=False)
        # Only now is nothing in flight: the row goes, and whatever is still held is released.
        beating.set()
        await heartbeat
        await forget_replica(daemon)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if server is not None:
            await server.stop()
        log.info("stopped")


def _scheduler(daemon: Daemon, dispatch_seconds: float) -> AsyncIOScheduler:
    """The scheduler with the daemon's jobs: dispatch polls, digests, retention."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    # coalesce + max_instances=1: a slow tick is skipped, never stacked.
    scheduler.add_job(
        daemon.dispatch,
        "interval",
        seconds=dispatch_seconds,
        id="dispatcher",
        coalesce=True,
        max_instances=1,
        next_run_time=daemon.clock(),
    )
    scheduler.add_job(
        _DigestJob(daemon).tick,  # a bound coroutine method: APScheduler awaits it
        "interval",
        seconds=dispatch_seconds,
        id="digests",
        coalesce=True,
        max_instances=1,
    )
    # Retention at a quiet hour; a run missed by a restart still happens within the day.
    scheduler.add_job(
        prune,
        "cron",
        args=[daemon],
        hour=3,
        minute=30,
        timezone=daemon.config.settings.timezone,
        id="retention",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=12 * 3600,
    )
    return scheduler


async def _stop(
    daemon: Daemon, scheduler: AsyncIOScheduler, reloads: _Reloads | None, drain_seconds: float
) -> None:
    """Stop starting work, let in-flight polls and reloads finish, release the rest."""
    log.info("stopping: finishing in-flight work")
    loop = asyncio.get_running_loop()
    # shutdown() cancels running coroutine jobs: pause first, drain, then shut down.
    scheduler.pause()
    daemon.stop_claiming()
    if reloads is not None:
        loop.remove_signal_handler(signal.SIGHUP)
        await reloads.wait(drain_seconds)
    # A second SIGTERM/SIGINT stops waiting for slow polls.
    hurry = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, hurry.set)
    if not await drain_polls(daemon, drain_seconds, hurry):
        log.warning("drain ended before in-flight polls finished; they are given up")
    # Leases of unfinished polls are released: the next process polls them at once.
    await daemon.abandon()


# --- SIGHUP reload -------------------------------------------------------------


class _Reloads:
    """SIGHUP reloads in flight; two quick SIGHUPs apply one at a time, in order."""

    def __init__(
        self,
        daemon: Daemon,
        reload: Callable[[], Awaitable[None]],
        scheduler: AsyncIOScheduler,
    ) -> None:
        self._daemon, self._reload, self._scheduler = daemon, reload, scheduler
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """The SIGHUP handler: start a reload (it waits for the one before)."""
        reload = _reload(self._daemon, self._reload, self._scheduler, self._lock)
        task = asyncio.create_task(reload)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self, seconds: float) -> None:
        """Let the reloads in flight finish, for at most `seconds`."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=seconds)


async def _reload(
    daemon: Daemon,
    reload: Callable[[], Awaitable[None]],
    scheduler: AsyncIOScheduler,
    lock: asyncio.Lock,
) -> None:
    """SIGHUP: switch to the new config, or keep the old one when the new one is bad."""
    async with lock:
        log.info("reload: SIGHUP received, reading the config")
        try:
            await reload()
        except (MonitorError, NotifyError, StorageError) as exc:
            log.error("reload failed, keeping the previous config: %s", exc)
            return
        except Exception:  # the daemon outlives any bug in a reload
            log.exception("reload failed, keeping the previous config")
            return
    config = daemon.config
    log.info(
        "reload: %s, %s", counted(len(config.sources), "source"), counted(len(config.rules), "rule")
    )
    # New sources are due now: look at once instead of at the next tick.
    scheduler.modify_job("dispatcher", next_run_time=daemon.clock())


# --- digests -------------------------------------------------------------------


def cron_trigger(schedule: str, timezone: str, jitter: float | None = None) -> CronTrigger:
    """The APScheduler trigger of a crontab `schedule`, in `timezone`, with cron's weekdays.

    Jitter lives in the trigger: `add_job(jitter=)` is ignored for trigger instances.
    """
    f = parse_crontab(schedule)
    return CronTrigger(
        minute=f.minute,
        hour=f.hour,
        day=f.day,
        month=f.month,
        day_of_week=f.day_of_week,
        timezone=ZoneInfo(timezone),
        jitter=jitter,
    )


class DigestTimer:
    """When each digest rule is next due, from its cron trigger and an explicit `now`.

    The daemon asks `due(now)` on every tick, so a test drives digests with an
    injected clock instead of waiting for the wall clock. A digest missed while
    the daemon was down is not replayed: its matches stay pending and go with
    the next one.
    """

    def __init__(self, triggers: Mapping[str, CronTrigger], now: datetime) -> None:
        self._triggers = dict(triggers)
        self._next = {rule: self._after(rule, now) for rule in self._triggers}

    def _after(self, rule: str, now: datetime) -> datetime | None:
        # Strictly after `now`: a digest that just fired is not due again.
        fire: datetime | None = self._triggers[rule].get_next_fire_time(
            None, now + timedelta(microseconds=1)
        )
        return fire

    def rules(self) -> list[str]:
        return list(self._triggers)

    def next_at(self, rule: str) -> datetime | None:
        """The next time `rule`'s digest is due (None: never again)."""
        return self._next[rule]

    def due(self, now: datetime) -> list[str]:
        """The rules due at `now`; each is then scheduled for its next fire time."""
        return [rule for rule, _ in self.due_at(now)]

    def due_at(self, now: datetime) -> list[tuple[str, datetime]]:
        """The rules due at `now` with the time each was due; each is then rescheduled."""
        due = [(rule, at) for rule, at in self._next.items() if at is not None and at <= now]
        for rule, _ in due:
            self._next[rule] = self._after(rule, now)
        return due

    def reconfigure(self, triggers: Mapping[str, CronTrigger], now: datetime) -> None:
        """New triggers (a reloaded config): unchanged rules keep their next time."""
        old = self._triggers
        self._triggers = dict(triggers)
        self._next = {
            rule: self._next[rule]
            if rule in old and repr(old[rule]) == repr(trigger)
            else self._after(rule, now)
            for rule, trigger in self._triggers.items()
        }

    def retry(self, rule: str, at: datetime) -> None:
        """Run `rule`'s digest again at `at` (a failed send), unless it is due sooner."""
        current = self._next[rule]
        self._next[rule] = at if current is None else min(current, at)


def digest_triggers(config: Config, jitter: float | None = DIGEST_JITTER) -> dict[str, CronTrigger]:
    """The cron trigger of every digest rule of `config`, in `settings.timezone`."""
    tz = config.settings.timezone
    return {
        rule.name: cron_trigger(rule.schedule, tz, jitter)
        for rule in config.rules
        if rule.mode == "digest" and rule.schedule is not None
    }


def digest_timer(
    config: Config, now: datetime, jitter: float | None = DIGEST_JITTER
) -> DigestTimer:
    """The timer of every digest rule of `config`."""
    return DigestTimer(digest_triggers(config, jitter), now)


class _DigestJob:
    """The daemon's digest tick; follows the daemon's config across SIGHUP reloads."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.config = daemon.config
        self.timer = digest_timer(self.config, daemon.clock())

    async def tick(self) -> list[SendOutcome]:
        if self.daemon.config is not self.config:
            self.config = self.daemon.config
            self.timer.reconfigure(digest_triggers(self.config), self.daemon.clock())
        return await run_due_digests(self.daemon, self.timer)


async def run_due_digests(daemon: Daemon, timer: DigestTimer) -> list[SendOutcome]:
    """Send the digests due now by `daemon.clock()`, then retry failed digests that are due.

    Retries come from the database (failed rows whose next attempt is due),
    not from this timer, so they survive a restart. Every replica's timer
    fires; the claim of the rule's period lets exactly one of them send.
    """
    outcomes: list[SendOutcome] = []
    for rule, at in timer.due_at(daemon.clock()):
        period = f"{at.astimezone(UTC):%Y-%m-%dT%H:%M}:00Z"
        claimed = await asyncio.to_thread(
            daemon.store.claim_job, f"digest:{rule}", period, daemon.replica.id, daemon.clock()
        )
        if not claimed:
            log.info("digest %s: sent by another replica", rule, extra={"rule": rule})
            continue
        sent = await daemon.send_digests([rule])
        if not sent:
            log.info("digest %s: nothing new", rule, extra={"rule": rule})
        outcomes += sent
    outcomes += await send_digests(daemon.deliverer(), retries_only=True)
    return outcomes
