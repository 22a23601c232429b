"""The source-kind registry: every kind config accepts has one object, and one way to pick it."""

from __future__ import annotations

import asyncio
import io
import typing
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.config.models import SourceConfig
from monitor.daemon.service import Daemon, fetch_limits
from monitor.fetch import Fetcher
from monitor.pipeline.kinds import KINDS, pick_kind
from notifiers import Channels
from storage import Store

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
URLSET = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>'
PAGE = b"<!doctype html><html><head><title>p</title></head><body></body></html>"
JUNK = b"\x00\x01 not a document"


def config_kinds() -> set[str]:
    """The names `SourceConfig.kind` accepts (a Literal, optional)."""
    annotation = SourceConfig.model_fields["kind"].annotation
    [literal] = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return set(typing.get_args(literal))


def test_the_registry_names_exactly_the_kinds_config_accepts() -> None:
    assert set(KINDS) == config_kinds()
    assert all(kind.name == name for name, kind in KINDS.items())


@pytest.mark.parametrize(
    ("body", "content_type", "kind", "link_selector", "picked"),
    [
        (RSS, None, None, False, "feed"),
        (URLSET, None, None, False, "sitemap"),
        (PAGE, "text/html", None, True, "html"),
        (PAGE, "text/html", None, False, "advertised"),
        (JUNK, "text/html", None, False, "advertised"),  # labelled HTML: look for a feed
        (JUNK, "application/octet-stream", None, False, "unknown"),
        (RSS, None, "sitemap", False, "sitemap"),  # the configured kind wins
        (PAGE, "text/html", "html", True, "html"),
    ],
)
def test_a_document_is_read_as_the_configured_or_detected_kind(
    body: bytes, content_type: str | None, kind: str | None, link_selector: bool, picked: str
) -> None:
    assert pick_kind(body, content_type, kind, link_selector=link_selector) == picked


def test_the_daemon_keeps_one_extraction_pool_across_reloads(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - {name: a, url: 'https://example.org/feed.xml'}\n")
    config = load_config(path, {})
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")

    async def reload() -> tuple[object, object, object]:
        async with Fetcher(fetch_limits(config)) as fetcher:
            channels = Channels({}, console=io.StringIO())
            daemon = Daemon(config, store, fetcher, channels)
            before = daemon.ctx.extractor
            await daemon.reload(load_config(path, {}), channels)
            return daemon.extractor, before, daemon.ctx.extractor

    try:
        own, before, after = asyncio.run(reload())
        assert own is before is after
    finally:
        store.close()
