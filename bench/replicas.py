"""Benchmark: polls/s and database round trips per poll for 1, 2 and 3 replicas.

Each replica count gets a fresh PostgreSQL database and 2,000 feeds served by
a threaded HTTP server on 127.0.0.1 (interval 1h: each feed is polled once).
The replicas are real `newsmon run` processes started together; the clock
runs from the first stored poll to the last, so start-up (imports,
migrations, syncing 2,000 sources) is left out. Not a test.

Round trips are counted two ways, both over the same window:
- statements: every replica counts SQLAlchemy's `before_cursor_execute`
  events (a tiny wrapper around `python -m monitor`, written to a file);
- transactions: `xact_commit + xact_rollback` of the database in
  `pg_stat_database` (pg_stat_statements needs shared_preload_libraries,
  which a stock server does not have). psycopg sends BEGIN and COMMIT as
  round trips of their own, so round trips ~ statements + 2 x transactions.
Idle work (heartbeats, empty dispatcher ticks) is in the counts too.

What to expect. On a 2-core machine every replica, PostgreSQL and the feed
server share two cores, and a poll is CPU-bound Python (HTTP, feed parsing,
matching, ingest): one replica already uses about one core, so a second
gains a little and a third loses some to contention (measured on 2 cores:
51, 64 and 55 polls/s, x1.00, x1.25, x1.08). Round trips per poll stay flat
(~10 statements, ~7 transactions, ~23 round trips), because a claim is one
SKIP LOCKED statement per batch whoever runs it: replicas add no
coordination cost. On paper, a 16-core box or three boxes on one database
scale about linearly with replicas (~50 polls/s each here) until PostgreSQL
is the limit: 14 replicas x 50 polls/s x 23 round trips is ~16,000 short
indexed statements per second, a few PostgreSQL cores' worth; that is ~2.5
million polls a day, far above what real feeds fetched over the internet need.

    .venv/bin/python bench/replicas.py [--feeds 2000] [--replicas 1,2,3]
"""

from __future__ import annotations

import argparse
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
from feed_config import send_feed, write_feed_config

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "postgresql://postgres@127.0.0.1:5432/test"

# `python -m monitor` with a statement counter written every 0.2 s (and at exit).
COUNTING = """
import atexit, runpy, sys, threading, time
from sqlalchemy import event
from sqlalchemy.engine import Engine
out, count = sys.argv.pop(1), [0]
def seen(*args, **kwargs): count[0] += 1
event.listen(Engine, "before_cursor_execute", seen)
def dump():
    with open(out + ".tmp", "w") as f: f.write(str(count[0]))
    __import__("os").replace(out + ".tmp", out)
def loop():
    while True: dump(); time.sleep(0.2)
threading.Thread(target=loop, daemon=True).start()
atexit.register(dump)
sys.argv[0] = "newsmon"
runpy.run_module("monitor", run_name="__main__")
"""


def feed(n: int) -> bytes:
    items = "".join(
        f"<item><title>Harbour report {n}.{i}</title><link>https://news.example.org/{n}/{i}</link>"
        f"<description>Shipping news {n}.{i} from the port.</description></item>"
        for i in range(3)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {n}</title><link>https://news.example.org/</link>{items}</channel></rss>"
    ).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        send_feed(self, feed(int(self.path.rsplit("/", 1)[1])))

    def log_message(self, format: str, *args: object) -> None:
        pass


def write_config(folder: Path, port: int, feeds: int) -> Path:
    # per-host limit 20: every feed is on 127.0.0.1; a rule that never matches
    settings = ["http: {port: 0}", "interval: 1h", "concurrency: 20", "per_host_concurrency: 20"]
    return write_feed_config(folder, port, feeds, settings, keyword="Zanzibar")


def sample(db: str, counters: list[Path]) -> tuple[float, int, int, int]:
    """(monotonic time, sources polled, transactions so far, statements so far)."""
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{db}", autocommit=True) as conn:
        try:
            row = conn.execute("SELECT count(last_poll_at) FROM source").fetchone()
            polled = int(row[0]) if row else 0
        except psycopg.errors.UndefinedTable:
            polled = 0
        conn.execute("SELECT pg_stat_clear_snapshot()")
        stat = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (db,)
        ).fetchone()
    statements = sum(int(p.read_text() or 0) for p in counters if p.exists())
    return time.monotonic(), polled, int(stat[0]) if stat else 0, statements


def measure(replicas: int, feeds: int, config: Path, folder: Path) -> tuple[float, float, float]:
    """polls/s, statements per poll, transactions per poll for `replicas` processes."""
    db = f"newsmon_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env["NEWSMON_LOG_FORMAT"] = "json"
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
    counters = [folder / f"{db}-{i}.count" for i in range(replicas)]
    procs = []
    try:
        for i in range(replicas):
            cmd = [sys.executable, "-c", COUNTING, str(counters[i]), "--database", url]
            log = (folder / f"{db}-{i}.log").open("w")
            cmd += ["--config", str(config), "-q", "run"]
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=log, env=env, cwd=ROOT))
        first = sample(db, counters)
        while first[1] == 0:
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a replica exited early; see {folder}")
            time.sleep(0.1)
            first = sample(db, counters)
        last, samples = first, 0
        while last[1] < feeds:
            time.sleep(0.25)
            last = sample(db, counters)
            samples += 1
        polls = last[1] - first[1]
        seconds = last[0] - first[0]
        # Each sample is 3 transactions of this process's own: not the replicas' work.
        transactions = last[2] - first[2] - 3 * samples
        return polls / seconds, (last[3] - first[3]) / polls, transactions / polls
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--replicas", default="1,2,3")
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"{args.feeds} feeds on 127.0.0.1, PostgreSQL, {os.cpu_count()} cores")
    baseline = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = write_config(folder, server.server_address[1], args.feeds)
        for count in (int(n) for n in args.replicas.split(",")):
            rate, statements, transactions = measure(count, args.feeds, config, folder)
            baseline = baseline or rate
            print(
                f"{count} replica(s): {rate:7.1f} polls/s  x{rate / baseline:.2f} of 1 replica  "
                f"{statements:5.1f} statements/poll  {transactions:5.1f} transactions/poll  "
                f"~{statements + 2 * transactions:5.1f} round trips/poll"
            )
    server.shutdown()


if __name__ == "__main__":
    main()
