"""Replicas: `newsmon replicas` against a database where a real `newsmon run` is
working, and the jobs every replica schedules but only one runs (digests, retention)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config.load import load_config
from monitor.daemon.scheduler import digest_timer, run_due_digests
from monitor.daemon.service import Daemon, fetch_limits
from monitor.daemon.tasks import prune
from monitor.fetch import Fetcher
from notifiers import Channels
from storage import Store
from storage.types import ReplicaInfo
from tests.helpers import SmtpSink, newsmon, rss, wait_for
from tests.monitor.delivery_helpers import Clock, queue_matches, utc_plus
from tests.monitor.ops_helpers import DaemonProcess

STORY = {"title": "ASEAN ministers meet", "link": "https://e.org/asean", "guid": "asean"}


class Gate:
    """A handler that records the request arrived and answers only once released."""

    def __init__(self, body: str, content_type: str) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self._body, self._type = body, content_type

    def __call__(self, request: Request) -> Response:
        self.arrived.set()
        self.release.wait(timeout=60)
        return Response(self._body, content_type=self._type)


def holdings(store: Store) -> list[tuple[list[str], int]]:
    """What each replica in the database holds: (source names, deliveries)."""
    try:
        return [(r.sources, r.deliveries) for r in store.replicas(datetime.now(UTC))]
    except Exception:  # the daemon has not created the schema yet
        return []


def replicas_cli(config: Path, db_url: str, *args: str) -> str:
    result = newsmon("replicas", *args, config=config, env={"NEWSMON_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    return result.stdout


def replicas_json(config: Path, db_url: str) -> list[dict[str, Any]]:
    doc = json.loads(replicas_cli(config, db_url, "--format", "json"))
    assert isinstance(doc, list)
    return doc


def test_replicas_shows_a_running_daemon_with_what_it_holds_and_none_after_it_stops(
    tmp_path: Path, httpserver: HTTPServer, db_url: str
) -> None:
    feed = Gate(rss([STORY]), "application/rss+xml")
    hook = Gate("{}", "application/json")
    httpserver.expect_request("/slow.xml").respond_with_handler(feed)
    httpserver.expect_request("/hook").respond_with_handler(hook)
    config = tmp_path / "sources.yaml"
    daemon = DaemonProcess(config, env={"NEWSMON_DATABASE_URL": db_url})
    # rto: the webhook is held open longer than Apprise's default read timeout.
    config.write_text(
        f"settings:\n  http: {{port: {daemon.port}}}\n"
        f'channels:\n  hook: "json://127.0.0.1:{httpserver.port}/hook?rto=60"\n'
        f"sources:\n  - name: slow\n    url: {httpserver.url_for('/slow.xml')}\n"
        "rules:\n  - name: asean\n    keywords: [ASEAN]\n    channels: [hook]\n"
    )
    store: Store | None = None
    try:
        wait_for(feed.arrived.is_set, timeout=30, what="the poll to start")
        store = Store(db_url)
        wait_for(lambda: holdings(store) == [(["slow"], 0)], timeout=20, what="the heartbeat")
        [row] = replicas_json(config, db_url)
        assert row["id"].startswith(f"{socket.gethostname()}:{daemon.proc.pid}:")
        assert (row["host"], row["pid"]) == (socket.gethostname(), daemon.proc.pid)
        assert row["alive"] is True
        assert (row["sources"], row["deliveries"]) == (["slow"], 0)
        assert row["started_at"].endswith("Z")
        assert row["last_seen"].endswith("Z")
        table = replicas_cli(config, db_url)
        for cell in (row["id"], "slow", "yes"):
            assert cell in table

        feed.release.set()  # the poll ends; its alert is claimed and held at the webhook
        wait_for(hook.arrived.is_set, timeout=30, what="the alert to be sent")
        [row] = replicas_json(config, db_url)
        assert (row["sources"], row["deliveries"]) == ([], 1)

        hook.release.set()
        assert daemon.stop() == 0
    finally:
        feed.release.set()
        hook.release.set()
        daemon.kill()
        if store is not None:
            store.close()
    # A clean stop removes the replica's row.
    assert replicas_json(config, db_url) == []
    assert replicas_cli(config, db_url).strip() == "no replicas"


SINGLETON_CONFIG = """
settings:
  retention: 30d
channels:
  mail: "{mail}"
sources: []
rules:
  - name: morning-brief
    keywords: [Cambodia]
    channels: [mail]
    mode: digest
    schedule: "0 8 * * *"
"""


def test_with_three_replicas_a_digest_tick_and_a_retention_run_happen_once(
    tmp_path: Path, db_url: str, smtp: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(SINGLETON_CONFIG.format(mail=smtp.url()))
    config = load_config(path, {})
    clock = Clock()
    store = Store.open(db_url)

    async def three_replicas() -> list[int]:
        async with Fetcher(fetch_limits(config)) as fetcher:
            replicas = [
                Daemon(
                    config,
                    store,
                    fetcher,
                    Channels(config.channels),
                    clock=clock,
                    replica=ReplicaInfo(f"host{n}:1:0", f"host{n}", 1, clock(), "test"),
                )
                for n in (1, 2, 3)
            ]
            timers = [digest_timer(config, clock(), jitter=None) for _ in replicas]
            clock.now = utc_plus("2024-05-06T08:00:05")
            sent = [len(await run_due_digests(replicas[0], timers[0]))]
            # A match queued between the two ticks would make a second digest of the same
            # 08:00 if the other replica's timer could send too.
            queue_matches(store, ["c"], rule="morning-brief", mode="digest", now=clock())
            sent.append(len(await run_due_digests(replicas[1], timers[1])))
            sent.append(len(await run_due_digests(replicas[2], timers[2])))
            for daemon in replicas:
                await prune(daemon)
            return sent

    try:
        queue_matches(store, ["a", "b"], rule="morning-brief", mode="digest", now=clock())
        with caplog.at_level(logging.INFO):
            assert asyncio.run(three_replicas()) == [1, 0, 0]
    finally:
        store.close()
    assert smtp.subjects() == ["[newsmon] morning-brief: 2 new matches"]
    said = [r.getMessage() for r in caplog.records]
    assert "digest morning-brief: sent by another replica" in said
    assert sum(m.startswith("retention: pruned ") for m in said) == 1
    assert "retention: another replica runs it today (2024-05-06)" in said
