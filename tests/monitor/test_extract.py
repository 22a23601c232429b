"""Full-text extraction, encodings, listing pages, sitemaps and feed autodiscovery (pure parts)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.sources.detect import detect_kind, discover_feeds
from monitor.sources.encoding import decode_html, html_charset
from monitor.sources.extract import (
    BODY_RULE,
    BodyRule,
    choose_body,
    dropped_share,
    extract_page,
    headline,
    parse_date,
    without_headline,
)
from monitor.sources.html import parse_listing
from monitor.sources.sitemap import gunzip, parse_sitemap

ARTICLE = """<html lang="en"><head><title>Mekong dam talks resume | Example Times</title>
<link rel="canonical" href="/news/mekong-dam?utm_source=x">
<meta property="article:published_time" content="2024-03-05T06:30:00+07:00">
<meta name="author" content="Sok Dara"></head><body>
<nav><a href="/">Home</a> <a href="/world">World news section</a></nav>
<h1>Mekong dam talks resume</h1>
<article>
<p>Officials from Cambodia, Laos and Thailand met in Vientiane on Tuesday to resume
talks about the planned hydropower dams on the Mekong river, the first meeting in a year.</p>
<p>Fishing communities downstream say the dams have already changed the river's flow and
reduced their catch, and they asked the governments to publish the impact studies.</p>
<p>The commission said it would publish a summary of the studies before the end of June,
and that a second round of talks was planned for the autumn in Phnom Penh.</p>
</article>
<aside><h2>Most read</h2><ul><li><a href="/a">Celebrity chef opens a noodle bar</a></li>
<li><a href="/b">Ten beaches you must visit this summer</a></li></ul></aside>
<footer><p>Copyright Example Times Media Group. All rights reserved.</p></footer>
</body></html>"""


def test_article_body_keeps_the_story_and_drops_navigation_most_read_and_footer() -> None:
    page = extract_page(ARTICLE.encode(), url="https://example.org/news/mekong-dam")
    assert "resume talks about the planned hydropower dams" in " ".join(page.text.split())
    assert "second round of talks" in page.text
    for boilerplate in ("World news section", "Most read", "noodle bar", "All rights reserved"):
        assert boilerplate not in page.text
    assert page.title == "Mekong dam talks resume"
    assert page.author == "Sok Dara"
    assert page.published == datetime(2024, 3, 4, 23, 30, tzinfo=UTC)


def test_rel_canonical_becomes_the_articles_url() -> None:
    page = extract_page(ARTICLE.encode(), url="https://example.org/n/123?ref=home")
    assert page.url == "https://example.org/news/mekong-dam"


@pytest.mark.parametrize(
    ("head", "url", "expected"),
    [
        (
            '<meta property="og:url" content="https://example.org/story-1">',
            "https://example.org/s?id=1",
            "https://example.org/story-1",
        ),
        (
            '<link rel="canonical" href="https://example.org/">',
            "https://example.org/2024/story",
            "https://example.org/2024/story",
        ),
        (
            '<link rel="canonical" href="javascript:void(0)">',
            "https://example.org/story",
            "https://example.org/story",
        ),
        ("", "https://Example.org/story?utm_medium=rss#top", "https://example.org/story"),
    ],
    ids=["og-url", "home-page-canonical-ignored", "non-http-ignored", "none"],
)
def test_canonical_url_of_a_page(head: str, url: str, expected: str) -> None:
    body = f"<html><head>{head}</head><body><p>{'Text. ' * 80}</p></body></html>"
    assert extract_page(body.encode(), url=url).url == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-09-13T06:30:00Z", datetime(2023, 9, 13, 6, 30, tzinfo=UTC)),
        ("2023-09-13T13:30:00+07:00", datetime(2023, 9, 13, 6, 30, tzinfo=UTC)),
        ("2023-09-13", datetime(2023, 9, 13, tzinfo=UTC)),
        ("Wed, 13 Sep 2023 06:30:00 GMT", datetime(2023, 9, 13, 6, 30, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
        ("1850-01-01", None),
    ],
)
def test_parse_date(value: str, expected: datetime | None) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("title", "h1s", "site", "expected"),
    [
        ("Flood warning issued | Khmer Times", [], None, "Flood warning issued"),
        (
            "Flood warning issued - Khmer Times",
            ["Flood warning issued"],
            None,
            "Flood warning issued",
        ),
        (
            "Khmer Times :: Flood warning issued today",
            [],
            "Khmer Times",
            "Flood warning issued today",
        ),
        (
            "Flood warning - what it means for farmers",
            [],
            None,
            "Flood warning - what it means for farmers",
        ),
        ("Flood warning issued - SAT.1", ["SAT.1"], None, "Flood warning issued"),
        ("Story 0 | The Example Post", ["Story 0"], None, "Story 0"),  # short headline
        ("", ["Only a headline here"], None, "Only a headline here"),
    ],
)
def test_headline_drops_the_site_name(
    title: str, h1s: list[str], site: str | None, expected: str
) -> None:
    assert headline(title, h1s, site) == expected


RUSSIAN = (
    "<html><body><p>Министерство иностранных дел России сообщило в понедельник, что переговоры "
    "с представителями стран АСЕАН пройдут в Пномпене в следующем месяце. По словам "
    "официального представителя, стороны обсудят торговлю, безопасность и энергетику.</p>"
    "</body></html>"
)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("café".encode("latin-1"), "text/html; charset=ISO-8859-1", "cp1252"),
        ("\ufeffcafé".encode("utf-8"), "text/html; charset=latin-1", "utf-8-sig"),
        ("\ufeff<p>café</p>".encode("utf-16-le"), None, "utf-16-le"),
        (b'<?xml version="1.0" encoding="koi8-r"?><html/>', None, "koi8_r"),
        (b'<meta charset="shift_jis"><p>\x93\xfa\x96{</p>', None, "cp932"),
        (b'<meta http-equiv="Content-Type" content="text/html; charset=gb2312">', None, "gb18030"),
        (b"<p>plain ascii</p>", None, "utf-8"),
        (
            RUSSIAN.encode("koi8-r"),
            None,
            "koi8_r",
        ),
    ],
    ids=[
        "http-latin1",
        "bom-beats-http",
        "utf16-bom",
        "xml-decl",
        "meta-charset",
        "meta-http-equiv",
        "ascii",
        "detected-koi8r",
    ],
)
def test_html_charset(body: bytes, content_type: str | None, expected: str) -> None:
    assert html_charset(body, content_type).replace("-", "_") == expected.replace("-", "_")


def test_pages_in_legacy_encodings_decode_to_the_right_text() -> None:
    text = "Пресс-релиз: Министерство обороны сообщило о новых учениях в регионе."
    body = f"<html><head><meta charset='koi8-r'></head><body><p>{text}</p></body></html>"
    assert text in decode_html(body.encode("koi8-r"))
    big5 = "<html><body><p>新聞：政府今天宣布新的經濟政策，以支持中小企業的發展。</p></body></html>"
    assert "經濟政策" in decode_html(big5.encode("big5"))


def test_boilerplate_snippets_stay_out_of_bodies_of_real_pages(corpus: Path) -> None:
    kept = missed = leaked = clean = 0
    for meta in sorted((corpus / "articles").glob("traf-*.json")):
        record = json.loads(meta.read_text())
        if record["annotation_kind"] != "human_snippets_and_metadata":
            continue
        page = extract_page(meta.with_suffix(".html").read_bytes(), url=record["url"])
        text = " ".join(page.text.split())
        for snippet in record["body_must_contain"] or []:
            kept, missed = (
                (kept + 1, missed) if " ".join(snippet.split()) in text else (kept, missed + 1)
            )
        for snippet in record["body_must_not_contain"] or []:
            clean, leaked = (
                (clean + 1, leaked)
                if " ".join(snippet.split()) not in text
                else (clean, leaked + 1)
            )
    # Measured: 146 of 153 boilerplate snippets out, 139 of 149 body snippets in.
    assert clean / (clean + leaked) >= 0.94
    assert kept / (kept + missed) >= 0.9


def test_corpus_pages_give_their_annotated_date_and_title(corpus: Path) -> None:
    dated = hits = 0
    for meta in sorted((corpus / "articles").glob("*.json")):
        record = json.loads(meta.read_text())
        if not record["published"]:
            continue
        page = extract_page(
            meta.with_suffix(".html").read_bytes(), url=record["url"] or "https://example.org/"
        )
        dated += 1
        hits += (
            page.published is not None
            and page.published.date().isoformat() == record["published"][:10]
        )
    assert hits / dated >= 0.8  # measured 68/82


LISTING = b"""<html><head><base href="https://news.example.org/"></head><body>
<nav><a href="/about">About</a></nav>
<h2 class="title"><a href="/2024/03/first-story?utm_source=home">First story</a></h2>
<h2 class="title"><a href="2024/03/second-story">Second story</a></h2>
<h2 class="title"><a href="/2024/03/first-story">First story again</a></h2>
<h2 class="title">No link here</h2>
<h2 class="title"><a href="javascript:void(0)">Bad</a></h2>
<a class="next" href="/category/national/page/2/">Older</a>
</body></html>"""


def test_listing_page_links_are_absolute_unique_and_in_order() -> None:
    listing = parse_listing(
        LISTING,
        url="https://news.example.org/category/national/",
        link_selector="h2.title",
        next_page_selector="a.next",
    )
    assert [link.url for link in listing.links] == [
        "https://news.example.org/2024/03/first-story?utm_source=home",
        "https://news.example.org/2024/03/second-story",
    ]
    assert listing.links[1].title == "Second story"
    assert listing.next_url == "https://news.example.org/category/national/page/2/"


@pytest.mark.parametrize(
    ("file", "kind", "first", "count"),
    [
        (
            "advertools__news_sitemap.xml",
            "urlset",
            "https://www.nytimes.com/interactive/2020/05/11/magazine/quarantine-insanity.html",
            6,
        ),
        ("advertools__regular_sitemap.xml.gz", "urlset", "http://www.example.com/", 5),
        ("advertools__zipped_sitemap.xml.gz", "urlset", None, None),
        ("crawlercommons__xmlSitemap.gz", "urlset", None, None),
        ("crawlercommons__sitemap.badns.xml", "urlset", "http://www.example.com/1", 2),
        ("trafilatura__sitemap2.xml", "index", None, None),
        ("crawlercommons__sitemap.txt.gz", "text", None, None),
        ("crawlercommons__sitemap-with-bom.txt", "text", "http://www.domain.com/page1.html", None),
        ("crawlercommons__atom.xml", "feed", None, None),
        ("advertools__robots.txt", "robots", None, None),
        ("crawlercommons__hebdenbridgetimes-articles-sitemap.xml", "urlset", None, 74),
    ],
)
def test_corpus_sitemaps_parse(
    corpus: Path, file: str, kind: str, first: str | None, count: int | None
) -> None:
    sitemap = parse_sitemap(
        (corpus / "sitemaps" / file).read_bytes(), url="https://example.org/s.xml"
    )
    assert sitemap.kind == kind
    assert sitemap.urls or sitemap.sitemaps
    if first is not None:
        assert sitemap.urls[0].url == first
    if count is not None:
        assert len(sitemap.urls) == count


def test_sitemap_index_with_cdata_loc_lists_its_children(corpus: Path) -> None:
    sitemap = parse_sitemap(
        (corpus / "sitemaps" / "trafilatura__sitemap2.xml").read_bytes(), url="https://example.org/"
    )
    assert [c.url for c in sitemap.sitemaps] == [
        "http://www.example.com/sitemap1.xml.gz",
        "http://www.example.com/sitemap2.xml.gz",
    ]
    assert sitemap.sitemaps[1].lastmod == datetime(2005, 1, 1, tzinfo=UTC)


def test_news_sitemap_gives_titles_and_publication_times(corpus: Path) -> None:
    sitemap = parse_sitemap(
        (corpus / "sitemaps" / "advertools__news_sitemap.xml").read_bytes(),
        url="https://example.org/",
    )
    first = sitemap.urls[0]
    assert (
        first.title == "Quarantine Was Driving Me Crazy — So I Decided to Lose My Mind on Purpose"
    )
    assert first.published == datetime(2020, 5, 11, 9, 0, 1, tzinfo=UTC)


def test_sitemap_entries_without_loc_are_read_from_their_own_text(corpus: Path) -> None:
    sitemap = parse_sitemap(
        (corpus / "sitemaps" / "crawlercommons__sitemap.index.xml").read_bytes(),
        url="https://example.com/sitemap.xml",
    )
    assert sitemap.kind == "index"
    assert len(sitemap.sitemaps) == 15
    assert sitemap.sitemaps[0].url == "https://example.com/sitemap.jss?portalCode=10260&lang=en"
    bare = parse_sitemap(
        b"<urlset><url> https://e.org/a </url><url><loc>https://e.org/b</loc></url></urlset>",
        url="https://e.org/s.xml",
    )
    assert [u.url for u in bare.urls] == ["https://e.org/a", "https://e.org/b"]


@pytest.mark.parametrize(
    ("text", "title", "expected"),
    [
        ("Mekong talks\nOfficials met.", "Mekong talks", "Officials met."),
        ("MEKONG  talks \n\nOfficials met.", "Mekong talks", "Officials met."),
        ("Mekong talks resume today\nOfficials met.", "Mekong talks", None),
        ("Officials met.", "", None),
        ("Mekong talks", "Mekong talks", ""),
    ],
)
def test_body_does_not_start_with_the_headline(text: str, title: str, expected: str | None) -> None:
    assert without_headline(text, title) == (text if expected is None else expected)


def test_malformed_sitemap_yields_nothing_instead_of_crashing(corpus: Path) -> None:
    sitemap = parse_sitemap(
        (corpus / "sitemaps" / "advertools__error_sitemap.xml").read_bytes(),
        url="https://example.org/",
    )
    assert sitemap.urls == ()


def test_gzip_is_recognised_by_content_and_capped() -> None:
    plain = b"<urlset><url><loc>https://example.org/a</loc></url></urlset>"
    assert gunzip(gzip.compress(plain)) == plain
    assert gunzip(plain) == plain
    with pytest.raises(ParseError, match="larger than 100 bytes once decompressed"):
        gunzip(gzip.compress(b"x" * 1000), max_bytes=100)


def test_a_page_that_is_no_sitemap_says_so() -> None:
    with pytest.raises(ParseError, match=r"sitemap: https://example.org/x: not a sitemap"):
        parse_sitemap(b"<html><body>hello</body></html>", url="https://example.org/x")


HOME = b"""<html><head>
<link rel="alternate" type="application/rss+xml" title="Comments Feed" href="/comments/feed/">
<link rel="alternate" type="application/rss+xml" title="News" href="/feed/">
<link rel="alternate" type="application/atom+xml" href="https://example.org/atom.xml">
<link rel="stylesheet" href="/style.css"></head><body></body></html>"""


def test_homepage_feeds_are_discovered_comment_feeds_last() -> None:
    assert discover_feeds(HOME, url="https://example.org/") == [
        "https://example.org/feed/",
        "https://example.org/atom.xml",
        "https://example.org/comments/feed/",
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (b'<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>', "text/html", "feed"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"></feed>', None, "feed"),
        (
            b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>',
            None,
            "sitemap",
        ),
        (
            gzip.compress(b"<sitemapindex></sitemapindex>", mtime=0),
            "application/octet-stream",
            "sitemap",
        ),
        (b"<!DOCTYPE html><html><head></head></html>", "text/xml", "html"),
        (b'{"hello": 1}', "application/json", "unknown"),
    ],
)
def test_detect_kind_reads_the_body_not_the_label(
    body: bytes, content_type: str | None, kind: str
) -> None:
    assert detect_kind(body, content_type) == kind


def test_extraction_benchmark_without_the_corpus_says_where_it_looked(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    bench = tmp_path / "project" / "bench" / "extract.py"
    bench.parent.mkdir(parents=True)
    bench.write_bytes((root / "bench" / "extract.py").read_bytes())
    result = subprocess.run(
        [sys.executable, str(bench), "1"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=60,
    )
    assert result.returncode == 1
    assert f"corpus not found at {tmp_path / 'shared' / 'corpus' / 'articles'}" in result.stderr


LEAD = "Officials from Cambodia, Laos and Thailand met in Vientiane on Tuesday to resume talks."
SECOND = "Fishing communities downstream say the dams have already changed the river's flow."
TEASER = "Most read"


@pytest.mark.parametrize(
    ("precise", "recall", "paragraph", "expected"),
    [
        pytest.param(LEAD + "\n" + SECOND, LEAD + "\n" + SECOND, 40, 0.0, id="nothing-dropped"),
        pytest.param(
            LEAD, LEAD + "\n" + SECOND, 40, len(SECOND) / len(LEAD + SECOND), id="one-of-two"
        ),
        pytest.param(LEAD, LEAD + "\n" + SECOND, 100, 0.0, id="paragraph-below-threshold"),
        pytest.param(LEAD, LEAD + "\n" + TEASER, 40, 0.0, id="short-teaser-not-a-paragraph"),
        pytest.param(
            LEAD.upper(),
            "  " + LEAD.replace(" ", "  ") + "  ",
            40,
            0.0,
            id="case-and-spaces-folded",
        ),
        pytest.param("", LEAD, 1, 1.0, id="precise-empty"),
        pytest.param(LEAD, "", 1, 0.0, id="recall-empty"),
    ],
)
def test_dropped_share_counts_whole_paragraphs_the_precise_text_lacks(
    precise: str, recall: str, paragraph: int, expected: float
) -> None:
    assert dropped_share(precise, recall, paragraph) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("rule", "precise", "recall", "expected"),
    [
        pytest.param(
            BodyRule("precision", 40, 0.3, 0),
            LEAD,
            LEAD + "\n" + SECOND,
            "recall",
            id="dropped-paragraph-takes-recall",
        ),
        pytest.param(
            BodyRule("precision", 40, 0.6, 0),
            LEAD,
            LEAD + "\n" + SECOND,
            "precise",
            id="dropped-share-under-threshold-keeps-precise",
        ),
        pytest.param(
            BodyRule("precision", 40, 0.1, 0),
            LEAD,
            LEAD + "\n" + TEASER,
            "precise",
            id="only-a-teaser-dropped-keeps-precise",
        ),
        pytest.param(
            BodyRule("precision", 0, 0.0, 0),
            LEAD,
            LEAD + "\n" + SECOND,
            "precise",
            id="rule-off-keeps-precise",
        ),
    ],
)
def test_recall_text_is_taken_when_the_precise_one_drops_whole_paragraphs(
    rule: BodyRule, precise: str, recall: str, expected: str
) -> None:
    assert choose_body(precise, recall, rule) == {"precise": precise, "recall": recall}[expected]


def test_module_body_rule_is_one_the_cross_validated_search_can_choose() -> None:
    """bench/extract.py tunes over GRID; the module must ship one of its rules."""
    spec = importlib.util.spec_from_file_location(
        "bench_extract", Path(__file__).resolve().parents[2] / "bench" / "extract.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    assert BODY_RULE in module.GRID
