"""A real `Daemon` on a test's config and database, with the poll jitter taken out."""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from monitor.config.load import load_config
from monitor.daemon.service import Daemon, fetch_limits
from monitor.fetch import Fetcher
from notifiers import Channels
from storage import Store


class NoJitter(random.Random):
    """The middle of the ±10 % band: every next poll is exactly the interval."""

    def random(self) -> float:
        return 0.5


@asynccontextmanager
async def jitterless_daemon(
    config_path: Path, db_url: str, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[Daemon]:
    """The daemon of `config_path` on `db_url` (its sources synced), printing to a
    buffer; `clock`, when given, is its time."""
    config = load_config(config_path, {})
    store = Store.open(db_url)
    try:
        async with Fetcher(fetch_limits(config)) as fetcher:
            channels = Channels(config.channels, console=io.StringIO())
            if clock is None:
                daemon = Daemon(config, store, fetcher, channels, rng=NoJitter())
            else:
                daemon = Daemon(config, store, fetcher, channels, clock, NoJitter())
            await daemon.sync_sources()
            yield daemon
    finally:
        store.close()
