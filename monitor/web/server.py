"""uvicorn on the caller's event loop: a socket we bind, no signal handlers of its own.

The daemon owns SIGTERM/SIGINT and the loop; the server is one task on it,
started before any work (a taken port fails the start) and stopped with the
daemon. A stuck loop therefore shows as a failed health check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from monitor.errors import MonitorError

__all__ = ["WebServer", "serve_until_signalled"]

log = logging.getLogger("newsmon.http")

_STOP_SECONDS = 5.0


class _LoopServer(uvicorn.Server):
    """uvicorn.Server that leaves signals to its host (uvicorn would take SIGTERM itself)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebServer:
    """One ASGI app on host:port; `start()` binds and serves, `stop()` closes."""

    def __init__(self, app: ASGIApp, *, host: str, port: int, what: str = "") -> None:
        self._host, self._port = host, port
        self._what = what or "dashboard, /healthz and /metrics"
        self._config = uvicorn.Config(
            app,
            log_config=None,  # newsmon's logging (JSON, redaction) applies, not uvicorn's
            access_log=False,
            lifespan="off",
            ws="none",
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=5,
            limit_concurrency=200,
        )
        self._server = _LoopServer(self._config)
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when configured as 0)."""
        assert self._socket is not None
        port: int = self._socket.getsockname()[1]
        return port

    async def start(self) -> None:
        """Bind and serve; a MonitorError names the address when it cannot listen."""
        try:
            family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
            self._socket = socket.create_server((self._host, self._port), family=family)
        except OSError as exc:
            raise MonitorError(
                f"http: cannot listen on {self._host}:{self._port}: {exc.strerror or exc}"
            ) from exc
        # uvicorn's own start-up lines would repeat ours; its warnings and errors still show.
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]), name="http")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise MonitorError("http: the server stopped while starting")
            await asyncio.sleep(0.01)
        log.info("http: %s on http://%s:%d", self._what, self._host, self.port)

    async def stop(self) -> None:
        """Stop accepting, let requests in flight finish briefly, close the socket."""
        if self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), _STOP_SECONDS)
        except TimeoutError:
            self._server.force_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, _STOP_SECONDS)
        finally:
            self._task = None
            if self._socket is not None:
                self._socket.close()


async def serve_until_signalled(app: ASGIApp, *, host: str, port: int) -> None:
    """Serve `app` until SIGTERM or SIGINT (``newsmon ui``): this process owns the signals."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    server = WebServer(app, host=host, port=port, what="dashboard")
    await server.start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await server.stop()
        log.info("stopped")
