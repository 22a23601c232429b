"""The long-running daemon: APScheduler jobs around `Daemon`, and a graceful stop.

The only module that imports apscheduler. Scheduling state lives in the
database; the scheduler only decides when to look at it.
"""

from __future__ import annotations

import asyncio
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
    scheduler.add_job(
        daemon.deliver,
        "interval",
        seconds=dispatch_seconds,
        id="delivery",
        coalesce=True,
        max_instances=1,
        next_run_time=daemon.clock(),
    )
    scheduler.start()
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
        await daemon.deliver()
        scheduler.shutdown(wait=False)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        log.info("stopped")
