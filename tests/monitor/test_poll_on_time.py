"""A source is polled when it falls due, not at the first dispatcher tick after (latency)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.daemon.service import claim_delay
from tests.helpers import FeedServer, rss
from tests.monitor.daemon_helpers import jitterless_daemon

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (NOW + timedelta(seconds=30), 30.0),
        (NOW + timedelta(milliseconds=250), 0.25),
        (NOW, 0.0),
        (NOW - timedelta(minutes=5), 0.0),  # overdue: claim now
    ],
)
def test_claim_delay(at: datetime, expected: float) -> None:
    assert claim_delay(at, NOW) == expected


async def until(predicate: Callable[[], bool], what: str, seconds: float = 15.0) -> None:
    """Poll `predicate` on the loop until true, or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(0.01)


def test_after_a_pass_the_daemon_claims_the_next_due_source_without_a_dispatcher_tick(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    feeds = FeedServer(httpserver)
    url = feeds.set("/feed.xml", rss([{"title": "Port opens", "link": "https://e.org/1"}]))
    config_path = tmp_path / "sources.yaml"
    config_path.write_text(f"sources:\n  - name: wire\n    url: {url}\n    interval: 1s\n")

    async def two_polls() -> tuple[datetime | None, datetime | None]:
        db_url = f"sqlite:///{tmp_path / 'newsmon.db'}"
        async with jitterless_daemon(config_path, db_url) as daemon:
            daemon.refilling = True  # as `newsmon run` sets it
            await daemon.dispatch()  # the one tick: nothing else claims but the alarm
            await until(lambda: daemon.next_claim_at is not None, "the first pass's end")
            alarm = daemon.next_claim_at
            [status] = daemon.store.source_statuses(daemon.clock())
            await until(lambda: len(feeds.hits("/feed.xml")) == 2, "the second poll")
            daemon.stop_claiming()
            await daemon.drain(10)
            return alarm, status.next_poll_at

    alarm, next_poll_at = asyncio.run(two_polls())
    assert alarm is not None
    assert alarm == next_poll_at  # the alarm is set for the source's own next poll
