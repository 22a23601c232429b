"""How `newsmon search` counts what its limit cut: the index counts the queries it can
answer alone, the rules' evaluator the others, and both give the evaluator's number."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from monitor.cli.search import find
from monitor.match.query import parse_query
from monitor.pipeline.archive import Searcher, index_clauses
from storage import Store
from tests.storage.builders import add_sources, article, quiet

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """12 ASEAN stories on wire (4 also about Russia, 3 in the summary only), 5 on Russia
    alone on desk, and 2 on Cambodia_news (one word to the evaluator, two to the index)."""
    store = Store.open(db_url)
    ids = add_sources(store, "wire", "desk")
    wire = [
        article(
            f"asean-{i}",
            title=f"ASEAN story {i}" + (" with Russia" if i < 4 else ""),
            published_at=NOW - timedelta(hours=i),
        )
        for i in range(9)
    ] + [
        article(
            f"summary-{i}",
            title=f"Regional story {i}",
            summary="Ministers of ASEAN meet.",
            published_at=NOW - timedelta(days=10 + i),
        )
        for i in range(3)
    ]
    desk = [
        article(f"russia-{i}", title=f"Russia story {i}", published_at=NOW - timedelta(hours=i))
        for i in range(5)
    ] + [article(f"snake-{i}", title=f"Cambodia_news {i}", published_at=NOW) for i in range(2)]
    store.ingest(ids["wire"], quiet(wire), NOW)
    store.ingest(ids["desk"], quiet(desk), NOW)
    yield store
    store.close()


@pytest.mark.parametrize(
    ("query", "clauses"),
    [
        ("ASEAN", [(("ASEAN",), ())]),
        ('Russia* "Phnom Penh"', [(("Russia*", "Phnom Penh"), ())]),
        ("a OR (b c)", [(("a",), ()), (("b", "c"), ())]),
        ("(a OR b) c -d", [(("a", "c"), ("d",)), (("b", "c"), ("d",))]),
        ("a -b NOT c", [(("a",), ("b", "c"))]),
        ("(a -b) OR c", [(("a",), ("b",)), (("c",), ())]),
        ("ＡＳＥＡＮ", [(("ASEAN",), ())]),  # NFKC, as the index holds the text
        ("title:a", None),  # a field: the index holds every field as one text
        ("a -title:b", None),
        ("a -(b c)", None),  # NOT of more than a word
        ("NOT a", None),  # nothing beside the NOT
        ("a NEAR/3 b", None),
        ("a OR url:x", None),
        ("កម្ពុជា", None),  # spaceless: not in the index as a word
    ],
)
def test_index_clauses_are_the_query_as_the_index_answers_it_alone(
    query: str, clauses: list[tuple[tuple[str, ...], tuple[str, ...]]] | None
) -> None:
    assert index_clauses(parse_query(query)) == clauses


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ASEAN", 12),  # counted by the index, summaries too
        ("ASEAN -Russia", 8),  # the index's NOT
        ("ASEAN OR Russia", 17),
        ("Russia* NOT ASEAN", 5),
        ("title:ASEAN", 9),  # a field: counted by the evaluator
        ("ASEAN NEAR/1 Russia", 0),
        ("NOT ASEAN", 7),
    ],
)
def test_count_is_the_number_of_matches(store: Store, query: str, expected: int) -> None:
    searcher = Searcher(store, query)
    assert len(searcher.rows(limit=100)) == expected
    assert searcher.count(cap=100) == expected
    assert searcher.count(cap=3) == min(expected, 3)


@pytest.mark.parametrize("query", ["ASEAN OR Russia", "Russia* OR ASEAN -Zanzibar"])
def test_count_applies_since_and_source(store: Store, query: str) -> None:
    searcher = Searcher(store, query)
    assert searcher.count(source="desk") == 5
    assert searcher.count(source=["wire"], since=NOW - timedelta(days=1)) == 9
    assert searcher.count(source="nobody") == 0


def test_count_of_words_alone_is_the_candidates_the_rows_read(store: Store) -> None:
    searcher = Searcher(store, "ASEAN")
    assert searcher.count(since=NOW - timedelta(days=1)) == 9  # before any rows: a COUNT
    assert len(searcher.rows(limit=2, source="wire")) == 2  # reads every candidate id
    assert searcher.count(source="wire") == 12
    assert searcher.count(source="wire", cap=5) == 5


def test_the_index_counts_text_the_evaluator_tokenises_apart(store: Store) -> None:
    # "Cambodia_news" is one word to the rules and two to the index: the search finds
    # nothing, and the index's count of a cut result would hold them (documented).
    assert Searcher(store, "Cambodia").rows() == []
    assert Searcher(store, "Cambodia").count() == 2


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("ASEAN", "first 2 of 12 results (--limit to see more)"),
        ("ASEAN -Russia", "first 2 of 8 results (--limit to see more)"),
        ("title:ASEAN", "first 2 of 9 results (--limit to see more)"),
        ("Russia", "first 2 of 9 results (--limit to see more)"),
        ("Cambodia_news", "2 results"),
    ],
)
def test_search_cut_by_its_limit_counts_every_match(store: Store, query: str, title: str) -> None:
    found = find(store, query, since=None, names=None, limit=2, collapse=False)
    assert found.title == title
    assert len(found.docs) == 2


def test_search_results_are_the_newest_with_snippets_and_outlets(store: Store) -> None:
    found = find(store, "Russia", since=None, names=None, limit=3, collapse=False)
    assert [doc["title"] for doc in found.docs] == [
        "Russia story 0",  # as new as the next, stored later
        "ASEAN story 0 with Russia",
        "Russia story 1",
    ]
    assert all("«Russia»" in doc["snippet"] for doc in found.docs)
    assert all(doc["outlets"] for doc in found.docs)


def test_store_search_ids_and_articles_keep_the_newest_first_order(store: Store) -> None:
    ids = store.search_ids(["russia"], limit=4)
    assert [row.id for row in store.articles(ids)] == ids
    assert [row.id for row in store.search(["russia"], limit=4)] == ids
    assert store.articles([ids[1], 10_000, ids[0]]) == store.articles([ids[1], ids[0]])
