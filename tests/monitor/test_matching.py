from __future__ import annotations

import pytest

from monitor.match.rules import Document, RuleSpec, compile_rules, snippet_around
from monitor.match.text import separated, token_map, token_stream

ASEAN_RUSSIA = RuleSpec("asean-russia", ("ASEAN", "Russia"))


@pytest.mark.parametrize(
    ("rule", "text", "expected_terms"),
    [
        (ASEAN_RUSSIA, "Russia-ASEAN partnership deepens", ("Russia", "ASEAN")),
        (ASEAN_RUSSIA, "asean ministers meet", ("ASEAN",)),
        (ASEAN_RUSSIA, "The ASEANs", ()),  # whole words only
        (ASEAN_RUSSIA, "Russian ships dock", ()),  # no prefix unless asked
        (ASEAN_RUSSIA, "ＡＳＥＡＮ summit", ("ASEAN",)),  # NFKC full-width
        (ASEAN_RUSSIA, "(ASEAN).", ("ASEAN",)),
        (ASEAN_RUSSIA, "asean_summit", ()),  # underscore is a word character
        (ASEAN_RUSSIA, "nothing here", ()),
        (RuleSpec("pp", ("Phnom Penh",)), "rain in Phnom Pénh today", ("Phnom Penh",)),
        (RuleSpec("pp", ("Phnom Penh",)), "PHNOM   PENH", ("Phnom Penh",)),  # any spacing
        (RuleSpec("pp", ("Phnom Pénh",)), "Phnom Penh", ("Phnom Pénh",)),  # folds both ways
        (RuleSpec("us", ("US",), case_sensitive=True), "join us", ()),
        (RuleSpec("us", ("US",), case_sensitive=True), "the US said", ("US",)),
        (RuleSpec("us", ("US",)), "join us", ("US",)),
        (RuleSpec("km", ("កម្ពុជា",)), "ព្រះរាជាណាចក្រកម្ពុជា", ("កម្ពុជា",)),  # Khmer substring
        (RuleSpec("th", ("อาเซียน",)), "ประชาคมอาเซียนประชุม", ("อาเซียน",)),  # Thai substring
        (RuleSpec("zh", ("东盟",)), "中国与东盟合作", ("东盟",)),
        (RuleSpec("de", ("straße",)), "STRASSE gesperrt", ("straße",)),  # casefold ß
    ],
)
def test_keyword_matching(rule: RuleSpec, text: str, expected_terms: tuple[str, ...]) -> None:
    matches = compile_rules([rule]).match(Document(title=text, summary="", body=""))
    assert (matches[0].terms if matches else ()) == expected_terms


def test_one_scan_reports_every_matching_rule_in_rule_order() -> None:
    matcher = compile_rules(
        [RuleSpec("a", ("Russia",)), RuleSpec("b", ("Cambodia",)), RuleSpec("c", ("ASEAN",))]
    )
    doc = Document(title="Russia and ASEAN", summary="", body="Cambodia hosts")
    assert [m.rule for m in matcher.match(doc)] == ["a", "b", "c"]


def test_rule_scoped_to_sources_and_tags() -> None:
    matcher = compile_rules(
        [
            RuleSpec("by-name", ("ASEAN",), sources=frozenset({"khmer-times"})),
            RuleSpec("by-tag", ("ASEAN",), tags=frozenset({"cambodia"})),
        ]
    )
    other = Document("ASEAN", "", "", source="bbc", tags=frozenset({"world"}))
    tagged = Document("ASEAN", "", "", source="phnom-penh-post", tags=frozenset({"cambodia"}))
    named = Document("ASEAN", "", "", source="khmer-times")
    assert matcher.match(other) == []
    assert [m.rule for m in matcher.match(tagged)] == ["by-tag"]
    assert [m.rule for m in matcher.match(named)] == ["by-name"]


def test_rule_that_matches_on_absence_still_keeps_to_its_sources() -> None:
    matcher = compile_rules(
        [
            RuleSpec("no-sport", query="NOT sport", sources=frozenset({"khmer-times"})),
            RuleSpec("asean", ("ASEAN",)),
        ]
    )
    assert matcher.names(Document("ASEAN news", "", "", source="bbc")) == ["asean"]
    assert matcher.names(Document("ASEAN news", "", "", source="khmer-times")) == [
        "no-sport",
        "asean",
    ]
    assert matcher.names(Document("ASEAN sport", "", "", source="khmer-times")) == ["asean"]


def test_what_a_matcher_saw_before_never_changes_what_it_matches() -> None:
    rules = [RuleSpec("asean", ("ASEAN",)), RuleSpec("no-sport", query="NOT sport")]
    seasoned = compile_rules(rules)
    # Texts that hold a rule's word make the matcher stop looking for words up front.
    for _ in range(200):
        seasoned.names(Document("ASEAN sport", "", ""))
    for text in ["ASEAN sport", "nothing at all", "ASEAN news", "sport"]:
        doc = Document(text, "", "")
        assert seasoned.names(doc) == compile_rules(rules).names(doc)


def test_snippet_marks_hits_in_original_text() -> None:
    body = ("filler " * 60) + "the Russia–ASEAN summit in Phnom Pénh " + ("tail " * 60)
    matcher = compile_rules([RuleSpec("r", ("Russia", "ASEAN", "Phnom Penh"))])
    (match,) = matcher.match(Document(title="", summary="", body=body))
    marked = [match.snippet[a:b] for a, b in match.spans]
    assert marked == ["Russia", "ASEAN", "Phnom Pénh"]
    assert match.snippet.startswith("… ")
    assert match.snippet.endswith(" …")
    assert len(match.snippet) <= 2 * 120 + len("Russia") + 4


@pytest.mark.parametrize(
    ("text", "hits", "snippet", "marked"),
    [
        ("short text", [(0, 5)], "short text", ["short"]),
        ("a\n\n  b   c", [(5, 6)], "a b c", ["b"]),
        ("no hits at all", [], "no hits at all", []),
    ],
)
def test_snippet_around(
    text: str, hits: list[tuple[int, int]], snippet: str, marked: list[str]
) -> None:
    result, spans = snippet_around(text, hits)
    assert result == snippet
    assert [result[a:b] for a, b in spans] == marked


@pytest.mark.parametrize(
    ("folded", "stream"),
    [
        ("phnom, penh", " phnom  penh "),  # runs of separators stay runs
        ("russia–asean", " russia asean "),  # a dash outside ASCII separates too
        ("it’s", " it s "),
        ("asean_summit", " asean_summit "),
        ("ประชุมasean", " ประชุม asean "),  # where scripts meet
    ],
)
def test_separated_text_has_a_space_for_every_separator(folded: str, stream: str) -> None:
    assert separated(folded) == stream
    assert token_stream(folded) == " " + " ".join(stream.split()) + " "


@pytest.mark.parametrize(
    "text",
    [
        "Russia-ASEAN talks, 2024: Hun's “deal” — done_deal_x",
        "Phnom Pénh ﬁnance ＡＳＥＡＮ Straße café\u0301 e\u0301t\u00e9",
        "क्षेत्र नमस्ते ١٢٣ 東京 and ASEAN",  # Devanagari marks; CJK is spaceless
        "ASEAN កម្ពុជា Russia",
        "",
    ],
)
def test_a_token_map_places_the_tokens_of_the_stream(text: str) -> None:
    # token_map takes a faster pattern for text without spaceless scripts; its tokens
    # must still be the stream's, where the evaluator's hits are counted.
    tokens = token_map(text)
    folded = tokens.folded.text
    spans = list(zip(tokens.spans[::2], tokens.spans[1::2], strict=True))
    assert [folded[a:b] for a, b in spans] == token_stream(folded).split()
