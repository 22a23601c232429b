"""The daemon's operational endpoints: ``/healthz`` for the orchestrator, ``/metrics``
for Prometheus.

`health` decides the answer from data; `DaemonOps` reads the store and the
metrics and answers; `monitor.web` serves them, beside the dashboard, with
Starlette on uvicorn on the daemon's own loop, so a stuck loop shows as a
failed health check.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import generate_latest
from prometheus_client.registry import Collector

from monitor import __version__
from monitor.clock import iso
from monitor.daemon.replica import ReplicaLabelled
from monitor.metrics import ALERTS_PENDING, DISPATCHER_LAST_TICK, REGISTRY, SOURCES
from monitor.web import Reply
from storage import StorageError, Store

__all__ = ["STUCK_TICKS", "DaemonOps", "Health", "StoreState", "health", "read_state"]

log = logging.getLogger("newsmon.http")

STUCK_TICKS = 3  # dispatcher intervals without a tick before /healthz says 503
# The classic text format generate_latest writes; Prometheus 3 picks its parser by
# this header (newer clients' CONTENT_TYPE_LATEST says 1.0.0, which 2.x scrapers predate).
_METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class StoreState:
    """What the endpoints read from the database, in one thread hop."""

    database_ok: bool
    sources: Mapping[str, int]  # status -> count
    pending_alerts: int | None  # None when the database did not answer


@dataclass(frozen=True, slots=True)
class Health:
    """The answer of ``/healthz``."""

    status: int  # 200 or 503
    body: dict[str, object]


def health(
    now: datetime,
    *,
    last_tick: datetime | None,
    started_at: datetime,
    dispatch_seconds: float,
    state: StoreState,
    replica: str | None = None,
) -> Health:
    """``ok``, ``degraded`` (200) or ``unhealthy`` (503).

    Unhealthy (503, the orchestrator restarts the container) when the dispatcher
    has not ticked within 3 intervals or the database does not answer; before the
    first tick, the start time stands in for it (a grace period). Degraded (200:
    a restart would not mend a remote outage) when more than half of the polled
    sources are in error; paused sources do not count.
    """
    reference = last_tick or started_at
    silent = (now - reference).total_seconds()
    stuck = silent > STUCK_TICKS * dispatch_seconds
    problems = []
    if stuck:
        problems.append(f"dispatcher has not ticked for {silent:.0f}s")
    if not state.database_ok:
        problems.append("database unreachable")
    ok = state.sources.get("ok", 0)
    paused = state.sources.get("paused", 0)
    total = sum(state.sources.values())
    erroring = total - ok - paused
    degraded = erroring * 2 > total - paused
    status = "unhealthy" if problems else "degraded" if degraded else "ok"
    if degraded:
        problems.append(f"{erroring} of {total - paused} sources in error")
    counts = {"total": total, "ok": ok, "erroring": erroring}
    if paused:
        counts["paused"] = paused
    body: dict[str, object] = {
        "status": status,
        "problems": problems,
        "version": __version__,
        "replica": replica,
        "last_tick": iso(last_tick),
        "seconds_since_tick": round(silent, 1) if last_tick else None,
        "database": "ok" if state.database_ok else "unreachable",
        "sources": counts,
    }
    return Health(503 if status == "unhealthy" else 200, body)


def read_state(store: Store, now: datetime) -> StoreState:
    """Ping the database and count sources by status and alerts waiting (blocking)."""
    if not store.ping():
        return StoreState(False, {}, None)
    try:
        statuses = Counter(s.status for s in store.source_statuses(now))
        counts = store.delivery_counts()
    except StorageError as exc:
        log.warning("%s", exc)
        return StoreState(False, {}, None)
    return StoreState(True, dict(statuses), counts.get("pending", 0) + counts.get("sending", 0))


class DaemonOps:
    """``/healthz`` and ``/metrics`` of one daemon, answered as `Reply` values.

    `monitor.web` serves them (and the dashboard) on the daemon's own loop;
    the answers, status codes and headers are decided here.
    """

    def __init__(
        self,
        store: Store,
        *,
        dispatch_seconds: float,
        last_tick: Callable[[], datetime | None],
        metrics_token: Callable[[], str | None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        replica: str | None = None,
    ) -> None:
        self._store = store
        self._replica = replica
        # Every sample names the replica, so one Prometheus scraping several keeps them apart.
        self._metrics: Collector = (
            REGISTRY if replica is None else ReplicaLabelled(REGISTRY, replica)
        )
        self._dispatch_seconds = dispatch_seconds
        self._last_tick = last_tick
        self._token = metrics_token  # read per request, so a reload can change it
        self._clock = clock
        self.started_at = clock()

    async def healthz(self) -> Reply:
        now = self._clock()
        state = await asyncio.to_thread(read_state, self._store, now)
        answer = health(
            now,
            last_tick=self._last_tick(),
            started_at=self.started_at,
            dispatch_seconds=self._dispatch_seconds,
            state=state,
            replica=self._replica,
        )
        body = json.dumps(answer.body).encode() + b"\n"
        return Reply(answer.status, body, "application/json")

    async def metrics(self, authorization: str | None) -> Reply:
        if not _authorised(self._token(), authorization):
            challenge = (("WWW-Authenticate", 'Bearer realm="newsmon"'),)
            body = b"unauthorized: send Authorization: Bearer TOKEN\n"
            return Reply(401, body, "text/plain; charset=utf-8", challenge)
        state = await asyncio.to_thread(read_state, self._store, self._clock())
        _refresh_gauges(state, self._last_tick())
        # The classic text format, not the ASGI app's negotiation: the contract and
        # Prometheus 2.x scrapers expect version 0.0.4 (see _METRICS_TYPE).
        return Reply(200, generate_latest(self._metrics), _METRICS_TYPE)


def _refresh_gauges(state: StoreState, last_tick: datetime | None) -> None:
    if state.database_ok:
        for status in ("ok", "backoff", "error", "paused"):
            SOURCES.labels(status).set(state.sources.get(status, 0))
    if state.pending_alerts is not None:
        ALERTS_PENDING.set(state.pending_alerts)
    if last_tick is not None:
        DISPATCHER_LAST_TICK.set(last_tick.timestamp())


def _authorised(token: str | None, authorization: str | None) -> bool:
    if not token:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    # compare_digest: the time taken must not tell how much of the token matched.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )
