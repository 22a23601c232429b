"""A seeded newsmon database and config for the dashboard tests.

`seed` writes what a person expects to see: a healthy source with articles
(one with a hostile title, one whose link is `javascript:`), a failing source
with its error, a second outlet of one story, matches in the outbox (one
failed, with its error), and poll events.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.config.load import Config, load_config
from monitor.web import Dashboard, WebServer
from notifiers import Channels
from storage import ArticleIn, Candidate, DeliveryIn, PollResult, SourceSpec, Store

HOSTILE_TITLE = "<script>alert(1)</script> ASEAN hostile headline"
ESCAPED_HOSTILE = "&lt;script&gt;alert(1)&lt;/script&gt; ASEAN hostile headline"
JS_URL = "javascript:alert(2)"
BROKEN_ERROR = "fetch: broken: HTTP 503 Service Unavailable"
SMTP_SECRET = "pw-SECRET-4711"
SEND_ERROR = "telegram: HTTP 502 from the Bot API"

CONFIG = f"""\
settings:
  timezone: Asia/Phnom_Penh
channels:
  mail: "mailto://desk:{SMTP_SECRET}@127.0.0.1:2525?from=newsmon@example.org&to=desk@example.org&secure=no&smtp=127.0.0.1"
sources:
  - name: wire
    url: https://wire.example/feed.xml
  - name: broken
    url: https://broken.example/feed.xml
  - name: mirror
    url: https://mirror.example/feed.xml
rules:
  - name: asean
    keywords: [ASEAN]
    channels: [mail]
  - name: rice
    keywords: [rice]
    channels: [mail]
"""


def write_config(folder: Path) -> Path:
    path = folder / "sources.yaml"
    path.write_text(CONFIG)
    return path


def _article(key: str, title: str, *, url: str | None = None, body: str = "") -> ArticleIn:
    canonical = url or f"https://news.example/{key}"
    return ArticleIn(
        guid=f"guid-{key}",
        url=canonical,
        canonical_url=canonical,
        title=title,
        summary=title,
        body=body,
        author="Desk",
        published_at=None,
        content_hash=f"hash-{key}",
    )


def _match(rule: str, snippet: str, word: str) -> DeliveryIn:
    start = snippet.index(word)
    return DeliveryIn(rule, "mail", "instant", (word,), snippet, ((start, start + len(word)),))


def seed(store: Store, now: datetime, *, rice_stories: int = 3) -> None:
    """Fill `store` as of `now` (every time written is at or before it)."""
    earlier = now - timedelta(minutes=30)
    specs = [
        SourceSpec(name, f"https://{name}.example/feed.xml", None, 900)
        for name in ("wire", "broken", "mirror")
    ]
    store.sync_sources(specs, earlier)
    ids = store.source_ids(["wire", "broken", "mirror"])
    asean = "Ministers of ASEAN meet in Phnom Penh <b>today</b>"
    candidates = [
        Candidate(
            _article("asean", "ASEAN ministers meet in Phnom Penh"),
            (_match("asean", asean, "ASEAN"),),
        ),
        Candidate(
            _article("hostile", HOSTILE_TITLE),
            (_match("asean", f"{HOSTILE_TITLE} <img src=x onerror=alert(3)>", "ASEAN"),),
        ),
        Candidate(_article("js", "ASEAN link that runs a script", url=JS_URL)),
    ]
    rice = [
        Candidate(
            _article(f"rice-{i}", f"Rice harvest report {i}"),
            (_match("rice", f"The rice harvest, part {i}", "rice"),),
        )
        for i in range(rice_stories)
    ]
    store.ingest(ids["wire"], rice, now - timedelta(hours=2))  # older: listed after the rest
    store.ingest(ids["wire"], candidates, earlier)
    # The same story from a second outlet: a sighting, so it has two outlets.
    store.ingest(
        ids["mirror"],
        [Candidate(_article("asean", "ASEAN ministers meet"))],
        earlier + timedelta(minutes=1),
    )
    store.record_poll(PollResult(ids["wire"], earlier, now + timedelta(minutes=10)))
    store.record_poll(PollResult(ids["mirror"], earlier, now + timedelta(minutes=10)))
    for minutes in (50, 20):
        store.record_poll(
            PollResult(
                ids["broken"],
                now - timedelta(minutes=minutes),
                now - timedelta(minutes=5),  # due again: nobody retried it, so "error"
                error=BROKEN_ERROR,
            )
        )
    claimed = store.claim_deliveries(earlier, rule="asean", limit=1)
    store.mark_failed([claimed[0].id], SEND_ERROR, earlier, now + timedelta(minutes=5))


def dashboard(config: Config, store: Store, now: datetime, token: str | None = None) -> Dashboard:
    channels = Channels(config.channels)
    return Dashboard(
        store,
        config=lambda: config,
        channels=lambda: channels,
        token=lambda: token,
        clock=lambda: now,
    )


def load(folder: Path) -> Config:
    return load_config(write_config(folder), {})


# Noon in Phnom Penh (settings.timezone): everything seeded is "today" there.
NOON = datetime(2025, 3, 1, 5, 0, tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Served:
    """An ASGI app served by the real `WebServer` (uvicorn) on 127.0.0.1, in a thread."""

    def __init__(self, app: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = WebServer(app, host="127.0.0.1", port=0)
        asyncio.run_coroutine_threadsafe(self._server.start(), self._loop).result(timeout=10)
        self.port = self._server.port

    def get(
        self, path: str, *, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> tuple[int, str, dict[str, str]]:
        """Status, body and headers (lower-case names) of one request."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers=headers or {}, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                found = {k.lower(): v for k, v in response.headers.items()}
                return response.status, response.read().decode(), found
        except urllib.error.HTTPError as exc:
            found = {k.lower(): v for k, v in exc.headers.items()}
            return exc.code, exc.read().decode(), found

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(timeout=20)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
