"""The query lexer and the tree helpers, on their own: tables of cases."""

from __future__ import annotations

import pytest

from monitor.errors import QuerySyntaxError
from monitor.match.lexer import lex
from monitor.match.tree import And, Near, Node, Not, Or, Term, near_side, with_field


def shape(query: str) -> list[tuple[str, str, int]]:
    return [(t.kind, t.text, t.column) for t in lex(query)]


@pytest.mark.parametrize(
    ("query", "tokens"),
    [
        ("", [("end", "", 1)]),
        ("ASEAN", [("word", "ASEAN", 1), ("end", "", 6)]),
        ("a and b", [("word", "a", 1), ("word", "and", 3), ("word", "b", 7), ("end", "", 8)]),
        ("a AND b", [("word", "a", 1), ("and", "AND", 3), ("word", "b", 7), ("end", "", 8)]),
        ("-a", [("minus", "-", 1), ("word", "a", 2), ("end", "", 3)]),
        ("a - b", [("word", "a", 1), ("word", "b", 5), ("end", "", 6)]),  # a dash alone
        ('"hun sen"', [("phrase", "hun sen", 1), ("end", "", 10)]),
        ("(a)", [("(", "(", 1), ("word", "a", 2), (")", ")", 3), ("end", "", 4)]),
        ("a NEAR/5 b", [("word", "a", 1), ("near", "NEAR/5", 3), ("word", "b", 10),
                        ("end", "", 11)]),
        ("Title:x", [("field", "title", 1), ("word", "x", 7), ("end", "", 8)]),
        ("url:http://x.org/a(1)", [("field", "url", 1), ("word", "http://x.org/a(1", 5),
                                   (")", ")", 21), ("end", "", 22)]),
        ("http://x.org", [("word", "http://x.org", 1), ("end", "", 13)]),  # a URL, no field
        ("title:(a)", [("field", "title", 1), ("(", "(", 7), ("word", "a", 8), (")", ")", 9),
                       ("end", "", 10)]),
    ],
)  # fmt: skip
def test_lex(query: str, tokens: list[tuple[str, str, int]]) -> None:
    assert shape(query) == tokens


def test_prefix_marks_words_and_phrases() -> None:
    word, phrase, _ = lex('Russ* "hun se"*')
    assert (word.text, word.prefix) == ("Russ", True)
    assert (phrase.text, phrase.prefix) == ("hun se", True)


@pytest.mark.parametrize(
    ("query", "column", "reason"),
    [
        ('a "b', 3, "unterminated phrase"),
        ("colour:red", 1, "unknown field 'colour'"),
        ("a  NEAR b", 4, "NEAR needs a distance"),
        ("a NEAR/1001 b", 3, "NEAR distance is at most 1000 words"),
        ("Ru*ssia", 3, "'*' is only allowed at the end of a word"),
    ],
)
def test_lex_errors_name_the_column(query: str, column: int, reason: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        lex(query)
    assert caught.value.column == column
    assert reason in caught.value.reason


A, B = Term("a"), Term("b", field="url")


@pytest.mark.parametrize(
    ("node", "side"),
    [
        (A, (A,)),
        (Or((A, B)), (A, B)),
        (And((A, B)), None),
        (Not(A), None),
        (Or((A, Not(B))), None),
    ],
)
def test_near_side(node: Node, side: tuple[Term, ...] | None) -> None:
    assert near_side(node) == side


@pytest.mark.parametrize(
    ("node", "fielded"),
    [
        (A, Term("a", field="title")),
        (B, B),  # a term's own field wins
        (Not(A), Not(Term("a", field="title"))),
        (Or((A, B)), Or((Term("a", field="title"), B))),
        (Near((A,), (B,), 3), Near((Term("a", field="title"),), (B,), 3)),
        (And((A, Not(A))), And((Term("a", field="title"), Not(Term("a", field="title"))))),
    ],
)
def test_with_field(node: Node, fielded: Node) -> None:
    assert with_field(node, "title") == fielded
