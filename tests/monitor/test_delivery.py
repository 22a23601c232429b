"""The delivery loop in process, with an injected clock and a real SMTP server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from monitor.delivery.outbox import Deliverer
from monitor.metrics import REGISTRY
from notifiers import Channels
from storage import Store
from tests.helpers import SmtpSink, free_port
from tests.monitor.delivery_helpers import Clock, queue_matches
from tests.notifiers.conftest import Inbox


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store.open(db_url)
    yield store
    store.close()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    store = Store.open(sqlite_url)
    yield store
    store.close()


def metric(name: str, channel: str) -> float:
    return REGISTRY.get_sample_value(name, {"channel": channel}) or 0.0


def test_mail_server_down_keeps_the_alert_with_the_reason_and_sends_it_once_when_back(
    store: Store,
) -> None:
    clock = Clock()
    port = free_port()
    smtp = SmtpSink(port=port)
    deliverer = Deliverer(store, Channels({"mail": smtp.url()}), clock=clock)
    queue_matches(store, ["a"], channels=["mail"], now=clock())
    failed_before = metric("newsmon_alerts_failed_total", "mail")
    sent_before = metric("newsmon_alerts_sent_total", "mail")

    report = asyncio.run(deliverer.deliver_pending())

    assert (report.sent, report.failed) == (0, 1)
    (row,) = store.list_deliveries()
    assert row.status == "failed"
    assert row.attempts == 1
    assert row.last_error == f"email: cannot send via 127.0.0.1:{port}: Connection refused"
    assert row.next_attempt_at == clock() + timedelta(minutes=1)
    assert metric("newsmon_alerts_failed_total", "mail") == failed_before + 1

    smtp.start()
    try:
        clock.advance(30)  # not due yet: nothing is sent before the backoff ends
        assert asyncio.run(deliverer.deliver_pending()).sent == 0
        assert smtp.messages == []
        clock.advance(31)
        assert asyncio.run(deliverer.deliver_pending()).sent == 1
        clock.advance(3600)
        assert asyncio.run(deliverer.deliver_pending()).sent == 0
    finally:
        smtp.stop()
    assert smtp.subjects() == ["[newsmon] asean-russia: ASEAN story a"]
    (row,) = store.list_deliveries()
    assert (row.status, row.attempts) == ("sent", 2)
    assert metric("newsmon_alerts_sent_total", "mail") == sent_before + 1


def test_retries_double_from_one_minute_and_give_up_after_24_hours(sqlite_store: Store) -> None:
    clock = Clock()
    deliverer = Deliverer(sqlite_store, Channels({"mail": SmtpSink().url()}), clock=clock)
    queue_matches(sqlite_store, ["a"], now=clock())
    dead_before = metric("newsmon_alerts_dead_total", "mail")
    start = clock()
    waits = []
    while True:
        asyncio.run(deliverer.deliver_pending())
        (row,) = sqlite_store.list_deliveries()
        if row.status == "dead":
            break
        assert row.next_attempt_at is not None
        waits.append(int((row.next_attempt_at - clock()).total_seconds()))
        clock.now = row.next_attempt_at
    assert waits[:8] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert clock() - start >= timedelta(hours=24)
    assert "Connection refused" in (row.last_error or "")
    assert metric("newsmon_alerts_dead_total", "mail") == dead_before + 1


@pytest.mark.parametrize(("count", "emails"), [(10, 10), (11, 1)])
def test_more_than_10_alerts_for_a_channel_in_one_pass_become_one_email(
    sqlite_store: Store, count: int, emails: int
) -> None:
    smtp = SmtpSink()
    smtp.start()
    try:
        clock = Clock()
        keys = [f"s{i:02d}" for i in range(count)]
        queue_matches(sqlite_store, keys, now=clock())
        deliverer = Deliverer(sqlite_store, Channels({"mail": smtp.url()}), clock=clock)
        assert asyncio.run(deliverer.deliver_pending()).sent == count
    finally:
        smtp.stop()
    assert len(smtp.messages) == emails
    if emails == 1:
        (msg,) = smtp.messages
        assert msg["subject"] == f"[newsmon] asean-russia: {count} new matches"
        text = msg.get_body(("plain",))
        assert text is not None
        for key in keys:
            assert f"https://news.example/{key}?utm_source=feed" in text.get_content()
    assert {r.status for r in sqlite_store.list_deliveries()} == {"sent"}


def test_an_email_some_recipients_refused_is_sent_and_the_refusal_logged(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox(port=free_port())  # refuses every nobody@ address
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        url = (
            f"mailto://127.0.0.1:{inbox.port}?from=newsmon@example.org"
            "&to=desk@example.org&cc=nobody@example.org"
        )
        clock = Clock()
        queue_matches(sqlite_store, ["a"], now=clock())
        deliverer = Deliverer(sqlite_store, Channels({"mail": url}), clock=clock)
        with caplog.at_level(logging.WARNING, logger="newsmon.delivery"):
            assert asyncio.run(deliverer.deliver_pending()).sent == 1
    finally:
        controller.stop()
    assert inbox.recipients == [["desk@example.org"]]
    (row,) = sqlite_store.list_deliveries()
    assert row.status == "sent"  # a retry would mail desk@ again
    warnings = [r.getMessage() for r in caplog.records if r.name == "newsmon.delivery"]
    assert warnings == [
        f"sent to mail with a problem: email: 127.0.0.1:{inbox.port}: "
        "nobody@example.org refused: 550 5.1.1 No such user"
    ]
