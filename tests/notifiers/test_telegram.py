"""Telegram through a fake Bot API on 127.0.0.1, reached via settings.telegram_api_url."""

from __future__ import annotations

import asyncio
import logging

import pytest
from apprise.plugins.telegram import NotifyTelegram

from notifiers import Channels
from notifiers.render import render_telegram_parts
from tests.notifiers.conftest import (
    BOT_TOKEN,
    CHAT_ID,
    BotApi,
    make_alert,
    make_item,
    telegram_html_problems,
    telegram_texts,
)

TOO_MANY = {
    "ok": False,
    "error_code": 429,
    "description": "Too Many Requests: retry after 35",
    "parameters": {"retry_after": 35},
}


def telegram(api: BotApi, target: str = f"/{CHAT_ID}") -> Channels:
    return Channels({"ops": f"tgram://{BOT_TOKEN}{target}"}, telegram_api_url=api.url + "/")


def test_alert_is_posted_to_the_self_hosted_bot_api_as_html(bot_api: BotApi) -> None:
    alert = make_alert(make_item(title="<script>alert(1)</script> & co", snippet="ASEAN < Russia"))
    assert asyncio.run(telegram(bot_api).send("ops", alert)).ok
    ((method, payload),) = bot_api.calls
    assert method == "sendMessage"
    (request, _), *_ = bot_api.server.log
    assert request.path == f"/bot{BOT_TOKEN}/sendMessage"
    assert payload["parse_mode"] == "HTML"
    assert payload["chat_id"] == CHAT_ID
    assert payload["text"] == telegram_texts(alert)[0]  # Apprise passed it through untouched
    assert payload["text"].startswith("<b>&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</b>\n")
    assert telegram_html_problems(payload["text"]) == []
    assert len(payload["text"]) <= 4096


def test_a_10000_character_snippet_is_one_message_with_title_and_link(bot_api: BotApi) -> None:
    snippet = "Cambodia " * 600 + "ASEAN" + " trade" * 600
    start = snippet.index("ASEAN")
    alert = make_alert(make_item(snippet=snippet, spans=((start, start + 5),)))
    assert asyncio.run(telegram(bot_api).send("ops", alert)).ok
    (text,) = [m["text"] for m in bot_api.messages]
    assert len(text) <= 4096
    assert "<b>ASEAN and Russia sign trade pact</b>" in text
    assert "<b>ASEAN</b>" in text
    assert '<a href="https://news.example.org/2023/09/asean-russia?id=7&amp;lang=en">' in text


def test_a_combined_alert_is_sent_as_several_parts_in_order(bot_api: BotApi) -> None:
    items = [make_item(title=f"Story {n}", snippet="ASEAN news " * 40) for n in range(60)]
    alert = make_alert(*items, kind="combined")
    assert asyncio.run(telegram(bot_api).send("ops", alert)).ok
    texts = [m["text"] for m in bot_api.messages]
    assert texts == telegram_texts(alert)
    assert len(texts) > 1
    assert all(len(t) <= 4096 and telegram_html_problems(t) == [] for t in texts)


def test_rate_limit_gives_the_reason_and_retry_after(bot_api: BotApi) -> None:
    bot_api.replies.append((429, TOO_MANY))
    result = asyncio.run(telegram(bot_api).send("ops", make_alert()))
    assert not result.ok
    assert result.error == (
        f"Telegram: Failed to send Telegram notification to {CHAT_ID}: "
        "Too Many Requests: retry after 35, error=429."
    )
    assert result.retry_after == 35.0


def test_a_failed_part_stops_the_rest_and_says_how_many_items_got_through(
    bot_api: BotApi,
) -> None:
    items = [make_item(title=f"Story {n}", snippet="ASEAN news " * 40) for n in range(60)]
    bot_api.replies += [(200, {"ok": True, "result": {}}), (429, TOO_MANY)]
    alert = make_alert(*items, kind="digest")
    result = asyncio.run(telegram(bot_api).send("ops", alert))
    assert not result.ok
    assert len(bot_api.messages) == 2
    (first_part, first_count), *_ = render_telegram_parts(alert)
    assert bot_api.messages[0]["text"] == first_part
    assert result.delivered_items == first_count == first_part.count("Story ")
    assert result.retry_after == 35.0


def test_a_failed_first_part_delivered_nothing(bot_api: BotApi) -> None:
    items = [make_item(title=f"Story {n}", snippet="ASEAN news " * 40) for n in range(60)]
    bot_api.replies.append((429, TOO_MANY))
    result = asyncio.run(telegram(bot_api).send("ops", make_alert(*items, kind="digest")))
    assert (result.ok, result.delivered_items) == (False, None)


def test_a_bot_url_without_chat_finds_its_owner_through_get_updates(bot_api: BotApi) -> None:
    assert asyncio.run(telegram(bot_api, target="").send("ops", make_alert())).ok
    assert [method for method, _ in bot_api.calls] == ["getUpdates", "sendMessage"]
    assert str(bot_api.messages[0]["chat_id"]) == str(CHAT_ID)


def test_a_rejected_token_is_reported_without_the_token(
    bot_api: BotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    channels = Channels(
        {"ops": f"tgram://{BOT_TOKEN[:-1]}Z/{CHAT_ID}"}, telegram_api_url=bot_api.url
    )
    result = asyncio.run(channels.send("ops", make_alert()))
    assert not result.ok
    assert result.error == (
        f"Telegram: Failed to send Telegram notification to {CHAT_ID}: Not Found, error=404."
    )
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]  # the fake server's
    assert not [line for line in ours if BOT_TOKEN[:20] in line]


def test_the_token_never_reaches_the_logs_even_at_debug(
    bot_api: BotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    channels = telegram(bot_api)
    bot_api.replies.append((429, TOO_MANY))
    asyncio.run(channels.send("ops", make_alert()))
    asyncio.run(channels.send_test("ops"))
    assert len(bot_api.messages) == 2
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]
    assert ours  # apprise did log
    assert not [line for line in ours if BOT_TOKEN in line]


def test_the_api_url_applies_to_these_channels_only(bot_api: BotApi) -> None:
    assert asyncio.run(telegram(bot_api).send("ops", make_alert())).ok
    assert NotifyTelegram.notify_url == "https://api.telegram.org/bot"  # the class is untouched
