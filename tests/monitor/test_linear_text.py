"""Every function that runs a regex over fetched text, and the query parser, stays linear.

Each is fed 1 MB of text shaped to make a backtracking pattern rescan it (long
runs of the characters the pattern loops on). The budget is a ratio to a
linear pass over the same input, measured in the same test, with a floor: a
linear function finishes in well under a second, a quadratic one in minutes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from monitor.logs import redact
from monitor.match.query import QuerySyntaxError, parse_query
from monitor.match.text import fold_text, token_map, token_stream
from monitor.normalize.clean import canonical_url, clean_title, html_to_text
from monitor.pipeline.timing import max_age_seconds
from monitor.sources.encoding import html_charset
from monitor.sources.extract import headline
from monitor.sources.feedbytes import charset_hint, root_name, strip_doctype
from monitor.sources.feedfast import read_fast
from monitor.sources.feedprobe import codec_problem, guid_permalinks, item_layout, layout_problem

SIZE = 1_000_000
RATIO = 100  # times the linear pass
FLOOR = 10.0  # seconds: linear work on 1 MB takes under 5, a quadratic pass takes minutes
_LINEAR = re.compile(r".", re.DOTALL)


def filled(unit: str, prefix: str = "", suffix: str = "") -> str:
    """`prefix`, then `unit` repeated to make SIZE characters, then `suffix`."""
    return prefix + unit * ((SIZE - len(prefix)) // len(unit)) + suffix


SHAPES = {
    "letters": filled("a"),
    "spaces": filled(" "),
    "user-colons": filled("a:"),
    "at-signs": filled("@"),
    "scheme-then-letters": filled("a", "http://"),
    "scheme-password-unterminated": filled("b", "http://a:"),
    "schemes": filled("a://"),
    "userinfo-no-at": filled("a://b:c"),
    "less-than": filled("<"),
    "open-tags": filled("<a"),
    "nested-brackets": filled("[") + filled("]"),
    "unclosed-scripts": filled("<script "),
    "unclosed-styles": filled("<style>x"),
    "xml-decls": filled("<?xml"),
    "comments": filled("<!--"),
    "metas": filled("<meta "),
    "doctypes": filled("<!DOCTYPE "),
    "separators": filled(" -"),
    "spaced-dashes": filled(" ", "a", " - b"),
    "max-age": filled(" ", "", "max-age"),
    "charset": filled("charset= "),
    "quotes": filled('"'),
    "parens": filled("("),
    "combining": filled("e\u0301"),
    "khmer": filled("\u1780\u17d2a"),
    "near": filled("NEAR/"),
    "fields": filled("title:"),
    "encodings": filled(" encoding='x'", "<?xml"),
    "authors": filled("<author "),
    "prefixed-tags": filled("<dc:"),
    "items": filled("<item>"),
    "images": filled("<item><image "),
    "titles": filled("<title ", "dc:title"),
    "attributes": filled("<a b"),
    "references": filled("&a"),
}


def _deep(text: str) -> str:
    # past libxml2's nesting limit html_to_text falls back to regexes
    return "<div>" * 3000 + text


def _in_a_feed(text: str) -> object:
    """read_fast over a well-formed feed whose description is `text`."""
    body = (
        '<rss version="2.0"><channel><title>t</title><item><title>t</title>'
        f"<link>https://x.test/a</link><description><![CDATA[{text}]]></description>"
        "</item></channel></rss>"
    )
    return read_fast(body.encode("utf-8"), "application/xml", "https://x.test/")


def _query(text: str) -> object:
    try:
        return parse_query(text)
    except QuerySyntaxError as exc:
        return exc.reason


_COMMON = ("letters", "spaces", "less-than", "combining")
# Each function with the shapes its patterns loop on, besides the common ones.
FUNCTIONS: dict[str, tuple[Callable[[str], Any], tuple[str, ...]]] = {
    "redact": (
        lambda text: redact(text, ["s3cret-value"]),
        ("user-colons", "at-signs", "scheme-then-letters", "scheme-password-unterminated",
         "schemes", "userinfo-no-at"),
    ),
    "html_to_text": (
        html_to_text,
        ("open-tags", "unclosed-scripts", "comments", "nested-brackets"),
    ),
    "html_to_text-regex-fallback": (
        lambda text: html_to_text(_deep(text)),
        ("open-tags", "unclosed-scripts", "unclosed-styles", "xml-decls", "comments"),
    ),
    "clean_title": (clean_title, ("open-tags", "unclosed-scripts", "metas")),
    "headline": (lambda text: headline(text, [], "Site"), ("separators", "spaced-dashes")),
    "canonical_url": (
        lambda text: canonical_url("http://example.org/" + text),
        ("user-colons", "at-signs", "schemes", "quotes"),
    ),
    "html_charset": (
        lambda text: html_charset(text.encode("utf-8", "surrogatepass"), text),
        ("metas", "xml-decls", "charset", "quotes"),
    ),
    "charset_hint": (
        lambda text: charset_hint(text.encode("utf-8"), text),
        ("xml-decls", "charset", "quotes"),
    ),
    "strip_doctype": (
        lambda text: strip_doctype(text.encode("utf-8")),
        ("doctypes", "comments", "xml-decls", "nested-brackets", "quotes"),
    ),
    "root_name": (
        lambda text: root_name(text.encode("utf-8")),
        ("doctypes", "comments", "xml-decls"),
    ),
    "codec_problem": (
        lambda text: codec_problem(text.encode("utf-8"), "application/xml"),
        ("xml-decls", "encodings", "quotes"),
    ),
    "layout_problem": (
        lambda text: layout_problem(text.encode("utf-8")),
        ("open-tags", "authors", "prefixed-tags", "titles"),
    ),
    "item_layout": (
        lambda text: item_layout(text.encode("utf-8")),
        ("open-tags", "prefixed-tags", "items", "images", "attributes"),
    ),
    "guid_permalinks": (
        lambda text: guid_permalinks(text.encode("utf-8"), 1),
        ("open-tags", "prefixed-tags", "items", "attributes"),
    ),
    "read_fast": (_in_a_feed, ("open-tags", "attributes", "references", "xml-decls", "quotes")),
    "max_age_seconds": (max_age_seconds, ("max-age",)),
    "fold_text": (fold_text, ("khmer",)),
    "token_stream": (lambda text: token_stream(fold_text(text)), ("khmer", "separators")),
    "token_map": (token_map, ("khmer", "separators")),
    "parse_query": (_query, ("parens", "quotes", "near", "fields", "separators", "schemes")),
}  # fmt: skip
CASES = [(name, shape) for name, (_, extra) in FUNCTIONS.items() for shape in _COMMON + extra]


def linear_pass(text: str) -> float:
    started = time.perf_counter()
    _LINEAR.findall(text)
    text.lower()
    return time.perf_counter() - started


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_text_functions_stay_linear_on_adversarial_input(name: str, shape: str) -> None:
    text = SHAPES[shape]
    baseline = linear_pass(text)
    started = time.perf_counter()
    FUNCTIONS[name][0](text)
    elapsed = time.perf_counter() - started
    budget = max(RATIO * baseline, FLOOR)
    assert elapsed <= budget, f"{name} on {shape}: {elapsed:.2f}s, budget {budget:.2f}s"


def test_redaction_still_masks_passwords_and_secrets() -> None:
    text = "db postgresql+psycopg://news:pa55word@db:5432/x and token s3cret-value"
    assert redact(text, ["s3cret-value"]) == (
        "db postgresql+psycopg://news:****@db:5432/x and token ****"
    )
