"""Span marking, escaping, safe links and fitting: the pure helpers every renderer uses."""

from __future__ import annotations

import html

import pytest

from notifiers.markup import (
    clean_text,
    fit_marked,
    mark_spans,
    normalise_spans,
    safe_href,
    shorten,
)


def guillemets(text: str, spans: list[tuple[int, int]]) -> str:
    return mark_spans(text, spans, escape=str, open_mark="«", close_mark="»")


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        ("ASEAN Russia", [(0, 5), (6, 12)], "«ASEAN» «Russia»"),
        ("abcdefghij", [], "abcdefghij"),
        ("abcdefghij", [(0, 5), (3, 8)], "«abcdefgh»ij"),  # overlapping: merged
        ("abcdefghij", [(2, 6), (3, 4)], "ab«cdef»ghij"),  # nested: merged
        ("abcdefghij", [(0, 3), (3, 6)], "«abcdef»ghij"),  # adjacent: one mark
        ("abcdefghij", [(8, 20)], "abcdefgh«ij»"),  # runs past the end: clipped
        ("abcdefghij", [(12, 20)], "abcdefghij"),  # entirely beyond: dropped
        ("abcdefghij", [(-3, 2)], "«ab»cdefghij"),  # negative start: clipped
        ("abcdefghij", [(5, 4), (3, 3)], "abcdefghij"),  # reversed and empty: dropped
        ("abcdefghij", [(6, 8), (0, 2)], "«ab»cdef«gh»ij"),  # unsorted
    ],
)
def test_hit_spans_are_marked_once_whatever_their_shape(
    text: str, spans: list[tuple[int, int]], expected: str
) -> None:
    assert guillemets(text, spans) == expected


@pytest.mark.parametrize(
    ("spans", "length", "expected"),
    [
        ([(0, 5), (3, 8), (8, 9)], 10, [(0, 9)]),
        ([(5, 50)], 10, [(5, 10)]),
        ([(10, 12)], 10, []),
        ([(2, 2)], 10, []),
    ],
)
def test_spans_are_normalised(
    spans: list[tuple[int, int]], length: int, expected: list[tuple[int, int]]
) -> None:
    assert normalise_spans(spans, length) == expected


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        ("a<b", [(1, 2)], "a<mark>&lt;</mark>b"),
        ("<script>x</script>", [(8, 9)], "&lt;script&gt;<mark>x</mark>&lt;/script&gt;"),
        ("AT&T & ASEAN", [(7, 12)], "AT&amp;T &amp; <mark>ASEAN</mark>"),
        ('say "hi"', [(4, 8)], "say <mark>&quot;hi&quot;</mark>"),
    ],
)
def test_text_is_escaped_before_marks_are_added(
    text: str, spans: list[tuple[int, int]], expected: str
) -> None:
    out = mark_spans(text, spans, escape=html.escape, open_mark="<mark>", close_mark="</mark>")
    assert out == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ex.org/a?x=1&y=2", "https://ex.org/a?x=1&amp;y=2"),
        ('https://ex.org/"onmouseover="x', "https://ex.org/%22onmouseover=%22x"),
        ("https://ex.org/<script>", "https://ex.org/%3Cscript%3E"),
        ("https://ex.org/'x'", "https://ex.org/%27x%27"),
        (" https://ex.org/a b\n", "https://ex.org/a%20b"),
        ("https://ex.org/ünï", "https://ex.org/%C3%BCn%C3%AF"),
        ("HTTP://EX.ORG/", "HTTP://EX.ORG/"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        ("data:text/html,<b>x</b>", None),
        ("", None),
        ("http://[::1", None),
    ],
)
def test_links_are_http_only_and_cannot_break_out_of_the_attribute(
    url: str, expected: str | None
) -> None:
    assert safe_href(url) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("one two three four", 16, "one two three…"),  # ends on a word when one is near
        ("one two three four", 12, "one two thr…"),
        ("abcdefghijklmnop", 5, "abcd…"),
        ("abc", 1, "…"),
    ],
)
def test_shorten(text: str, limit: int, expected: str) -> None:
    assert shorten(text, limit) == expected


def test_control_characters_become_spaces_without_moving_offsets() -> None:
    text = "a\x1b[31mb\nc\u2028d\x9be"
    cleaned = clean_text(text)
    assert len(cleaned) == len(text)
    assert cleaned == "a [31mb c d e"


def test_a_cut_snippet_keeps_the_hit_and_fits_the_budget() -> None:
    snippet = "word " * 1000 + "ASEAN" + " tail" * 1000
    start = snippet.index("ASEAN")
    render = lambda s, sp: mark_spans(  # noqa: E731
        s, sp, escape=html.escape, open_mark="<b>", close_mark="</b>"
    )
    out = fit_marked(snippet, [(start, start + 5)], 300, render)
    assert len(out) <= 300
    assert "<b>ASEAN</b>" in out
    assert out.startswith("…")
    assert out.endswith("…")


@pytest.mark.parametrize("budget", [0, 1, 5, 17, 100])
def test_a_cut_never_splits_an_entity_or_a_tag(budget: int) -> None:
    snippet = "&<" * 200
    render = lambda s, sp: mark_spans(  # noqa: E731
        s, sp, escape=html.escape, open_mark="<b>", close_mark="</b>"
    )
    out = fit_marked(snippet, [(0, 400)], budget, render)
    assert len(out) <= budget
    assert out.count("<b>") == out.count("</b>")
    leftover = out
    for token in ("<b>", "</b>", "&amp;", "&lt;", "…"):
        leftover = leftover.replace(token, "")
    assert leftover == ""
