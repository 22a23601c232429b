"""Feed parsing throughput over the shared corpus: feedparser against the alternatives.

Parses every corpus feed N times with

- feedparser itself (the baseline),
- `monitor.sources.feed.parse_feed` (feedparser plus DOCTYPE stripping, charset
  detection and field cleaning: what the daemon really pays),
- feedparser-rs, when it is installed (it is not a dependency: measured and
  not adopted; see the report it prints),

and prints items/s for each and the ratio to feedparser. Not a test.

    .venv/bin/python bench/parse.py [N]
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

import feedparser

from monitor.sources.feed import parse_feed

__all__ = ["main"]

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "feeds"


def _bodies() -> list[bytes]:
    return [p.read_bytes() for p in sorted(CORPUS.iterdir()) if p.is_file() and p.suffix != ".tsv"]


def _rate(count_items: Callable[[bytes], int], bodies: list[bytes], rounds: int) -> float:
    """Items per second over `rounds` passes, after one warm-up pass."""
    for body in bodies:
        count_items(body)
    items = 0
    start = time.perf_counter()
    for _ in range(rounds):
        for body in bodies:
            items += count_items(body)
    return items / (time.perf_counter() - start)


def _feedparser(body: bytes) -> int:
    headers = {"content-type": "application/xml", "content-location": "https://example.com/"}
    return len(feedparser.parse(io.BytesIO(body), response_headers=headers).entries)


def _parse_feed(body: bytes) -> int:
    return len(parse_feed(body, url="https://example.com/").entries)


def _alternatives() -> dict[str, Callable[[bytes], int]]:
    try:
        import feedparser_rs  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return {}

    def rs(body: bytes) -> int:
        return len(feedparser_rs.parse(body).entries)

    return {f"feedparser-rs {feedparser_rs.__version__}": rs}


def main(argv: list[str]) -> None:
    rounds = int(argv[1]) if len(argv) > 1 else 5
    bodies = _bodies()
    print(f"{len(bodies)} corpus feeds, {sum(map(len, bodies)) / 1e6:.1f} MB, {rounds} rounds")
    baseline = _rate(_feedparser, bodies, rounds)
    print(f"{'feedparser ' + feedparser.__version__:28} {baseline:9.0f} items/s   1.00x")
    candidates = {"monitor.sources.feed.parse_feed": _parse_feed, **_alternatives()}
    if len(candidates) == 1:
        print("(feedparser-rs not installed: pip install feedparser-rs to compare)")
    for name, count_items in candidates.items():
        rate = _rate(count_items, bodies, rounds)
        print(f"{name:28} {rate:9.0f} items/s {rate / baseline:6.2f}x")


if __name__ == "__main__":
    main(sys.argv)
