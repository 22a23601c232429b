"""Feed parsing throughput over the shared corpus: parse_feed's fast path against feedparser.

Parses every corpus feed with

- feedparser itself (the baseline),
- `parse_feed` with the fast path off (`read_feed(..., fast=False)`: feedparser
  plus DOCTYPE stripping, charset repair and field cleaning, what the daemon
  paid before),
- `parse_feed` (feedparser-rs where its reading is checked to be
  feedparser's, feedparser elsewhere: what the daemon pays now),
- raw feedparser-rs (no checks, no fields: the ceiling),

passes interleaved, and prints items/s (median pass) for each, the ratio to
feedparser, and which feeds took the fast path. The same over the feeds that
take it shows what one such feed gains. Not a test.

    .venv/bin/python bench/parse.py [--quick] [ROUNDS]
"""

from __future__ import annotations

import io
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import feedparser
import feedparser_rs

from monitor.sources.feed import read_feed

__all__ = ["main"]

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "feeds"
URL = "https://example.com/feed"
Parser = Callable[[bytes], int]


def _feedparser(body: bytes) -> int:
    headers = {"content-type": "application/xml", "content-location": URL}
    return len(feedparser.parse(io.BytesIO(body), response_headers=headers).entries)


def _before(body: bytes) -> int:
    return len(read_feed(body, url=URL, fast=False).feed.entries)


def _parse_feed(body: bytes) -> int:
    return len(read_feed(body, url=URL).feed.entries)


def _raw_rs(body: bytes) -> int:
    return len(feedparser_rs.parse(body, sanitize_html=False).entries)


PARSERS: dict[str, Parser] = {
    f"feedparser {feedparser.__version__}": _feedparser,
    "parse_feed, feedparser only": _before,
    "parse_feed (fast path)": _parse_feed,
    f"feedparser-rs {feedparser_rs.__version__} (raw)": _raw_rs,
}


def _rates(bodies: list[bytes], rounds: int) -> dict[str, float]:
    """Items per second of each parser over `bodies`: median of `rounds` interleaved passes."""
    items = {name: sum(parse(body) for body in bodies) for name, parse in PARSERS.items()}
    seconds: dict[str, list[float]] = {name: [] for name in PARSERS}
    for _ in range(rounds):
        for name, parse in PARSERS.items():
            start = time.perf_counter()
            for body in bodies:
                parse(body)
            seconds[name].append(time.perf_counter() - start)
    return {name: items[name] / statistics.median(seconds[name]) for name in PARSERS}


def _table(title: str, bodies: list[bytes], rounds: int) -> float:
    rates = _rates(bodies, rounds)
    baseline = next(iter(rates.values()))
    print(f"\n{title}: {len(bodies)} feeds, {sum(map(len, bodies)) / 1e6:.2f} MB")
    print(f"{'parser':34} {'items/s':>9} {'vs feedparser':>14}")
    for name, rate in rates.items():
        print(f"{name:34} {rate:9.0f} {rate / baseline:13.2f}x")
    return rates["parse_feed (fast path)"] / baseline


def _kind(reason: str) -> str:
    """The kind of a fallback reason, without the entry number and the details."""
    reason = re.sub(r"^(?:(?:entry|item) \d+|feed|feed link): ", "", reason)
    return re.split(r":| '| \(", reason, maxsplit=1)[0].strip()


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    numbers = [int(arg) for arg in argv[1:] if arg.isdigit()]
    rounds = numbers[0] if numbers else (1 if quick else 5)
    files = sorted(p for p in CORPUS.iterdir() if p.is_file() and p.suffix != ".tsv")
    bodies = [p.read_bytes() for p in files]
    readings = [read_feed(body, url=URL) for body in bodies]
    fast = [b for b, r in zip(bodies, readings, strict=True) if r.parser == "feedparser-rs"]
    items = sum(len(r.feed.entries) for r in readings)
    fast_items = sum(len(r.feed.entries) for r in readings if r.parser == "feedparser-rs")
    print(f"{len(bodies)} corpus feeds ({items} items), {rounds} round(s)")
    print(
        f"fast path taken by {len(fast)} of {len(bodies)} feeds ({len(fast) / len(bodies):.0%}),"
        f" {fast_items} of {items} items ({fast_items / items:.0%})"
    )
    why = Counter(_kind(r.fallback or "") for r in readings if r.parser == "feedparser")
    for reason, count in why.most_common():
        print(f"  fell back {count:2}x: {reason}")
    overall = _table("all corpus feeds", bodies, rounds)
    on_fast = _table("the feeds that take the fast path", fast, rounds)
    print(f"\nratio: parse_feed / feedparser, fast-path feeds = {on_fast:.2f}x")
    print(f"ratio: parse_feed / feedparser, all corpus feeds = {overall:.2f}x")


if __name__ == "__main__":
    main(sys.argv)
