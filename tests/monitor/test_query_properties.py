"""Laws of the query language, checked with Hypothesis on generated queries and texts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.match.query import QuerySyntaxError, parse_query
from monitor.match.rules import Document, RuleSpec, compile_rules

WORDS = ["asean", "Russia", "Phnom", "Penh", "trade", "pénh", "កម្ពុជា", "US"]
SEPARATORS = [" ", " ", " ", ", ", "-", "\n", "។"]

texts = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=12).map(
    lambda parts: "".join(w + s for w, s in parts)
)

terms = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS).map(lambda w: w[:3] + "*"),
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS)).map(lambda p: f'"{p[0]} {p[1]}"'),
    st.tuples(st.sampled_from(["title:", "body:"]), st.sampled_from(WORDS)).map("".join),
    st.tuples(st.sampled_from(WORDS), st.integers(0, 3), st.sampled_from(WORDS)).map(
        lambda t: f"{t[0]} NEAR/{t[1]} {t[2]}"
    ),
)
queries = st.recursive(
    terms,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda p: f"({p[0]} AND {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} OR {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} {p[1]})"),
        inner.map(lambda q: f"NOT ({q})"),
        inner.map(lambda q: f"-({q})"),
    ),
    max_leaves=6,
)
documents = st.builds(Document, title=texts, summary=st.just(""), body=texts)


def hit(query: str, doc: Document) -> bool:
    return compile_rules([RuleSpec("q", query=query)]).names(doc) == ["q"]


def syntax_error(query: str) -> QuerySyntaxError | None:
    """None when `query` parses; any other exception fails the test."""
    try:
        parse_query(query)
    except QuerySyntaxError as exc:
        return exc
    return None


@given(st.text(max_size=40))
@settings(max_examples=400)
def test_the_parser_never_crashes_on_any_text(query: str) -> None:
    error = syntax_error(query)
    if error is not None:
        assert 1 <= error.column <= len(query) + 1
        assert str(error).startswith(f"syntax error at column {error.column}: ")


alphabet = st.sampled_from(['"', "(", ")", "*", "-", ":", " ", "AND ", "OR ", "NOT ", "NEAR/2 "])
fragments = st.lists(st.one_of(alphabet, st.sampled_from([*WORDS, "title:", "foo:"])), max_size=10)


@given(fragments.map("".join))
@settings(max_examples=400)
def test_the_parser_never_crashes_on_query_like_text(query: str) -> None:
    error = syntax_error(query)
    assert error is None or 1 <= error.column <= len(query) + 1


@given(queries, documents)
def test_not_q_never_matches_what_q_matches(query: str, doc: Document) -> None:
    assert hit(query, doc) != hit(f"NOT ({query})", doc)


@given(queries, queries, documents)
def test_or_is_either_and_and_is_both(a: str, b: str, doc: Document) -> None:
    assert hit(f"({a}) OR ({b})", doc) == (hit(a, doc) or hit(b, doc))
    assert hit(f"({a}) AND ({b})", doc) == (hit(a, doc) and hit(b, doc))
    assert hit(f"({a}) ({b})", doc) == hit(f"({b}) AND ({a})", doc)


@given(queries, queries, documents)
def test_de_morgan(a: str, b: str, doc: Document) -> None:
    assert hit(f"NOT (({a}) OR ({b}))", doc) == hit(f"NOT ({a}) AND NOT ({b})", doc)


@given(st.lists(queries, min_size=1, max_size=6), documents)
def test_many_rules_in_one_matcher_agree_with_each_rule_alone(
    rules: list[str], doc: Document
) -> None:
    matcher = compile_rules([RuleSpec(f"r{i}", query=q) for i, q in enumerate(rules)])
    alone = [f"r{i}" for i, q in enumerate(rules) if hit(q, doc)]
    assert matcher.names(doc) == alone


separator_runs = st.lists(st.sampled_from([" ", ",", "\n", "—", "“", "។", "...", "\t"]), min_size=1)


@given(st.lists(st.sampled_from(WORDS[:5]), min_size=2, max_size=4), st.data())
def test_a_phrase_matches_whatever_separators_sit_between_its_words(
    words: list[str], data: st.DataObject
) -> None:
    text = words[0]
    for word in words[1:]:
        text += "".join(data.draw(separator_runs)) + word
    doc = Document(title="", summary="", body=f"before {text} after")
    assert hit('"' + " ".join(words) + '"', doc)
    assert hit(f"{words[0]} NEAR/0 {words[1]}", doc)
