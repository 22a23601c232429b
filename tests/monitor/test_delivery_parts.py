"""Partial sends and rate limits: a split message that fails part-way, a 429 that pauses a channel.

Telegram is a fake Bot API on 127.0.0.1 (`settings.telegram_api_url`) that
answers each sendMessage like Telegram does, failing when a test says so.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client import generate_latest

from monitor.delivery.outbox import Deliverer
from monitor.metrics import REGISTRY
from notifiers import Channels
from storage import Store
from tests.monitor.delivery_helpers import Clock, queue_matches
from tests.notifiers.conftest import BOT_TOKEN, CHAT_ID, BotApi

# The fake Bot API fixtures, shared with the notifier tests.
from tests.notifiers.conftest import bot_api as bot_api
from tests.notifiers.conftest import http as http
from tests.notifiers.conftest import http_server as http_server

SERVER_ERROR = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
TOO_MANY = {
    "ok": False,
    "error_code": 429,
    "description": "Too Many Requests: retry after 35",
    "parameters": {"retry_after": 35},
}
STORY = re.compile(r"ASEAN story (k\d\d)")


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store.open(db_url)
    yield store
    store.close()


def deliverer(store: Store, api: BotApi, clock: Clock) -> Deliverer:
    channels = Channels({"tg": f"tgram://{BOT_TOKEN}/{CHAT_ID}"}, telegram_api_url=api.url + "/")
    return Deliverer(store, channels, clock=clock)


def stories(text: str) -> list[str]:
    return STORY.findall(text)


def statuses(store: Store) -> dict[str, str]:
    """Each story key's delivery status."""
    return {(r.title or "").rsplit(" ", 1)[-1]: r.status for r in store.list_deliveries()}


def test_a_flood_whose_second_telegram_part_fails_marks_part_one_sent_and_resends_only_the_rest(
    store: Store, bot_api: BotApi
) -> None:
    clock = Clock()
    keys = [f"k{n:02d}" for n in range(40)]
    queue_matches(store, keys, channels=["tg"], now=clock())
    bot_api.replies += [(200, {"ok": True, "result": {}}), (500, SERVER_ERROR)]
    sender = deliverer(store, bot_api, clock)

    report = asyncio.run(sender.deliver_pending())

    first, rejected = (m["text"] for m in bot_api.messages)
    part_one = stories(first)
    assert first.startswith("<b>[newsmon] asean-russia: 40 new matches</b> (1/")
    assert 0 < len(part_one) < 40
    assert (report.sent, report.failed) == (len(part_one), 40 - len(part_one))
    assert {k for k, s in statuses(store).items() if s == "sent"} == set(part_one)
    failed = [r for r in store.list_deliveries() if r.status == "failed"]
    assert {(r.title or "").rsplit(" ", 1)[-1] for r in failed} == set(keys) - set(part_one)
    assert {r.last_error for r in failed} == {
        f"Telegram: Failed to send Telegram notification to {CHAT_ID}: "
        "Internal Server Error, error=500."
    }
    assert stories(rejected)  # the part the API refused

    clock.advance(60)  # the API is back; the retry is due
    again = asyncio.run(sender.deliver_pending())

    assert (again.sent, again.failed) == (40 - len(part_one), 0)
    accepted = [first] + [m["text"] for m in bot_api.messages[2:]]
    seen = Counter(key for text in accepted for key in stories(text))
    assert seen == Counter(keys)  # every story once, none twice
    assert set(statuses(store).values()) == {"sent"}


def test_telegram_429_pauses_the_channel_for_the_pass_and_defers_the_rest_uncounted(
    store: Store, bot_api: BotApi
) -> None:
    clock = Clock()
    start = clock()
    queue_matches(store, ["k01", "k02", "k03"], channels=["tg"], now=clock())
    bot_api.replies.append((429, TOO_MANY))
    sender = deliverer(store, bot_api, clock)

    report = asyncio.run(sender.deliver_pending())

    assert len(bot_api.messages) == 1  # nothing more was sent in that pass
    assert (report.sent, report.failed, report.deferred) == (0, 1, 2)
    rows = sorted(store.list_deliveries(), key=lambda r: r.id)
    tried, *waiting = rows
    assert (tried.status, tried.attempts) == ("failed", 1)
    assert tried.next_attempt_at == start + timedelta(seconds=60)  # backoff beats 35 s
    for row in waiting:
        assert (row.status, row.attempts) == ("failed", 0)
        assert row.next_attempt_at == start + timedelta(seconds=35)
        assert row.last_error == (
            "not sent: tg asked to wait (Telegram: Failed to send Telegram notification to "
            f"{CHAT_ID}: Too Many Requests: retry after 35, error=429.)"
        )

    clock.advance(34)
    assert asyncio.run(sender.deliver_pending()).sent == 0
    clock.advance(1)
    assert asyncio.run(sender.deliver_pending()).sent == 2
    clock.advance(25)
    assert asyncio.run(sender.deliver_pending()).sent == 1
    sent = [key for m in bot_api.messages[1:] for key in stories(m["text"])]
    assert sorted(sent) == ["k01", "k02", "k03"]
    assert set(statuses(store).values()) == {"sent"}


def sample(name: str, channel: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"channel": channel})


def test_failure_counters_show_zero_for_every_channel_before_any_failure(
    sqlite_url: str,
) -> None:
    name = f"desk-{uuid.uuid4().hex[:8]}"  # a series no other test has touched
    assert sample("newsmon_alerts_failed_total", name) is None
    store = Store.open(sqlite_url)
    try:
        Deliverer(store, Channels({name: f"tgram://{BOT_TOKEN}/{CHAT_ID}"}))
    finally:
        store.close()
    exposition = generate_latest(REGISTRY).decode()
    assert f'newsmon_alerts_failed_total{{channel="{name}"}} 0.0' in exposition
    assert f'newsmon_alerts_dead_total{{channel="{name}"}} 0.0' in exposition


def test_latency_ignores_articles_published_more_than_a_week_before_the_alert(
    store: Store, bot_api: BotApi
) -> None:
    clock = Clock()
    sender = deliverer(store, bot_api, clock)

    def latency_count() -> float:
        return REGISTRY.get_sample_value("newsmon_alert_latency_seconds_count") or 0.0

    before = latency_count()
    queue_matches(
        store, ["k01"], channels=["tg"], now=clock(), published_at=clock() - timedelta(days=8)
    )
    assert asyncio.run(sender.deliver_pending()).sent == 1
    assert latency_count() == before  # a backfilled old story says nothing about latency
    queue_matches(
        store, ["k02"], channels=["tg"], now=clock(), published_at=clock() - timedelta(days=6)
    )
    assert asyncio.run(sender.deliver_pending()).sent == 1
    assert latency_count() == before + 1
