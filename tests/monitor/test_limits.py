"""Field limits when an entry becomes an article, and headlines that look like markup."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.normalize.clean import clean_title
from monitor.normalize.limits import MAX_AUTHOR, MAX_SUMMARY, MAX_TITLE, clip, raw_bound
from monitor.pipeline.articles import article_from_entry, articles_from_entries
from monitor.sources.feed import Entry
from notifiers.render import render_email
from notifiers.types import Alert, AlertItem
from tests.notifiers.conftest import telegram_texts

FEED = "https://example.org/feed.xml"


def entry(**fields: str) -> Entry:
    values = {
        "guid": "g1",
        "link": "https://example.org/story",
        "title": "ASEAN summit",
        "summary": "Leaders met.",
        "content": "",
        "author": "Desk",
    }
    values.update(fields)
    return Entry(published=None, **values)  # type: ignore[arg-type]


CLIPS = [
    ("short", 10, "short"),
    ("exactly10!", 10, "exactly10!"),
    ("one two three four five six", 12, "one two thr…"),  # no space in the last tenth
    ("abcdefghijklmnop", 5, "abcd…"),
    ("ab\ud83d\ude00cd", 4, "ab…"),  # a surrogate pair is not split
    ("word " * 40, 100, ("word " * 19).rstrip() + "…"),  # ends at a word boundary
]


@pytest.mark.parametrize(("text", "limit", "clipped"), CLIPS)
def test_clip(text: str, limit: int, clipped: str) -> None:
    assert clip(text, limit) == clipped
    assert len(clip(text, limit)) <= limit


def test_raw_bound_keeps_what_can_clean_to_the_limit_and_never_splits_a_pair() -> None:
    assert raw_bound("<b>x</b>", 1) == "<b>x</b>"
    assert raw_bound("a" * 100, 2) == "a" * 16
    assert raw_bound("a" * 15 + "\ud83d\ude00", 2) == "a" * 15


def test_huge_fields_are_cut_when_an_entry_becomes_an_article() -> None:
    article = article_from_entry(
        entry(
            title="ASEAN <b>leaders</b> " * 500_000,  # 10 MB
            summary="<p>Summary words</p> " * 10_000,
            content="<p>Body words here</p>" * 10_000,
            author="A. Writer " * 100,
        ),
        source="fresh-news",
        feed_url=FEED,
        max_body=5_000,
    )
    assert len(article.title) <= MAX_TITLE
    assert article.title.startswith("ASEAN leaders ASEAN leaders")
    assert article.title.endswith("…")
    assert len(article.summary) <= MAX_SUMMARY
    assert article.summary.endswith("…")
    assert len(article.body) <= 5_000
    assert article.body.startswith("Body words here")
    assert article.author is not None
    assert len(article.author) <= MAX_AUTHOR


def test_ordinary_fields_are_untouched() -> None:
    article = article_from_entry(entry(), source="fresh-news", feed_url=FEED)
    assert (article.title, article.summary, article.body, article.author) == (
        "ASEAN summit",
        "Leaders met.",
        "Leaders met.",
        "Desk",
    )


def test_an_entry_with_a_url_over_2048_characters_is_skipped_with_a_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    long_link = "https://example.org/" + "a" * 2_100
    entries = [entry(guid="long", link=long_link), entry(guid="ok")]
    with caplog.at_level(logging.WARNING, logger="newsmon.collect"):
        articles = articles_from_entries(entries, source="fresh-news", feed_url=FEED)
    assert [a.guid for a in articles] == ["ok"]
    assert caplog.messages == [
        "parse: fresh-news: entry skipped: URL of 2,120 characters (limit 2,048): "
        + long_link[:80]
        + "…"
    ]


def test_max_body_is_a_setting_with_a_1_mb_default(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: a\n    url: https://example.org/feed\n")
    assert load_config(path, {}).settings.max_body == 1024 * 1024
    path.write_text("settings:\n  max_body: 64KB\n" + path.read_text())
    assert load_config(path, {}).settings.max_body == 64 * 1024


HEADLINES = [
    ("Why <script> tags break pages", "Why <script> tags break pages"),
    ("a < b > c", "a < b > c"),
    ("x<y and y>z", "x<y and y>z"),
    ("The <style> element, explained", "The <style> element, explained"),
    ("Vec<String> in Rust", "Vec<String> in Rust"),
    ("&lt;iframe&gt; considered harmful", "<iframe> considered harmful"),
    ("<script>alert(1)</script> Real headline", "<script>alert(1)</script> Real headline"),
    ("Use <b>bold</b>, not <I>italic</I>", "Use bold, not italic"),
    ('<a href="https://x.org">Linked</a> story', "Linked story"),
    ("Line<br>break<br/>twice", "Line break twice"),
    ("Tom &amp; Jerry &#x2014; again", "Tom & Jerry — again"),
]


@pytest.mark.parametrize(("raw", "title"), HEADLINES)
def test_headline_text_that_looks_like_markup_is_kept(raw: str, title: str) -> None:
    assert clean_title(raw) == title
    assert clean_title(clean_title(raw)) == title  # the feed parser and the article both clean


def test_script_looking_headline_is_escaped_in_telegram_and_email_html() -> None:
    title = article_from_entry(
        entry(title="Why <script> tags break pages"), source="fresh-news", feed_url=FEED
    ).title
    alert = Alert("asean", (AlertItem(title=title, url="https://example.org/s", snippet=""),))
    telegram = telegram_texts(alert)[0]
    page = render_email(alert).html
    for rendered in (telegram, page):
        assert "Why &lt;script&gt; tags break pages" in rendered
        assert "<script>" not in rendered
