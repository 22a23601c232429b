"""What a query matches: a table of query × text → match or not (DESIGN §6)."""

from __future__ import annotations

import pytest

from monitor.match.rules import Document, Match, RuleSpec, compile_rules


def matches(query: str, doc: Document | str, *, case_sensitive: bool = False) -> bool:
    if isinstance(doc, str):
        doc = Document(title="", summary="", body=doc)
    rule = RuleSpec("q", query=query, case_sensitive=case_sensitive)
    return compile_rules([rule]).names(doc) == ["q"]


ARTICLE = Document(
    title="Sport: Cambodia beats Laos",
    summary="A football report.",
    body="Phnom Penh hosted the match; trade officials from ASEAN attended.",
    source="khmer-times",
    url="https://example.org/sport/2024/cambodia-laos",
    author="Sok Chea",
)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        # terms: whole words, case-insensitive
        ("ASEAN", "The ASEAN summit", True),
        ("ASEAN", "asean ministers", True),
        ("ASEAN", "Russia-ASEAN partnership", True),
        ("ASEAN", "The ASEANs", False),
        ("Russia", "Russian ships dock", False),
        ("Russia", "(Russia).", True),
        ("asean", "asean_summit", False),  # "_" is a word character
        ("G20", "the G20 meets", True),
        ("Cambodia", "Cambodia's trade", True),
        # phrases: consecutive tokens
        ('"Phnom Penh"', "rain in Phnom Penh today", True),
        ('"Phnom Penh"', "Phnom\n\n  Penh", True),
        ('"Phnom Penh"', "Phnom, Penh", True),  # punctuation is not a token
        ('"Phnom Penh"', "Penh Phnom", False),
        ('"Phnom Penh"', "Phnom city Penh", False),
        ('"prime minister"', "The Prime Minister said", True),
        ("Russia-ASEAN", "Russia–ASEAN ties", True),  # a bare word with punctuation is a phrase
        ("Russia-ASEAN", "Russia and ASEAN", False),
        ("Russia - ASEAN", "ASEAN and Russia", True),  # a lone dash is punctuation, not NOT
        ("Russia - ASEAN", "Russia alone", False),
        ("U.S.", "the U.S. said", True),
        ("R&D", "R&D spending", True),
        ('"prime minister office"', "Prime Minister — office", True),  # any separators, any gap
        ('"prime minister office"', "Prime, Minister; office", True),
        ('"prime minister office"', "Prime Minister, the office", False),
        # prefixes
        ("Russia*", "Russian ships", True),
        ("Russia*", "Russians", True),
        ("Russia*", "Russia", True),
        ("Russia*", "Belarussia", False),
        ('"Phnom P"*', "Phnom Penh", True),
        ('"Phnom P"*', "Phnom,  Penh", True),
        # AND, implicit AND
        ("Cambodia AND trade", "Cambodia trade talks", True),
        ("Cambodia AND trade", "Cambodia talks", False),
        ("Cambodia trade", "trade with Cambodia", True),
        ("Cambodia trade", "Cambodia only", False),
        # OR
        ("Cambodia OR Laos", "Laos votes", True),
        ("Cambodia OR Laos", "Vietnam votes", False),
        # NOT and -
        ("Cambodia NOT sport", "Cambodia trade", True),
        ("Cambodia NOT sport", "Cambodia sport", False),
        ("Cambodia -sport", "Cambodia sport", False),
        ("Cambodia -sport", "Cambodia sports", True),  # whole words: "sports" is not "sport"
        ("NOT sport", "trade news", True),
        ("NOT sport", "sport news", False),
        ('Cambodia -"Phnom Penh"', "Cambodia and Phnom Penh", False),
        ("Cambodia -(sport OR football)", "Cambodia football", False),
        # precedence: NOT > AND > OR
        ("a OR b AND c", "a", True),
        ("a OR b AND c", "b", False),
        ("a OR b AND c", "b c", True),
        ("(a OR b) AND c", "a", False),
        ("(a OR b) AND c", "a c", True),
        ("NOT a AND b", "b", True),
        ("NOT a AND b", "a b", False),
        ("NOT a OR b", "a b", True),
        ("NOT (a OR b)", "b", False),
        ("a b OR c", "c", True),  # implicit AND binds tighter than OR
        ("a b OR c", "a", False),
        ("a AND NOT NOT b", "a b", True),
        # lower-case operators are words
        ("cats and dogs", "cats and dogs", True),
        ("cats and dogs", "cats or dogs", False),
        # NEAR/n: at most n words between, either order
        ("Russia NEAR/3 ASEAN", "Russia and ASEAN", True),
        ("Russia NEAR/3 ASEAN", "ASEAN talks with Russia", True),
        ("Russia NEAR/3 ASEAN", "Russia said on Monday that ASEAN", False),
        ("Russia NEAR/0 ASEAN", "Russia ASEAN", True),
        ("Russia NEAR/0 ASEAN", "Russia and ASEAN", False),
        ('"Phnom Penh" NEAR/1 summit', "Phnom Penh hosts summit", True),
        ("(Russia OR Moscow) NEAR/2 ASEAN", "Moscow backs ASEAN", True),
        ("Russia* NEAR/2 ASEAN", "Russian envoy to ASEAN", True),
        ("a NEAR/1 b NEAR/1 c", "a b c", True),
        ("a NEAR/1 b NEAR/1 c", "a b x x x c", False),
        ("ASEAN NEAR/5 ASEAN", "one ASEAN only", False),
        ("ASEAN NEAR/5 ASEAN", "ASEAN and ASEAN", True),
        ("Russia NEAR/1 ASEAN", "Russia — “and” — ASEAN", True),  # punctuation is not a word
        ("Russia NEAR/0 ASEAN", "Russia,  ASEAN", True),
        ("Russia NEAR/1 ASEAN", "Russia, and, then ASEAN", False),
        ("ประชาคม NEAR/0 ประชุม", "ประชาคมอาเซียนประชุม", True),  # two hits in one word
        ("ประชาคม NEAR/0 ประชุม", "ประชาคม ข่าว ประชุม", False),
        ("ประชาคม NEAR/1 ประชุม", "ประชาคม ข่าว ประชุม", True),
        ("ประชาคม NEAR/1 ประชุม", "ประชาคมอาเซียน ข่าว ประชุม", True),  # rest of its own word
        ("ประชาคม NEAR/1 ประชุม", "ประชาคม ข่าว อาเซียนประชุม", True),
        ("ประชาคม NEAR/0 ประชุม", "ประชาคมอาเซียน ข่าว ประชุม", False),
        # folding: NFKC, casefold, diacritics, both ways
        ("Phnom Penh", "Phnom Pénh", True),
        ('"Phnom Pénh"', "PHNOM PENH", True),
        ("ASEAN", "ＡＳＥＡＮ summit", True),
        ("ＡＳＥＡＮ", "ASEAN", True),
        ("straße", "STRASSE", True),
        ("Đà Nẵng", "Da Nang", False),  # Đ is a letter of its own, not D with a mark
        ("Nẵng", "Da Nang", True),
        ("café", "CAFE", True),
        # scripts without spaces: substrings
        ("កម្ពុជា", "ព្រះរាជាណាចក្រកម្ពុជា", True),
        ("អាស៊ាន", "ព្រះរាជាណាចក្រកម្ពុជា", False),
        ("อาเซียน", "ประชาคมอาเซียนประชุม", True),
        ("东盟", "中国与东盟合作", True),
        ("東京", "東京都", True),
        ("ASEAN", "ประชุมASEANวันนี้", True),  # a Latin word between Thai letters
        ("อาเซียน AND Russia", "ประชาคมอาเซียน Russia", True),
        # Devanagari is spaced: whole words, vowel signs stay
        ("हिन्दी", "मैं हिन्दी बोलता हूँ", True),
        ("हिन्द", "मैं हिन्दी बोलता हूँ", False),
    ],
)
def test_query_semantics(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("title:Cambodia", True),
        ("title:trade", False),
        ("body:trade", True),
        ("body:football", True),  # body covers the summary too
        ("body:Laos", False),
        ("title:(Laos OR Vietnam)", True),
        ('title:"beats Laos"', True),
        ("url:sport", True),
        ("url:example.org", True),
        ("url:football", False),
        ("url:https://example.org/sport/2024/cambodia-laos", True),
        ("url:https://example.org/sport/2024/cambodia-vietnam", False),
        ("(url:example.org/sport OR title:Vietnam)", True),
        ("source:khmer-times", True),
        ("source:bbc", False),
        ("author:Sok", True),
        ("author:Chea NOT author:Dara", True),
        ("Cambodia AND (trade OR investment) NOT title:sport", False),
        ("Cambodia AND (trade OR investment) NOT title:election", True),
        ("sport", True),  # default fields: title, summary and body
        ("khmer", False),  # ...not the source, url or author
        ("title:Cambodia NEAR/1 Laos", True),
    ],
)
def test_fields(query: str, expected: bool) -> None:
    assert matches(query, ARTICLE) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("US", "join us", False),
        ("US", "the US said", True),
        ("US", "the U.S. said", False),
        ('"U.S."', "the U.S. said", True),
        ("Apple", "an apple a day", False),
        ("Apple*", "Apple's results", True),
        ("Pénh", "PHNOM PENH", False),
        ("Pénh", "Phnom Penh", True),  # diacritics still fold
        ("ＵＳ", "the US said", True),  # and NFKC
    ],
)
def test_case_sensitive_rules(query: str, text: str, expected: bool) -> None:
    assert matches(query, text, case_sensitive=True) is expected


def test_case_sensitive_and_insensitive_rules_in_one_matcher() -> None:
    matcher = compile_rules(
        [RuleSpec("exact", query="US", case_sensitive=True), RuleSpec("loose", query="US")]
    )
    assert matcher.names(Document("join us", "", "")) == ["loose"]
    assert matcher.names(Document("the US said", "", "")) == ["exact", "loose"]


def test_keywords_are_a_shorthand_for_or() -> None:
    by_keywords = RuleSpec("k", ("ASEAN", "Phnom Penh", "Russia*"))
    by_query = RuleSpec("q", query='ASEAN OR "Phnom Penh" OR Russia*')
    matcher = compile_rules([by_keywords, by_query])
    for text, expected in [
        ("Phnom Penh rain", ["k", "q"]),
        ("Russians", ["k", "q"]),
        ("Phnom rain", []),
    ]:
        assert matcher.names(Document(text, "", "")) == expected


def explain(query: str, doc: Document) -> Match:
    (match,) = compile_rules([RuleSpec("r", query=query)]).match(doc)
    return match


def test_match_names_the_terms_that_hit_not_the_excluded_ones() -> None:
    doc = Document("Russian envoy meets ASEAN", "", "No sport today.")
    match = explain("(Russia* OR Moscow) AND ASEAN -football", doc)
    assert match.terms == ("Russia*", "ASEAN")
    assert [match.snippet[a:b] for a, b in match.spans] == ["Russian", "ASEAN"]


def test_snippet_marks_hits_in_the_original_text_of_each_field() -> None:
    doc = Document(
        title="Ｒｕｓｓｉａ report",
        summary="x",
        body=("filler " * 40) + "talks in Phnom  Pénh with ASEAN envoys " + ("tail " * 40),
    )
    match = explain('title:Russia AND "Phnom Penh"', doc)
    assert match.terms == ("title:Russia", "Phnom Penh")
    assert [match.snippet[a:b] for a, b in match.spans] == ["Ｒｕｓｓｉａ"]
    body_only = explain('"Phnom Penh" ASEAN', doc)
    assert [body_only.snippet[a:b] for a, b in body_only.spans] == [
        "Phnom Pénh",
        "ASEAN",
    ]  # whitespace collapsed


def test_spaceless_hit_is_marked_inside_its_word() -> None:
    match = explain("อาเซียน", Document("ประชาคมอาเซียนประชุม", "", ""))
    assert [match.snippet[a:b] for a, b in match.spans] == ["อาเซียน"]


def test_url_only_match_still_has_a_snippet() -> None:
    match = explain("url:sport", ARTICLE)
    assert match.terms == ("url:sport",)
    assert match.snippet.startswith("Sport: Cambodia beats Laos")
    assert match.spans == ()
