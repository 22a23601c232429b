"""Benchmark: the daemon's memory and open files over many accelerated passes.

The real `Daemon` (the object `newsmon run` drives) runs in this process on a
SQLite file, with a fake clock that moves 1.2 intervals (72 min at `interval:
1h`) per pass, past every jittered next poll, so every source is due on every
pass and a pass runs as fast as the machine allows. One pass is what the
daemon's jobs do meanwhile: dispatcher ticks (claim due sources, refill as
polls end, index bodies) until nothing is due, the delivery loop's pass, the
heartbeat, and the retention job (`retention: 1d`, claimed per day: it prunes
every 20 passes).

500 feeds are served from a separate process on 127.0.0.1 (ETag, 304). Each
pass a tenth of the feeds, in rotation, list two new items, so every pass
ingests, fingerprints, matches (a third of the items hit the rule), queues and
delivers (console channel writing to /dev/null) new articles; the others
answer 304. RSS (VmRSS) and open file descriptors (/proc/self/fd) are
sampled after every pass.

Goal (issue 14, point 6): RSS growth < 10 % from pass 50 to pass 300, open
file descriptors flat. Baseline: RSS at pass 50 in the same run. Not a test.

    .venv/bin/python bench/memory.py [--quick] [--trace]

--quick: 100 feeds, 60 passes (growth measured from pass 10).
--trace: tracemalloc snapshots at the baseline pass and the last; prints the
top allocation growth by line (slows the run several times).
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import multiprocessing
import os
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feed_config import send_feed, write_feed_config  # noqa: E402

from monitor.config.load import load_config  # noqa: E402
from monitor.daemon.service import Daemon, fetch_limits  # noqa: E402
from monitor.daemon.tasks import prune  # noqa: E402
from monitor.fetch import Fetcher  # noqa: E402
from notifiers import Channels  # noqa: E402
from storage import Store  # noqa: E402

INTERVAL = 3600  # seconds of the fake clock per pass
ROTATION = 10  # a feed lists new items every ROTATION passes
NEW_PER_CHANGE = 2
LISTED = 5


def feed_version(feed: int, pass_no: int) -> int:
    """How many times `feed` has changed by `pass_no` (staggered across feeds)."""
    return (pass_no + feed % ROTATION) // ROTATION


WORDS = [
    "harbour",
    "cargo",
    "tide",
    "berth",
    "pilot",
    "crane",
    "ferry",
    "customs",
    "tariff",
    "quota",
    "minister",
    "budget",
    "election",
    "senate",
    "court",
    "verdict",
    "storm",
    "flood",
    "harvest",
    "rice",
    "rubber",
    "garment",
    "factory",
    "strike",
    "union",
    "bank",
    "loan",
    "bond",
    "currency",
    "railway",
    "airport",
    "bridge",
    "highway",
    "school",
    "clinic",
    "vaccine",
    "festival",
    "temple",
    "museum",
    "river",
    "delta",
    "border",
    "treaty",
    "summit",
    "envoy",
    "embassy",
]


def story(feed: int, i: int) -> tuple[str, str]:
    """A distinct title and text for item `i` of `feed` (no two are the same story)."""
    rng = random.Random(feed * 100_003 + i)
    word = "probe" if i % 3 == 0 else "report"
    title = f"{word.title()} {feed}.{i}: {' '.join(rng.sample(WORDS, 5))}"
    text = " ".join(rng.choice(WORDS) for _ in range(60))
    return title, text


def feed_body(feed: int, version: int) -> bytes:
    last = version * NEW_PER_CHANGE
    items = []
    for i in range(max(0, last - LISTED), last):
        title, text = story(feed, i)
        items.append(
            f"<item><title>{title}</title><guid>f{feed}-{i}</guid>"
            f"<link>https://news.example.org/{feed}/{i}</link>"
            f"<description>{text}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title><link>https://news.example.org/</link>{''.join(items)}"
        "</channel></rss>"
    ).encode()


def serve(port: Any, pass_no: Any) -> None:
    """The feed server (a child process): `port` gets its port; `pass_no.value` is the pass."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            feed = int(self.path.rsplit("/", 1)[1])
            version = feed_version(feed, pass_no.value)
            etag = f'"{feed}-{version}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            send_feed(self, feed_body(feed, version), ("ETag", etag))

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port.put(server.server_address[1])
    server.serve_forever()


def write_config(folder: Path, port: int, feeds: int) -> Path:
    # per-host limit 20: every feed is on 127.0.0.1
    settings = ["interval: 1h", "retention: 1d", "concurrency: 20", "per_host_concurrency: 20"]
    return write_feed_config(folder, port, feeds, settings, keyword="probe")


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit("no VmRSS in /proc/self/status")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class FakeClock:
    """The daemon's clock: moves only when the bench says a pass went by."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def one_pass(daemon: Daemon) -> None:
    """The daemon's jobs for one interval: dispatcher ticks until nothing is due
    (each poll's end claims the next, as in `newsmon run`), a delivery pass, the
    heartbeat, retention."""
    while True:
        while daemon.in_flight:
            await asyncio.wait(set(daemon.in_flight))
        if not await daemon.dispatch() and not daemon.in_flight:
            break
    await daemon.deliver()
    await asyncio.to_thread(daemon.store.heartbeat, daemon.replica, daemon.clock())
    await prune(daemon)


async def run(
    config_path: Path,
    db: Path,
    sink: TextIO,
    passes: int,
    server_pass: Any,
    baseline_pass: int,
    trace: bool,
) -> list[tuple[int, int, int, float]]:
    """(pass, RSS kB, open fds, seconds) after each pass; console alerts go to `sink`."""
    config = load_config(config_path, {})
    store = Store.open(f"sqlite:///{db}")
    clock = FakeClock()
    samples: list[tuple[int, int, int, float]] = []
    before: tracemalloc.Snapshot | None = None
    channels = Channels({"console": "console://"}, console=sink)
    try:
        async with Fetcher(fetch_limits(config)) as fetcher:
            daemon = Daemon(config, store, fetcher, channels, clock=clock)
            daemon.refilling = True
            await daemon.sync_sources()
            for n in range(1, passes + 1):
                server_pass.value = n
                started = time.perf_counter()
                await one_pass(daemon)
                samples.append((n, rss_kb(), open_fds(), time.perf_counter() - started))
                if n % 25 == 0:  # progress on stderr: the full run takes a while
                    print(f"pass {n}: RSS {samples[-1][1] / 1024:.1f} MB", file=sys.stderr)
                clock.advance(INTERVAL * 1.2)  # past every jittered next poll
                if trace and n == baseline_pass:
                    before = tracemalloc.take_snapshot()
            if before is not None:
                show_growth(before, tracemalloc.take_snapshot())
    finally:
        store.close()
    return samples


def show_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> None:
    total = (
        sum(s.size for s in before.statistics("filename")),
        sum(s.size for s in after.statistics("filename")),
    )
    print(f"tracemalloc: Python heap {total[0] / 2**20:.1f} MB -> {total[1] / 2**20:.1f} MB")
    print("tracemalloc: top growth by line, baseline pass -> last pass")
    for stat in after.compare_to(before, "lineno")[:15]:
        print(f"  {stat}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 feeds, 60 passes")
    parser.add_argument("--trace", action="store_true", help="tracemalloc growth by line")
    args = parser.parse_args()
    feeds, passes, baseline_pass = (100, 60, 10) if args.quick else (500, 300, 50)
    marks = sorted({1, baseline_pass, *range(0, passes + 1, passes // 6)} - {0})
    if args.trace:
        tracemalloc.start(10)
    port_queue: Any = multiprocessing.Queue()
    server_pass: Any = multiprocessing.Value("i", 0)
    server = multiprocessing.Process(target=serve, args=(port_queue, server_pass), daemon=True)
    server.start()
    port = port_queue.get(timeout=30)
    print(
        f"{feeds} feeds on 127.0.0.1, {passes} passes, SQLite, load average "
        f"{os.getloadavg()[0]:.2f}, {os.cpu_count()} cores"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as sink:
            folder = Path(tmp)
            config = write_config(folder, port, feeds)
            db = folder / "newsmon.db"
            work = run(config, db, sink, passes, server_pass, baseline_pass, args.trace)
            samples = asyncio.run(work)
            print(f"database: {db.stat().st_size / 2**20:.1f} MB after pass {passes}")
    finally:
        server.terminate()
        server.join(timeout=10)
    report(samples, marks, baseline_pass)


def report(samples: list[tuple[int, int, int, float]], marks: list[int], baseline: int) -> None:
    by_pass = {n: (rss, fds, seconds) for n, rss, fds, seconds in samples}
    last = samples[-1][0]
    print("| pass | RSS MB | open fds | pass s |")
    print("|---|---|---|---|")
    for n in marks:
        rss, fds, seconds = by_pass[n]
        print(f"| {n} | {rss / 1024:.1f} | {fds} | {seconds:.2f} |")
    rss0, fds0, _ = by_pass[baseline]
    rss1, fds1, _ = by_pass[last]
    peak = max(fds for n, _, fds, _ in samples if n >= baseline)
    print()
    print(f"RSS growth pass {baseline} -> {last} = {100 * (rss1 - rss0) / rss0:.1f} %")
    print(f"fds pass {baseline} -> {last}: {fds0} -> {fds1} (most since pass {baseline}: {peak})")
    print(f"ratio: RSS pass {last} / RSS pass {baseline} = {rss1 / rss0:.2f}×")


if __name__ == "__main__":
    main()
