"""Tuning one source: check --fetch SOURCE, run --once --source, kinds, pause/resume, headers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage import Store
from tests.helpers import FeedServer, newsmon, rss

COOKIE = "session=SECRET-cookie-4711"


def page(title: str) -> str:
    text = " ".join([f"{title}: the ministers met in Phnom Penh and talked about trade."] * 8)
    return (
        f"<html><head><title>{title}</title></head>"
        f"<body><article><h1>{title}</h1><p>{text}</p></article></body></html>"
    )


def listing(feeds: FeedServer, paths: list[str]) -> str:
    links = "".join(f"<h2 class='title'><a href='{p}'>Read more</a></h2>" for p in paths)
    nav = "<nav><a href='/about'>About</a></nav>"
    return feeds.set("/news/", f"<html><body>{nav}{links}</body></html>", ctype="text/html")


def sources_json(config: Path, env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    result = newsmon("sources", "--format", "json", config=config, env=env)
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_check_fetch_of_one_source_shows_the_links_its_selector_matched_and_which_pages_fetched(
    tmp_path: Path, feeds: FeedServer
) -> None:
    url = listing(feeds, ["/a1", "/a2", "/gone"])
    feeds.set("/a1", page("First story"), ctype="text/html")
    feeds.set("/a2", page("Second story"), ctype="text/html")
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"sources:\n  - name: listing\n    url: {url}\n    kind: html\n"
        "    link_selector: 'h2.title a'\n"
    )

    table = newsmon("check", "--fetch", "listing", config=config)

    assert table.returncode == 0, table.stderr
    assert "3 article links from link_selector 'h2.title a'; pages fetched:" in table.stdout
    assert f"ok   {feeds.server.url_for('/a1')}  First story" in table.stdout
    assert f"FAIL {feeds.server.url_for('/gone')}  fetch: listing: HTTP 404" in table.stdout
    assert "/about" not in table.stdout  # the selector left the navigation out
    as_json = newsmon("check", "--fetch", "listing", "--format", "json", config=config)
    [row] = json.loads(as_json.stdout)
    assert (row["status"], row["kind"], row["items"]) == ("ok", "html", 3)
    assert "2 of 3 article pages fetched" in row["note"]
    assert [p["ok"] for p in row["pages"]] == [True, True, False]
    assert not (tmp_path / "newsmon.db").exists()  # nothing stored


def test_check_fetch_of_a_sitemap_whose_pages_all_fail_is_an_error_not_ok(
    tmp_path: Path, feeds: FeedServer
) -> None:
    urls = "".join(f"<url><loc>{feeds.server.url_for(f'/p{i}')}</loc></url>" for i in range(74))
    url = feeds.set("/sitemap.xml", f"<urlset>{urls}</urlset>", ctype="application/xml")
    config = tmp_path / "sources.yaml"
    config.write_text(f"sources:\n  - name: map\n    url: {url}\n")

    result = newsmon("check", "--fetch", "map", "--format", "json", config=config)

    assert result.returncode == 1
    [row] = json.loads(result.stdout)
    assert row["status"] == "error"
    assert row["error"].startswith(
        "0 of 30 article pages fetched (the newest 30 of 74): fetch: map: HTTP 404 Not Found (e.g. "
    )


def test_check_and_run_of_an_unknown_source_exit_2_with_did_you_mean(
    tmp_path: Path, feeds: FeedServer
) -> None:
    url = feeds.set("/feed.xml", rss([]))
    config = tmp_path / "sources.yaml"
    config.write_text(f"sources:\n  - name: fresh-news\n    url: {url}\n")
    for args in (("check", "--fetch", "fresh-nwes"), ("run", "--once", "--source", "fresh-nwes")):
        result = newsmon(*args, config=config)
        assert result.returncode == 2, args
        assert "unknown source 'fresh-nwes' (did you mean 'fresh-news'?" in result.stderr
    assert feeds.hits("/feed.xml") == []


def test_run_once_source_polls_only_the_named_sources_and_sources_shows_the_detected_kind(
    tmp_path: Path, feeds: FeedServer
) -> None:
    one = feeds.set("/one.xml", rss([{"title": "One", "link": "https://e.org/1", "guid": "1"}]))
    two = feeds.set("/two.xml", rss([{"title": "Two", "link": "https://e.org/2", "guid": "2"}]))
    three = feeds.set("/three.xml", rss([]))
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"sources:\n  - {{name: one, url: '{one}'}}\n  - {{name: two, url: '{two}'}}\n"
        f"  - {{name: three, url: '{three}'}}\n"
    )

    result = newsmon("run", "--once", "--source", "one", "--source", "three", config=config)

    assert result.returncode == 0, result.stderr
    assert (len(feeds.hits("/one.xml")), len(feeds.hits("/two.xml"))) == (1, 0)
    assert len(feeds.hits("/three.xml")) == 1
    rows = sources_json(config)
    assert (rows["one"]["kind"], rows["three"]["kind"]) == ("feed", "feed")  # detected
    assert rows["two"]["kind"] is None  # not polled yet: nothing detected
    table = newsmon("sources", config=config)
    assert "kind" in table.stdout
    assert "feed" in table.stdout


def test_a_paused_source_is_not_polled_until_resumed(tmp_path: Path, feeds: FeedServer) -> None:
    url = feeds.set("/feed.xml", rss([{"title": "One", "link": "https://e.org/1", "guid": "1"}]))
    config = tmp_path / "sources.yaml"
    config.write_text(f"sources:\n  - name: wire\n    url: {url}\n")

    paused = newsmon("sources", "pause", "wire", config=config)
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout == "paused wire\n"
    assert sources_json(config)["wire"]["status"] == "paused"
    skipped = newsmon("run", "--once", config=config)
    assert "skipped wire: paused (newsmon sources resume wire)" in skipped.stderr
    assert feeds.hits("/feed.xml") == []
    # The daemon does not claim it either, however overdue.
    store = Store.open(f"sqlite:///{tmp_path / 'newsmon.db'}")
    try:
        assert store.claim_due_sources(datetime(2099, 1, 1, tzinfo=UTC)) == []
    finally:
        store.close()
    assert newsmon("sources", "pause", "wrie", config=config).returncode == 2

    resumed = newsmon("sources", "resume", "wire", config=config)
    assert resumed.stdout == "resumed wire\n"
    assert newsmon("run", "--once", config=config).returncode == 0
    assert len(feeds.hits("/feed.xml")) == 1
    assert sources_json(config)["wire"]["status"] == "ok"


def test_a_sources_headers_reach_its_feed_and_pages_on_its_host_only_and_never_show(
    tmp_path: Path, feeds: FeedServer
) -> None:
    home = feeds.server.url_for("/story")  # the source's own host (localhost)
    other = feeds.server.url_for("/elsewhere").replace("localhost", "127.0.0.1")
    urls = f"<url><loc>{home}</loc></url><url><loc>{other}</loc></url>"
    url = feeds.set("/sitemap.xml", f"<urlset>{urls}</urlset>", ctype="application/xml")
    feeds.set("/story", page("Home story"), ctype="text/html")
    feeds.set("/elsewhere", page("Other story"), ctype="text/html")
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"sources:\n  - name: members\n    url: {url}\n    kind: sitemap\n"
        '    headers: {Cookie: "${FN_COOKIE}", X-Client: newsmon-test}\n'
    )
    env = {"FN_COOKIE": COOKIE}

    result = newsmon("-v", "run", "--once", config=config, env=env)

    assert result.returncode == 0, result.stderr
    [feed_hit] = feeds.hits("/sitemap.xml")
    assert (feed_hit.get("Cookie"), feed_hit.get("X-Client")) == (COOKIE, "newsmon-test")
    [page_hit] = feeds.hits("/story")
    assert page_hit.get("Cookie") == COOKIE
    [other_hit] = feeds.hits("/elsewhere")
    assert "Cookie" not in other_hit
    assert "X-Client" not in other_hit
    checked = newsmon("check", "--fetch", "members", config=config, env=env)
    assert checked.returncode == 0, checked.stderr
    assert feeds.hits("/sitemap.xml")[-1].get("Cookie") == COOKIE
    for output in (result.stdout, result.stderr, checked.stdout, checked.stderr):
        assert "SECRET-cookie" not in output


def test_a_bad_header_is_a_config_error_with_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(
        "sources:\n  - name: wire\n    url: https://e.org/feed.xml\n"
        "    headers: {'Bad Header': x}\n"
    )
    result = newsmon("check", config=config)
    assert result.returncode == 2
    assert f"{config}:4: sources[0].headers: " in result.stderr
    assert "invalid header name 'Bad Header'" in result.stderr
