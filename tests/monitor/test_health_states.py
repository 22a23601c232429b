"""/healthz says ok, degraded (200) or unhealthy (503), and the log says when the next poll is."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.daemon.ops_http import StoreState, health
from monitor.daemon.service import describe_next_poll
from tests.helpers import FeedServer, free_port, wait_for
from tests.monitor.ops_helpers import DaemonProcess

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def healthz(daemon: DaemonProcess) -> tuple[int, dict[str, object]]:
    status, body, _ = daemon.get("/healthz")
    doc: dict[str, object] = json.loads(body)
    return status, doc


def test_every_source_failing_makes_healthz_degraded_but_200_and_the_log_names_the_next_poll(
    tmp_path: Path, feeds: FeedServer
) -> None:
    broken = feeds.set("/feed.xml", "upstream down", ctype="text/plain", status=500)
    refused = f"http://127.0.0.1:{free_port()}/feed.xml"  # nothing listens there
    config = tmp_path / "sources.yaml"
    daemon = DaemonProcess(config)
    config.write_text(
        f"settings:\n  http: {{port: {daemon.port}}}\n  timezone: Asia/Phnom_Penh\n"
        f"sources:\n  - name: broken\n    url: {broken}\n    interval: 30m\n"
        f"  - name: offline\n    url: {refused}\n    interval: 30m\n"
    )
    try:
        daemon.wait_listening()
        wait_for(
            lambda: healthz(daemon)[1]["status"] == "degraded",
            timeout=30,
            what="/healthz to say degraded",
        )
        status, doc = healthz(daemon)
        # 200: a restart would not mend a remote outage, so Docker keeps the container.
        assert status == 200
        assert doc["sources"] == {"total": 2, "ok": 0, "erroring": 2}
        assert doc["problems"] == ["2 of 2 sources in error"]
        assert doc["database"] == "ok"
        # After the pass, the log says which source comes next and when, in local time.
        daemon.wait_log("next poll: ")
        [line] = [ln for ln in daemon.stdout().splitlines() if "next poll: " in ln][:1]
        assert "next poll: broken in " in line or "next poll: offline in " in line
        assert "Asia/Phnom_Penh)" in line
    finally:
        assert daemon.stop() == 0


class TcpProxy:
    """A TCP relay to PostgreSQL that the test can cut, as a network outage would."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


def test_an_unreachable_database_makes_healthz_unhealthy_503(
    tmp_path: Path, feeds: FeedServer, pg_url: str
) -> None:
    parts = urllib.parse.urlsplit(pg_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    through_proxy = parts._replace(netloc=f"postgres@127.0.0.1:{proxy.port}").geturl()
    url = feeds.set("/feed.xml", "<rss version='2.0'><channel><title>t</title></channel></rss>")
    config = tmp_path / "sources.yaml"
    daemon = DaemonProcess(config, env={"NEWSMON_DATABASE_URL": through_proxy})
    config.write_text(
        f"settings:\n  http: {{port: {daemon.port}}}\n"
        f"sources:\n  - name: wire\n    url: {url}\n    interval: 30m\n"
    )
    try:
        daemon.wait_listening()
        wait_for(lambda: healthz(daemon)[1]["status"] == "ok", timeout=30, what="/healthz ok")
        proxy.cut()
        wait_for(lambda: healthz(daemon)[0] == 503, timeout=30, what="/healthz 503")
        status, doc = healthz(daemon)
        assert status == 503
        assert doc["status"] == "unhealthy"
        assert doc["database"] == "unreachable"
        assert "database unreachable" in doc["problems"]  # type: ignore[operator]
    finally:
        daemon.kill()


@pytest.mark.parametrize(
    ("sources", "status", "code"),
    [
        ({"ok": 3, "error": 1, "backoff": 1}, "ok", 200),  # 2 of 5 in error
        ({"ok": 2, "error": 2}, "ok", 200),  # exactly half: not more than half
        ({"ok": 1, "error": 1, "backoff": 1}, "degraded", 200),
        ({"error": 6}, "degraded", 200),  # the "ok: 0, erroring: 6"
        ({"ok": 1, "error": 1, "paused": 4}, "ok", 200),  # paused sources do not count
        ({}, "ok", 200),  # no sources yet
    ],
)
def test_healthz_is_degraded_when_more_than_half_the_sources_are_in_error(
    sources: dict[str, int], status: str, code: int
) -> None:
    answer = health(
        NOW, last_tick=NOW, started_at=NOW, dispatch_seconds=5, state=StoreState(True, sources, 0)
    )
    assert (answer.body["status"], answer.status) == (status, code)


def test_a_stuck_dispatcher_is_unhealthy_even_when_sources_fail() -> None:
    state = StoreState(True, {"error": 3}, 0)
    answer = health(
        NOW + timedelta(seconds=60), last_tick=NOW, started_at=NOW, dispatch_seconds=5, state=state
    )
    assert (answer.body["status"], answer.status) == ("unhealthy", 503)


@pytest.mark.parametrize(
    ("at", "line"),
    [
        (NOW + timedelta(minutes=14), "next poll: fresh-news in 14 min (15:14 Asia/Phnom_Penh)"),
        (NOW + timedelta(hours=3), "next poll: fresh-news in 3 h (18:00 Asia/Phnom_Penh)"),
        (NOW, "next poll: fresh-news now (15:00 Asia/Phnom_Penh)"),
    ],
)
def test_the_next_poll_line_says_how_soon_and_the_local_time(at: datetime, line: str) -> None:
    assert describe_next_poll("fresh-news", at, NOW, "Asia/Phnom_Penh") == line
