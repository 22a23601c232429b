"""Polling html listing pages, sitemaps, full-text feeds and detected sources end to end.

Real HTTP server on 127.0.0.1, real SQLite store, the daemon's own poll path.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.config.load import load_config
from monitor.daemon.service import Daemon, fetch_limits
from monitor.fetch import Fetcher
from monitor.pipeline.collect import MAX_PAGES_PER_POLL
from monitor.pipeline.poll import PollReport
from notifiers import Channels
from storage import Store
from storage.types import ArticleRow
from tests.helpers import FeedServer, rss

STORY = (
    "Officials from Cambodia and Laos met on Tuesday to discuss the {topic}. "
    "The talks covered trade, fisheries and the planned hydropower projects on the river. "
    "Both delegations said they would meet again before the end of the year in Phnom Penh. "
)


def article(title: str, topic: str, *, published: str | None = None, canonical: str = "") -> str:
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    paragraphs = "".join(f"<p>{STORY.format(topic=topic)} Paragraph {i}.</p>" for i in range(4))
    return (
        f"<html><head><title>{title} | The Example Post</title>{meta}{link}</head><body>"
        "<nav><a href='/'>Home</a><a href='/sport'>Sport section</a></nav>"
        f"<h1>{title}</h1><article>{paragraphs}</article>"
        "<footer>Copyright The Example Post. All rights reserved.</footer></body></html>"
    )


@pytest.fixture
def web(httpserver: HTTPServer) -> FeedServer:
    return FeedServer(httpserver)


def poll(
    tmp_path: Path, sources: list[dict[str, object]], rules: list[dict[str, object]] | None = None
) -> tuple[list[PollReport], list[ArticleRow]]:
    config_path = tmp_path / "sources.yaml"
    config_path.write_text(json.dumps({"sources": sources, "rules": rules or []}))
    config = load_config(config_path, {})
    store = Store.open(f"sqlite:///{tmp_path / 'newsmon.db'}")

    async def run() -> list[PollReport]:
        async with Fetcher(fetch_limits(config)) as fetcher:
            daemon = Daemon(
                config, store, fetcher, Channels(config.channels, console=io.StringIO())
            )
            await daemon.sync_sources()
            return await daemon.poll_all()

    try:
        reports = asyncio.run(run())
        return reports, list(store.iter_articles())
    finally:
        store.close()


def test_html_source_reads_the_first_listing_page_and_extracts_each_new_article(
    web: FeedServer, tmp_path: Path
) -> None:
    web.set(
        "/a1",
        article("Mekong talks resume", "Mekong dams", published="2024-03-05T06:30:00Z"),
        "text/html",
    )
    web.set("/a2", article("Rice exports rise", "rice exports"), "text/html")
    web.set("/page/2", "<a class='story' href='/old'>Old</a>", "text/html")
    listing = web.set(
        "/news/",
        "<h2><a class='story' href='/a1?utm_source=home'>Read more</a></h2>"
        "<h2><a class='story' href='/a2'>Rice exports rise</a></h2>"
        "<a class='next' href='/page/2'>Older</a>",
        "text/html",
    )
    source = {
        "name": "listing",
        "url": listing,
        "kind": "html",
        "link_selector": "a.story",
        "next_page_selector": "a.next",
    }

    reports, articles = poll(tmp_path, [source])

    assert (reports[0].outcome, reports[0].items, reports[0].new) == ("ok", 2, 2)
    by_title = {a.title: a for a in articles}
    assert set(by_title) == {"Mekong talks resume", "Rice exports rise"}
    mekong = by_title["Mekong talks resume"]
    assert mekong.url == web.server.url_for("/a1")
    assert "discuss the Mekong dams" in mekong.body
    assert "Sport section" not in mekong.body
    assert "All rights reserved" not in mekong.body
    assert mekong.published_at is not None
    assert mekong.published_at.isoformat() == "2024-03-05T06:30:00+00:00"
    assert web.hits("/page/2") == []  # a normal poll reads only the first page

    # The next poll fetches only links it has not stored.
    web.set("/a3", article("Border market opens", "border market"), "text/html")
    web.set(
        "/news/",
        "<a class='story' href='/a3'>x</a><a class='story' href='/a2'>y</a>"
        "<a class='story' href='/a1'>z</a>",
        "text/html",
    )
    reports, articles = poll(tmp_path, [source])
    assert (reports[0].items, reports[0].new) == (3, 1)
    assert (len(web.hits("/a1")), len(web.hits("/a2")), len(web.hits("/a3"))) == (1, 1, 1)


def test_full_text_feed_fetches_each_new_items_page_and_keeps_the_feed_timestamp(
    web: FeedServer, tmp_path: Path
) -> None:
    web.set(
        "/story-1",
        article(
            "Teaser one",
            "customs reform",
            published="2024-01-01T00:00:00Z",
            canonical="/canonical/story-1",
        ),
        "text/html",
    )
    feed = web.set(
        "/feed.xml",
        rss(
            [
                {
                    "title": "Customs reform passes",
                    "link": web.server.url_for("/story-1"),
                    "guid": "s1",
                    "description": "A short teaser.",
                    "pubDate": "Tue, 05 Mar 2024 06:30:00 GMT",
                }
            ]
        ),
    )
    source = {"name": "teasers", "url": feed, "kind": "feed", "full_text": True}

    _, articles = poll(tmp_path, [source])
    (stored,) = articles
    assert "discuss the customs reform" in stored.body
    assert stored.summary == "A short teaser."
    assert stored.title == "Customs reform passes"
    assert stored.published_at is not None
    assert stored.published_at.isoformat() == "2024-03-05T06:30:00+00:00"
    assert stored.url == web.server.url_for("/canonical/story-1")

    poll(tmp_path, [source])
    assert len(web.hits("/story-1")) == 1  # stored items are not fetched again


def test_sitemap_index_with_a_gzipped_child_is_read_newest_first(
    web: FeedServer, tmp_path: Path
) -> None:
    news = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"<url><loc>{web.server.url_for('/s1')}</loc><news:news>"
        "<news:publication_date>2024-03-05T06:30:00+07:00</news:publication_date>"
        "<news:title>Port expansion approved</news:title></news:news></url></urlset>"
    )
    # Named .xml but gzipped: recognised by content.
    web.set("/child.xml", gzip.compress(news.encode()), "application/octet-stream")
    web.set("/s1", article("Something else", "port expansion"), "text/html")
    index = web.set(
        "/sitemap_index.xml",
        f"<sitemapindex><sitemap><loc>{web.server.url_for('/child.xml')}</loc>"
        "<lastmod>2024-03-05</lastmod></sitemap></sitemapindex>",
        "application/xml",
    )

    reports, articles = poll(tmp_path, [{"name": "maps", "url": index, "kind": "sitemap"}])

    assert reports[0].outcome == "ok"
    (stored,) = articles
    assert stored.title == "Port expansion approved"
    assert stored.published_at is not None
    assert stored.published_at.isoformat() == "2024-03-04T23:30:00+00:00"
    assert "discuss the port expansion" in stored.body


def test_homepage_advertising_its_feed_becomes_that_feed(web: FeedServer, tmp_path: Path) -> None:
    web.set(
        "/feed/", rss([{"title": "Advertised item", "link": "https://example.org/x", "guid": "x"}])
    )
    home = web.set(
        "/",
        '<html><head><link rel="alternate" type="application/rss+xml" href="/feed/"></head></html>',
        "text/html",
    )
    reports, articles = poll(tmp_path, [{"name": "home", "url": home}])
    assert reports[0].outcome == "ok"
    assert [a.title for a in articles] == ["Advertised item"]


def test_homepage_without_a_feed_is_an_error_that_says_what_to_do(
    web: FeedServer, tmp_path: Path
) -> None:
    home = web.set("/", "<html><head><title>Home</title></head><body>Hi</body></html>", "text/html")
    reports, _ = poll(tmp_path, [{"name": "home", "url": home}])
    assert reports[0].error == (
        f"parse: home: {home} is an HTML page that advertises no feed "
        "(set kind: html and link_selector to read it as a listing page)"
    )


def test_detected_sitemap_and_feed_need_no_kind(web: FeedServer, tmp_path: Path) -> None:
    web.set("/p", article("Detected page", "detection"), "text/html")
    sitemap = web.set(
        "/sitemap.xml",
        f"<urlset><url><loc>{web.server.url_for('/p')}</loc></url></urlset>",
        "text/xml",
    )
    reports, articles = poll(tmp_path, [{"name": "auto", "url": sitemap}])
    assert reports[0].outcome == "ok"
    assert [a.title for a in articles] == ["Detected page"]


def test_real_corpus_pages_served_as_listing_articles(
    web: FeedServer, tmp_path: Path, corpus: Path
) -> None:
    ids = ["aeb-c00962aabe7b", "aeb-ba07d1e64775"]
    links = ""
    for page_id in ids:
        web.set(f"/{page_id}", (corpus / "articles" / f"{page_id}.html").read_bytes(), "text/html")
        links += f"<a class='s' href='/{page_id}'>{page_id}</a>"
    listing = web.set("/list", links, "text/html")
    reports, articles = poll(
        tmp_path, [{"name": "real", "url": listing, "kind": "html", "link_selector": "a.s"}]
    )
    assert reports[0].new == 2
    for stored in articles:
        truth = json.loads(
            (corpus / "articles" / f"{stored.guid.rsplit('/', 1)[1]}.json").read_text()
        )
        words = truth["body_text"].split()
        assert " ".join(words[:12]) in " ".join(stored.body.split())


def test_sitemap_lastmod_does_not_replace_the_date_the_page_states(
    web: FeedServer, tmp_path: Path
) -> None:
    web.set(
        "/dated",
        article("Dated story", "dated story", published="2024-03-05T06:30:00Z"),
        "text/html",
    )
    web.set("/undated", article("Undated story", "undated story"), "text/html")
    # lastmod moves with every edit or comment; only news:publication_date is a date.
    sitemap = web.set(
        "/sitemap.xml",
        f"<urlset><url><loc>{web.server.url_for('/dated')}</loc>"
        "<lastmod>2024-06-01T12:00:00Z</lastmod></url>"
        f"<url><loc>{web.server.url_for('/undated')}</loc>"
        "<lastmod>2024-06-02T12:00:00Z</lastmod></url></urlset>",
        "application/xml",
    )

    _, articles = poll(tmp_path, [{"name": "maps", "url": sitemap, "kind": "sitemap"}])

    dates = {a.title: a.published_at and a.published_at.isoformat() for a in articles}
    assert dates == {
        "Dated story": "2024-03-05T06:30:00+00:00",
        "Undated story": "2024-06-02T12:00:00+00:00",
    }


def test_full_text_feed_holds_items_beyond_the_page_cap_for_the_next_poll(
    web: FeedServer, tmp_path: Path
) -> None:
    count = MAX_PAGES_PER_POLL + 2
    entries = []
    for n in range(count):
        web.set(f"/s{n}", article(f"Story {n}", f"topic {n}"), "text/html")
        day = 1 + n % 28
        entries.append(
            {
                "title": f"Story {n}",
                "link": web.server.url_for(f"/s{n}"),
                "guid": f"s{n}",
                "description": "Teaser only.",
                "pubDate": f"{day:02d} Mar 2024 {n // 28:02d}:00:00 GMT",
            }
        )
    feed = web.set("/feed.xml", rss(entries))
    source = {"name": "teasers", "url": feed, "kind": "feed", "full_text": True}

    [report], articles = poll(tmp_path, [source])
    assert (report.items, report.new, report.window_overflow) == (count, MAX_PAGES_PER_POLL, True)
    # The oldest two wait (not stored teaser-only) ...
    stored = {a.url.rsplit("/", 1)[1] for a in articles}
    assert stored == {f"s{n}" for n in range(count)} - {"s0", "s28"}
    assert all("discuss the topic" in a.body for a in articles)

    # ... and the next poll fetches their pages.
    [report], articles = poll(tmp_path, [source])
    assert (report.new, report.window_overflow) == (2, False)
    assert len(articles) == count
    assert [a.body[:40] for a in articles if "discuss the topic" not in a.body] == []


def test_alert_snippet_does_not_repeat_the_headline(web: FeedServer, tmp_path: Path) -> None:
    page = article("Story about Cambodia", "Mekong dams").replace(
        "<h1>Story about Cambodia</h1><article>", "<article><h1>Story about Cambodia</h1>"
    )
    web.set("/p", page, "text/html")
    sitemap = web.set(
        "/sitemap.xml",
        f"<urlset><url><loc>{web.server.url_for('/p')}</loc></url></urlset>",
        "application/xml",
    )

    _, [stored] = poll(
        tmp_path,
        [{"name": "maps", "url": sitemap, "kind": "sitemap"}],
        rules=[{"name": "cambodia", "keywords": ["Cambodia"]}],
    )

    assert stored.title == "Story about Cambodia"
    assert stored.body.startswith("Officials from Cambodia")
    store = Store.open(f"sqlite:///{tmp_path / 'newsmon.db'}")
    try:
        [delivery] = store.claim_deliveries(datetime.now(UTC))
    finally:
        store.close()
    assert delivery.snippet.count("Story about Cambodia") == 1
