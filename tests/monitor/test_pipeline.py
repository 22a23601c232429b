"""One poll, in process: a bug in one source's poll is recorded, never raised."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.daemon.service import Daemon, fetch_limits
from monitor.fetch import Fetcher
from monitor.match.rules import Matcher
from notifiers import Channels
from storage import Store
from tests.helpers import FeedServer, rss


def test_an_internal_error_in_one_poll_is_recorded_and_the_others_go_on(
    tmp_path: Path, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = feeds.set("/bad.xml", rss([{"title": "Boom item", "link": "https://e.org/boom"}]))
    good = feeds.set("/good.xml", rss([{"title": "Calm item", "link": "https://e.org/calm"}]))
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"sources:\n  - {{name: bad, url: '{bad}'}}\n  - {{name: good, url: '{good}'}}\n"
        "rules:\n  - {name: r, keywords: [item]}\n"
    )
    config = load_config(path, {})
    real_match = Matcher.match

    def match(self: Matcher, doc: object) -> object:
        if "Boom" in getattr(doc, "title", ""):
            raise RuntimeError("matcher bug")
        return real_match(self, doc)  # type: ignore[arg-type]

    monkeypatch.setattr(Matcher, "match", match)
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")

    async def poll() -> list[str]:
        async with Fetcher(fetch_limits(config)) as fetcher:
            daemon = Daemon(config, store, fetcher, Channels({}, console=io.StringIO()))
            await daemon.sync_sources()
            return [f"{r.source}:{r.outcome}" for r in await daemon.poll_all()]

    try:
        assert sorted(asyncio.run(poll())) == ["bad:error", "good:ok"]
        by_name = {s.name: s for s in store.source_statuses(datetime.now(UTC))}
        assert by_name["bad"].last_error == ("poll: bad: internal error: RuntimeError: matcher bug")
        assert by_name["good"].articles == 1
    finally:
        store.close()


def test_a_poll_matches_only_new_and_edited_items_and_alerts_the_edit(
    tmp_path: Path, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def feed(*items: tuple[str, str]) -> str:
        return rss([{"title": t, "link": f"https://e.org/{key}", "guid": key} for key, t in items])

    url = feeds.set("/feed.xml", feed(("a", "ASEAN summit opens"), ("b", "Rice harvest")))
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"sources:\n  - {{name: wire, url: '{url}', interval: 1h}}\n"
        "rules:\n  - {name: asean, keywords: [asean]}\n  - {name: russia, keywords: [russia]}\n"
    )
    config = load_config(path, {})
    matched: list[str] = []
    real_match = Matcher.match

    def spy(self: Matcher, doc: object) -> object:
        matched.append(getattr(doc, "title", ""))
        return real_match(self, doc)  # type: ignore[arg-type]

    monkeypatch.setattr(Matcher, "match", spy)
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    now = [datetime(2025, 3, 1, 8, 0, tzinfo=UTC)]

    async def two_polls() -> list[tuple[int, int, int]]:
        async with Fetcher(fetch_limits(config)) as fetcher:
            channels = Channels({}, console=io.StringIO())
            daemon = Daemon(config, store, fetcher, channels, lambda: now[0])
            await daemon.sync_sources()
            [first] = await daemon.poll_all()
            edited = ("a", "ASEAN summit opens, Russia joins")
            feeds.set("/feed.xml", feed(edited, ("b", "Rice harvest"), ("c", "Port opens")))
            now[0] += timedelta(hours=2)
            [second] = await daemon.poll_all()
            return [(r.new, r.updated, r.deliveries) for r in (first, second)]

    try:
        assert asyncio.run(two_polls()) == [(2, 0, 1), (1, 1, 1)]
        # The unchanged item is not matched again; the edit alerts only the rule it adds.
        assert matched == [
            "ASEAN summit opens",
            "Rice harvest",
            "ASEAN summit opens, Russia joins",
            "Port opens",
        ]
        assert sorted(d.rule for d in store.list_deliveries()) == ["asean", "russia"]
    finally:
        store.close()
