"""Properties of identity: one article per distinct entry of a poll; stable canonical URLs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.normalize.clean import canonical_url
from monitor.pipeline.articles import articles_from_entries
from monitor.sources.feed import parse_feed
from storage import SourceSpec, Store
from tests.helpers import rss
from tests.storage.builders import quiet

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
FEED_URL = "https://feed.example.org/rss.xml"
_names = itertools.count()

links = st.builds(
    lambda page, fragment, tracking: (
        f"https://Blog.example.org/2024/03/{page}.html"
        + (f"?utm_source={tracking}" if tracking else "")
        + (f"#{fragment}" if fragment else "")
    ),
    st.integers(1, 4),
    st.sampled_from(["", "a1", "a2", "a3", "top"]),
    st.sampled_from(["", "rss", "mail"]),
)
items = st.lists(
    st.tuples(st.one_of(st.none(), st.sampled_from(["g1", "g2", "g3", "g4", "g5", "g6"])), links),
    max_size=12,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("identity") / "newsmon.db"
    store = Store.open(f"sqlite:///{path}")
    yield store
    store.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(items)
def test_one_poll_stores_an_article_per_distinct_guid_or_link(
    store: Store, feed_items: list[tuple[str | None, str]]
) -> None:
    name = f"feed-{next(_names)}"
    # A host of its own: earlier examples' articles are other sources' copies.
    feed_items = [(guid, link.replace("Blog.", f"{name}.")) for guid, link in feed_items]
    store.sync_sources([SourceSpec(name, FEED_URL, "feed", 600)], NOW)
    [source_id] = store.source_ids([name]).values()
    xml = rss(
        [
            {"title": f"Post {n}", "link": link, "description": "text"}
            | ({"guid": guid} if guid else {})
            for n, (guid, link) in enumerate(feed_items)
        ]
    )
    feed = parse_feed(xml.encode(), url=FEED_URL, headers={})
    articles = articles_from_entries(feed.entries, source=name, feed_url=FEED_URL)

    result = store.ingest(source_id, quiet(articles), NOW)

    expected = {guid or link for guid, link in feed_items}
    assert len(result.new) == len(expected)
    with store.engine.connect() as conn:
        stored = conn.scalar(
            sa.select(sa.func.count())
            .select_from(sa.table("article", sa.column("source_id")))
            .where(sa.column("source_id") == source_id)
        )
    assert stored == len(expected)


@given(st.text())
def test_canonical_url_never_raises_and_is_idempotent(text: str) -> None:
    once = canonical_url(text)
    assert canonical_url(once) == once
    kept = canonical_url(text, keep_fragment=True)
    assert canonical_url(kept, keep_fragment=True) == kept


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40), links)
def test_canonical_url_of_any_relative_text_is_idempotent(text: str, base: str) -> None:
    once = canonical_url(text, base=base)
    assert canonical_url(once) == once
