"""The long-running daemon: APScheduler jobs around `Daemon`, and a graceful stop.

The only module that imports apscheduler. Scheduling state lives in the
database; the scheduler only decides when to look at it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.daemon import Daemon

__all__ = ["DISPATCH_SECONDS", "run_daemon"]

log = logging.getLogger("newsmon.scheduler")

DISPATCH_SECONDS = 5.0
DRAIN_SECONDS = 30.0


async def run_daemon(
    daemon: Daemon,
    *,
    stop: asyncio.Event | None = None,
    dispatch_seconds: float = DISPATCH_SECONDS,
    drain_seconds: float = DRAIN_SECONDS,
) -> None:
    """Run until SIGTERM/SIGINT (or `stop` is set), then finish in-flight work."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    await daemon.sync_sources()
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
    scheduler.start()
    drained = asyncio.Event()
    delivery = asyncio.create_task(_delivery_loop(daemon, drained, dispatch_seconds))
    log.info(
        "daemon started: %d sources, %d rules", len(daemon.config.sources), len(daemon.config.rules)
    )
    try:
        await stop.wait()
    finally:
        log.info("stopping: finishing in-flight work")
        # shutdown() cancels running coroutine jobs: pause first, drain, then shut down.
        scheduler.pause()
        if not await daemon.drain(drain_seconds):
            log.warning(
                "drain timed out after %.0fs; unfinished polls are retried on start", drain_seconds
            )
        drained.set()
        daemon.wake.set()
        await delivery  # its last pass sends what the drained polls queued
        scheduler.shutdown(wait=False)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        log.info("stopped")


async def _delivery_loop(daemon: Daemon, drained: asyncio.Event, period: float) -> None:
    """Send due alerts every `period` seconds, or at once when a poll queued some.

    After `drained` is set (polls finished), one last full pass runs, then it returns.
    """
    while True:
        final = drained.is_set()
        daemon.wake.clear()
        try:
            await daemon.deliver()
        except Exception:  # a broken pass must not end the loop; rows stay queued
            log.exception("delivery pass failed")
        if final:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(daemon.wake.wait(), timeout=period)
