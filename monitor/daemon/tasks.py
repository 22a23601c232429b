"""The daemon's work beside its scheduled jobs: delivery loop, stop drain, HTTP server,
retention, and the replica's heartbeat.

Plain asyncio, no APScheduler: `monitor.daemon.scheduler` wires these around
the jobs it schedules. Each is stoppable and outlives a failing pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC

from monitor.daemon.ops_http import DaemonOps
from monitor.daemon.replica import HEARTBEAT_SECONDS
from monitor.daemon.service import Daemon
from monitor.web import Dashboard, WebServer, create_app
from notifiers.privacy import scrub
from storage import StorageError

__all__ = [
    "delivery_loop",
    "drain_polls",
    "forget_replica",
    "heartbeat_loop",
    "ops_server",
    "prune",
]

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


def ops_server(daemon: Daemon, dispatch_seconds: float) -> WebServer:
    """The daemon's HTTP side on settings.http (not started): the dashboard, /healthz
    and /metrics; pages read the config as it is now, so a reload shows at once."""
    http = daemon.config.settings.http
    ops = DaemonOps(
        daemon.store,
        dispatch_seconds=dispatch_seconds,
        last_tick=lambda: daemon.last_tick,
        metrics_token=lambda: daemon.config.settings.http.metrics_token,
        clock=daemon.clock,
        replica=daemon.replica.id,
    )
    dashboard = Dashboard(
        daemon.store,
        config=lambda: daemon.config,
        channels=lambda: daemon.channels,
        mask=lambda text: scrub(text, daemon.config.secrets),
        token=lambda: daemon.config.settings.http.ui_token,
        last_tick=lambda: daemon.last_tick,
        clock=daemon.clock,
    )
    return WebServer(create_app(dashboard, ops), host=http.host, port=http.port)


async def prune(daemon: Daemon) -> None:
    """The daily job: drop story keys older than the cluster window, and apply
    `settings.retention` when set; a failure is logged, never raised.

    Every replica's scheduler fires it; the day's claim lets one of them run it.
    """
    now = daemon.clock()
    day = now.astimezone(UTC).date().isoformat()
    try:
        claimed = await asyncio.to_thread(
            daemon.store.claim_job, "retention", day, daemon.replica.id, now
        )
        if not claimed:
            log.info("retention: another replica runs it today (%s)", day)
            return
        await daemon.forget_story_keys()
        await daemon.prune()
    except StorageError as exc:  # tomorrow is another day; the archive is intact
        log.error("retention: %s", exc)


async def heartbeat_loop(
    daemon: Daemon, stop: asyncio.Event, period: float = HEARTBEAT_SECONDS
) -> None:
    """Record that this replica is alive now and every `period` seconds until `stop`.

    A missed beat is logged, not fatal: the replica's leases, not its
    heartbeat, protect the work; the row only shows who is there.
    """
    while True:
        try:
            await asyncio.to_thread(daemon.store.heartbeat, daemon.replica, daemon.clock())
        except StorageError as exc:
            log.warning("heartbeat: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=period)
        if stop.is_set():
            return


async def forget_replica(daemon: Daemon) -> None:
    """A clean stop: remove this replica's row and release what it still holds."""
    try:
        await asyncio.to_thread(daemon.store.forget_replica, daemon.replica.id)
    except StorageError as exc:  # the row goes stale and shows as not alive
        log.warning("forgetting replica %s: %s", daemon.replica.id, exc)
