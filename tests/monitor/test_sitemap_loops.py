"""A sitemap index that lists itself, or the index it was reached from, is an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.pipeline.backfill import Window
from tests.helpers import newsmon
from tests.monitor.test_backfill import Site, backfill, write_config


@pytest.fixture
def site(httpserver: HTTPServer) -> Site:
    return Site(httpserver)


def index_of(*urls: str) -> str:
    return (
        "<sitemapindex>"
        + "".join(f"<sitemap><loc>{u}</loc></sitemap>" for u in urls)
        + ("</sitemapindex>")
    )


def test_poll_of_an_index_that_lists_itself_records_the_error(site: Site, tmp_path: Path) -> None:
    url = str(site.server.url_for("/index.xml"))
    site.set("/index.xml", index_of(url), "application/xml")
    config = write_config(tmp_path, [{"name": "maps", "url": url, "kind": "sitemap"}])

    polled = newsmon("run", "--once", config=config)
    listed = newsmon("sources", "--format", "json", config=config)

    message = f"sitemap: maps: sitemap index refers to itself: {url}"
    assert polled.returncode == 1
    assert message in polled.stderr
    [source] = json.loads(listed.stdout)
    assert source["last_error"] == message
    assert site.hits("/index.xml") == 1


def test_poll_of_an_index_whose_child_lists_it_records_the_error(
    site: Site, tmp_path: Path
) -> None:
    url = str(site.server.url_for("/index.xml"))
    child = site.set("/child.xml", index_of(url), "application/xml")
    site.set("/index.xml", index_of(child), "application/xml")
    config = write_config(tmp_path, [{"name": "maps", "url": url, "kind": "sitemap"}])

    polled = newsmon("run", "--once", config=config)
    listed = newsmon("sources", "--format", "json", config=config)

    message = f"sitemap: maps: sitemap index refers to itself: {url}"
    assert polled.returncode == 1
    assert message in polled.stderr
    [source] = json.loads(listed.stdout)
    assert source["last_error"] == message


def test_backfill_stops_at_an_index_loop_with_the_error(site: Site, tmp_path: Path) -> None:
    url = str(site.server.url_for("/index.xml"))
    child = site.set("/child.xml", index_of(url), "application/xml")
    site.set("/index.xml", index_of(child), "application/xml")
    config = write_config(tmp_path, [{"name": "maps", "url": url, "kind": "sitemap"}])

    [summary], _ = backfill(config, Window())

    assert summary.error == f"sitemap: maps: sitemap index refers to itself: {url}"
    assert site.hits("/index.xml") == 1
    assert site.hits("/child.xml") == 1
