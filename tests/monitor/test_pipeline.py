"""One poll, in process: a bug in one source's poll is recorded, never raised."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
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
