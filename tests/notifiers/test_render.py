"""Rendering per channel: subjects, escaping, marks, Telegram limits and splitting."""

from __future__ import annotations

import re
from typing import Any

import pytest

from notifiers.render import (
    TELEGRAM_MAX_CHARS,
    email_subject,
    render_console,
    render_email,
    render_text,
    telegram_length,
)
from tests.notifiers.conftest import (
    html_tags,
    make_alert,
    make_item,
    telegram_html_problems,
    telegram_texts,
)

EMAIL_TAGS = {"html", "head", "meta", "title", "body", "p", "b", "div", "h3", "a", "mark"}


@pytest.mark.parametrize(
    ("alert", "subject"),
    [
        (make_alert(), "[newsmon] asean-russia: ASEAN and Russia sign trade pact"),
        (
            make_alert(make_item(title="Line one\nline\ttwo  \r\n")),
            "[newsmon] asean-russia: Line one line two",
        ),
        (
            make_alert(make_item(title="", url="https://ex.org/x")),
            "[newsmon] asean-russia: https://ex.org/x",
        ),
        (
            make_alert(*[make_item()] * 12, kind="combined"),
            "[newsmon] asean-russia: 12 new matches",
        ),
        (make_alert(make_item(), kind="digest"), "[newsmon] asean-russia: 1 new match"),
        (
            make_alert(make_item(), rule="cambodia-trade", kind="digest"),
            "[newsmon] cambodia-trade: 1 new match",
        ),
    ],
)
def test_email_subject_names_the_rule_and_the_title(alert: Any, subject: str) -> None:
    assert email_subject(alert) == subject
    assert render_email(alert).subject == subject
    assert render_text(alert).title == subject


def test_email_has_marked_html_and_a_text_part_with_guillemets() -> None:
    parts = render_email(make_alert())
    assert "Leaders of <mark>ASEAN</mark> met <mark>Russia</mark> in Phnom Penh" in parts.html
    assert 'href="https://news.example.org/2023/09/asean-russia?id=7&amp;lang=en"' in parts.html
    assert "Leaders of «ASEAN» met «Russia» in Phnom Penh" in parts.text
    assert "https://news.example.org/2023/09/asean-russia?id=7&lang=en" in parts.text
    assert (
        "fresh-news · also in: khmer-times · 2023-09-13 06:30 UTC · matched: ASEAN, Russia"
        in parts.text
    )


HOSTILE = [
    ("title", "<script>alert(1)</script> & co"),
    ("title", "Tom &amp; Jerry <b>bold</b> <a href='x'>"),
    ("snippet", "before <script>alert(1)</script> & <img src=x onerror=alert(1)>"),
    ("outlets", ("<script>evil</script>",)),
    ("terms", ("<i>term</i>",)),
]


@pytest.mark.parametrize(("field", "value"), HOSTILE)
def test_news_content_cannot_inject_markup_into_email(field: str, value: Any) -> None:
    parts = render_email(make_alert(make_item(**{field: value, "spans": ((0, 8),)})))
    assert html_tags(parts.html) <= EMAIL_TAGS
    assert "<script" not in parts.html.lower()
    assert "<img" not in parts.html.lower()


@pytest.mark.parametrize(("field", "value"), HOSTILE)
@pytest.mark.parametrize("kind", ["instant", "digest"])
def test_news_content_cannot_inject_markup_into_telegram(field: str, value: Any, kind: str) -> None:
    alert = make_alert(make_item(**{field: value, "spans": ((0, 8),)}), kind=kind)
    for part in telegram_texts(alert):
        assert telegram_html_problems(part) == []
        assert "<script" not in part.lower()


@pytest.mark.parametrize(
    ("url", "href"),
    [
        (
            'https://ex.org/?q="><script>alert(1)</script>&x=1',
            'href="https://ex.org/?q=%22%3E%3Cscript%3Ealert(1)%3C/script%3E&amp;x=1"',
        ),
        ("https://ex.org/a?x=1&y=2", 'href="https://ex.org/a?x=1&amp;y=2"'),
        ('https://ex.org/"quoted"', 'href="https://ex.org/%22quoted%22"'),
    ],
)
def test_urls_are_escaped_in_href_and_in_text(url: str, href: str) -> None:
    alert = make_alert(make_item(url=url))
    page = render_email(alert).html
    (message,) = telegram_texts(alert)
    for out in (page, message):
        assert "<script" not in out
        assert href in out
    assert html_tags(page) <= EMAIL_TAGS
    assert telegram_html_problems(message) == []


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>x</script>"])
def test_non_http_urls_are_shown_but_never_linked(url: str) -> None:
    alert = make_alert(make_item(url=url))
    (message,) = telegram_texts(alert)
    page = render_email(alert).html
    assert "href" not in message
    assert 'href="javascript' not in page
    assert 'href="data' not in page
    assert "javascript:alert(1)" in message or "data:text/html,&lt;script&gt;" in message


def test_console_and_text_strip_terminal_escapes_and_mark_hits() -> None:
    item = make_item(
        title="Red \x1b[31mALERT\x1b[0m",
        snippet="ASEAN\nmeets\x07 Russia",
        spans=((0, 5), (13, 19)),
    )
    alert = make_alert(item)
    out = render_console(alert)
    assert "\x1b" not in out
    assert "\x07" not in out
    assert out.splitlines()[0] == "[newsmon] asean-russia: Red [31mALERT [0m"
    assert "«ASEAN» meets  «Russia»" in out
    assert render_text(alert).body_format == "text"


def test_console_lists_every_item_of_a_combined_alert() -> None:
    alert = make_alert(*(make_item(title=f"Story {n}") for n in range(1, 4)), kind="combined")
    out = render_console(alert)
    assert out.splitlines()[0] == "[newsmon] asean-russia: 3 new matches"
    assert [line.strip() for line in out.splitlines() if re.match(r"\s+\d+\. ", line)] == [
        "1. Story 1",
        "2. Story 2",
        "3. Story 3",
    ]


def test_instant_telegram_message_is_bold_title_marked_snippet_link_and_rule() -> None:
    (message,) = telegram_texts(make_alert())
    assert message.splitlines() == [
        "<b>ASEAN and Russia sign trade pact</b>",
        "Leaders of <b>ASEAN</b> met <b>Russia</b> in Phnom Penh on Tuesday.",
        '<a href="https://news.example.org/2023/09/asean-russia?id=7&amp;lang=en">'
        "https://news.example.org/2023/09/asean-russia?id=7&amp;lang=en</a>",
        "<i>asean-russia</i> · fresh-news · also in: khmer-times · 2023-09-13 06:30 UTC",
    ]


@pytest.mark.parametrize(
    "snippet",
    [
        "x" * 4000 + " ASEAN " + "y" * 5993,  # 10,000 characters, the hit in the middle
        "& < > " * 1667,  # every character escapes to several
        "🙂" * 10_000,  # Telegram counts these twice (UTF-16)
    ],
)
def test_long_snippet_gives_one_telegram_message_within_4096_with_title_and_link(
    snippet: str,
) -> None:
    start = snippet.find("ASEAN")
    spans = ((start, start + 5),) if start >= 0 else ((0, 3000),)
    messages = telegram_texts(make_alert(make_item(snippet=snippet, spans=spans)))
    assert len(messages) == 1
    (message,) = messages
    assert len(message) <= telegram_length(message) <= TELEGRAM_MAX_CHARS
    assert telegram_length(message) > TELEGRAM_MAX_CHARS - 200  # the room is used, not wasted
    assert message.startswith("<b>ASEAN and Russia sign trade pact</b>\n")
    assert 'href="https://news.example.org/2023/09/asean-russia?id=7&amp;lang=en"' in message
    assert telegram_html_problems(message) == []
    if start >= 0:
        assert "<b>ASEAN</b>" in message


@pytest.mark.parametrize(
    "item",
    [
        make_item(title="T" * 10_000),
        make_item(url="https://ex.org/" + "p/" * 5_000),
        make_item(title="<&>" * 5_000, url="https://ex.org/?" + "a=1&" * 3_000),
        make_item(outlets=tuple(f"outlet-{n}-" + "o" * 200 for n in range(100))),
    ],
)
def test_huge_titles_urls_and_outlet_lists_still_fit_one_message(item: Any) -> None:
    for kind in ("instant", "digest"):
        for message in telegram_texts(make_alert(item, kind=kind)):
            assert telegram_length(message) <= TELEGRAM_MAX_CHARS
            assert telegram_html_problems(message) == []


def test_combined_alert_of_60_items_splits_into_well_formed_parts() -> None:
    items = [
        make_item(
            title=f"Story {n} <&>", snippet=f"ASEAN & Russia {'news ' * 60}#{n}", spans=((0, 5),)
        )
        for n in range(1, 61)
    ]
    parts = telegram_texts(make_alert(*items, kind="combined"))
    assert len(parts) > 1
    for i, part in enumerate(parts, 1):
        assert telegram_length(part) <= TELEGRAM_MAX_CHARS
        assert telegram_html_problems(part) == []
        assert part.startswith(
            f"<b>[newsmon] asean-russia: 60 new matches</b> ({i}/{len(parts)})\n"
        )
    numbers = [int(n) for part in parts for n in re.findall(r"^(\d+)\. <b>", part, re.M)]
    assert numbers == list(range(1, 61))  # every story once, in order, none cut off


def test_telegram_text_needs_no_rewriting_by_apprise() -> None:
    # Apprise rewrites passthrough Telegram bodies: `&quot;` becomes `"` and
    # blank lines collapse. Our messages contain neither, so they arrive as built.
    alert = make_alert(*[make_item(title='say "hi"', snippet='a "quote" here')] * 12, kind="digest")
    for part in telegram_texts(alert):
        assert "&quot;" not in part
        assert "\n\n" not in part
