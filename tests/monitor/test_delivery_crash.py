"""`kill -9` of `newsmon run` in the middle of sending: after a restart every alert arrives."""

from __future__ import annotations

import asyncio
import email
import email.policy
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer

from storage import Store
from tests.helpers import FeedServer, free_port, rss, wait_for
from tests.monitor.test_daemon import start_daemon


class SlowInbox:
    """An SMTP server that takes each message in, then holds its reply until `gate` opens.

    A message counts as received when its data has arrived: the server got it,
    whether or not the sender lives to read the 250.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.gate = threading.Event()
        self.first_arrived = threading.Event()
        self._subjects: list[str] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self._subjects.append(str(msg["subject"]))
        self.first_arrived.set()
        await asyncio.get_running_loop().run_in_executor(None, self.gate.wait)
        return "250 OK"

    def subjects(self) -> list[str]:
        with self._lock:
            return list(self._subjects)


def outbox_statuses(folder: Path) -> list[str]:
    """The status of every alert in the database beside the config."""
    store = Store.open(f"sqlite:///{folder / 'newsmon.db'}")
    try:
        return [d.status for d in store.list_deliveries()]
    finally:
        store.close()


@pytest.fixture
def slow_smtp() -> Iterator[SlowInbox]:
    inbox = SlowInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        inbox.gate.set()
        controller.stop()


def test_kill_9_while_the_mail_server_is_accepting_loses_nothing_and_repeats_at_most_one(
    tmp_path: Path, httpserver: HTTPServer, slow_smtp: SlowInbox
) -> None:
    titles = [f"ASEAN story {n}" for n in range(5)]
    items = [{"title": t, "link": f"https://e.org/{n}"} for n, t in enumerate(titles)]
    url = FeedServer(httpserver).set("/feed.xml", rss(items))
    config = tmp_path / "sources.yaml"
    mail = (
        f"mailto://127.0.0.1:{slow_smtp.port}?from=newsmon@example.org"
        "&to=desk@example.org&secure=no&smtp=127.0.0.1"
    )
    # A short lease so the restarted daemon reclaims the dead one's alerts within seconds.
    config.write_text(
        f'settings:\n  delivery_lease: 2s\nchannels:\n  mail: "{mail}"\n'
        f"sources:\n  - name: wire\n    url: {url}\n    interval: 1h\n"
        "rules:\n  - name: asean\n    keywords: [ASEAN]\n    channels: [mail]\n"
    )

    first = start_daemon(config, tmp_path)
    try:
        assert slow_smtp.first_arrived.wait(30), "the first alert never reached the mail server"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    slow_smtp.gate.set()
    assert outbox_statuses(tmp_path) == ["sending"] * 5  # claimed, then the sender died

    restart_dir = tmp_path / "restart"
    restart_dir.mkdir()
    second = start_daemon(config, restart_dir)
    try:
        wait_for(
            lambda: set(slow_smtp.subjects()) >= {f"[newsmon] asean: {t}" for t in titles},
            timeout=30,
            what="every alert after the restart",
        )
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()

    counts = Counter(slow_smtp.subjects())
    assert set(counts) == {f"[newsmon] asean: {t}" for t in titles}
    assert sum(counts.values()) <= len(titles) + 1, counts  # at most the one in flight twice
    assert outbox_statuses(tmp_path) == ["sent"] * 5
