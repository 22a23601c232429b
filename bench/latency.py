"""Benchmark: how long an item published on a feed takes to reach the console channel.

The real daemon (`newsmon run`, a child process, SQLite) polls a few feeds
served on 127.0.0.1 by this process at `interval: 30s` (the contract's ±10 %
jitter applies). Once every feed has been polled once, items are published at
random moments (seed 14) over a span that puts several items in each poll
window; each item's publish time is when the server starts listing it. The
daemon prints alerts as JSON lines (`NEWSMON_LOG_FORMAT=json`); the time an
alert line is read from its stdout is the item's alert time.

Goal (issue 14, point 4): an item reaches the console within interval + 2 s.
The baseline, measured by the same run, is the interval itself: with polls
exactly every interval and nothing else in the way, the worst latency is the
interval. Not a test.

    .venv/bin/python bench/latency.py [--quick]

--quick: interval 10s, 3 feeds, 15 items (the full run: 30s, 5 feeds, 50 items).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import IO

from feed_config import send_feed, write_feed_config

ROOT = Path(__file__).resolve().parents[1]
SEED = 14
SLACK = 2.0  # seconds beyond the interval that the goal allows
WAIT_AFTER = 3.0  # after the last publish: the last item's interval + slack + this


@dataclass
class Feeds:
    """The items each feed lists: an item appears once its publish time has passed."""

    count: int
    items: dict[int, list[tuple[float, str]]] = field(default_factory=dict)
    polled: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish_at(self, feed: int, at: float, title: str) -> None:
        with self.lock:
            self.items.setdefault(feed, []).append((at, title))

    def body(self, feed: int, now: float) -> bytes:
        with self.lock:
            self.polled.add(feed)
            live = sorted((at, t) for at, t in self.items.get(feed, []) if at <= now)
        entries = "".join(
            f"<item><title>{title}</title><guid>{title.replace(' ', '-')}</guid>"
            f"<link>https://news.example.org/{feed}/{title.replace(' ', '-')}</link>"
            f"<pubDate>{formatdate(at, usegmt=True)}</pubDate>"
            f"<description>{title}: harbour traffic report.</description></item>"
            for at, title in live[-20:]
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {feed}</title><link>https://news.example.org/</link>{entries}"
            "</channel></rss>"
        ).encode()


def serve(feeds: Feeds) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            send_feed(self, feeds.body(int(self.path.rsplit("/", 1)[1]), time.time()))

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def write_config(folder: Path, port: int, feeds: int, interval: int) -> Path:
    settings = ["http: {port: 0}", f"interval: {interval}s"]
    return write_feed_config(folder, port, feeds, settings, keyword="probe")


def read_alerts(stream: IO[str], seen: dict[str, float]) -> None:
    """Record when each probe's alert line is read (the daemon flushes every alert)."""
    for line in stream:
        now = time.time()
        if not line.startswith("{"):
            continue
        doc = json.loads(line)
        if doc.get("event") != "alert":
            continue
        for item in doc.get("items", []):
            seen.setdefault(item["title"], now)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="interval 10s, 3 feeds, 15 items")
    args = parser.parse_args()
    interval, feed_count, item_count = (10, 3, 15) if args.quick else (30, 5, 50)
    span = 6 * interval if args.quick else 10 * interval  # items spread over this
    feeds = Feeds(feed_count)
    server = serve(feeds)
    seen: dict[str, float] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env["NEWSMON_LOG_FORMAT"] = "json"
    print(
        f"{feed_count} feeds at interval {interval}s, {item_count} items over {span}s "
        f"(seed {SEED}), load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = write_config(folder, server.server_address[1], feed_count, interval)
        cmd = [sys.executable, "-m", "monitor", "--config", str(config)]
        cmd += ["--database", f"sqlite:///{folder / 'newsmon.db'}", "run"]
        daemon = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT
        )
        assert daemon.stdout is not None
        reader = threading.Thread(target=read_alerts, args=(daemon.stdout, seen), daemon=True)
        reader.start()
        try:
            published = run_probes(feeds, daemon, interval, item_count, span)
        finally:
            daemon.terminate()
            daemon.wait(timeout=60)
    server.shutdown()
    report(published, seen, interval)


def run_probes(
    feeds: Feeds, daemon: subprocess.Popen[str], interval: int, item_count: int, span: float
) -> dict[str, float]:
    """Publish the probes once every feed was polled; wait for their alerts."""
    deadline = time.monotonic() + 120
    while len(feeds.polled) < feeds.count:  # start-up: imports, migrations, first polls
        if daemon.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the daemon did not poll every feed within 120 s")
        time.sleep(0.1)
    rng = random.Random(SEED)
    start = time.time() + 1.0
    published: dict[str, float] = {}
    for n in range(item_count):
        title = f"Harbour probe {n}"
        published[title] = start + rng.uniform(0, span)
        feeds.publish_at(rng.randrange(feeds.count), published[title], title)
    end = max(published.values()) + interval * 1.1 + 5 + SLACK + WAIT_AFTER
    while time.time() < end and daemon.poll() is None:
        time.sleep(0.5)
    return published


def report(published: dict[str, float], seen: dict[str, float], interval: int) -> None:
    latencies = [seen[t] - at for t, at in published.items() if t in seen]
    missing = len(published) - len(latencies)
    goal = interval + SLACK
    within = sum(1 for x in latencies if x <= goal)
    print()
    print("| measure | seconds |")
    print("|---|---|")
    print(f"| baseline: the interval | {interval:.1f} |")
    print(f"| goal: interval + {SLACK:.0f} s | {goal:.1f} |")
    if latencies:
        print(f"| latency p50 | {statistics.median(latencies):.1f} |")
        print(f"| latency p95 | {percentile(latencies, 0.95):.1f} |")
        print(f"| latency max | {max(latencies):.1f} |")
        print(f"| latency min | {min(latencies):.1f} |")
    print()
    print(f"items alerted: {len(latencies)} of {len(published)} ({missing} missing)")
    print(f"within interval + {SLACK:.0f} s: {within} of {len(published)}")
    if not latencies:
        raise SystemExit("no alert reached the console")
    p95 = percentile(latencies, 0.95)
    print(f"ratio: p95 latency / (interval + {SLACK:.0f} s) = {p95 / goal:.2f}×")


if __name__ == "__main__":
    main()
