"""`newsmon check --fetch`: every source kind fetched once, items counted, nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.helpers import FeedServer, newsmon, rss

SITEMAP = (
    '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    "<url><loc>https://e.org/a</loc></url><url><loc>https://e.org/b</loc></url>"
    "<url><loc>https://e.org/c</loc></url></urlset>"
)


def test_check_fetch_counts_items_of_every_kind_and_stores_nothing(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    web = FeedServer(httpserver)
    feed = web.set("/feed.xml", rss([{"title": "One", "link": "https://e.org/1"}]))
    listing = web.set(
        "/news/",
        "<html><body><h2><a href='/a1'>A</a></h2><h2><a href='/a2'>B</a></h2></body></html>",
        ctype="text/html",
    )
    home = web.set(
        "/",
        f'<html><head><link rel="alternate" type="application/rss+xml" href="{feed}">'
        "</head><body>Home</body></html>",
        ctype="text/html",
    )
    sitemap = web.set("/sitemap.xml", SITEMAP, ctype="application/xml")
    broken = web.set("/gone.xml", "gone", ctype="text/plain", status=404)
    config = tmp_path / "sources.yaml"
    config.write_text(
        "sources:\n"
        f"  - {{name: wire, url: '{feed}'}}\n"
        f"  - {{name: listing, url: '{listing}', kind: html, link_selector: 'h2 a'}}\n"
        f"  - {{name: home, url: '{home}'}}\n"
        f"  - {{name: map, url: '{sitemap}'}}\n"
        f"  - {{name: gone, url: '{broken}'}}\n"
    )

    result = newsmon("check", "--fetch", "--format", "json", config=config)

    assert result.returncode == 1  # one source failed
    rows = {r["source"]: r for r in json.loads(result.stdout)}
    assert (rows["wire"]["status"], rows["wire"]["kind"], rows["wire"]["items"]) == (
        "ok",
        "feed",
        1,
    )
    assert (rows["listing"]["kind"], rows["listing"]["items"]) == ("html", 2)
    assert (rows["home"]["kind"], rows["home"]["items"]) == ("feed", 1)
    assert rows["home"]["note"] == f"advertises {feed}"
    assert (rows["map"]["kind"], rows["map"]["items"]) == ("sitemap", 3)
    assert rows["gone"]["status"] == "error"
    assert rows["gone"]["error"] == "fetch: gone: HTTP 404 Not Found"
    assert not (tmp_path / "newsmon.db").exists()


def test_check_fetch_of_a_sitemap_index_counts_the_urls_of_its_newest_children(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    web = FeedServer(httpserver)
    children = ""
    for n, day in enumerate((1, 4, 3, 2)):
        urls = "".join(f"<url><loc>https://e.org/{n}/{i}</loc></url>" for i in range(n + 1))
        child = web.set(f"/map-{n}.xml", f"<urlset>{urls}</urlset>", ctype="application/xml")
        children += f"<sitemap><loc>{child}</loc><lastmod>2024-03-0{day}</lastmod></sitemap>"
    index = web.set(
        "/index.xml", f"<sitemapindex>{children}</sitemapindex>", ctype="application/xml"
    )
    config = tmp_path / "sources.yaml"
    config.write_text(f"sources:\n  - {{name: map, url: '{index}'}}\n")

    result = newsmon("check", "--fetch", "--format", "json", config=config)

    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)
    # The three newest children (map-1, map-2, map-3) hold 2 + 3 + 4 URLs; map-0 is not read.
    assert (row["kind"], row["items"]) == ("sitemap", 9)
    assert row["note"] == (
        "index of 4 sitemaps; read the newest: "
        f"{web.server.url_for('/map-1.xml')} (2 URLs), "
        f"{web.server.url_for('/map-2.xml')} (3 URLs), "
        f"{web.server.url_for('/map-3.xml')} (4 URLs)"
    )
    assert web.hits("/map-0.xml") == []
