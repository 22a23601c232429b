"""The query parser: the tree it builds and the syntax errors it reports."""

from __future__ import annotations

import pytest

from monitor.match.query import (
    And,
    Near,
    Node,
    Not,
    Or,
    QuerySyntaxError,
    Term,
    keywords_query,
    parse_query,
)


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("ASEAN", Term("ASEAN")),
        ("Russia*", Term("Russia", prefix=True)),
        ('"Phnom  Penh"', Term("Phnom Penh")),
        ("a b", And((Term("a"), Term("b")))),
        ("a AND b OR c", Or((And((Term("a"), Term("b"))), Term("c")))),
        ("a OR b c", Or((Term("a"), And((Term("b"), Term("c")))))),
        ("NOT a b", And((Not(Term("a")), Term("b")))),
        ("-a", Not(Term("a"))),
        ("co-operation", Term("co-operation")),  # a hyphen inside a word is not NOT
        ("title:(a OR b)", Or((Term("a", field="title"), Term("b", field="title")))),
        ("TITLE:a", Term("a", field="title")),
        ("title: a", Term("a", field="title")),
        ("title:(a body:b)", And((Term("a", field="title"), Term("b", field="body")))),
        ("a NEAR/5 b", Near((Term("a"),), (Term("b"),), 5)),
        ("(a OR b) NEAR/2 c", Near((Term("a"), Term("b")), (Term("c"),), 2)),
        ("10:30", Term("10:30")),
        # a dash standing alone between words is punctuation; -term stays NOT
        ("Russia - ASEAN", And((Term("Russia"), Term("ASEAN")))),
        ("Russia – ASEAN", And((Term("Russia"), Term("ASEAN")))),  # en dash
        ("Russia - -ASEAN", And((Term("Russia"), Not(Term("ASEAN"))))),
        ("Russia -", Term("Russia")),
        # after field: the value runs to the next space or ')', so a URL is one term
        ("url:http://x.org/a", Term("http://x.org/a", field="url")),
        ("url:http://x.org/a b", And((Term("http://x.org/a", field="url"), Term("b")))),
        ("(url:x.org/a?q=1)", Term("x.org/a?q=1", field="url")),
        ("url:c++", Term("c++", field="url")),  # symbols of a URL are not refused
        ("http://x.org/a", Term("http://x.org/a")),  # "http" is not read as a field
        ("title:a*", Term("a", prefix=True, field="title")),
        ('title:"a b"', Term("a b", field="title")),
        # punctuation that separates tokens the same way in the text is kept
        ("U.S.", Term("U.S.")),
        ("Hun's", Term("Hun's")),
        ("R&D", Term("R&D")),
        ("100%", Term("100%")),
        ("Yahoo!", Term("Yahoo!")),
    ],
)
def test_parse_tree(query: str, tree: Node) -> None:
    assert parse_query(query) == tree


@pytest.mark.parametrize(
    ("query", "column", "reason"),
    [
        ("", 1, "empty query"),
        ("   ", 1, "empty query"),
        ("Cambodia AND", 13, "expected a term after AND, found the end of the query"),
        ("AND Cambodia", 1, "expected a term, found AND"),
        ("a OR OR b", 6, "expected a term after OR, found OR"),
        ("(a OR b", 1, "missing ')' to close this '('"),
        ("a OR b)", 7, "unexpected ')' (no '(' to close)"),
        ("()", 2, "empty parentheses"),
        ('"Phnom Penh', 1, "unterminated phrase (missing closing '\"')"),
        ("Rus*sia", 4, "'*' is only allowed at the end of a word"),
        ("a * b", 3, "'*' needs a word before it (Russia*)"),
        ("a NEAR b", 3, "NEAR needs a distance in words, e.g. NEAR/5"),
        ("a NEAR/x b", 3, "NEAR needs a distance in words, e.g. NEAR/5"),
        ("a NEAR/99999999999999999999 b", 3, "NEAR distance is at most 1000 words"),
        ("a NEAR/2 (b AND c)", 3, "NEAR needs a word or phrase on each side"),
        ("title:a NEAR/2 body:b", 9, "NEAR needs both sides in the same field"),
        ("headline:x", 1, "unknown field 'headline' (use title, body, url, source, author)"),
        ("title:", 7, "expected a term after 'title:', found the end of the query"),
        ("title:body:x", 7, "a field cannot follow 'title:'"),
        ('"!!"', 1, "the phrase '!!' has no letters or digits to match"),
        ("a NOT", 6, "expected a term after NOT, found the end of the query"),
        ("title:-a", 7, "expected a term after 'title:', found -"),
        (
            "jobs C++",
            6,
            "the word 'C++' has symbols that cannot be matched (+);"
            ' spell them in words, e.g. "C plus plus", or drop them',
        ),
        (
            "C#",
            1,
            "the word 'C#' has symbols that cannot be matched (#);"
            ' spell them in words, e.g. "C sharp", or drop them',
        ),
        ("Notepad++", 1, "the word 'Notepad++' has symbols that cannot be matched (+)"),
        ('a "C++ jobs"', 3, "the phrase 'C++ jobs' has symbols that cannot be matched (+)"),
        ("title:F#", 7, "the word 'F#' has symbols that cannot be matched (#)"),
        ("$5", 1, "the word '$5' has symbols that cannot be matched ($)"),
        ("x 5^", 3, "the word '5^' has symbols that cannot be matched (^); spell them in words or"),
    ],
)
def test_syntax_errors_name_the_column(query: str, column: int, reason: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    assert caught.value.column == column
    assert caught.value.reason.startswith(reason)


def test_syntax_error_message_has_a_caret_under_the_column() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("Cambodia AND (trade OR")
    assert str(caught.value) == (
        "syntax error at column 23: expected a term after OR, found the end of the query\n"
        "  Cambodia AND (trade OR\n"
        "                        ^"
    )


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    with pytest.raises(QuerySyntaxError, match="nests deeper than 100 levels"):
        parse_query("(" * 500 + "a" + ")" * 500)


def test_keywords_are_literal_terms_ored() -> None:
    assert keywords_query(["ASEAN", "Phnom Penh", "Russia*", "a OR b", "!!"]) == Or(
        (Term("ASEAN"), Term("Phnom Penh"), Term("Russia", prefix=True), Term("a OR b"))
    )
