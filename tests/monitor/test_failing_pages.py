"""Article pages that cannot be fetched: an error, retried with backoff, one log line per poll."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.pipeline.timing import page_retry_at
from tests.helpers import FeedServer, newsmon
from tests.monitor.daemon_helpers import jitterless_daemon

START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
PAGES = 40


def sitemap(feeds: FeedServer, paths: list[str]) -> str:
    urls = "".join(f"<url><loc>{feeds.server.url_for(p)}</loc></url>" for p in paths)
    body = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    return feeds.set("/sitemap.xml", body, ctype="application/xml")


def page(title: str) -> str:
    text = " ".join(["The ministers met in Phnom Penh and talked about trade."] * 8)
    return (
        f"<html><head><title>{title}</title></head>"
        f"<body><article><h1>{title}</h1><p>{text}</p></article></body></html>"
    )


def test_a_sitemap_whose_pages_all_404_is_in_error_and_its_pages_are_not_fetched_every_poll(
    tmp_path: Path, feeds: FeedServer, db_url: str
) -> None:
    paths = [f"/story-{i}" for i in range(PAGES)]  # never set: the server answers 404
    url = sitemap(feeds, paths)
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"sources:\n  - name: broken-pages\n    url: {url}\n    kind: sitemap\n    interval: 30m\n"
    )
    env = {"NEWSMON_DATABASE_URL": db_url}
    logs = []
    for _ in range(3):
        # --force: the source is in error after the first run, and run --once would wait.
        result = newsmon("run", "--once", "--force", config=config, env=env)
        assert result.returncode == 1, result.stderr  # the only source failed
        logs.append(result.stderr)

        listing = newsmon("sources", "--format", "json", config=config, env=env)
        [source] = json.loads(listing.stdout)
        assert source["status"] == "backoff"  # in error, waiting for its retry
        assert source["articles"] == 0
        assert source["window_overflows"] == 0
        assert source["last_error"].startswith(
            f"fetch: broken-pages: 0 of {PAGES} article pages fetched ("
        )
        assert "HTTP 404" in source["last_error"]
        assert f"e.g. {feeds.server.url_for('/story-')}" in source["last_error"]
        polled = datetime.fromisoformat(source["last_poll_at"])
        due = datetime.fromisoformat(source["next_poll_at"])
        assert due - polled >= timedelta(minutes=30)  # never sooner than the interval

    assert source["error_count"] == 3
    # Each page was asked for once: 30 on the first poll (the cap), the other 10 on
    # the second, none on the third (all wait for their retry).
    assert sorted(len(feeds.hits(p)) for p in paths) == [1] * PAGES
    assert len(feeds.hits("/sitemap.xml")) == 3
    # One line for the failed pages of a poll, with the count and one example.
    skipped = [
        line for line in logs[0].splitlines() if "article page" in line and "skipped" in line
    ]
    assert len(skipped) == 1, logs[0]
    assert "article pages skipped: 30 of 30 failed: fetch: broken-pages: HTTP 404" in skipped[0]
    assert f"(e.g. {feeds.server.url_for('/story-')}" in skipped[0]
    assert "10 left for the next poll" in logs[0]
    assert "40 wait for their retry after failing" in logs[2]


def test_a_failed_page_is_fetched_again_after_its_backoff_and_then_stored(
    tmp_path: Path, feeds: FeedServer
) -> None:
    url = sitemap(feeds, ["/late", "/fine"])
    feeds.set("/fine", page("Fine story"), ctype="text/html")
    config_path = tmp_path / "sources.yaml"
    config_path.write_text(
        f"sources:\n  - name: flaky\n    url: {url}\n    kind: sitemap\n    interval: 30m\n"
    )
    db_url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    now = [START]

    async def polls() -> list[tuple[str, int]]:
        async with jitterless_daemon(config_path, db_url, lambda: now[0]) as daemon:
            seen = []
            for step in (timedelta(0), timedelta(minutes=30), timedelta(minutes=40)):
                now[0] += step
                if step == timedelta(minutes=40):
                    feeds.set("/late", page("Late story"), ctype="text/html")
                [report] = await daemon.poll_all()
                seen.append((report.outcome, len(feeds.hits("/late"))))
            [status] = daemon.store.source_statuses(now[0])
            assert status.articles == 2
            return seen

    # The first failure waits an hour (the interval, at least an hour): the poll 30
    # minutes later leaves the page alone (the sitemap is unchanged: 304), the one
    # 70 minutes after the failure reads the sitemap again and fetches the page.
    assert asyncio.run(polls()) == [("ok", 1), ("not_modified", 1), ("ok", 2)]


def test_failed_pages_wait_longer_after_each_failure() -> None:
    cases = [  # failures, interval, wait
        (1, 1800, timedelta(hours=1)),
        (2, 1800, timedelta(hours=2)),
        (3, 1800, timedelta(hours=4)),
        (1, 6 * 3600, timedelta(hours=6)),
        (30, 1800, timedelta(days=7)),
    ]
    for failures, interval, wait in cases:
        assert page_retry_at(START, failures, interval) - START == wait, (failures, interval)
