"""`newsmon backfill`: listing pages, paged feeds, sitemap indexes; alerts, dates, resuming."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.cli.backfill import run_backfill
from monitor.config.load import load_config
from monitor.delivery.outbox import DeliveryReport
from monitor.pipeline.backfill import BackfillSummary, Window, paged_url
from monitor.pipeline.poll import compile_config_rules
from notifiers import Channels
from storage import Store
from tests.helpers import newsmon
from tests.monitor.test_source_kinds import article


class Site:
    """Pages keyed by path and query; records every request."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.pages: dict[str, tuple[bytes, str, int]] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()

        def handler(request: Request) -> Response:
            query = request.query_string.decode()
            key = request.path + (f"?{query}" if query else "")
            with self._lock:
                self.requests.append(key)
                body, ctype, status = self.pages.get(key, (b"not found", "text/plain", 404))
            return Response(body, status=status, content_type=ctype)

        server.expect_request(re.compile(".*")).respond_with_handler(handler)

    def set(self, key: str, body: str | bytes, ctype: str = "text/html", status: int = 200) -> str:
        with self._lock:
            self.pages[key] = (body.encode() if isinstance(body, str) else body, ctype, status)
        return str(self.server.url_for(key))

    def hits(self, key: str) -> int:
        with self._lock:
            return self.requests.count(key)


@pytest.fixture
def site(httpserver: HTTPServer) -> Site:
    return Site(httpserver)


def write_config(tmp_path: Path, sources: list[dict[str, object]]) -> Path:
    config = {
        "settings": {"database": f"sqlite:///{tmp_path / 'newsmon.db'}"},
        "sources": sources,
        "rules": [{"name": "mekong", "keywords": ["Mekong"]}],
    }
    path = tmp_path / "sources.yaml"
    path.write_text(json.dumps(config))
    return path


def listing_site(site: Site, pages: int = 3, per_page: int = 4, topic: str = "Mekong dams") -> str:
    for p in range(1, pages + 1):
        links = ""
        for i in range(per_page):
            n = (p - 1) * per_page + i
            day = 28 - n
            # Words of its own make each page a story of its own, not a copy of the others.
            own = " ".join(f"w{n}x{k}" for k in range(200))
            site.set(
                f"/a{n}",
                article(f"Story {n}", f"{topic} {own}", published=f"2024-02-{day:02d}T08:00:00Z"),
            )
            links += f"<h2><a href='/a{n}'>Story {n}</a></h2>"
        if p < pages:
            links += f"<a class='next' href='/news/page/{p + 1}'>Older</a>"
        site.set("/news/" if p == 1 else f"/news/page/{p}", links)
    return str(site.server.url_for("/news/"))


def backfill(
    config_path: Path, window: Window | None = None
) -> tuple[list[BackfillSummary], DeliveryReport]:
    """The backfill command's work, in this process (the CLI edge has its own test)."""
    config = load_config(config_path, {})
    store = Store.open(str(config.settings.database))
    names = [s.name for s in config.sources]
    try:
        return asyncio.run(
            run_backfill(
                config,
                store,
                compile_config_rules(config),
                names,
                window or Window(),
                Channels(config.channels, console=sys.stdout),
            )
        )
    finally:
        store.close()


def summary_row(stdout: str, source: str) -> list[str]:
    """The cells of a source's row in the summary table."""
    line = next(line for line in stdout.splitlines() if f" {source} " in line)
    return [cell.strip() for cell in re.split(r"[│|]", line) if cell.strip()]


def stored(tmp_path: Path) -> tuple[list[str], int]:
    store = Store.open(f"sqlite:///{tmp_path / 'newsmon.db'}")
    try:
        titles = sorted(a.title for a in store.iter_articles())
        return titles, len(store.list_deliveries())
    finally:
        store.close()


def test_backfill_reads_every_listing_page_and_sends_nothing_without_alert(
    site: Site, tmp_path: Path
) -> None:
    url = listing_site(site)
    config = write_config(
        tmp_path,
        [
            {
                "name": "khmer-daily",
                "url": url,
                "kind": "html",
                "link_selector": "h2 a",
                "next_page_selector": "a.next",
            }
        ],
    )

    done = newsmon("backfill", config=config)

    assert done.returncode == 0, done.stderr
    titles, deliveries = stored(tmp_path)
    assert len(titles) == 12
    assert deliveries == 0
    assert "[newsmon]" not in done.stdout
    assert summary_row(done.stdout, "khmer-daily") == [
        "khmer-daily",
        "3",
        "12",
        "0",
        "0",
        "0",
        "done",
    ]
    assert "page 3:" in done.stderr  # plain log lines when not on a terminal

    again = newsmon("backfill", config=config)  # a finished backfill starts over: all duplicates
    assert summary_row(again.stdout, "khmer-daily") == [
        "khmer-daily",
        "3",
        "0",
        "12",
        "0",
        "0",
        "done",
    ]


def test_backfill_with_alert_sends_one_digest_per_rule_and_channel_past_ten(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = listing_site(site)
    config = write_config(
        tmp_path,
        [
            {
                "name": "khmer-daily",
                "url": url,
                "kind": "html",
                "link_selector": "h2 a",
                "next_page_selector": "a.next",
            }
        ],
    )

    (summary,), sent = backfill(config, Window(alert=True))

    assert (summary.new, sent.sent, sent.failed) == (12, 12, 0)
    assert capsys.readouterr().out.count("[newsmon] mekong:") == 1  # one digest, not 12


def test_backfill_since_keeps_only_newer_articles_and_stops_paging(
    site: Site, tmp_path: Path
) -> None:
    url = listing_site(site, pages=4)
    config = write_config(
        tmp_path,
        [
            {
                "name": "khmer-daily",
                "url": url,
                "kind": "html",
                "link_selector": "h2 a",
                "next_page_selector": "a.next",
            }
        ],
    )

    # Page 1 holds Feb 25-28, page 2 Feb 21-24, page 3 Feb 17-20, page 4 Feb 13-16.
    (summary,), _ = backfill(config, Window(since=datetime(2024, 2, 23, tzinfo=UTC)))

    assert summary.error is None
    assert summary.skipped == 6
    titles, _ = stored(tmp_path)
    assert titles == ["Story 0", "Story 1", "Story 2", "Story 3", "Story 4", "Story 5"]
    assert site.hits("/news/page/3") == 1
    assert site.hits("/news/page/4") == 0  # page 3 was all older: no need for page 4


def test_an_interrupted_backfill_continues_where_it_stopped(site: Site, tmp_path: Path) -> None:
    url = listing_site(site)
    site.set("/news/page/2", "busy", status=503)
    config = write_config(
        tmp_path,
        [
            {
                "name": "khmer-daily",
                "url": url,
                "kind": "html",
                "link_selector": "h2 a",
                "next_page_selector": "a.next",
            }
        ],
    )

    (first,), _ = backfill(config)
    assert first.error == "fetch: khmer-daily: HTTP 503 Service Unavailable"
    assert not first.done

    listing_site(site)  # the server is back
    (second,), _ = backfill(config)
    assert second.done
    assert (second.pages, second.new) == (2, 8)
    assert site.hits("/news/") == 1  # page 1 was not read again
    assert site.hits("/news/page/3") == 1
    assert len(stored(tmp_path)[0]) == 12


def test_max_pages_pauses_and_the_next_run_goes_on(site: Site, tmp_path: Path) -> None:
    url = listing_site(site)
    config = write_config(
        tmp_path,
        [
            {
                "name": "khmer-daily",
                "url": url,
                "kind": "html",
                "link_selector": "h2 a",
                "next_page_selector": "a.next",
            }
        ],
    )
    (first,), _ = backfill(config, Window(max_pages=1))
    assert (first.pages, first.done, first.error) == (1, False, None)
    assert len(stored(tmp_path)[0]) == 4
    backfill(config)
    assert len(stored(tmp_path)[0]) == 12
    assert site.hits("/news/") == 1


def rss_page(items: list[tuple[str, str]], next_url: str | None = None) -> str:
    entries = "".join(
        f"<item><title>{title}</title><link>https://example.org/{title.replace(' ', '-')}</link>"
        f"<guid>{title}</guid><pubDate>{date}</pubDate>"
        "<description>Mekong news</description></item>"
        for title, date in items
    )
    nxt = f'<atom:link rel="next" href="{next_url}"/>' if next_url else ""
    return (
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>t</title>'
        f"{nxt}{entries}</channel></rss>"
    )


def test_paged_feeds_follow_rel_next_and_wordpress_paged(site: Site, tmp_path: Path) -> None:
    page2 = str(site.server.url_for("/atom/2"))
    atom = site.set(
        "/atom/1",
        rss_page([("A one", "Tue, 05 Mar 2024 06:30:00 GMT")], page2),
        "application/rss+xml",
    )
    site.set(
        "/atom/2", rss_page([("A two", "Mon, 04 Mar 2024 06:30:00 GMT")]), "application/rss+xml"
    )
    wp = site.set(
        "/wp/feed/", rss_page([("W one", "Tue, 05 Mar 2024 06:30:00 GMT")]), "application/rss+xml"
    )
    site.set(
        "/wp/feed/?paged=2",
        rss_page([("W two", "Mon, 04 Mar 2024 06:30:00 GMT")]),
        "application/rss+xml",
    )
    config = write_config(
        tmp_path, [{"name": "atom", "url": atom}, {"name": "wp", "url": wp, "kind": "feed"}]
    )

    summaries, _ = backfill(config)

    assert [(s.pages, s.error) for s in summaries] == [(2, None), (2, None)]  # the 404 is no page
    assert stored(tmp_path)[0] == ["A one", "A two", "W one", "W two"]
    assert site.hits("/wp/feed/?paged=3") == 1  # 404: the end


def test_sitemap_index_backfill_skips_children_outside_the_window(
    site: Site, tmp_path: Path
) -> None:
    for name, day in (("new", "2024-03-05"), ("old", "2023-01-05")):
        site.set(f"/p-{name}", article(f"Page {name}", "Mekong"))
        site.set(
            f"/map-{name}.xml",
            f"<urlset><url><loc>{site.server.url_for(f'/p-{name}')}</loc><lastmod>{day}</lastmod></url></urlset>",
            "application/xml",
        )
    index = site.set(
        "/index.xml",
        "<sitemapindex>"
        f"<sitemap><loc>{site.server.url_for('/map-new.xml')}</loc><lastmod>2024-03-05</lastmod></sitemap>"
        f"<sitemap><loc>{site.server.url_for('/map-old.xml')}</loc><lastmod>2023-01-05</lastmod></sitemap>"
        "</sitemapindex>",
        "application/xml",
    )
    config = write_config(tmp_path, [{"name": "maps", "url": index, "kind": "sitemap"}])

    backfill(config, Window(since=datetime(2024, 1, 1, tzinfo=UTC)))

    assert stored(tmp_path)[0] == ["Page new"]
    assert site.hits("/map-old.xml") == 0


def test_backfill_of_an_unknown_source_is_a_usage_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "real", "url": "https://example.org/feed"}])
    done = newsmon("backfill", "--source", "nope", config=config)
    assert done.returncode == 2
    assert "newsmon: backfill: unknown source 'nope' (known: real)" in done.stderr


@pytest.mark.parametrize(
    ("url", "page", "expected"),
    [
        ("https://example.org/feed/", 2, "https://example.org/feed/?paged=2"),
        ("https://example.org/?feed=rss2&paged=5", 3, "https://example.org/?feed=rss2&paged=3"),
    ],
)
def test_paged_url(url: str, page: int, expected: str) -> None:
    assert paged_url(url, page) == expected
