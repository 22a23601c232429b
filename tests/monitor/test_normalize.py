"""Canonical URLs, HTML to text and content hashes: plain tables of cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.normalize.clean import canonical_url, clean_title, content_hash, html_to_text

CANONICAL_URLS = [
    # (given, base, canonical)
    ("HTTP://Example.COM/News", None, "http://example.com/News"),
    ("https://example.com:443/a", None, "https://example.com/a"),
    ("http://example.com:80/a", None, "http://example.com/a"),
    ("http://example.com:8080/a", None, "http://example.com:8080/a"),
    ("https://example.com:80/a", None, "https://example.com:80/a"),
    ("https://example.com/a#comments", None, "https://example.com/a"),
    ("https://example.com/a?utm_source=rss&utm_medium=feed", None, "https://example.com/a"),
    ("https://example.com/a?id=7&UTM_Campaign=x", None, "https://example.com/a?id=7"),
    ("https://example.com/a?fbclid=abc&gclid=def&id=1", None, "https://example.com/a?id=1"),
    ("https://example.com/a?mc_cid=1&mc_eid=2&msclkid=3&dclid=4", None, "https://example.com/a"),
    ("https://example.com/a?igshid=1&_ga=2&yclid=3&ref_src=twsrc", None, "https://example.com/a"),
    (
        "https://www.heise.de/m-3088438.html?wt_mc=rss.beitrag",
        None,
        "https://www.heise.de/m-3088438.html",
    ),
    ("https://example.com/a?b=2&a=1&c=3", None, "https://example.com/a?a=1&b=2&c=3"),
    ("https://example.com/a?tag=z&id=9&tag=a", None, "https://example.com/a?id=9&tag=z&tag=a"),
    ("https://example.com/a?", None, "https://example.com/a"),
    ("https://example.com/a?&&id=1&", None, "https://example.com/a?id=1"),
    ("https://example.com/a?flag&id=1", None, "https://example.com/a?flag&id=1"),
    ("https://example.com", None, "https://example.com/"),
    ("https://example.com?id=1", None, "https://example.com/?id=1"),
    ("https://example.com/%7euser/%2fx%3a", None, "https://example.com/~user/%2Fx%3A"),
    ("https://example.com/caf%c3%a9", None, "https://example.com/caf%C3%A9"),
    ("https://example.com/café news", None, "https://example.com/caf%C3%A9%20news"),
    ("https://example.com/%41%42c", None, "https://example.com/ABc"),
    ("https://example.com/100%", None, "https://example.com/100%25"),
    ("https://example.com/a/./b/../c", None, "https://example.com/a/c"),
    ("https://example.com/a/b/..", None, "https://example.com/a/"),
    ("https://Bücher.Example/Katalog", None, "https://xn--bcher-kva.example/Katalog"),
    ("https://straße.de/", None, "https://xn--strae-oqa.de/"),
    ("https://xn--bcher-kva.example/", None, "https://xn--bcher-kva.example/"),
    ("https://example.com./a", None, "https://example.com/a"),
    ("  https://example.com/a \n", None, "https://example.com/a"),
    ("https://example.com/long\n/path", None, "https://example.com/long/path"),
    ("http://[2001:DB8::1]:80/x", None, "http://[2001:db8::1]/x"),
    ("https://user:pw@Example.com/a", None, "https://user:pw@example.com/a"),
    ("/2024/03/story.html", "https://example.com/news/", "https://example.com/2024/03/story.html"),
    (
        "story.html?utm_source=x",
        "https://example.com/news/index.html",
        "https://example.com/news/story.html",
    ),
    ("//cdn.example.com/a", "https://example.com/", "https://cdn.example.com/a"),
    ("https://other.example/a", "https://example.com/", "https://other.example/a"),
    ("mailto:Desk@Example.org", None, "mailto:Desk@Example.org"),
    ("not a url", None, "not a url"),
    ("http://[::1/broken", None, "http://[::1/broken"),
    ("https://example.com:notaport/a", None, "https://example.com:notaport/a"),
]


@pytest.mark.parametrize(("url", "base", "expected"), CANONICAL_URLS)
def test_canonical_url(url: str, base: str | None, expected: str) -> None:
    assert canonical_url(url, base) == expected


def test_same_story_with_utm_params_and_fragment_has_one_canonical_url() -> None:
    variants = [
        "https://News.Example.org/2024/asean.html",
        "https://news.example.org:443/2024/asean.html#top",
        "https://news.example.org/2024/asean.html?utm_source=twitter&utm_medium=social",
        "https://news.example.org/2024/./asean.html?fbclid=IwAR0",
    ]
    assert {canonical_url(v) for v in variants} == {"https://news.example.org/2024/asean.html"}


def test_different_articles_keep_different_canonical_urls() -> None:
    assert canonical_url("https://example.com/a?id=1") != canonical_url(
        "https://example.com/a?id=2"
    )
    assert canonical_url("https://example.com/a/") != canonical_url("https://example.com/a")


@given(st.text(max_size=60), st.sampled_from(["", "https://example.com/x/", "http://h:81/"]))
def test_canonical_url_never_raises_and_is_idempotent(tail: str, base: str) -> None:
    once = canonical_url("https://Example.com/" + tail, base or None)
    assert canonical_url(once) == once


HTML_TO_TEXT = [
    ("Plain text stays", "Plain text stays"),
    ("  plain   text\twith  spaces  ", "plain text with spaces"),
    ("line one\nline two\n\n\n\nparagraph", "line one\nline two\n\nparagraph"),
    ("AT&T &amp; Q&A", "AT&T & Q&A"),
    ("a < b and c > d", "a < b and c > d"),
    ("Tom &amp; Jerry", "Tom & Jerry"),
    ("<p>Tom &amp; Jerry&nbsp;&#8217;s</p>", "Tom & Jerry ’s"),
    ("Hello <b>world</b>!", "Hello world!"),
    ("<p>one</p><p>two</p>", "one\n\ntwo"),
    ("first<br>second<br/>third", "first\nsecond\nthird"),
    ("first<br><br>second", "first\n\nsecond"),
    ("<div><div><p>deep</p></div>after</div>", "deep\n\nafter"),
    ("<ul><li>one</li><li>two</li></ul>done", "one\ntwo\n\ndone"),
    ("<h2>Title</h2>Body text", "Title\n\nBody text"),
    ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
    ("<p>keep</p><script>alert('x')</script><p>this</p>", "keep\n\nthis"),
    ("<style>p { color: red }</style>visible", "visible"),
    ("<noscript>enable JS</noscript>text", "text"),
    ("<!-- a comment -->text", "text"),
    ("<p>x<!-- hidden --> y</p>", "x y"),
    ("<html><head><title>t</title></head><body><p>Body</p></body></html>", "Body"),
    ('<?xml version="1.0" encoding="utf-8"?><p>decl</p>', "decl"),
    ("<pre>code\n  indented</pre>", "code\nindented"),
    ("<p>Cafe\u0301</p>", "Café"),
    ("<p>unclosed <b>bold", "unclosed bold"),
    ("<p>a\x00b</p>", "ab"),
    ("", ""),
    ("<p>   </p>", ""),
    ("<!-- only a comment -->", ""),
    ("<div>" * 3000 + "too deep &amp; <script>x()</script>for libxml2", "too deep & for libxml2"),
]


@pytest.mark.parametrize(("html", "text"), HTML_TO_TEXT)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_html_to_text_keeps_a_text_node_over_libxml2s_default_10mb_limit() -> None:
    assert len(html_to_text("<p>" + "word " * 2_200_000 + "</p>")) == 5 * 2_200_000 - 1


@given(st.text(alphabet=st.sampled_from(list("<>/&;#ab pre\n\tbr!-")), max_size=80))
def test_html_to_text_never_raises_on_tag_soup(soup: str) -> None:
    text = html_to_text(soup)
    assert "\n\n\n" not in text
    assert text == text.strip()


CLEAN_TITLES = [
    ("  Breaking:\n  ASEAN   summit ", "Breaking: ASEAN summit"),
    ("<b>Bold</b> &amp; <i>italic</i>", "Bold & italic"),
    ("Line<br>break", "Line break"),
    ("Q&amp;A: Russia &#x2014; ASEAN", "Q&A: Russia — ASEAN"),
]


@pytest.mark.parametrize(("raw", "title"), CLEAN_TITLES)
def test_clean_title(raw: str, title: str) -> None:
    assert clean_title(raw) == title


BASE_HASH = content_hash("ASEAN summit opens", "Leaders met in Vientiane on Monday.")


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("ASEAN summit opens", "Leaders met in Vientiane on Monday."),
        ("asean SUMMIT opens", "leaders met in vientiane on monday."),
        ("  ASEAN  summit\topens ", "Leaders met\nin Vientiane\n\non Monday.  "),
    ],
)
def test_content_hash_ignores_case_and_whitespace(title: str, text: str) -> None:
    assert content_hash(title, text) == BASE_HASH


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("ASEAN summit closes", "Leaders met in Vientiane on Monday."),
        ("ASEAN summit opens", "Leaders met in Vientiane on Tuesday."),
        ("ASEAN summit", "opens Leaders met in Vientiane on Monday."),
    ],
)
def test_content_hash_changes_when_a_word_changes(title: str, text: str) -> None:
    assert content_hash(title, text) != BASE_HASH


def test_content_hash_is_sha256_hex() -> None:
    assert len(BASE_HASH) == 64
    assert int(BASE_HASH, 16) >= 0
