"""Search and rematch over a real store (SQLite and PostgreSQL): index candidates, exact filter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monitor.match.query import parse_query
from monitor.match.rules import RuleSpec, compile_rules
from monitor.pipeline.archive import candidate_clauses, rematch, search
from storage import Store
from tests.storage.builders import add_sources, article, quiet

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store.open(db_url)
    ids = add_sources(store, "wire", "khmer-daily")
    store.ingest(
        ids["wire"],
        quiet(
            [
                article(
                    "envoy",
                    title="Russian envoy meets ASEAN ministers",
                    summary="Talks in Phnom Pénh.",
                    body="Talks in Phnom Pénh on trade and investment.",
                    published_at=datetime(2023, 9, 13, tzinfo=UTC),
                ),
                article(
                    "final",
                    url="https://news.example/sport/final",
                    title="ASEAN football final",
                    summary="Cambodia wins.",
                    published_at=datetime(2023, 9, 14, tzinfo=UTC),
                ),
            ]
        ),
        NOW,
    )
    store.ingest(
        ids["khmer-daily"],
        quiet(
            [
                article(
                    "rice",
                    title="Rice harvest",
                    summary="Farmers in Battambang.",
                    body="កម្ពុជា exports grow; the Russians buy rice.",
                    published_at=datetime(2023, 9, 15, tzinfo=UTC),
                )
            ]
        ),
        NOW,
    )
    yield store
    store.close()


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("Russia*", ["Rice harvest", "Russian envoy meets ASEAN ministers"]),
        ("Russia", []),  # whole words only, though the index finds "Russian" by prefix too
        ("ASEAN -football", ["Russian envoy meets ASEAN ministers"]),
        ('"Phnom Penh" AND investment', ["Russian envoy meets ASEAN ministers"]),  # body words
        ("title:ASEAN NOT title:football", ["Russian envoy meets ASEAN ministers"]),
        ("rice OR football", ["Rice harvest", "ASEAN football final"]),  # no required word
        ("url:sport", ["ASEAN football final"]),
        ("source:khmer-daily", ["Rice harvest"]),
        ("កម្ពុជា", ["Rice harvest"]),  # spaceless: not in the index as a word
        ("NOT ASEAN", ["Rice harvest"]),
        ("Russian NEAR/2 ASEAN", ["Russian envoy meets ASEAN ministers"]),
    ],
)
def test_search_finds_exactly_what_the_query_says(
    store: Store, query: str, titles: list[str]
) -> None:
    assert [row.title for row, _ in search(store, query)] == titles


def test_search_filters_and_limits(store: Store) -> None:
    since = datetime(2023, 9, 14, tzinfo=UTC)
    assert [r.title for r, _ in search(store, "ASEAN", limit=1)] == ["ASEAN football final"]
    assert [r.title for r, _ in search(store, "ASEAN", since=since)] == ["ASEAN football final"]
    assert [r.title for r, _ in search(store, "Farmers OR ASEAN", source="khmer-daily")] == [
        "Rice harvest"
    ]


def test_search_result_explains_the_match(store: Store) -> None:
    ((_, match),) = search(store, '"Phnom Penh" investment')
    assert match.terms == ("Phnom Penh", "investment")
    assert [match.snippet[a:b] for a, b in match.spans] == [
        "Phnom Pénh",
        "Phnom Pénh",
        "investment",
    ]


@pytest.mark.parametrize(
    ("query", "clauses"),
    [
        ("ASEAN", [("ASEAN",)]),
        ('Russia* "Phnom Penh" -sport', [("Russia*", "Phnom Penh")]),
        ("title:a AND body:b AND url:c", [("a", "b")]),
        ("a OR b", [("a",), ("b",)]),
        ("a OR (b c)", [("a",), ("b", "c")]),
        ("(a OR b) c", [("a", "c"), ("b", "c")]),
        ("NOT a", None),
        ("a OR url:x", None),  # the url: branch can match articles without any word
        ("a NEAR/3 b", [("a", "b")]),
        ("(a OR b) NEAR/3 c", [("a", "c"), ("b", "c")]),
        ("កម្ពុជា AND rice", [("rice",)]),
        ("កម្ពុជា", None),
        ('"Phnom P"*', None),
        ("ＡＳＥＡＮ OR ﬁnance", [("ASEAN",), ("finance",)]),  # NFKC, as the text model
    ],
)
def test_candidate_clauses_are_word_sets_one_of_which_every_match_contains(
    query: str, clauses: list[tuple[str, ...]] | None
) -> None:
    assert candidate_clauses(parse_query(query)) == clauses


def test_an_or_query_finds_old_articles_beyond_the_newest_ones(db_url: str) -> None:
    store = Store.open(db_url)
    ids = add_sources(store, "wire")
    old = article(
        "zanzibar", title="Zanzibar talks resume", published_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    newer = [article(f"n{i}", title=f"Rice harvest {i}", published_at=NOW) for i in range(300)]
    store.ingest(ids["wire"], quiet([old, *newer]), NOW)
    for query in ("Zanzibar OR Qwerty", "NOT rice", "url:zanzibar"):
        titles = [row.title for row, _ in search(store, query, limit=5)]
        assert "Zanzibar talks resume" in titles, query
    store.close()


def test_rematch_runs_rules_with_their_scopes_over_stored_articles(store: Store) -> None:
    matcher = compile_rules(
        [
            RuleSpec("envoy", query="Russia* NEAR/3 ASEAN"),
            RuleSpec("khmer", ("កម្ពុជា",), tags=frozenset({"cambodia"})),
            RuleSpec("russians", ("Russians",), sources=frozenset({"wire"})),
        ]
    )
    tags = {"khmer-daily": frozenset({"cambodia"})}
    found = [
        (row.title, m.rule, m.terms) for row, m in rematch(store.iter_articles(), matcher, tags)
    ]
    assert found == [
        ("Russian envoy meets ASEAN ministers", "envoy", ("Russia*", "ASEAN")),
        ("Rice harvest", "khmer", ("កម្ពុជា",)),
    ]
