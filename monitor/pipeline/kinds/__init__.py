"""The source kinds: one `SourceKind` object per kind, keyed by its config name.

`KINDS` is the registry the poll (`collect`), `backfill` and `survey`
dispatch through; `resolve_kind` decides which kind reads a fetched document:
the configured one, else the detected one, and an HTML page without a
`link_selector` is followed to the feed it advertises. A new kind is a module
here, its line in `KINDS` and its name in `SourceConfig.kind`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

from monitor.errors import ParseError
from monitor.fetch import Fetcher, Response
from monitor.pipeline.kinds.base import BackfillRun, SourceKind, Survey
from monitor.pipeline.kinds.feed import FEED
from monitor.pipeline.kinds.html import HTML
from monitor.pipeline.kinds.sitemap import SITEMAP
from monitor.sources.detect import detect_kind, discover_feeds

__all__ = [
    "KINDS",
    "BackfillRun",
    "Resolved",
    "SourceKind",
    "Survey",
    "pick_kind",
    "resolve_kind",
]

log = logging.getLogger("newsmon.collect")

KINDS: dict[str, SourceKind] = {kind.name: kind for kind in (FEED, HTML, SITEMAP)}


@dataclass(frozen=True, slots=True)
class Resolved:
    """The kind that reads a document, and the document (an advertised feed's, if followed)."""

    kind: SourceKind
    response: Response
    advertised: str | None = None  # the feed URL an HTML page advertised


def pick_kind(
    body: bytes, content_type: str | None, kind: str | None, *, link_selector: bool
) -> str | Literal["advertised", "unknown"]:
    """The configured kind, else the detected one; "advertised" for an HTML page
    to be followed to its feed (there is no `link_selector` to read it with)."""
    if kind is not None:
        return kind
    detected = detect_kind(body, content_type)
    if detected == "html" and not link_selector:
        return "advertised"
    return detected


async def resolve_kind(
    response: Response,
    kind: str | None,
    *,
    source: str,
    link_selector: str | None,
    fetcher: Fetcher,
    timeout: float,  # noqa: ASYNC109 - the source's fetch deadline, passed on to the fetcher
) -> Resolved:
    """Which kind reads `response` (None: detect); fetches the feed an HTML page advertises."""
    content_type = response.headers.get("content-type")
    picked = pick_kind(response.body, content_type, kind, link_selector=bool(link_selector))
    if picked == "unknown":
        raise ParseError(
            f"parse: {source}: not a feed, sitemap or HTML page ({response.final_url})"
        )
    if picked != "advertised":
        if picked not in KINDS:
            raise ParseError(f"parse: {source}: unknown source kind {picked!r}")
        return Resolved(KINDS[picked], response)
    feeds = await asyncio.to_thread(
        discover_feeds, response.body, url=response.final_url, content_type=content_type
    )
    if not feeds:
        raise ParseError(
            f"parse: {source}: {response.final_url} is an HTML page that advertises no feed "
            "(set kind: html and link_selector to read it as a listing page)"
        )
    log.info("following advertised feed %s", feeds[0], extra={"source": source})
    got = await fetcher.get(feeds[0], subject=source, timeout=timeout)
    return Resolved(KINDS["feed"], got, advertised=feeds[0])
