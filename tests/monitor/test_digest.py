"""Digests: on schedule (the daemon's timer driven by an injected clock) and on demand."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer

from monitor.config.load import Config, load_config
from monitor.daemon.scheduler import DigestTimer, digest_timer, run_due_digests
from monitor.daemon.service import Daemon, fetch_limits
from monitor.fetch import Fetcher
from notifiers import Channels
from storage import Store
from tests.helpers import FeedServer, SmtpSink, newsmon, rss
from tests.monitor.delivery_helpers import Clock, queue_matches, utc_plus


def write_config(tmp_path: Path, mail_url: str, sources: str = "") -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"""
settings:
  timezone: Asia/Phnom_Penh
channels:
  mail: "{mail_url}"
sources:
{sources or "  []"}
rules:
  - name: asean-russia
    keywords: [ASEAN]
    channels: [mail]
  - name: morning-brief
    keywords: [Cambodia]
    channels: [mail]
    mode: digest
    schedule: "0 8 * * *"
"""
    )
    return path


@contextmanager
def daemon_for(config: Config, store: Store, clock: Clock) -> Iterator[Daemon]:
    """The daemon's digest and delivery work on `clock`, its HTTP client closed afterwards."""
    fetcher = Fetcher(fetch_limits(config))
    try:
        yield Daemon(config, store, fetcher, Channels(config.channels), clock=clock)
    finally:
        asyncio.run(fetcher.__aexit__(None, None, None))


def digest_pass(daemon: Daemon, timer: DigestTimer) -> int:
    """One tick of the daemon's digest job at `daemon.clock()`; how many messages it sent."""
    return len(asyncio.run(run_due_digests(daemon, timer)))


def test_a_digest_goes_out_at_its_cron_time_in_the_settings_timezone(
    tmp_path: Path, sqlite_url: str
) -> None:
    smtp = SmtpSink()
    smtp.start()
    config = load_config(write_config(tmp_path, smtp.url()), {})
    store = Store.open(sqlite_url)
    clock = Clock()  # 2024-05-06 00:30 UTC = 07:30 in Phnom Penh
    with ExitStack() as stack:
        stack.callback(smtp.stop)
        stack.callback(store.close)
        queue_matches(store, ["a", "b", "c"], rule="morning-brief", mode="digest", now=clock())
        daemon = stack.enter_context(daemon_for(config, store, clock))
        timer = digest_timer(config, clock(), jitter=None)
        assert timer.next_at("morning-brief") == utc_plus("2024-05-06T01:00:00")

        assert asyncio.run(daemon.deliver()).sent == 0  # instant delivery leaves digests alone
        clock.now = utc_plus("2024-05-06T00:59:59")
        assert digest_pass(daemon, timer) == 0
        assert smtp.messages == []

        clock.now = utc_plus("2024-05-06T01:00:02")  # 08:00 local, on the next tick
        assert digest_pass(daemon, timer) == 1
        clock.advance(5)
        assert digest_pass(daemon, timer) == 0
        assert smtp.subjects() == ["[newsmon] morning-brief: 3 new matches"]
        text = smtp.messages[0].get_body(("plain",))
        assert text is not None
        for key in "abc":
            assert f"ASEAN story {key}" in text.get_content()
            assert f"https://news.example/{key}?utm_source=feed" in text.get_content()

        clock.now = utc_plus("2024-05-07T01:00:00")  # nothing new since: nothing is sent
        assert digest_pass(daemon, timer) == 0
        queue_matches(store, ["d"], rule="morning-brief", mode="digest", now=clock())
        clock.now = utc_plus("2024-05-08T01:00:00")
        assert digest_pass(daemon, timer) == 1
        assert smtp.subjects()[1:] == ["[newsmon] morning-brief: 1 new match"]
        assert {r.status for r in store.list_deliveries()} == {"sent"}


def test_a_failed_digest_is_retried_after_a_minute_not_a_day_even_after_a_restart(
    tmp_path: Path, sqlite_url: str
) -> None:
    smtp = SmtpSink()  # not started yet: the mail server is down at 08:00
    config = load_config(write_config(tmp_path, smtp.url()), {})
    store = Store.open(sqlite_url)
    clock = Clock()
    with ExitStack() as stack:
        stack.callback(smtp.stop)
        stack.callback(store.close)
        queue_matches(store, ["a", "b"], rule="morning-brief", mode="digest", now=clock())
        daemon = stack.enter_context(daemon_for(config, store, clock))
        timer = digest_timer(config, clock(), jitter=None)
        clock.now = utc_plus("2024-05-06T01:00:00")
        assert digest_pass(daemon, timer) == 1
        rows = store.list_deliveries()
        assert {r.status for r in rows} == {"failed"}
        assert all("Connection refused" in (r.last_error or "") for r in rows)
        assert {r.next_attempt_at for r in rows} == {clock() + timedelta(minutes=1)}

        smtp.start()
        clock.advance(59)
        assert digest_pass(daemon, timer) == 0  # not due yet
        clock.advance(1)
        # A restarted daemon: a fresh timer knows nothing of the failure; the database does.
        restarted = digest_timer(config, clock(), jitter=None)
        assert digest_pass(daemon, restarted) == 1
        assert smtp.subjects() == ["[newsmon] morning-brief: 2 new matches"]
        assert {r.status for r in store.list_deliveries()} == {"sent"}
        assert digest_pass(daemon, restarted) == 0
        assert restarted.next_at("morning-brief") == utc_plus("2024-05-07T01:00:00")


@pytest.fixture
def smtp() -> SmtpSink:
    return SmtpSink()


def test_newsmon_digest_sends_pending_digests_now_and_nothing_when_empty(
    tmp_path: Path, httpserver: HTTPServer, smtp: SmtpSink
) -> None:
    feeds = FeedServer(httpserver)
    items = [
        {"title": "Cambodia opens a port", "link": "https://e.org/1", "description": "Trade."},
        {"title": "Cambodia and ASEAN", "link": "https://e.org/2", "description": "Talks."},
        {"title": "Rice prices", "link": "https://e.org/3", "description": "Markets."},
    ]
    url = feeds.set("/feed.xml", rss(items))
    config = write_config(tmp_path, smtp.url(), f"  - name: wire\n    url: {url}\n")
    smtp.start()
    try:
        assert newsmon("run", "--once", config=config).returncode == 0
        assert smtp.subjects() == ["[newsmon] asean-russia: Cambodia and ASEAN"]  # instant only
        store = Store.open(f"sqlite:///{tmp_path / 'newsmon.db'}")
        try:
            pending = store.list_deliveries("pending")
        finally:
            store.close()
        assert sorted((d.rule, d.title) for d in pending) == [
            ("morning-brief", "Cambodia and ASEAN"),
            ("morning-brief", "Cambodia opens a port"),
        ]

        first = newsmon("digest", config=config)
        again = newsmon("digest", "--rule", "morning-brief", config=config)
    finally:
        smtp.stop()
    assert first.returncode == 0, first.stderr
    assert first.stdout == "digest morning-brief -> mail: 2 matches sent\n"
    assert smtp.subjects()[1:] == ["[newsmon] morning-brief: 2 new matches"]
    assert again.returncode == 0, again.stderr
    assert again.stdout == "no pending digest matches for morning-brief\n"
    assert len(smtp.messages) == 2


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("nope", "newsmon: digest: unknown rule 'nope' (digest rules: morning-brief)\n"),
        (
            "asean-russia",
            "newsmon: digest: rule 'asean-russia' is not a digest rule (its mode is instant)\n",
        ),
    ],
)
def test_newsmon_digest_of_a_rule_that_is_no_digest_is_a_usage_error(
    tmp_path: Path, rule: str, message: str
) -> None:
    config = write_config(tmp_path, SmtpSink().url())
    result = newsmon("digest", "--rule", rule, config=config)
    assert result.returncode == 2
    assert result.stderr == message


def test_newsmon_digest_exits_1_with_the_reason_when_the_send_fails(
    tmp_path: Path, sqlite_url: str
) -> None:
    smtp = SmtpSink()  # never started
    config = write_config(tmp_path, smtp.url())
    store = Store.open(sqlite_url)
    try:
        queue_matches(store, ["a"], rule="morning-brief", mode="digest")
    finally:
        store.close()
    result = newsmon("digest", config=config, env={"NEWSMON_DATABASE_URL": sqlite_url})
    assert result.returncode == 1
    assert (
        f"digest morning-brief -> mail: 1 match failed: email: cannot send via "
        f"127.0.0.1:{smtp.port}: Connection refused (retry after "
    ) in result.stderr


def test_newsmon_digest_retries_a_failed_digest_from_the_database_once_it_is_due(
    tmp_path: Path, sqlite_url: str
) -> None:
    smtp = SmtpSink()  # down at first
    config = write_config(tmp_path, smtp.url())
    env = {"NEWSMON_DATABASE_URL": sqlite_url}
    store = Store.open(sqlite_url)
    try:
        queue_matches(store, ["a", "b"], rule="morning-brief", mode="digest")
    finally:
        store.close()

    failed = newsmon("digest", config=config, env=env)
    assert failed.returncode == 1
    assert "digest morning-brief -> mail: 2 matches failed: email: cannot send" in failed.stderr

    waiting = newsmon("digest", config=config, env=env)  # the retry is not due yet
    store = Store.open(sqlite_url)
    try:
        rows = store.list_deliveries()
    finally:
        store.close()
    (retry_at,) = {r.next_attempt_at for r in rows}
    assert retry_at is not None
    assert waiting.returncode == 0, waiting.stderr
    assert waiting.stdout == (
        f"digest morning-brief -> mail: 2 matches waiting to be retried at "
        f"{retry_at.astimezone(ZoneInfo('Asia/Phnom_Penh')):%Y-%m-%d %H:%M} +07\n"
    )

    smtp.start()
    try:
        ids = [str(r.id) for r in rows]
        assert newsmon("alerts", "retry", *ids, config=config, env=env).returncode == 0
        sent = newsmon("digest", config=config, env=env)
        after = newsmon("digest", config=config, env=env)
    finally:
        smtp.stop()
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout == "digest morning-brief -> mail: 2 matches sent\n"
    assert after.stdout == "no pending digest matches\n"
    assert smtp.subjects() == ["[newsmon] morning-brief: 2 new matches"]
