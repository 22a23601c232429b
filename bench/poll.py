"""Benchmark: one `run --once` over every corpus feed served on 127.0.0.1.

Prints items/s of the whole pipeline (fetch, parse, normalise, match, store
with the outbox) and, as the baseline measured in the same run, items/s of
plain feedparser on the same bytes; then the ratio. Not a test.

    .venv/bin/python bench/poll.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import io
import sys
import tempfile
import threading
import time
from pathlib import Path

import feedparser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.config.load import load_config  # noqa: E402
from monitor.daemon.service import Daemon, fetch_limits  # noqa: E402
from monitor.fetch import Fetcher  # noqa: E402
from notifiers import Channels  # noqa: E402
from storage import Store  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "feeds"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def write_config(folder: Path, port: int, files: list[Path]) -> Path:
    lines = ["settings:", "  per_host_concurrency: 8", "sources:"]
    for i, f in enumerate(files):
        lines += [f"  - name: feed-{i}", f"    url: http://127.0.0.1:{port}/{f.name}"]
    lines += [
        "rules:",
        "  - name: world",
        "    keywords: [ASEAN, Russia, Cambodia, China, election, the]",
    ]
    path = folder / "sources.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def one_pass(config_path: Path, db: Path) -> tuple[int, float]:
    config = load_config(config_path, {})
    store = Store.open(f"sqlite:///{db}")
    channels = Channels({"console": "console://"}, console=io.StringIO())
    try:
        async with Fetcher(fetch_limits(config)) as fetcher:
            daemon = Daemon(config, store, fetcher, channels)
            await daemon.sync_sources()
            start = time.perf_counter()
            reports = await daemon.poll_all()
            elapsed = time.perf_counter() - start
    finally:
        store.close()
    return sum(r.items for r in reports), elapsed


def baseline(files: list[Path]) -> tuple[int, float]:
    start = time.perf_counter()
    items = 0
    for f in files:
        items += len(feedparser.parse(io.BytesIO(f.read_bytes())).entries)
    return items, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not CORPUS.is_dir():
        sys.exit(f"corpus not found at {CORPUS}")
    files = sorted(p for p in CORPUS.iterdir() if p.is_file() and p.suffix != ".tsv")
    server, port = serve(CORPUS)
    best_pipe = best_base = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        config_path = write_config(Path(tmp), port, files)
        for r in range(args.rounds):
            items, secs = asyncio.run(one_pass(config_path, Path(tmp) / f"round{r}.db"))
            base_items, base_secs = baseline(files)
            best_pipe = max(best_pipe, items / secs)
            best_base = max(best_base, base_items / base_secs)
            print(
                f"round {r + 1}: pipeline {items} items in {secs:.2f}s"
                f" = {items / secs:,.0f} items/s;"
                f" feedparser alone {base_items} items in {base_secs:.2f}s"
                f" = {base_items / base_secs:,.0f} items/s"
            )
    server.shutdown()
    print(
        f"best: run --once pipeline {best_pipe:,.0f} items/s vs feedparser-only baseline "
        f"{best_base:,.0f} items/s: ratio {best_pipe / best_base:.2f}x "
        f"({len(files)} feeds)"
    )


if __name__ == "__main__":
    main()
