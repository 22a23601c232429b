"""Delivery end to end through the CLI: outages, flood control, escaping, notify-test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from notifiers.render import telegram_length
from storage import Store
from tests.helpers import FeedServer, Sink, SmtpSink, free_port, newsmon, rss
from tests.monitor.test_run_once import story, write_config


def alerts(config: Path, *args: str) -> list[dict[str, Any]]:
    result = newsmon("alerts", *args, "--format", "json", config=config)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_mail_server_down_during_the_poll_then_up_delivers_exactly_once(
    tmp_path: Path, feeds: FeedServer, sink: Sink
) -> None:
    smtp = SmtpSink(port=free_port())  # nothing listens there yet
    url = feeds.set("/feed.xml", rss([story(1, "ASEAN ministers meet", "https://e.org/1")]))
    config = write_config(tmp_path, {"wire": url}, smtp=smtp, sink=sink)
    refused = f"email: cannot send via 127.0.0.1:{smtp.port}: Connection refused"

    first = newsmon("run", "--once", config=config)

    assert first.returncode == 0, first.stderr
    assert f"delivery to mail failed: {refused}" in first.stderr
    (failed,) = alerts(config, "--status", "failed")
    assert (failed["channel"], failed["attempts"], failed["last_error"]) == ("mail", 1, refused)
    assert failed["title"] == "ASEAN ministers meet"
    assert failed["next_attempt_at"] > failed["created_at"]  # retried after a minute

    smtp.start()
    try:
        retry = newsmon("alerts", "retry", str(failed["id"]), config=config)
        assert (retry.returncode, retry.stdout) == (0, "requeued 1 alert\n")
        assert newsmon("run", "--once", config=config).returncode == 0
    finally:
        smtp.stop()
    assert smtp.subjects() == ["[newsmon] asean-russia: ASEAN ministers meet"]
    store = Store.open(f"sqlite:///{tmp_path / 'newsmon.db'}")
    try:
        (mail,) = [d for d in store.list_deliveries() if d.channel == "mail"]
    finally:
        store.close()
    assert (mail.status, mail.attempts, mail.last_error) == ("sent", 2, refused)
    assert len(sink.telegram_texts()) == 1  # the channels that worked were not sent again


def test_twelve_new_matches_in_one_pass_are_one_message_per_channel_listing_every_link(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink
) -> None:
    links = [f"https://e.org/story-{n}" for n in range(12)]
    url = feeds.set(
        "/feed.xml", rss([story(n, f"ASEAN item {n}", link) for n, link in enumerate(links)])
    )
    config = write_config(tmp_path, {"wire": url}, smtp=smtp, sink=sink)

    result = newsmon("run", "--once", config=config)

    assert result.returncode == 0, result.stderr
    assert smtp.subjects() == ["[newsmon] asean-russia: 12 new matches"]
    text = smtp.messages[0].get_body(("plain",))
    page = smtp.messages[0].get_body(("html",))
    assert text is not None
    assert page is not None
    (telegram,) = sink.telegram_texts()
    (hook,) = sink.webhook_bodies()
    for link in links:
        assert link in text.get_content()
        assert f'href="{link}"' in page.get_content()
        assert f'href="{link}"' in telegram
        assert link in hook
    outbox = alerts(config)
    assert len(outbox) == 36
    assert {a["status"] for a in outbox} == {"sent"}


HOSTILE_TITLE = (
    "Profits &lt; forecasts &amp; ASEAN"  # HTML in the feed: "Profits < forecasts & ASEAN"
)
HOSTILE_BODY = (
    "ASEAN: 5 &lt; 7 &amp;amp; &lt;script&gt;alert(2)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;"
)


LONG_LINK = "https://e.org/long-story"


@dataclass
class Delivered:
    """What the channels received from one `run --once` over hostile and huge articles."""

    emails: dict[str, EmailMessage]  # by subject
    telegram: list[str]


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delivered]:
    words = " ".join(f"ASEAN word{n}" if n % 40 == 0 else f"word{n}" for n in range(1400))
    long_item = {
        "title": "ASEAN " + "very long headline " * 30,
        "link": LONG_LINK,
        "description": words[:10_000],
    }
    hostile = {
        "title": HOSTILE_TITLE,
        "link": "https://e.org/1?a=1&b=2",
        "description": HOSTILE_BODY,
    }
    with ExitStack() as stack:
        feed_server = HTTPServer(host="127.0.0.1", port=0)
        feed_server.start()
        stack.callback(feed_server.stop)
        sink_server = HTTPServer(host="127.0.0.1", port=0)
        sink_server.start()
        stack.callback(sink_server.stop)
        smtp = SmtpSink()
        smtp.start()
        stack.callback(smtp.stop)
        sink = Sink(sink_server)
        url = FeedServer(feed_server).set("/feed.xml", rss([hostile, long_item]))
        tmp_path = tmp_path_factory.mktemp("hostile")
        config = write_config(tmp_path, {"wire": url}, smtp=smtp, sink=sink)
        result = newsmon("run", "--once", config=config)
        assert result.returncode == 0, result.stderr
        yield Delivered({str(m["subject"]): m for m in smtp.messages}, sink.telegram_texts())


def test_angle_brackets_ampersands_and_scripts_in_news_never_become_markup(
    delivered: Delivered,
) -> None:
    msg = delivered.emails["[newsmon] asean-russia: Profits < forecasts & ASEAN"]
    page = msg.get_body(("html",))
    text = msg.get_body(("plain",))
    assert page is not None
    assert text is not None
    html = page.get_content()
    assert "Profits &lt; forecasts &amp; ASEAN" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "5 &lt; 7 &amp;amp;" in html  # the literal text "&amp;" shown as such
    assert "<script" not in html
    assert "<b>bold" not in html
    assert 'href="https://e.org/1?a=1&amp;b=2"' in html
    assert "<script>alert(2)</script> <b>bold</b>" in text.get_content()  # plain text: literal
    (telegram,) = [t for t in delivered.telegram if "Profits" in t]
    assert telegram.startswith("<b>Profits &lt; forecasts &amp; ASEAN</b>\n")
    assert "&lt;script&gt;alert(2)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;" in telegram
    assert "<script" not in telegram
    assert "<b>bold" not in telegram


def test_a_10000_character_article_is_one_telegram_message_within_4096(
    delivered: Delivered,
) -> None:
    (message,) = [t for t in delivered.telegram if LONG_LINK in t]
    assert telegram_length(message) <= 4096
    assert message.startswith("<b>ASEAN very long headline")
    assert f'<a href="{LONG_LINK}">' in message
    assert len(delivered.telegram) == 2  # one message per article, none split


def test_notify_test_sends_through_the_channel(tmp_path: Path, smtp: SmtpSink, sink: Sink) -> None:
    config = write_config(tmp_path, {}, smtp=smtp, sink=sink)
    result = newsmon("notify-test", "mail", config=config)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sent a test message to mail (mailto://")
    assert smtp.subjects() == ["[newsmon] notify-test: newsmon test message"]


def test_notify_test_that_fails_exits_1_with_the_reason(tmp_path: Path, sink: Sink) -> None:
    down = SmtpSink()  # never started
    config = write_config(tmp_path, {}, smtp=down, sink=sink)
    result = newsmon("notify-test", "mail", config=config)
    assert result.returncode == 1
    assert result.stderr.endswith(
        f"newsmon: notify-test: mail: email: cannot send via 127.0.0.1:{down.port}: "
        "Connection refused\n"
    )
