"""The `SourceKind` protocol and what crosses it: a poll, a backfill step, a survey.

A kind turns one fetched document into articles three ways: `collect` on a
poll (new items only, up to the per-poll page cap), `backfill` for one page
of history (ingest it, name the pages to read next) and `survey` for
``newsmon check --fetch`` (count the items, store nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from monitor.config.load import SourceConfig
from monitor.fetch import Fetcher, Response
from monitor.pipeline.harvest import Collected, Harvest

__all__ = ["BackfillRun", "SourceKind", "Survey"]


@dataclass(frozen=True, slots=True)
class Survey:
    """One source's check: its kind, how many items it lists, or why it failed."""

    source: str
    status: str  # ok | error
    kind: str | None = None
    items: int = 0
    note: str | None = None  # e.g. the feed an HTML page advertises
    error: str | None = None
    # The article links a listing page or sitemap names (newest first), for `check --fetch SOURCE`.
    links: tuple[str, ...] = ()

    def as_row(self) -> dict[str, object]:
        return {
            "source": self.source,
            "status": self.status,
            "kind": self.kind,
            "items": self.items,
            "note": self.note,
            "error": self.error,
        }


class BackfillRun(Protocol):
    """A backfill run as one kind's step sees it (`monitor.pipeline.backfill`)."""

    @property
    def cfg(self) -> SourceConfig: ...

    # WordPress ``?paged=N`` paging: the page number the run is at.
    page_no: int

    @property
    def sitemaps_read(self) -> set[str]:
        """Sitemaps read in this run: an index listing one of them again is a loop."""
        ...

    def harvest(self) -> Harvest: ...

    def keeps(self, when: datetime | None) -> bool:
        """Whether an item of that date is inside the run's window."""
        ...

    def skip(self, count: int) -> None:
        """Count items left out because they are outside the window."""
        ...

    async def ingest(self, collected: Collected) -> int:
        """Store the collected articles inside the window; how many were new."""
        ...

    def all_older(self, collected: Collected) -> bool:
        """Whether every dated item is older than the window (stop paging)."""
        ...


class SourceKind(Protocol):
    """One kind of source document (feed, html listing page, sitemap)."""

    @property
    def name(self) -> str:
        """The kind's name in sources.yaml (`SourceConfig.kind`)."""
        ...

    async def collect(self, response: Response, h: Harvest) -> Collected:
        """A poll: the document's new articles (pages fetched and extracted)."""
        ...

    async def backfill(self, url: str, response: Response, run: BackfillRun) -> list[str]:
        """Ingest the page at `url` through `run`; the pages to read after it."""
        ...

    async def survey(
        self, response: Response, cfg: SourceConfig, fetcher: Fetcher, deadline: float
    ) -> Survey:
        """``check --fetch``: count the document's items (ParseError: not of this kind)."""
        ...
