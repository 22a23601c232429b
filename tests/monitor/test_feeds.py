"""Feed parsing: our small fixtures, hostile input, and the real-world corpus."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.normalize.clean import canonical_url, clean_title
from monitor.sources.feed import Entry, ParsedFeed, looks_like_feed, parse_feed
from monitor.sources.feedbytes import strip_doctype
from tests.conftest import FIXTURES

FEEDS = FIXTURES / "feeds"
FEED_URL = "https://news.example.org/feeds/main.xml"


def parse_fixture(name: str, url: str = FEED_URL) -> ParsedFeed:
    return parse_feed((FEEDS / name).read_bytes(), url=url)


def by_title(feed: ParsedFeed, title: str) -> Entry:
    return next(entry for entry in feed.entries if entry.title == title)


# --- formats --------------------------------------------------------------------


def test_rss2_entry_has_plain_title_absolute_link_html_summary_and_utc_date() -> None:
    feed = parse_fixture("rss20.xml")
    assert feed.is_feed
    assert feed.title == "Phnom Penh Daily & Regional"
    first = feed.entries[0]
    assert first.guid == "pp-daily-1001"
    assert first.title == "ASEAN ministers meet Russia envoy & trade delegation"
    assert first.link == "https://news.example.org/2024/03/asean-russia.html"
    assert first.summary == "<p>Ministers met in <b>Phnom Penh</b>.</p>"
    assert first.content.startswith("<p>Ministers met in <b>Phnom Penh</b> on Monday.</p>")
    assert first.author == "Sok Dara"
    assert first.published == datetime(2024, 3, 4, 2, 30, tzinfo=UTC)


def test_rss_ttl_minutes_become_seconds_and_rel_next_is_absolute() -> None:
    feed = parse_fixture("rss20.xml")
    assert feed.ttl_seconds == 30 * 60
    assert feed.next_url == "https://news.example.org/feeds/feed.xml?page=2"


def test_rss_date_with_a_non_english_weekday_still_parses() -> None:
    entry = by_title(parse_fixture("rss20.xml"), "Rice exports rise")
    assert entry.published == datetime(2024, 3, 6, 9, 0, tzinfo=UTC)


def test_unparseable_or_missing_date_is_none() -> None:
    feed = parse_fixture("rss20.xml")
    assert by_title(feed, "Permalink only").published is None
    assert by_title(feed, "Flood warning for Tonle Sap").published is None


def test_guid_falls_back_to_link_then_to_a_stable_hash() -> None:
    feed = parse_fixture("rss20.xml")
    assert by_title(feed, "Rice exports rise").guid == "https://news.example.org/2024/03/rice.html"
    no_id = by_title(feed, "Flood warning for Tonle Sap")
    assert no_id.link == ""
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", no_id.guid)
    again = by_title(parse_fixture("rss20.xml", url="https://mirror.example/"), no_id.title)
    assert again.guid == no_id.guid


def test_permalink_guid_without_link_becomes_the_link() -> None:
    entry = by_title(parse_fixture("rss20.xml"), "Permalink only")
    assert entry.link == "https://news.example.org/2024/03/permalink.html"


def test_atom_links_resolve_against_xml_base_and_html_title_becomes_text() -> None:
    feed = parse_fixture("atom10.xml")
    assert feed.title == "Khmer Times Blog"
    assert feed.next_url == "https://blog.example.net/khmer/feed.atom?page=2"
    assert feed.ttl_seconds is None
    angkor = by_title(feed, "Angkor visitors up")
    assert angkor.link == "https://blog.example.net/khmer/posts/angkor.html"
    assert 'href="https://blog.example.net/stats"' in angkor.content
    assert angkor.author == "Chan Sophea"
    assert angkor.published == datetime(2024, 3, 5, 1, 15, tzinfo=UTC)


def test_atom_non_html_alternate_is_the_link_and_updated_stands_in_for_published() -> None:
    report = by_title(parse_fixture("atom10.xml"), "Annual report")
    assert report.link == "https://cdn.example.net/reports/report-2023.pdf"
    assert report.guid == "tag:blog.example.net,2024:report"
    assert report.published == datetime(2024, 2, 1, 5, 0, tzinfo=UTC)


def test_rdf_feed() -> None:
    feed = parse_fixture("rdf.xml")
    assert (feed.is_feed, feed.title) == (True, "RDF Wire")
    (entry,) = feed.entries
    assert entry.link == "https://rdf.example.com/a"
    assert entry.author == "Wire Staff"
    assert entry.published == datetime(2024, 2, 29, 23, 0, tzinfo=UTC)


def test_json_feed_1_1() -> None:
    feed = parse_fixture("jsonfeed11.json", url="https://mekong.example.org/feed.json")
    assert (feed.is_feed, feed.title) == (True, "Mekong Monitor")
    assert feed.next_url == "https://mekong.example.org/feed.json?page=2"
    first, numeric_id, bare = feed.entries  # the non-object item is skipped
    assert first == Entry(
        guid="mm-2001",
        link="https://mekong.example.org/2024/03/border.html",
        title="Border crossing reopens",
        summary="The crossing reopened on Tuesday.",
        content="<p>The crossing <b>reopened</b> on Tuesday.</p>",
        author="Vanna Kim",
        published=datetime(2024, 3, 5, 7, 0, tzinfo=UTC),
    )
    assert numeric_id.guid == "2002"
    assert numeric_id.link == "https://elsewhere.example.com/story"
    assert numeric_id.content == "Plain text only."
    assert numeric_id.published == datetime(2024, 3, 6, 1, 2, 3, tzinfo=UTC)
    assert bare.guid.startswith("sha256:")
    assert bare.published is None


def test_json_feed_1_0_single_author() -> None:
    (entry,) = parse_fixture("jsonfeed10.json").entries
    assert entry.author == "Editor"
    assert entry.published == datetime(2020, 1, 2, 11, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "warning"),
    [
        ((FEEDS / "not_a_feed.html").read_bytes(), "not a feed (looks like HTML)"),
        (b"", "not a feed (empty body)"),
        (b'<?xml version="1.0"?><urlset><url><loc>x</loc></url></urlset>', "root element <urlset>"),
        (b'{"title": "some API"}', "JSON without a jsonfeed.org version"),
        (b'{"version": "https://jsonfeed.org/version/1", ', "invalid JSON"),
    ],
)
def test_non_feed_is_reported_not_raised(body: bytes, warning: str) -> None:
    feed = parse_feed(body, url=FEED_URL)
    assert (feed.is_feed, feed.entries) == (False, ())
    assert any(warning in w for w in feed.warnings), feed.warnings


def test_malformed_feed_is_recovered_with_a_warning() -> None:
    body = b"<rss><channel><title>Half</title><item><title>Kept</title></item><item><title>Cut"
    feed = parse_feed(body, url=FEED_URL)
    assert feed.is_feed
    assert [e.title for e in feed.entries][:1] == ["Kept"]
    assert any(w.startswith("malformed XML (recovered): ") for w in feed.warnings)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ((FEEDS / "rss20.xml").read_bytes(), True),
        ((FEEDS / "atom10.xml").read_bytes(), True),
        ((FEEDS / "rdf.xml").read_bytes(), True),
        ((FEEDS / "jsonfeed11.json").read_bytes(), True),
        ("\ufeff<?xml version='1.0' encoding='utf-16'?><rss/>".encode("utf-16"), True),
        (b'<?xml-stylesheet href="a.xsl"?>\n<!-- c --><!DOCTYPE rss [<!ENTITY a "b">]><rss>', True),
        (b"\n\n  <feed xmlns='http://www.w3.org/2005/Atom'>", True),
        ((FEEDS / "not_a_feed.html").read_bytes(), False),
        (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/">', False),
        (b'<?xml version="1.0"?><rdf><item/></rdf>', False),
        (b'{"data": [1, 2]}', False),
        (b"", False),
        (b"just text", False),
    ],
)
def test_looks_like_feed(body: bytes, expected: bool) -> None:
    assert looks_like_feed(body) is expected


# --- encodings ------------------------------------------------------------------

UNICODE_RSS = (
    '<?xml version="1.0" encoding="{enc}"?>'
    "<rss version='2.0'><channel><title>Новости Камбоджи — ព័ត៌មាន</title>"
    "<item><title>Привет, 世界</title><link>https://x.example/1</link></item></channel></rss>"
)


@pytest.mark.parametrize(
    ("codec", "declared"),
    [
        ("utf-16", "utf-16"),  # with BOM
        ("utf-16-le", "utf-16"),  # without BOM
        ("utf-16-be", "utf-16"),
        ("utf-32", "utf-32"),
        ("utf-8-sig", "utf-8"),
    ],
)
def test_utf16_and_utf32_bodies_decode(codec: str, declared: str) -> None:
    feed = parse_feed(UNICODE_RSS.format(enc=declared).encode(codec), url=FEED_URL)
    assert feed.title == "Новости Камбоджи — ព័ត៌មាន"
    assert [e.title for e in feed.entries] == ["Привет, 世界"]


def test_http_charset_overrides_the_xml_declaration() -> None:
    body = (
        '<?xml version="1.0" encoding="windows-1252"?><rss><channel>'
        "<item><title>Россия и АСЕАН</title></item></channel></rss>"
    ).encode("koi8-r")
    right = parse_feed(body, url=FEED_URL, headers={"Content-Type": "text/xml; charset=KOI8-R"})
    assert right.entries[0].title == "Россия и АСЕАН"
    trusting_the_declaration = parse_feed(body, url=FEED_URL)
    assert trusting_the_declaration.entries[0].title != "Россия и АСЕАН"


# Detection needs a sentence or two: on a few words every detector guesses.
LEGACY_TEXTS = [
    (
        "koi8-r",
        "Наверное, единственное, во что сегодня можно верить безоговорочно, так это в то,"
        " что Новый год обязательно наступит.",
    ),
    ("gb2312", "不归移民漫画系列：专业工作。今天我们讨论中国经济发展的新趋势和政策变化。"),
    (
        "big5",
        "繁體中文新聞：行政院今天召開記者會，說明明年度預算編列的重點，包括教育、交通與社會福利等項目。"
        "立法院將於下週開始審查相關法案，各黨團均表示將嚴格把關。",
    ),
    (
        "cp1252",
        "Ibope: Bolsonaro perde de Haddad, Ciro e Alckmin em simulações de 2º turno."
        " Promotoria abre inquérito.",
    ),
]


@pytest.mark.parametrize(("codec", "text"), LEGACY_TEXTS)
def test_undeclared_legacy_encoding_is_detected(codec: str, text: str) -> None:
    body = f"<rss><channel><item><title>{text[:20]}</title><description>{text}</description>"
    feed = parse_feed((body + "</item></channel></rss>").encode(codec), url=FEED_URL)
    assert (feed.entries[0].title, feed.entries[0].summary) == (text[:20], text)


# --- hostile input --------------------------------------------------------------

# Nested entities ("billion laughs") and one large entity referenced many times
# (quadratic blow-up). feedparser defuses the first itself; the second it
# expands without limit in its loose parser once expat gives up: unstripped,
# this 106 KB body becomes a title of 100 million characters.
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'
        for i in range(1, 10)
    )
    + f' <!ENTITY big "{"A" * 100_000}">\n'
    + ' <!ENTITY note "a ] > inside a literal">\n <!-- ]> in a comment -->\n]>\n'
    + f"<rss><channel><title>&lol9;{'&big;' * 1_000}</title>"
    + "<item><title>Survivor</title><description>&lol9;&lol9;</description></item>"
    + "</channel></rss>"
)


@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
def test_billion_laughs_doctype_is_stripped_so_parsing_is_fast_and_bounded(codec: str) -> None:
    # A child process with a memory cap and a timeout: if the DOCTYPE ever got
    # through, the test fails instead of taking the machine down.
    script = textwrap.dedent(
        """
        import json, resource, sys, time
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from monitor.sources.feed import parse_feed
        body = sys.stdin.buffer.read()
        start = time.perf_counter()
        feed = parse_feed(body, url="https://x.example/feed")
        print(json.dumps({
            "seconds": time.perf_counter() - start,
            "titles": [e.title for e in feed.entries],
            "size": len(feed.title) + sum(len(e.summary) for e in feed.entries),
        }))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=BILLION_LAUGHS.encode(codec),
        capture_output=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["titles"] == ["Survivor"]
    assert result["size"] < 20_000  # the references stay as literal text
    assert result["seconds"] < 2


def test_strip_doctype_keeps_everything_after_the_doctype() -> None:
    stripped = strip_doctype(BILLION_LAUGHS.encode())
    assert b"ENTITY" not in stripped
    assert stripped.startswith(b'<?xml version="1.0"?>\n')
    assert stripped.endswith(b"</channel></rss>")
    html_inside = b"<rss><item><description><![CDATA[<!DOCTYPE html><p>x</p>]]></description>"
    assert strip_doctype(html_inside) is html_inside


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\x00\x00\x00",
        b"\xff\xfe\x00",
        b"<rss" * 1000,
        b"<!DOCTYPE",
        b"<!DOCTYPE x [ <!ENTITY a '",
        b"{" * 100_000,
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [' + b"[" * 50_000,
        b'{"version": "https://jsonfeed.org/version/1.1", "items": {"a": 1}, "title": 5}',
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"authors": [3], "url": 7}]}',
        b"<rss><channel><ttl>-5</ttl><ttl>x</ttl><item><link>javascript:alert(1)</link></item>",
        b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><link href='http://[::1'/></entry>",
    ],
)
def test_garbage_never_raises(body: bytes) -> None:
    feed = parse_feed(body, url=FEED_URL)
    assert isinstance(feed, ParsedFeed)
    assert all(e.guid for e in feed.entries)
    assert all(e.link == "" or e.link.startswith("http") for e in feed.entries)


# --- the real-world corpus --------------------------------------------------------


def corpus_rows(corpus: Path) -> list[dict[str, str]]:
    with (corpus / "feeds" / "INDEX.tsv").open(encoding="utf-8", newline="") as index:
        return list(csv.DictReader(index, delimiter="\t"))


def test_every_corpus_feed_parses_without_raising(corpus: Path) -> None:
    rows = corpus_rows(corpus)
    assert len(rows) >= 80
    for row in rows:
        body = (corpus / "feeds" / row["file"]).read_bytes()
        for headers in (None, {"Content-Type": "text/html"}):
            feed = parse_feed(body, url="https://example.com/feed", headers=headers)
            # "unknown" is feedparser's empty document: a comment and nothing else
            assert feed.is_feed == (row["format"] not in ("NOT A FEED", "unknown")), row["file"]
            assert looks_like_feed(body) == feed.is_feed, row["file"]
            for entry in feed.entries:
                assert entry.guid, row["file"]
                assert entry.published is None or entry.published.tzinfo is UTC


def expected_items(expected: dict[str, object]) -> tuple[list[dict[str, object]], str]:
    """(items, feed title) from rss-parser's or feed-rs's JSON, as plain dicts and text."""
    if "feed" in expected:  # rss-parser
        feed = expected["feed"]
        assert isinstance(feed, dict)
        return [
            {"title": i.get("title"), "link": i.get("link"), "date": i.get("isoDate")}
            for i in feed.get("items", [])
        ], feed.get("title") or ""
    entries = expected.get("entries", [])  # feed-rs
    assert isinstance(entries, list)
    title = expected.get("title")
    return [
        {
            "title": (e.get("title") or {}).get("content"),
            "link": (e.get("links") or [{}])[0].get("href"),
            "date": e.get("published") or e.get("updated"),
        }
        for e in entries
    ], (title or {}).get("content", "") if isinstance(title, dict) else ""


def same_text(expected: object, ours: str) -> bool:
    """Upstream keeps markup and entities in titles, and U+FFFD where it mis-decoded."""
    if not isinstance(expected, str):
        return ours == ""
    pattern = r".{1,2}".join(re.escape(part) for part in re.split("\ufffd+", clean_title(expected)))
    return re.fullmatch(pattern, ours) is not None


def test_corpus_agrees_with_upstream_expected_output(corpus: Path) -> None:
    disagreements: list[tuple[object, ...]] = []
    checked = 0
    for row in corpus_rows(corpus):
        if row["expected_output_file"] == "-":
            continue
        raw = (corpus / "feeds" / row["expected_output_file"]).read_bytes()
        expected = json.loads(raw.decode("utf-8", "replace"))  # one upstream file is Latin-1
        items, feed_title = expected_items(expected)
        feed = parse_feed((corpus / "feeds" / row["file"]).read_bytes(), url="https://x.test/")
        checked += 1
        if len(items) != len(feed.entries):
            disagreements.append((row["file"], "count", len(items), len(feed.entries)))
            continue
        if not same_text(feed_title, feed.title):
            disagreements.append((row["file"], "feed title", feed_title, feed.title))
        for item, entry in zip(items, feed.entries, strict=True):
            if not same_text(item["title"], entry.title):
                disagreements.append((row["file"], "title", item["title"], entry.title))
            link = item["link"]
            if isinstance(link, str) and canonical_url(link) != canonical_url(entry.link):
                disagreements.append((row["file"], "link", link, entry.link))
            date = item["date"]
            if isinstance(date, str):
                when = datetime.fromisoformat(date.replace("Z", "+00:00")).replace(microsecond=0)
                if when != entry.published:
                    disagreements.append((row["file"], "date", date, entry.published))
    assert checked == 29
    assert disagreements == []


def leading_comment(body: bytes) -> str:
    """The feedparser test header; in UTF-16/32 files its ASCII survives dropping NULs."""
    return body[:800].replace(b"\x00", b"").decode("latin-1")


def test_corpus_encoding_cases_decode_as_their_expect_line_says(corpus: Path) -> None:
    checked = []
    for path in sorted((corpus / "feeds").glob("feedparser__*.xml")):
        body = path.read_bytes()
        comment = leading_comment(body)
        named = re.search(r"Expect:.*encoding == '([^']+)'", comment)
        if named is None:
            continue
        header = re.search(r"Header:\s*Content-type:\s*(.+)", comment)
        headers = {"Content-Type": header.group(1).strip()} if header else None
        feed = parse_feed(body, url="https://x.test/", headers=headers)
        texts = [feed.title, *(e.title for e in feed.entries), *(e.summary for e in feed.entries)]
        assert not any("\ufffd" in text for text in texts), path.name
        decoded = body.decode(named.group(1))
        first_title = re.search(r"<title>(.*?)</title>", decoded, re.DOTALL)
        if first_title:
            assert clean_title(first_title.group(1)) in texts, path.name
        checked.append(path.name)
    assert len(checked) >= 12  # 8 undeclared legacy encodings, UTF-8/16/32, big5


@pytest.mark.parametrize(
    ("file", "headers", "title"),
    [
        ("feedparser__encoding__euc-kr.xml", None, "\ub144"),
        ("feedparser__encoding__http_i18n.xml", {"Content-Type": "application/xml"},
         "Iñtërnâtiônàlizætiøn"),
        ("nnw__kc0011.rss", None, "投资资讯网交易在线--流通纪念币最新20篇论坛主题-全文"),
        ("rssparser__encoding.rss", {"Content-Type": "text/xml; charset=latin1"},
         "Jornal de Notícias - Últimas Notícias"),
        ("feedrs__rss_1.0_iso8859.xml", None, "Golem.de"),
        ("feedparser__illformed__always_strip_doctype.xml", None, "found"),
    ],
)  # fmt: skip
def test_corpus_feed_titles_decode(
    corpus: Path, file: str, headers: dict[str, str] | None, title: str
) -> None:
    feed = parse_feed(
        (corpus / "feeds" / file).read_bytes(), url="https://x.test/", headers=headers
    )
    assert feed.title == title


def test_corpus_undeclared_latin1_feed_reads_as_windows_1252(corpus: Path) -> None:
    feed = parse_feed(
        (corpus / "feeds" / "rssparser__uolNoticias.rss").read_bytes(), url="https://x/"
    )
    assert feed.entries[0].title == (
        "Ibope: Bolsonaro perde de Haddad, Ciro e Alckmin em simulações de 2º turno"
    )


def test_corpus_rss_with_atom_paging_links_exposes_next(corpus: Path) -> None:
    body = (corpus / "feeds" / "rssparser__pagination-links.rss").read_bytes()
    feed = parse_feed(body, url="http://example.org/index.atom?page=3")
    assert feed.next_url == "http://example.org/index.atom?page=4"


def test_corpus_html_page_at_a_feed_url_is_not_a_feed(corpus: Path) -> None:
    feed = parse_feed(
        (corpus / "feeds" / "rssparser__unrecognized.rss").read_bytes(), url="https://x/"
    )
    assert (feed.is_feed, feed.warnings) == (False, ("not a feed (looks like HTML)",))
