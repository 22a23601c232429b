"""The fast path of feed parsing: where feedparser-rs reads a feed, it reads it as feedparser does.

Every comparison is `read_feed(body)` against `read_feed(body, fast=False)`
(feedparser alone). Summary and content are compared as the pipeline reads
them, as plain text (`html_to_text`): feedparser re-serialises their markup.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.normalize.clean import html_to_text
from monitor.sources import feedfast
from monitor.sources.feed import FeedReading, ParsedFeed, parse_feed, read_feed
from monitor.sources.feedprobe import guid_permalinks
from tests.conftest import FIXTURES
from tests.monitor.test_feeds import corpus_rows

URL = "https://news.example.org/feeds/main.xml"
HEADER_VARIANTS: list[dict[str, str] | None] = [
    None,
    {"Content-Type": "application/rss+xml; charset=utf-8"},
    {"Content-Type": "text/xml"},
    {"Content-Type": "text/html; charset=utf-8"},
]


def as_read(feed: ParsedFeed) -> ParsedFeed:
    """The feed as the pipeline reads it: summary and content as plain text."""
    entries = tuple(
        replace(e, summary=html_to_text(e.summary), content=html_to_text(e.content))
        for e in feed.entries
    )
    return replace(feed, entries=entries)


def readings(
    body: bytes, headers: dict[str, str] | None = None, url: str = URL
) -> tuple[FeedReading, ParsedFeed]:
    """(the reading with the fast path, feedparser's feed)."""
    return read_feed(body, url=url, headers=headers), parse_slow(body, headers, url)


def parse_slow(body: bytes, headers: dict[str, str] | None, url: str = URL) -> ParsedFeed:
    return read_feed(body, url=url, headers=headers, fast=False).feed


def assert_fast_path_agrees(body: bytes, headers: dict[str, str] | None = None) -> FeedReading:
    fast, slow = readings(body, headers)
    if fast.parser == "feedparser-rs":
        assert fast.fallback is None
        assert as_read(fast.feed) == as_read(slow), fast
    else:
        assert fast.feed == slow
    return fast


# --- the corpus -----------------------------------------------------------------------


def test_every_corpus_feed_reads_the_same_on_the_fast_path(corpus: Path) -> None:
    fast = set()
    for row in corpus_rows(corpus):
        body = (corpus / "feeds" / row["file"]).read_bytes()
        for headers in HEADER_VARIANTS:
            reading = assert_fast_path_agrees(body, headers)
            if reading.parser == "feedparser-rs":
                fast.add(row["file"])
    # a floor, so that a change that sends every feed to feedparser is noticed
    assert len(fast) >= 20, sorted(fast)


def test_corpus_feeds_that_fall_back_say_why(corpus: Path) -> None:
    reasons = {}
    for row in corpus_rows(corpus):
        reading = read_feed((corpus / "feeds" / row["file"]).read_bytes(), url=URL)
        assert reading.parser in ("feedparser-rs", "feedparser"), row["file"]
        if reading.parser == "feedparser":
            assert reading.fallback, row["file"]
            reasons[row["file"]] = reading.fallback
    print("\n".join(f"{name}: {why}" for name, why in sorted(reasons.items())))
    # malformed XML, which feedparser recovers with a warning, is never read fast
    for name in (
        "feedparser__illformed__aaa_illformed.xml",
        "feedparser__illformed__undeclared_namespace.xml",
        "feedrs__rss_2.0_dbengines.xml",
        "feedrs__rss_2.0_invalid_1.xml",
        "rssparser__unrecognized.rss",
    ):
        assert reasons[name].startswith("malformed XML: "), (name, reasons[name])
    # legacy charsets that feedparser-rs would not be told about
    for name in ("nnw__kc0011.rss", "rssparser__uolNoticias.rss"):
        assert reasons[name].startswith("encoding "), (name, reasons[name])
    for name in ("feedparser__illformed-chardet__koi8r.xml", "feedparser__encoding__utf-16be.xml"):
        assert reasons[name].startswith("encoding "), (name, reasons[name])


# --- fallback triggers on small hand-written feeds ----------------------------------------

RSS = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom"'
    ' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
    ' xmlns:dcterms="http://purl.org/dc/terms/">'
    "<channel><title>Mekong Wire</title><link>https://news.example.org/</link>{channel}"
    "<item>{item}</item></channel></rss>"
)
PLAIN_ITEM = (
    "<title>Border crossing reopens</title><link>https://news.example.org/a/1.html</link>"
    "<guid>https://news.example.org/a/1.html</guid>"
    "<pubDate>Tue, 05 Mar 2024 07:00:00 GMT</pubDate>"
    "<description>&lt;p&gt;The crossing &lt;b&gt;reopened&lt;/b&gt;.&lt;/p&gt;</description>"
)


def rss(item: str = PLAIN_ITEM, channel: str = "", encoding: str = "utf-8") -> bytes:
    text = RSS.format(item=item, channel=channel)
    return text.replace('encoding="utf-8"', f'encoding="{encoding}"').encode(encoding)


def atom(entry: str, feed: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Khmer Blog</title>{feed}<entry>{entry}</entry></feed>"
    ).encode()


ATOM_ENTRY = (
    "<id>tag:blog.example.net,2024:1</id><title>Angkor visitors up</title>"
    '<link rel="alternate" href="https://blog.example.net/a?x=1&amp;y=2"/>'
    "<updated>2024-03-05T01:15:00Z</updated><author><name>Chan Sophea</name></author>"
    '<content type="html">&lt;p&gt;Up &lt;a href="/stats"&gt;again&lt;/a&gt;.&lt;/p&gt;</content>'
)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (rss(), None),
        (rss(), {"Content-Type": "application/rss+xml; charset=UTF-8"}),
        (rss(), {"Content-Type": "text/xml"}),  # RFC 3023 says us-ascii: the body is ASCII
        (rss(PLAIN_ITEM.replace("reopens", "réouvre"), encoding="iso-8859-1"), None),
        (rss(PLAIN_ITEM.replace("https://news.example.org/a/1.html</guid>", "4956764</guid>")),
         None),  # a relative guid: feedparser resolves it against the feed's URL
        (rss(PLAIN_ITEM.replace("<guid>", '<guid isPermaLink="false">').replace(
            "https://news.example.org/a/1.html</guid>", "news-4956764</guid>")),
         None),  # isPermaLink="false": feedparser keeps the guid as it is, per item
        (rss(PLAIN_ITEM.replace("<guid>", "<guid isPermaLink='FALSE'>").replace(
            "https://news.example.org/a/1.html</guid>", "g-1</guid>") + "</item><item>"
             + PLAIN_ITEM.replace("<guid>", '<guid isPermaLink="true">').replace(
            "https://news.example.org/a/1.html</guid>", "g-2</guid>")),
         None),  # anything but exactly "true" is not a permalink; "true" is resolved
        (rss(channel='<ttl>30</ttl><atom:link rel="next" href="/feed?page=2&amp;s=1"/>'), None),
        (rss(PLAIN_ITEM + "<dc:title>Border crossing reopens</dc:title>"), None),
        (atom(ATOM_ENTRY, feed='<link rel="next" href="https://blog.example.net/?p=2&amp;q"/>'),
         None),
        (atom(ATOM_ENTRY).replace(b"<feed ", b'<feed xml:base="https://blog.example.net/" '),
         None),  # xml:base that cannot matter: every link and id is absolute
        (atom(ATOM_ENTRY, feed="<author><name>Staff</name></author>").replace(
            b"<author><name>Chan Sophea</name></author>", b""), None),  # no author, as feedparser
    ],
)  # fmt: skip
def test_plain_feeds_take_the_fast_path_and_read_as_feedparser(
    body: bytes, headers: dict[str, str] | None
) -> None:
    reading = assert_fast_path_agrees(body, headers)
    assert reading.parser == "feedparser-rs", reading.fallback


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        # bytes and charsets
        (rss(PLAIN_ITEM.replace("reopens", "réouvre à Poipet")).replace(b"reopened", b"re\xff"),
         None, "U+FFFD"),  # a stray byte in UTF-8 becomes U+FFFD (feedbytes.repair_utf8)
        (rss(PLAIN_ITEM.replace("reopens", "réouvre"), encoding="cp1252"), None,
         "encoding cp1252"),
        (rss(), {"Content-Type": "text/xml; charset=iso-8859-1"}, "encoding iso-8859-1"),
        (rss(PLAIN_ITEM.replace("reopens", "réouvre")), {"Content-Type": "text/xml"},
         "encoding us-ascii"),
        (rss(), {"Content-Type": "text/html"}, "is not an XML type"),
        (rss().replace(b"utf-8", b"bogus"), None, "unknown encoding: bogus"),
        (rss(PLAIN_ITEM.replace("reopens", "reopens &#150; now")), None, "C1 control"),
        (rss(PLAIN_ITEM.replace("reopens", "Ã©tÃ©")), None, "UTF-8 read as ISO-8859-1"),
        # broken XML
        (rss()[:-30], None, "malformed XML"),
        (rss().replace(b"reopened", b"reopened&nbsp;"), None, "malformed XML: undefined entity"),
        (rss(PLAIN_ITEM + "<foo:bar>x</foo:bar>"), None, "malformed XML: unbound prefix"),
        (b"<rss><channel><title>x</title></channel></rss>\n<html>", None, "malformed XML"),
        # entities and markup in titles
        (rss(PLAIN_ITEM.replace("reopens", "reopens &amp;amp; more")), None, "entity left"),
        (rss(PLAIN_ITEM.replace("reopens", "<![CDATA[<b>reopens</b>]]>")), None, "markup"),
        # entries
        (rss('<title>no link</title><guid isPermaLink="false">https://x.example/g</guid>'), None,
         "an id and no web link"),
        (rss("<title>no link</title><description>&lt;p&gt;x&lt;/p&gt;</description>"), None,
         "no id or link, and markup"),
        (rss(PLAIN_ITEM.replace("<guid>", '<guid isPermaLink="&#102;alse">').replace(
            "https://news.example.org/a/1.html</guid>", "abc</guid>")), None, "resolves"),
        (rss(PLAIN_ITEM.replace("https://news.example.org/a/1.html</guid>", "abc</guid>")
             + '<guid isPermaLink="false">def</guid>'), None, "resolves"),
        (rss(PLAIN_ITEM + "<title>Second title</title>"), None, "<title> and <title>"),
        (rss(PLAIN_ITEM + "<itunes:summary>Other</itunes:summary>"), None,
         "<description> and <itunes:summary>"),
        (rss(PLAIN_ITEM + "<media:content url='https://x.example/a.jpg'><media:description>"
             "Caption</media:description></media:content>"), None, "<media:description>"),
        (rss(PLAIN_ITEM + "<dc:creator>A</dc:creator><dc:creator>B</dc:creator>"), None,
         "<dc:creator> and <dc:creator>"),
        (rss(PLAIN_ITEM + "<author>a@b.example (A)</author>"), None, "e-mail"),
        (rss(PLAIN_ITEM + "<dc:creator />"), None, "empty author"),
        (rss(PLAIN_ITEM + '<atom:link rel="alternate" href="https://x.example/2"/>'), None,
         "<atom:link>"),
        (rss(PLAIN_ITEM + "<dcterms:issued>2024-03-04T00:00:00Z</dcterms:issued>"), None,
         "dcterms"),
        (rss(PLAIN_ITEM.replace("GMT", "EST")), None, "published date"),
        (rss(PLAIN_ITEM.replace("07:00:00", "23:59:60")), None, "published date"),
        (rss(PLAIN_ITEM.replace("Tue, 05 Mar", "mar, 05 mar")), None, "published date"),
        (rss(channel="<entry><title>stray</title></entry>"), None, "entries for 2 item tags"),
        # HTML that feedparser re-serialises into other text
        (rss(PLAIN_ITEM.replace("&lt;/p&gt;", "&lt;iframe src='x'/&gt; after&lt;/p&gt;")), None,
         "self-closed <iframe/>"),
        (rss(PLAIN_ITEM.replace("reopened", "reopened &amp;copy 2024")), None, "reference"),
        (rss(PLAIN_ITEM.replace("reopened", "reopened &amp;unknown;")), None, "reference"),
        (rss(PLAIN_ITEM.replace("reopened", "reopened &amp;#150;")), None, "reference"),
        # Atom
        (atom(ATOM_ENTRY + "<source><title>Elsewhere</title></source>"), None, "<source>"),
        (atom(ATOM_ENTRY + '<summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
              "x</div></summary>"), None, "xhtml content"),
        # namespaces: feedparser knows elements by namespace, the checks by usual prefix
        (rss(PLAIN_ITEM + "<a10:author>X</a10:author>").replace(
            b"xmlns:dc=", b'xmlns:a10="http://www.w3.org/2005/Atom" xmlns:dc='), None,
         "namespace prefix a10"),
        (rss(PLAIN_ITEM + '<creator xmlns="http://purl.org/dc/elements/1.1/">X</creator>'), None,
         "default namespace"),
        (atom(ATOM_ENTRY.replace("https://blog.example.net/a", "/a")).replace(
            b"<feed ", b'<feed xml:base="https://blog.example.net/" '), None, "resolves"),
        (atom(ATOM_ENTRY.replace('href="https://blog.example.net/a?x=1&amp;y=2"', 'href=""')),
         None, "a link without href"),
        (atom(ATOM_ENTRY + "".join(f'<link rel="related" href="https://x/{i}"/>'
                                   for i in range(60))), None, "limit max_links_per_entry"),
    ],
)  # fmt: skip
def test_feeds_feedparser_rs_may_misread_fall_back_with_the_reason(
    body: bytes, headers: dict[str, str] | None, reason: str
) -> None:
    fast, slow = readings(body, headers)
    assert (fast.parser, fast.feed) == ("feedparser", slow)
    assert reason in (fast.fallback or ""), fast.fallback


@pytest.mark.parametrize(
    ("body", "items", "expected"),
    [
        (b"<item><guid>a</guid></item>", 1, [True]),
        (b'<item><guid isPermaLink="false">a</guid></item><item></item>', 2, [False, None]),
        (b"<item><guid ISPERMALINK='true'>a</guid></item><item><guid>b</guid></item>", 2,
         [True, True]),
        (b'<item><guid isPermaLink="True">a</guid></item>', 1, [False]),  # not folded
        (b'<item><guid isPermaLink="&#116;rue">a</guid></item>', 1, None),  # an entity
        (b"<item><guid>a</guid><guid>b</guid></item>", 1, None),  # two guids
        (b"<guid>a</guid><item></item>", 1, None),  # a guid outside any item
        (b"<item><guid>a</guid></item>", 2, None),  # not the parser's count of items
    ],
)  # fmt: skip
def test_which_guids_feedparser_resolves(
    body: bytes, items: int, expected: list[bool | None] | None
) -> None:
    assert guid_permalinks(body, items) == expected


def test_without_feedparser_rs_every_feed_goes_to_feedparser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(feedfast, "_RS", None)
    reading = read_feed(rss(), url=URL)
    assert (reading.parser, reading.fallback) == ("feedparser", "feedparser-rs is not installed")
    assert reading.feed == parse_slow(rss(), None)


def test_each_feed_logs_one_debug_line_with_its_parser(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="newsmon.feed")
    parse_feed(rss(), url=URL)
    parse_feed(rss().replace(b"</channel>", b""), url=URL)
    fast, slow = (r.getMessage() for r in caplog.records)
    assert fast == f"{URL}: read by feedparser-rs"
    assert slow.startswith(f"{URL}: read by feedparser (malformed XML: mismatched tag: ")
    assert {r.levelno for r in caplog.records} == {logging.DEBUG}


@pytest.mark.parametrize("name", ["rss20.xml", "atom10.xml", "rdf.xml"])
def test_our_fixtures_read_the_same_on_the_fast_path(name: str) -> None:
    assert_fast_path_agrees((FIXTURES / "feeds" / name).read_bytes())


# --- generated feeds: whatever the fast path reads, it reads as feedparser ---------------


def mostly(common: list[str], odd: list[str]) -> st.SearchStrategy[str]:
    """Mostly one of `common`, sometimes one of `odd`."""
    return st.sampled_from(common * 8 + odd)


TEXTS = mostly(
    ["Plain headline", "Border crossing reopens", "caf\u00e9 cr\u00e8me", "Привет, 世界", ""],
    [
        "  spaced \n out  ", "AT&amp;T &amp; Verizon", "x &lt; y &gt; z", "e\u0301", "x\u0085y",
        "&lt;b&gt;bold&lt;/b&gt; move", "<![CDATA[<i>it</i> & co]]>", "Ã©tÃ©", "&amp;nbsp;",
        "\u00a0nbsp\u00a0", "&#8217;quoted&#8217;", "&#150;dash", "a &amp;copy b",
    ],
)  # fmt: skip
HTML = mostly(
    [
        "&lt;p&gt;Para &lt;a href='/rel'&gt;link&lt;/a&gt;&lt;/p&gt;", "plain words", "",
        "<![CDATA[<p>One<br/>two<br>three</p><script>x()</script>]]>",
        "<![CDATA[<!-- c --><p>kept &amp; &#8217;quoted&#8217;</p>]]>",
        "<![CDATA[<div><p>a<p>b</div><img src='/i.png' alt=''/>]]>",
    ],
    [
        "<![CDATA[<iframe src='v'/><p>after</p>]]>", "<![CDATA[<p/>text]]>",
        "&lt;p&gt;&amp;copy; 2024 &amp;foo; &amp;#150;&lt;/p&gt;", "<![CDATA[<!x>]]>",
    ],
)  # fmt: skip
LINKS = mostly(
    [
        "https://news.example.org/a/1.html", "/relative/2.html", "a/3.html",
        "https://news.example.org/q?a=1&amp;b=2",
    ],
    [
        "http:///extra/slashes", "  https://x.org/s  ", "javascript:alert(1)", "",
        "https://news.example.org/a/1.html?", "HTTPS://X.org/caps",
    ],
)  # fmt: skip
GUIDS = mostly(
    ["", "<guid>https://news.example.org/g/1</guid>", "<guid>g-1</guid>",
     "<guid>tag:x.org,2024:1</guid>"],
    ['<guid isPermaLink="false">g-2</guid>', '<guid isPermaLink="true">/g/3</guid>',
     "<guid>a&amp;b</guid>"],
)  # fmt: skip
DATES = mostly(
    [
        "", "<pubDate>Tue, 05 Mar 2024 07:00:00 GMT</pubDate>",
        "<pubDate>Tue, 5 Mar 2024 07:00 +0700</pubDate>",
        "<dc:date>2024-03-05T07:00:00.5+01:00</dc:date>",
        "<pubDate>Tue, 05 Mar 2024 07:00:00 GMT</pubDate><dc:date>2024-01-01T00:00:00Z</dc:date>",
    ],
    [
        "<pubDate>garbage</pubDate>", "<dc:date>2024-03-05</dc:date>",
        "<pubDate>Tue, 05 Mar 2024 07:00:00 PST</pubDate>", "<pubDate>Sun, 31 Feb 2024</pubDate>",
    ],
)  # fmt: skip
EXTRAS = mostly(
    [
        "", "<author>Sok Dara</author>", "<dc:creator>Sok &amp; Dara</dc:creator>",
        "<category>World</category>", "<comments>https://x.org/c</comments>",
        "<content:encoded>&lt;p&gt;Body&lt;/p&gt;</content:encoded>",
        "<enclosure url='https://x.org/a.mp3?a=1&amp;b=2' type='audio/mpeg'/>",
        "<media:content url='https://x.org/p.jpg'><media:credit>AP</media:credit></media:content>",
    ],
    [
        "<author>s@x.org (Sok)</author>", "<dc:creator/>", "<dc:title>Alias</dc:title>",
        "<media:content url='https://x.org/p.jpg'><media:title>P</media:title></media:content>",
        "<itunes:summary>S</itunes:summary>",
    ],
)  # fmt: skip


@st.composite
def items(draw: st.DrawFn) -> str:
    title, link, guid = draw(TEXTS), draw(LINKS), draw(GUIDS)
    parts = [
        f"<title>{title}</title>" if draw(st.booleans()) else "",
        f"<link>{link}</link>" if link else "",
        guid,
        f"<description>{draw(HTML)}</description>" if draw(st.booleans()) else "",
        draw(DATES),
        *draw(st.lists(EXTRAS, max_size=2)),
    ]
    return "".join(draw(st.permutations(parts)))


@settings(max_examples=150, deadline=None)
@given(st.lists(items(), min_size=1, max_size=3), TEXTS, st.sampled_from(["", "<ttl>15</ttl>"]))
def test_generated_rss_reads_the_same_wherever_the_fast_path_is_taken(
    entries: list[str], title: str, ttl: str
) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:media="http://search.yahoo.com/mrss/"'
        ' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">'
        f"<channel><title>{title}</title>{ttl}"
        + "".join(f"<item>{entry}</item>" for entry in entries)
        + "</channel></rss>"
    ).encode()
    assert_fast_path_agrees(body)


@st.composite
def atom_entries(draw: st.DrawFn) -> str:
    href = draw(LINKS)
    parts = [
        f"<title type='{draw(st.sampled_from(['text', 'html']))}'>{draw(TEXTS)}</title>",
        f"<id>{draw(mostly(['tag:x.org,2024:1', 'urn:uuid:1'], ['7', '', 'a&amp;b']))}</id>",
        f"<link rel='{draw(st.sampled_from(['alternate', 'related', 'enclosure']))}'"
        f" href='{href}'/>",
        draw(
            st.sampled_from(
                [
                    "",
                    "<updated>2024-03-05T07:00:00Z</updated>",
                    "<published>2024-03-05T07:00:00+07:00</published>",
                ]
            )
        ),
        draw(mostly(["", "<author><name>Sok</name></author>"], ["<author/>"])),
        f"<summary type='html'>{draw(HTML)}</summary>" if draw(st.booleans()) else "",
        f"<content type='html'>{draw(HTML)}</content>" if draw(st.booleans()) else "",
    ]
    return "".join(draw(st.permutations(parts)))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(atom_entries(), min_size=1, max_size=3),
    st.sampled_from(["", "<author><name>Sok</name></author>", 'xml:base="https://b.org/x/"']),
)
def test_generated_atom_reads_the_same_wherever_the_fast_path_is_taken(
    entries: list[str], extra: str
) -> None:
    base, author = (extra, "") if extra.startswith("xml:base") else ("", extra)
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" {base}>'
        f"<title>Feed</title>{author}"
        '<link rel="next" href="/feed?page=2&amp;x=1"/>'
        + "".join(f"<entry>{entry}</entry>" for entry in entries)
        + "</feed>"
    ).encode()
    assert_fast_path_agrees(body)
