"""The daemon's work beside its scheduled jobs: delivery loop, stop drain, ops server, retention.

Plain asyncio, no APScheduler: `monitor.daemon.scheduler` wires these around
the jobs it schedules. Each is stoppable and outlives a failing pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from monitor.daemon.ops_http import OpsServer
from monitor.daemon.service import Daemon
from storage import StorageError

__all__ = ["delivery_loop", "drain_polls", "ops_server", "prune"]

log = logging.getLogger("newsmon.scheduler")


async def drain_polls(daemon: Daemon, seconds: float, hurry: asyncio.Event) -> bool:
    """Wait for in-flight polls up to `seconds`, or until `hurry`; True when all finished."""
    drain = asyncio.create_task(daemon.drain(seconds))
    hurried = asyncio.create_task(hurry.wait())
    await asyncio.wait({drain, hurried}, return_when=asyncio.FIRST_COMPLETED)
    hurried.cancel()
    if not drain.done():
        drain.cancel()
        return False
    return drain.result()


async def delivery_loop(daemon: Daemon, drained: asyncio.Event, period: float) -> None:
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


def ops_server(daemon: Daemon, dispatch_seconds: float) -> OpsServer:
    """The /healthz and /metrics server of `daemon`, on settings.http (not started)."""
    http = daemon.config.settings.http
    return OpsServer(
        daemon.store,
        host=http.host,
        port=http.port,
        dispatch_seconds=dispatch_seconds,
        last_tick=lambda: daemon.last_tick,
        metrics_token=lambda: daemon.config.settings.http.metrics_token,
        clock=daemon.clock,
    )


async def prune(daemon: Daemon) -> None:
    """The retention job: prune the archive; a failure is logged, never raised."""
    try:
        await daemon.prune()
    except StorageError as exc:  # tomorrow is another day; the archive is intact
        log.error("retention: %s", exc)
