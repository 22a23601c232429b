"""Benchmark: peak memory of `run --once` on feeds with huge titles.

Serves FEEDS feeds on 127.0.0.1, each with one item whose title is TITLE_MB
megabytes of words (matching a rule), runs `newsmon run --once` in a
subprocess with a webhook and the console as channels, and prints its peak RSS,
the largest webhook post and the console output size. The baseline, measured in
the same run, is the same poll of the same feeds with ordinary 80-character
titles; then the ratio. Not a test (tests/monitor/test_hostile_sizes.py asserts
a bound).

    .venv/bin/python bench/hostile.py [--feeds 4] [--title-mb 10]
"""

from __future__ import annotations

import argparse
import http.server
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_WORDS = "ASEAN leaders meet Russia envoy over trade and security talks "


# newsmon run under a wrapper that records the peak RSS of its own address space
# (VmHWM). A child's ru_maxrss is no good here: Linux folds the parent's RSS at
# fork time into it, so under a large pytest process it reads the parent's size.
_MEASURED = """
import atexit, runpy, sys
out = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(out, "w") as f:
        f.write(kb)
atexit.register(peak)
runpy.run_module("monitor", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class Peak:
    rss_mb: float  # peak resident set size of the newsmon process
    largest_post: int  # bytes of the largest webhook request body
    console_bytes: int  # bytes newsmon wrote on stdout
    returncode: int


def feed(n: int, title_chars: int) -> bytes:
    title = (_WORDS * (title_chars // len(_WORDS) + 1))[:title_chars]
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {n}</title><link>https://example.org/</link><item>"
        f"<title>{title}</title><link>https://example.org/{n}/story</link>"
        f"<guid>https://example.org/{n}/story</guid><description>Story {n}.</description>"
        "<pubDate>Wed, 13 Sep 2023 06:00:00 GMT</pubDate></item></channel></rss>"
    ).encode()


class _Server(http.server.ThreadingHTTPServer):
    feeds: dict[str, bytes]
    posts: list[int]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        body = self.server.feeds.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(size)
        self.server.posts.append(size)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def measure(folder: Path, *, feeds: int, title_chars: int) -> Peak:
    """One `run --once` of `feeds` feeds with titles of `title_chars` characters."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.feeds = {f"/feed{n}.xml": feed(n, title_chars) for n in range(feeds)}
    server.posts = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    sources = "".join(
        f"  - name: feed{n}\n    url: http://127.0.0.1:{port}/feed{n}.xml\n    kind: feed\n"
        for n in range(feeds)
    )
    config = folder / "sources.yaml"
    config.write_text(
        f"settings:\n  database: sqlite:///{folder / 'news.db'}\n  max_bytes: 100MB\n"
        f"  timeout: 120s\n  alert_max_age: 36500d\n"  # the items are dated 2023: alert them
        f"channels:\n  hook: json://127.0.0.1:{port}/hook\n"
        f"  out: console://\nsources:\n{sources}"
        "rules:\n  - name: asean\n    keywords: [ASEAN]\n    channels: [hook, out]\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    try:
        with open(folder / "stdout", "wb") as out, open(folder / "stderr", "wb") as err:
            hwm = folder / "vmhwm"
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _MEASURED,
                    str(hwm),
                    "--config",
                    str(config),
                    "run",
                    "--once",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=err,
            )
            child.wait()
    finally:
        server.shutdown()
        server.server_close()
    return Peak(
        rss_mb=int(hwm.read_text()) / 1024,
        largest_post=max(server.posts, default=0),
        console_bytes=(folder / "stdout").stat().st_size,
        returncode=child.returncode,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=4)
    parser.add_argument("--title-mb", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as base, tempfile.TemporaryDirectory() as hostile:
        normal = measure(Path(base), feeds=args.feeds, title_chars=80)
        huge = measure(Path(hostile), feeds=args.feeds, title_chars=int(args.title_mb * 1e6))
        for label, peak in (("baseline (80-char titles)", normal), ("huge titles", huge)):
            print(
                f"{label:>26}: peak RSS {peak.rss_mb:7.1f} MB, largest webhook post "
                f"{peak.largest_post:,} B, console {peak.console_bytes:,} B, "
                f"exit {peak.returncode}"
            )
            if peak.returncode:
                print((Path(hostile if peak is huge else base) / "stderr").read_text()[-2000:])
    print(f"ratio: {huge.rss_mb / normal.rss_mb:.2f}x the baseline peak")


if __name__ == "__main__":
    main()
