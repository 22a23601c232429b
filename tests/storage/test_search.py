"""Full-text search, deferred body indexing, pruning and the export stream."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import ArticleRow, Store
from tests.storage.builders import NOW, add_sources, article, quiet

DAY = timedelta(days=1)


@pytest.fixture
def news(store: Store) -> Store:
    ids = add_sources(store, "fresh-news", "khmer-daily")
    store.ingest(
        ids["fresh-news"],
        quiet(
            [
                article(
                    "1",
                    title="ASEAN summit opens",
                    summary="Russia sends envoy",
                    published_at=NOW - 3 * DAY,
                ),
                article(
                    "2",
                    title="Russia-ASEAN trade talks",
                    summary="In Phnom Pénh",
                    published_at=NOW - DAY,
                ),
                article("3", title="ASEAN football final", summary="Cambodia wins"),
                article(
                    "4",
                    title="Rice prices",
                    summary="Exports rise",
                    body="Russian buyers",
                    published_at=NOW - 2 * DAY,
                ),
            ]
        ),
        NOW,
    )
    store.ingest(ids["khmer-daily"], quiet([article("1", guid="k1")]), NOW)
    return store


def titles(rows: list[ArticleRow]) -> list[str]:
    return [row.title for row in rows]


def test_every_word_must_appear(news: Store) -> None:
    assert titles(news.search(["asean", "RUSSIA"])) == [
        "Russia-ASEAN trade talks",
        "ASEAN summit opens",
    ]


def test_results_are_newest_first_by_published_or_fetched_time(news: Store) -> None:
    assert titles(news.search(["asean"])) == [
        "ASEAN football final",  # no published_at: fetched NOW
        "Russia-ASEAN trade talks",
        "ASEAN summit opens",
    ]


def test_since_and_source_narrow_the_results(news: Store) -> None:
    assert titles(news.search(["asean"], since=NOW - 2 * DAY)) == [
        "ASEAN football final",
        "Russia-ASEAN trade talks",
    ]
    # khmer-daily carried story 1 too (a sighting), so it counts as its source.
    assert titles(news.search(["asean"], source="khmer-daily")) == ["ASEAN summit opens"]
    assert news.search(["asean"], source="nobody") == []
    assert titles(news.search(["asean"], limit=1)) == ["ASEAN football final"]


def test_phrases_prefixes_and_diacritics(news: Store) -> None:
    assert titles(news.search(["phnom penh"])) == ["Russia-ASEAN trade talks"]
    assert news.search(["penh phnom"]) == []  # a phrase keeps its word order
    assert titles(news.search(["summ*"])) == ["ASEAN summit opens"]
    assert news.search(["summ"]) == []  # whole words only


@pytest.mark.parametrize(
    "word",
    ['"', "asean OR", "NOT asean", "asean)", "title:asean", "'", "asean\\", "*", "NEAR(asean"],
)
def test_query_syntax_in_words_is_never_interpreted(news: Store, word: str) -> None:
    news.search([word])  # no syntax error, whatever it finds


def test_operators_are_matched_as_plain_words(news: Store) -> None:
    assert news.search(["asean", "OR"]) == []
    assert news.search(["NOT"]) == []


def test_no_words_lists_the_newest_articles(news: Store) -> None:
    assert titles(news.search([], limit=2)) == ["ASEAN football final", "Russia-ASEAN trade talks"]


def test_bodies_become_searchable_in_a_deferred_batch(news: Store) -> None:
    assert news.search(["buyers"]) == []
    assert news.index_bodies(limit=3) == 3
    assert news.index_bodies() == 1
    assert news.index_bodies() == 0
    assert titles(news.search(["buyers"])) == ["Rice prices"]


def test_an_update_replaces_the_indexed_text(store: Store) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]
    store.ingest(src, quiet([article("a", title="Draft headline", body="draftbody")]), NOW)
    store.index_bodies()
    edited = article("a", title="Final headline", body="finalbody", content_hash="v2")
    store.ingest(src, quiet([edited]), NOW + DAY)
    assert store.search(["draft"]) == []
    assert titles(store.search(["final", "headline"])) == ["Final headline"]
    store.index_bodies()
    assert store.search(["draftbody"]) == []
    assert titles(store.search(["finalbody"])) == ["Final headline"]


def test_pruned_bodies_leave_a_tombstone_that_is_not_re_ingested(store: Store) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]
    store.ingest(src, quiet([article("old", body="oldbody")]), NOW - 400 * DAY)
    store.ingest(src, quiet([article("new", body="newbody")]), NOW)
    store.index_bodies()

    assert store.prune_bodies(NOW - 365 * DAY) == 1
    assert store.prune_bodies(NOW - 365 * DAY) == 0
    assert store.search(["oldbody"]) == []
    assert titles(store.search(["story"])) == ["Story new", "Story old"]  # titles stay
    again = store.ingest(src, quiet([article("old", body="oldbody")]), NOW)
    assert (again.new, again.duplicates) == ([], 1)
    assert [a.body for a in store.iter_articles()] == ["", "newbody"]


def test_iter_articles_streams_by_id_in_pages(news: Store) -> None:
    assert [a.guid for a in news.iter_articles(batch=3)] == [f"guid-{n}" for n in "1234"]
    assert [a.guid for a in news.iter_articles(batch=1)] == [f"guid-{n}" for n in "1234"]
    assert [a.guid for a in news.iter_articles(since=NOW - DAY)] == ["guid-2", "guid-3"]


def test_full_width_letters_and_ligatures_are_indexed_as_nfkc(store: Store) -> None:
    source = add_sources(store, "wire")["wire"]
    store.ingest(
        source,
        quiet([article("fw", title="ＡＳＥＡＮ summit", summary="", body="ﬁnance ministers meet")]),
        NOW,
    )
    while store.index_bodies():
        pass
    assert [a.title for a in store.search(["ASEAN"], since=None, source=None, limit=5)] == [
        "ＡＳＥＡＮ summit"
    ]
    assert [a.title for a in store.search(["finance"], since=None, source=None, limit=5)] == [
        "ＡＳＥＡＮ summit"
    ]
