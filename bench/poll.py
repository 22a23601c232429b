"""Benchmark: end-to-end ingest, `newsmon run --once` vs a bare httpx + feedparser loop.

Two workloads, each served from memory by an HTTP/1.1 server in its own
process on 127.0.0.1:

- ``generated``: 200 feeds x 50 items (10,000 items; deterministic seed),
  RSS 2.0 items of ~1.5-2 KB like the corpus's (HTML-rich descriptions, CDATA
  or entity-escaped, ``content:encoded`` on a third of them, categories,
  ``dc:creator``), published in the last hours so that rules alert;
- ``corpus``: the 80 feeds under ``../shared/corpus/feeds``, served as they are.

Both use the same 100 keyword rules. Contenders, each a fresh process timed by
its wall clock (interpreter start and imports included, as a cron job pays them):

- ``httpx + feedparser``: one ``httpx.AsyncClient``, 20 requests at a time,
  ``feedparser.parse`` on each body;
- ``newsmon run --once``: the console script on a config of those sources
  (concurrency 20, per-host limit 20: one host here) and a fresh SQLite file;
  the articles stored are counted afterwards.

Rounds alternate the contenders; medians are reported. Not a test.

    .venv/bin/python bench/poll.py [--quick] [--rounds N] [--profile]

``--profile`` also records one ``run --once`` of the generated workload with
py-spy (every thread and child process, CPU samples) and prints where the
samples fall by pipeline stage, and the top functions by own samples.
"""

from __future__ import annotations

import argparse
import html
import http.server
import multiprocessing
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "feeds"
BIN = Path(sys.executable).parent
SEED = 14
FEEDS, ITEMS = 200, 50
CONCURRENCY = 20
# Bytecode caching on, as in any installed newsmon: with PYTHONDONTWRITEBYTECODE set
# newsmon would compile its own modules at every start while the baseline's
# libraries come precompiled from their wheels.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

# 100 rule terms: places, organisations and topics a desk would track.
TERMS = (
    "ASEAN", "Russia", "Cambodia", "Vietnam", "Thailand", "Laos", "Myanmar", "Malaysia",
    "Singapore", "Indonesia", "Philippines", "Brunei", "China", "Japan", "Korea", "India",
    "Australia", "Ukraine", "Kremlin", "Beijing", "Hanoi", "Bangkok", "Vientiane", "Jakarta",
    "Manila", "Kuala Lumpur", "Phnom Penh", "Siem Reap", "Mekong", "Tonle Sap", "Angkor",
    "Hun Manet", "Hun Sen", "Putin", "Lavrov", "Xi Jinping", "Modi", "Anwar", "Prabowo",
    "Marcos", "United Nations", "World Bank", "IMF", "WTO", "RCEP", "Belt and Road",
    "South China Sea", "Gulf of Thailand", "Ream", "Funan Techo", "garment", "rice export",
    "dengue", "monsoon", "drought", "flood", "landmine", "deforestation", "hydropower",
    "casino", "scam compound", "human trafficking", "cyber fraud", "election", "opposition",
    "parliament", "constitution", "court ruling", "corruption", "sanctions", "tariff",
    "inflation", "interest rate", "riel", "gold price", "oil price", "solar", "coal",
    "electric vehicle", "semiconductor", "tourism", "airport", "railway", "expressway",
    "port", "fisheries", "cashew", "rubber", "durian", "minimum wage", "strike", "protest",
    "journalist", "press freedom", "cyberattack", "earthquake", "typhoon", "heatwave",
    "vaccine", "cholera",
)  # fmt: skip
assert len(TERMS) == 100
_PROSE = (
    "the of and to in a on for with that said at by from as was were has have will would "
    "officials government minister ministry provincial district village residents workers "
    "farmers company companies investors market markets prices report reports statement "
    "week month year today yesterday morning evening meeting talks agreement plan plans "
    "project projects funding budget million billion percent growth trade exports imports "
    "border security police military court judge law laws policy policies public private "
    "sector industry factory factories bank banks loan loans debt economy economic social "
    "health schools students teachers hospital water power roads bridge construction land "
    "families children community communities local national regional international foreign "
    "new first second last major small large rural urban according spokesman spokeswoman "
    "told reporters announced confirmed denied expected continue continued increase decrease "
    "rose fell support supported concern concerns issue issues decision decisions across"
)
WORDS = _PROSE.split()


def _sentence(rng: random.Random, mention: float) -> str:
    words = rng.choices(WORDS, k=rng.randint(12, 26))
    if rng.random() < mention:
        words.insert(rng.randrange(len(words)), rng.choice(TERMS))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, mention: float) -> str:
    return " ".join(_sentence(rng, mention) for _ in range(rng.randint(2, 4)))


def _html(rng: random.Random, n: int, i: int, paragraphs: int, mention: float) -> str:
    parts = []
    for p in range(paragraphs):
        text = html.escape(_paragraph(rng, mention), quote=False)
        if p == 0:
            head, _, tail = text.partition(" ")
            text = f"<strong>{head}</strong> {tail}"
        if rng.random() < 0.5:
            cut = text.rfind(" ", 0, len(text) // 2)
            link = f"https://news{n}.example.org/tag/{rng.choice(WORDS)}"
            text = f'{text[:cut]} <a href="{link}">{text[cut + 1 :]}</a>'
        parts.append(f"<p>{text}</p>")
    img = f"https://cdn.news{n}.example.org/img/{i}.jpg"
    parts.insert(1, f'<figure><img src="{img}" alt="photo {i}" width="640" /></figure>')
    return "".join(parts)


def generated_feed(n: int, now: datetime) -> bytes:
    """Feed `n` of the generated workload: deterministic text, dates relative to `now`."""
    rng = random.Random(SEED * 100_003 + n)
    items = []
    for i in range(ITEMS):
        title = html.escape(_sentence(rng, 0.1)[:90].rstrip(". ").title(), quote=False)
        link = f"https://news{n}.example.org/{2025 - i % 2}/{i:03d}-{title[:24].lower()}"
        link = link.replace(" ", "-")
        published = format_datetime(now - timedelta(minutes=7 * i + n % 7), usegmt=True)
        description = _html(rng, n, i, rng.randint(1, 3), 0.12)
        body = (
            f"<description><![CDATA[{description}]]></description>"
            if i % 2
            else f"<description>{html.escape(description, quote=False)}</description>"
        )
        if i % 3 == 0:
            full = _html(rng, n, i, rng.randint(2, 4), 0.12)
            body += f"<content:encoded><![CDATA[{full}]]></content:encoded>"
        categories = "".join(
            f"<category>{html.escape(c)}</category>" for c in rng.sample(WORDS[40:], 2)
        )
        items.append(
            f"<item><title>{title}</title><link>{html.escape(link)}</link>"
            f'<guid isPermaLink="false">news{n}-{i}</guid><pubDate>{published}</pubDate>'
            f"<dc:creator>Reporter {rng.randint(1, 40)}</dc:creator>{categories}{body}</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>News {n}</title><link>https://news{n}.example.org/</link>"
        f"<description>Generated feed {n}</description><language>en</language>"
        f"{''.join(items)}</channel></rss>"
    ).encode()


def corpus_files() -> list[Path]:
    """The corpus's feed files (not its index, not the expected outputs)."""
    return sorted(p for p in CORPUS.iterdir() if p.is_file() and p.suffix != ".tsv")


# --- the server (its own process) -------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    bodies: ClassVar[dict[str, bytes]] = {}  # path -> body, set once in the server process

    def do_GET(self) -> None:
        body = self.bodies.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(now: datetime, ready: Any) -> None:
    bodies = {f"/g/{n}.xml": generated_feed(n, now) for n in range(FEEDS)}
    if CORPUS.is_dir():
        bodies.update({f"/c/{p.name}": p.read_bytes() for p in corpus_files()})
    _Handler.bodies = bodies
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    ready.send((server.server_address[1], sum(map(len, bodies.values()))))
    server.serve_forever()


# --- the contenders (each a fresh process) ----------------------------------------


def _baseline_child(urls: list[str]) -> None:
    """The bare loop: httpx at concurrency 20, feedparser on every body; prints the items."""
    import asyncio

    import feedparser
    import httpx

    async def run() -> int:
        gate = asyncio.Semaphore(CONCURRENCY)
        limits = httpx.Limits(max_connections=CONCURRENCY)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:

            async def one(url: str) -> int:
                async with gate:
                    response = await client.get(url)
                return len(feedparser.parse(response.content).entries)

            return sum(await asyncio.gather(*(one(url) for url in urls)))

    print(asyncio.run(run()))


def write_config(folder: Path, urls: Sequence[str]) -> Path:
    lines = [
        "settings:",
        f"  concurrency: {CONCURRENCY}",
        f"  per_host_concurrency: {CONCURRENCY}",
        "  timeout: 120s",
        "sources:",
    ]
    for i, url in enumerate(urls):
        lines += [f"  - name: feed-{i:03d}", f"    url: {url}"]
    lines.append("rules:")
    for i, term in enumerate(TERMS):
        lines += [f"  - name: rule-{i:03d}", f'    keywords: ["{term}"]']
    path = folder / "sources.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    items: int


def run_baseline(urls: list[str], folder: Path) -> Run:
    listing = folder / "urls.txt"
    listing.write_text("\n".join(urls))
    args = [sys.executable, __file__, "--child-baseline", str(listing)]
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False, env=CHILD_ENV)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"httpx + feedparser failed:\n{done.stderr}")
    return Run(seconds, int(done.stdout.split()[-1]))


def newsmon_args(config: Path, db: Path) -> list[str]:
    return [str(BIN / "newsmon"), "-q", "--config", str(config), "--database", f"sqlite:///{db}"]


def run_newsmon(config: Path, db: Path, prefix: Sequence[str] = ()) -> Run:
    for leftover in db.parent.glob(db.name + "*"):
        leftover.unlink()
    args = [*prefix, *newsmon_args(config, db), "run", "--once"]
    start = time.perf_counter()
    done = subprocess.run(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False, env=CHILD_ENV
    )
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: a source failed (the corpus has a non-feed)
        sys.exit(f"newsmon run --once failed ({done.returncode}):\n{done.stderr.decode()}")
    with sqlite3.connect(db) as conn:
        (items,) = conn.execute("SELECT count(*) FROM article").fetchone()
    return Run(seconds, items)


# --- the profile summary ----------------------------------------------------------

# Where a sample belongs: the first rule (in order) whose pattern is a frame of its
# stack. Start-up and the delivery pass come first: they call into everything else.
STAGES = (
    ("start-up (imports, config, migrations)", ("<frozen importlib", "alembic/", "load_config")),
    ("deliver (render, console)", ("delivery/", "notifiers/")),
    ("parse: feedparser", ("feedparser/",)),
    ("parse: newsmon glue", ("sources/feed.py", "sources/feedbytes.py")),
    ("story fingerprint", ("normalize/fingerprint.py",)),
    ("match", ("monitor/match/",)),
    ("normalise (text, URL, hash)", ("pipeline/articles.py", "monitor/normalize/")),
    ("store: ingest", ("store_ingest.py", "store_stories.py", "store_deliveries.py")),
    ("store: body index", ("index_bodies", "store_search.py")),
    ("store: other", ("storage/",)),
    ("fetch", ("monitor/fetch", "aiohttp/", "httpx/", "yarl/", "multidict/")),
    ("event loop, threads, other", ("",)),
)


def _stage(stack: list[str]) -> str:
    for name, patterns in STAGES:
        if any(p in frame for frame in stack for p in patterns):
            return name
    return STAGES[-1][0]


def summarise_profile(raw: Path) -> str:
    """py-spy's collapsed stacks as a table of stages and the top functions by own samples."""
    stages: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack_text, _, count = line.rpartition(" ")
        stack = stack_text.split(";")
        stages[_stage(stack)] += int(count)
        own[stack[-1]] += int(count)
    total = sum(stages.values()) or 1
    out = [f"py-spy: {total} CPU samples (100/s, every thread and process)", ""]
    out += ["| stage | samples | share |", "| --- | --- | --- |"]
    for name, _ in STAGES:
        out.append(f"| {name} | {stages[name]} | {100 * stages[name] / total:.1f} % |")
    out += ["", "top functions by own samples:"]
    out += [f"  {100 * n / total:5.1f} %  {frame}" for frame, n in own.most_common(15)]
    return "\n".join(out)


def profile_newsmon(config: Path, folder: Path) -> str:
    spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if spy is None:
        return "--profile: py-spy not found (pip install py-spy)"
    raw = folder / "profile.txt"
    # --gil: a sample counts where a thread runs Python (holds its process's GIL).
    prefix = [spy, "record", "--gil", "--subprocesses", "--format", "raw", "-o", str(raw), "--"]
    run_newsmon(config, folder / "profiled.db", prefix)
    return summarise_profile(raw)


# --- the report -------------------------------------------------------------------


def table(title: str, runs: dict[str, list[Run]]) -> tuple[str, float]:
    """A markdown table of the medians, and newsmon's ratio to the baseline."""
    lines = [title, "", "| contender | wall s (median) | runs | items | items/s |"]
    lines.append("| --- | --- | --- | --- | --- |")
    rate = {}
    for name, done in runs.items():
        seconds = statistics.median(r.seconds for r in done)
        items = max(r.items for r in done)
        rate[name] = items / seconds
        spread = ", ".join(f"{r.seconds:.2f}" for r in done)
        lines.append(f"| {name} | {seconds:.2f} | {spread} | {items:,} | {rate[name]:,.0f} |")
    base, ours = runs
    return "\n".join(lines), rate[ours] / rate[base]


def measure(urls: list[str], rounds: int, folder: Path) -> dict[str, list[Run]]:
    config = write_config(folder, urls)
    runs: dict[str, list[Run]] = {"httpx + feedparser": [], "newsmon run --once": []}
    for r in range(rounds):
        runs["httpx + feedparser"].append(run_baseline(urls, folder))
        runs["newsmon run --once"].append(run_newsmon(config, folder / f"round{r}.db"))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds (corpus: 1)")
    parser.add_argument("--rounds", type=int, help="rounds of the generated workload")
    parser.add_argument("--profile", action="store_true", help="py-spy one run --once")
    parser.add_argument("--child-baseline", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_baseline:
        _baseline_child(args.child_baseline.read_text().split())
        return
    rounds = args.rounds or (2 if args.quick else 5)
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(datetime.now(UTC), send), daemon=True)
    server.start()
    try:
        port, size = receive.recv()
        base = f"http://127.0.0.1:{port}"
        generated = [f"{base}/g/{n}.xml" for n in range(FEEDS)]
        with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
            folder = Path(tmp)
            (folder / "g").mkdir()
            runs = measure(generated, rounds, folder / "g")
            corpus_runs = None
            if CORPUS.is_dir():
                (folder / "c").mkdir()
                corpus = [f"{base}/c/{p.name}" for p in corpus_files()]
                corpus_runs = measure(corpus, max(1, rounds // 2), folder / "c")
            profile = (
                profile_newsmon(write_config(folder, generated), folder) if args.profile else None
            )
    finally:
        server.terminate()
        server.join()

    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"load average after the run: {' '.join(load)}; {os.cpu_count()} CPUs")
    print(f"served: {size / 1e6:.1f} MB; {len(TERMS)} keyword rules\n")
    if corpus_runs is not None:
        text, corpus_ratio = table(f"corpus: {len(corpus_files())} feeds", corpus_runs)
        print(text)
        print(f"\ncorpus ratio: newsmon / (httpx + feedparser) = {corpus_ratio:.2f}×\n")
    else:
        print(f"corpus: not found at {CORPUS}; skipped\n")
    if profile is not None:
        print(profile + "\n")
    text, ratio = table(f"generated: {FEEDS} feeds × {ITEMS} items, {rounds} rounds", runs)
    print(text)
    print(f"\nratio: newsmon / (httpx + feedparser) = {ratio:.2f}×")


if __name__ == "__main__":
    main()
