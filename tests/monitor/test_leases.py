"""Source leases after a crash and a clean stop: a daemon holding polls on a stalling server.

Leases are read from the SQLite file the daemon writes; the test waits for
conditions (requests seen, leases expired), never for fixed times.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from storage import Store
from tests.helpers import newsmon, rss, wait_for
from tests.monitor.ops_helpers import DaemonProcess

SOURCES = 12
CONCURRENCY = 4
TIMEOUT = 2  # settings.timeout, seconds: the lease is twice this


class StallServer:
    """Answers a feed; while `stalling` is set, holds each request until released."""

    def __init__(self) -> None:
        self.stalling = threading.Event()
        self.release = threading.Event()
        self.hits: list[str] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with owner._lock:
                    owner.hits.append(self.path)
                if owner.stalling.is_set():
                    owner.release.wait(timeout=60)
                body = rss(
                    [{"title": f"Story at {self.path}", "link": f"https://e.org{self.path}"}]
                )
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.end_headers()
                    self.wfile.write(body.encode())
                except OSError:
                    pass  # a stalled client that was killed or gave up

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return len(self.hits) if path is None else self.hits.count(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture
def stall() -> Iterator[StallServer]:
    server = StallServer()
    server.stalling.set()
    server.thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.server.shutdown()
        server.server.server_close()


def write_config(tmp_path: Path, stall: StallServer) -> Path:
    # Each source's own timeout is long: its poll outlives the 4 s lease, which
    # the daemon must renew while it waits.
    sources = "".join(
        f"  - name: s{i:02d}\n    url: {stall.url(f'/s{i:02d}')}\n    kind: feed\n"
        "    interval: 1h\n    timeout: 40s\n"
        for i in range(SOURCES)
    )
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"""
settings:
  timeout: {TIMEOUT}s
  concurrency: {CONCURRENCY}
  per_host_concurrency: {CONCURRENCY}
sources:
{sources}
rules:
  - name: stories
    keywords: [story]
"""
    )
    return config


def leases(db: Path) -> dict[str, datetime]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT name, lease_until FROM source WHERE lease_until IS NOT NULL"
        ).fetchall()
    return {name: datetime.fromisoformat(until).replace(tzinfo=UTC) for name, until in rows}


def start_stalled_daemon(tmp_path: Path, stall: StallServer) -> tuple[DaemonProcess, Path]:
    daemon = DaemonProcess(write_config(tmp_path, stall))
    db = tmp_path / "newsmon.db"
    wait_for(lambda: stall.count() >= CONCURRENCY, timeout=60, what="the first polls")
    held = leases(db)
    # Claims follow the free slots: only the stalled polls hold a lease.
    assert len(held) == CONCURRENCY
    assert stall.count() == CONCURRENCY
    # The polls outlive the lease, so the daemon renews it.
    first = max(held.values())
    wait_for(
        lambda: min(leases(db).values()) > first, timeout=3 * TIMEOUT + 5, what="renewed leases"
    )
    return daemon, db


def claimable(db: Path) -> set[str]:
    """The sources another process could claim now (their leases are given back)."""
    store = Store(f"sqlite:///{db}")
    try:
        claimed = store.claim_sources(None, datetime.now(UTC), lease_seconds=60, force=True)
        store.release_leases([source.id for source in claimed])
    finally:
        store.close()
    return {source.name for source in claimed}


def run_once(config: Path, db: Path) -> str:
    env = {"NEWSMON_DATABASE_URL": f"sqlite:///{db}"}
    result = newsmon("run", "--once", config=config, env=env)
    assert result.returncode == 0, result.stderr
    return result.stderr + result.stdout


def test_a_killed_daemon_blocks_only_its_slots_for_two_deadlines(
    tmp_path: Path, stall: StallServer
) -> None:
    daemon, db = start_stalled_daemon(tmp_path, stall)
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait()
    killed_at = datetime.now(UTC)
    held = leases(db)
    assert len(held) == CONCURRENCY  # before: every claimed source (100 a batch) for 600 s
    assert max(held.values()) <= killed_at + timedelta(seconds=2 * TIMEOUT + 0.5)

    # Another process can claim every other source at once, the dead one's after its lease.
    everything = {f"s{i:02d}" for i in range(SOURCES)}
    assert claimable(db) == everything - set(held)
    wait_for(
        lambda: datetime.now(UTC) > max(held.values()),
        timeout=2 * TIMEOUT + 5,
        what="the dead daemon's leases to expire",
    )
    assert claimable(db) == everything

    stall.stalling.clear()
    stall.release.set()
    assert f"{SOURCES} sources polled" in run_once(daemon.config, db)
    for name in held:
        assert stall.count(f"/{name}") == 2  # the stalled request, then this one


def test_a_clean_stop_releases_the_leases_of_unfinished_polls(
    tmp_path: Path, stall: StallServer
) -> None:
    daemon, db = start_stalled_daemon(tmp_path, stall)
    daemon.signal(signal.SIGTERM)
    daemon.wait_log("stopping: finishing in-flight work")
    daemon.signal(signal.SIGTERM)  # a second signal: do not wait for the stalled polls
    assert daemon.proc.wait(timeout=30) == 0, daemon.stderr()
    assert "released the leases of 4 unfinished polls" in daemon.stdout()
    assert leases(db) == {}

    stall.stalling.clear()
    stall.release.set()
    assert f"{SOURCES} sources polled" in run_once(daemon.config, db)
