"""Missed-window detection: a poll in which every item is new is recorded and polls sooner."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytest_httpserver import HTTPServer

from monitor.metrics import REGISTRY
from tests.helpers import FeedServer, newsmon, rss
from tests.monitor.daemon_helpers import jitterless_daemon

START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def items(*keys: str) -> str:
    return rss([{"title": f"Story {k}", "link": f"https://e.org/{k}", "guid": k} for k in keys])


def test_a_poll_where_every_item_is_new_is_recorded_and_halves_the_interval(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    feeds = FeedServer(httpserver)
    url = feeds.set("/feed.xml", items("a", "b", "c"))
    config_path = tmp_path / "sources.yaml"
    config_path.write_text(f"sources:\n  - name: busy\n    url: {url}\n    interval: 1h\n")
    db_url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    now = [START]

    async def polls_in_a_row() -> list[tuple[bool, timedelta]]:
        async with jitterless_daemon(config_path, db_url, lambda: now[0]) as daemon:
            seen = []
            # first poll: all new, but nothing was known before: no overflow
            # second: three items, none seen before: the window overflowed
            # third: all new again: halved again
            # fourth: one new among known ones: back to the full interval
            bodies = (
                items("a", "b", "c"),
                items("d", "e", "f"),
                items("g", "h", "i"),
                items("j", "g", "h"),
            )
            for body in bodies:
                feeds.set("/feed.xml", body)
                [report] = await daemon.poll_all()
                [status] = daemon.store.source_statuses(now[0])
                assert status.next_poll_at is not None
                seen.append((report.window_overflow, status.next_poll_at - now[0]))
                now[0] += timedelta(hours=1)
            return seen

    overflows_before = REGISTRY.get_sample_value("newsmon_window_overflows_total") or 0.0
    polls = asyncio.run(polls_in_a_row())

    assert polls == [
        (False, timedelta(hours=1)),
        (True, timedelta(minutes=30)),
        (True, timedelta(minutes=15)),
        (False, timedelta(hours=1)),
    ]
    assert REGISTRY.get_sample_value("newsmon_window_overflows_total") == overflows_before + 2
    listing = newsmon(
        "sources", "--format", "json", config=config_path, env={"NEWSMON_DATABASE_URL": db_url}
    )
    assert listing.returncode == 0, listing.stderr
    [source] = json.loads(listing.stdout)
    assert (source["name"], source["window_overflows"]) == ("busy", 2)
