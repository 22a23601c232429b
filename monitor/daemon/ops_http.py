"""The daemon's HTTP endpoints: ``/healthz`` for the orchestrator, ``/metrics`` for Prometheus.

A tiny HTTP/1.1 server on the daemon's own event loop (one request per
connection, GET and HEAD only), so a stuck loop shows as a failed health check.
`health` decides the answer from data; `OpsServer` does the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from monitor.errors import MonitorError
from monitor.metrics import ALERTS_PENDING, DISPATCHER_LAST_TICK, REGISTRY, SOURCES
from storage import StorageError, Store

__all__ = ["STUCK_TICKS", "Health", "OpsServer", "StoreState", "health", "read_state"]

log = logging.getLogger("newsmon.http")

STUCK_TICKS = 3  # dispatcher intervals without a tick before /healthz says 503
_REQUEST_TIMEOUT = 10.0
_MAX_HEAD = 16 * 1024
_REASONS = {200: "OK", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed"}
_REASONS |= {400: "Bad Request", 503: "Service Unavailable"}
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


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


class OpsServer:
    """``/healthz`` and ``/metrics`` for one daemon; `start()` binds, `stop()` closes."""

    def __init__(
        self,
        store: Store,
        *,
        host: str,
        port: int,
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
        self._host, self._port = host, port
        self._dispatch_seconds = dispatch_seconds
        self._last_tick = last_tick
        self._token = metrics_token  # read per request, so a reload can change it
        self._clock = clock
        self._started_at = clock()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when configured as 0)."""
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._serve, self._host, self._port)
        except OSError as exc:
            raise MonitorError(
                f"http: cannot listen on {self._host}:{self._port}: {exc.strerror or exc}"
            ) from exc
        self._started_at = self._clock()
        log.info("http: /healthz and /metrics on http://%s:%d", self._host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _REQUEST_TIMEOUT)
            method, path, headers = _parse_head(head)
            response = await self._route(method, path, headers)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            response = _Response(400, b"bad request\n")
            method = "GET"
        except ValueError:
            response = _Response(400, b"bad request\n")
            method = "GET"
        try:
            writer.write(_encode(response, with_body=method != "HEAD"))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _route(self, method: str, path: str, headers: Mapping[str, str]) -> _Response:
        route = path.split("?", 1)[0]
        if route not in ("/healthz", "/metrics"):
            return _Response(404, b"not found: try /healthz or /metrics\n")
        if method not in ("GET", "HEAD"):
            return _Response(405, b"method not allowed\n", headers=(("Allow", "GET, HEAD"),))
        if route == "/metrics" and not _authorised(self._token(), headers.get("authorization")):
            challenge = (("WWW-Authenticate", 'Bearer realm="newsmon"'),)
            return _Response(
                401, b"unauthorized: send Authorization: Bearer TOKEN\n", headers=challenge
            )
        now = self._clock()
        state = await asyncio.to_thread(read_state, self._store, now)
        if route == "/healthz":
            answer = health(
                now,
                last_tick=self._last_tick(),
                started_at=self._started_at,
                dispatch_seconds=self._dispatch_seconds,
                state=state,
                replica=self._replica,
            )
            body = json.dumps(answer.body).encode() + b"\n"
            return _Response(answer.status, body, "application/json")
        _refresh_gauges(state, self._last_tick())
        return _Response(200, generate_latest(self._metrics), _METRICS_TYPE)


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


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    if len(head) > _MAX_HEAD:
        raise ValueError("request head too large")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return method.upper(), path, headers


def _encode(response: _Response, *, with_body: bool) -> bytes:
    reason = _REASONS.get(response.status, "")
    lines = [
        f"HTTP/1.1 {response.status} {reason}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        "Cache-Control: no-store",
        "Connection: close",
        *(f"{name}: {value}" for name, value in response.headers),
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (response.body if with_body else b"")
