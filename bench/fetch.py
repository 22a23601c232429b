"""Benchmark: polling transport. 2,000 feed URLs, concurrency 50, full pass then 304 pass.

A small asyncio HTTP/1.1 server (keep-alive, ETag / If-None-Match -> 304) runs
in its own process on 127.0.0.1 and serves a ~10 KB RSS document per URL. Each
contender runs in its own child process, so its CPU seconds and peak RSS
(VmHWM) are its own: one pass over every URL (200s with bodies), then one
conditional pass with the ETags it was given (all 304). Contenders:

- ``newsmon Fetcher``: `monitor.fetch.Fetcher` (egress check, deadline, size
  cap, hand-followed redirects), concurrency 50, per-host limit 50 (all URLs
  share one host here);
- ``bare httpx``: one ``httpx.AsyncClient``, a semaphore of 50, nothing else;
- ``bare aiohttp``: one ``aiohttp.ClientSession``, a semaphore of 50.

Rounds alternate the contenders (the order reversed every other round); the
ratio is the median of the per-round ratios, each taken between runs seconds
apart, so a load that comes and goes over the run weighs on both sides alike.
CPU seconds per request are printed too (on a busy machine they move with
the load as well, if less). The load average before and after is printed.
Not a test.

    .venv/bin/python bench/fetch.py [--quick] [--rounds N] [--profile]

``--profile`` also runs the Fetcher once under cProfile and prints where its
time goes (cumulative, top functions), and the Python function calls per
request of the Fetcher and of the bare aiohttp loop: a count the machine's
load does not move.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import io
import json
import multiprocessing
import pstats
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONCURRENCY = 50
CONTENDERS = ("newsmon Fetcher", "bare httpx", "bare aiohttp")


def _feed(n: int) -> bytes:
    items = "".join(
        f"<item><title>Story {n}-{i} about the river talks</title>"
        f"<link>https://news.example.org/{n}/{i}</link><guid>{n}-{i}</guid>"
        f"<description>Officials met on Tuesday to resume talks about item {i} of "
        f"feed {n}; fishing communities asked for the impact studies.</description>"
        f"<pubDate>Tue, 05 Mar 2024 06:{i:02d}:00 GMT</pubDate></item>"
        for i in range(30)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>'
        f"<link>https://news.example.org/</link><description>d</description>{items}"
        "</channel></rss>"
    ).encode()


class _Server(asyncio.Protocol):
    """Minimal HTTP/1.1: GET only, keep-alive, ETag per path."""

    def __init__(self, bodies: dict[bytes, bytes]) -> None:
        self.bodies = bodies
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            lines = head.split(b"\r\n")
            path = lines[0].split(b" ")[1]
            etag = b'"v1-' + path.rsplit(b"/", 1)[-1] + b'"'
            inm = next(
                (
                    ln.split(b":", 1)[1].strip()
                    for ln in lines[1:]
                    if ln[:14].lower() == b"if-none-match:"
                ),
                None,
            )
            assert self.transport is not None
            if inm == etag:
                self.transport.write(
                    b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\nContent-Length: 0\r\n\r\n"
                )
                continue
            body = self.bodies.get(path.rsplit(b"/", 1)[-1])
            if body is None:
                self.transport.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                continue
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: "
                + etag
                + b"\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )


def _serve(count: int, ready: Any) -> None:
    bodies = {f"{n}.xml".encode(): _feed(n) for n in range(count)}

    async def run() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Server(bodies), "127.0.0.1", 0, backlog=1024)
        ready.send(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(run())


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _fetcher(urls: list[str]) -> int:
    from monitor.fetch import Fetcher, FetchLimits

    limits = FetchLimits(
        user_agent="bench", concurrency=CONCURRENCY, per_host_concurrency=CONCURRENCY
    )
    async with Fetcher(limits) as fetcher:
        first = await asyncio.gather(*(fetcher.get(u, subject=u, origin="config") for u in urls))
        etags = [r.headers.get("etag") for r in first]
        pairs = zip(urls, etags, strict=True)
        second = await asyncio.gather(
            *(fetcher.get(u, subject=u, origin="config", etag=e) for u, e in pairs)
        )
    return sum(r.status == 200 for r in first) + sum(r.status == 304 for r in second)


async def _httpx(urls: list[str]) -> int:
    import httpx

    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits) as client:

        async def get(url: str, etag: str | None = None) -> tuple[int, str | None]:
            async with gate:
                headers = {"If-None-Match": etag} if etag else {}
                r = await client.get(url, headers=headers)
                return r.status_code, r.headers.get("etag")

        first = await asyncio.gather(*(get(u) for u in urls))
        second = await asyncio.gather(*(get(u, e) for u, (_, e) in zip(urls, first, strict=True)))
    return sum(s == 200 for s, _ in first) + sum(s == 304 for s, _ in second)


async def _aiohttp(urls: list[str]) -> int:
    import aiohttp

    gate = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def get(url: str, etag: str | None = None) -> tuple[int, str | None]:
            async with gate:
                headers = {"If-None-Match": etag} if etag else {}
                async with session.get(url, headers=headers) as r:
                    await r.read()
                    return r.status, r.headers.get("etag")

        first = await asyncio.gather(*(get(u) for u in urls))
        second = await asyncio.gather(*(get(u, e) for u, (_, e) in zip(urls, first, strict=True)))
    return sum(s == 200 for s, _ in first) + sum(s == 304 for s, _ in second)


def _child(name: str, port: int, count: int, profile: bool) -> None:
    """Run one contender and print its measurements as JSON (own process: own CPU and RSS)."""
    urls = [f"http://127.0.0.1:{port}/feed/{n}.xml" for n in range(count)]
    run = {"newsmon Fetcher": _fetcher, "bare httpx": _httpx, "bare aiohttp": _aiohttp}[name]
    # Imports happen before the clock starts: a daemon pays them once, not per pass.
    importlib.import_module(
        {"bare httpx": "httpx", "bare aiohttp": "aiohttp"}.get(name, "monitor.fetch")
    )
    profiler = cProfile.Profile() if profile else None
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    ok = asyncio.run(run(urls))
    if profiler is not None:
        profiler.disable()
    wall = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    result: dict[str, Any] = {"ok": ok, "wall": wall, "cpu": cpu, "rss": _peak_rss_mb()}
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(30)
        result["profile"] = out.getvalue()
        result["calls"] = stats.total_calls  # type: ignore[attr-defined]
    print(json.dumps(result))


def _measure(name: str, port: int, count: int, profile: bool = False) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", name, "--port", str(port), "--count", str(count)]
    done = subprocess.run(
        args + (["--profile"] if profile else []),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        sys.exit(f"{name} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["ok"] != 2 * count:
        sys.exit(f"{name}: {result['ok']} of {2 * count} requests answered as expected")
    return result


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _rounds(port: int, count: int, rounds: int) -> dict[str, list[dict[str, Any]]]:
    """Every contender once per round, the order reversed every other round."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CONTENDERS}
    for n in range(rounds):
        for name in CONTENDERS if n % 2 == 0 else CONTENDERS[::-1]:
            runs[name].append(_measure(name, port, count))
    return runs


def _ratio(runs: dict[str, list[dict[str, Any]]], baseline: str) -> tuple[float, float, float]:
    """The Fetcher's speed over `baseline`'s, per round (both measured minutes apart at most):
    the median and the spread."""
    ratios = [
        theirs["wall"] / ours["wall"]
        for ours, theirs in zip(runs["newsmon Fetcher"], runs[baseline], strict=True)
    ]
    return statistics.median(ratios), min(ratios), max(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 URLs, 3 rounds")
    parser.add_argument("--rounds", type=int, help="rounds (default: 5, or 3 with --quick)")
    parser.add_argument("--profile", action="store_true", help="also cProfile the Fetcher")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.port, args.count, args.profile)
        return
    count, rounds = (500, 3) if args.quick else (2000, 5)
    rounds = args.rounds or rounds
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(count, child), daemon=True)
    server.start()
    load_before = _load()
    try:
        port = parent.recv()
        runs = _rounds(port, count, rounds)
        profiled = {
            name: _measure(name, port, count, profile=True)
            for name in (("newsmon Fetcher", "bare aiohttp") if args.profile else ())
        }
    finally:
        server.terminate()
        server.join()

    requests = 2 * count
    print(
        f"Polling {count} URLs at concurrency {CONCURRENCY}: a full pass (200) then a "
        f"conditional pass (304); median of {rounds} alternating round(s); "
        f"load average {load_before} before, {_load()} after"
    )
    print("| client | req/s | wall s | CPU s | CPU µs/request | peak RSS MB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in CONTENDERS:
        wall = statistics.median(r["wall"] for r in runs[name])
        cpu = statistics.median(r["cpu"] for r in runs[name])
        rss = max(r["rss"] for r in runs[name])
        print(
            f"| {name} | {requests / wall:,.0f} | {wall:.2f} | {cpu:.2f} | "
            f"{cpu / requests * 1e6:.0f} | {rss:.0f} |"
        )
    if profiled:
        print()
        print("cProfile of the Fetcher (cumulative, top 30):")
        print(profiled["newsmon Fetcher"]["profile"])
        # Unlike seconds, the count of Python calls does not move with the machine's load.
        for name, result in profiled.items():
            print(f"Python function calls per request, {name}: {result['calls'] / requests:.0f}")
    print()
    cpu = {n: statistics.median(r["cpu"] for r in runs[n]) for n in CONTENDERS}
    print(
        "CPU seconds, bare aiohttp / newsmon Fetcher = "
        f"{cpu['bare aiohttp'] / cpu['newsmon Fetcher']:.2f}× (medians; "
        "the share of aiohttp's speed the Fetcher's own work leaves on an idle machine)"
    )
    for baseline in ("bare httpx", "bare aiohttp"):
        median, low, high = _ratio(runs, baseline)
        print(
            f"ratio: newsmon Fetcher / {baseline} = {median:.2f}× "
            f"(per round {low:.2f}–{high:.2f}×; req/s, median of the rounds)"
        )


if __name__ == "__main__":
    main()
