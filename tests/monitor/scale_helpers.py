"""Scale-out harness: a fresh PostgreSQL database, a threaded web of feeds and a
webhook sink, and `newsmon run` replicas as subprocesses with JSON logs."""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import PG_ADMIN_URL, require_postgres
from tests.helpers import ROOT, rss

ARTICLE = re.compile(r"https://news\.example\.org/scale/\d+")
KEYWORD = "Mekong"


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new PostgreSQL database (SQLAlchemy URL), dropped afterwards even if still in use."""
    require_postgres()
    import psycopg

    name = f"newsmon_scale_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of `sql` on the database of `url` (PostgreSQL or SQLite)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=10) as conn:
            return list(conn.execute(sql).fetchall())
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return list(conn.execute(sql).fetchall())


def query_soon(url: str, sql: str) -> list[tuple[Any, ...]]:
    """`query`, or [] while the replicas have not created the tables yet."""
    try:
        return query(url, sql)
    except Exception as exc:
        if "does not exist" in str(exc) or "no such table" in str(exc):
            return []
        raise


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a killed replica drops its connections: expected, not news


class Web:
    """Feeds and a webhook sink on one threaded HTTP server on 127.0.0.1.

    GET /feed/N serves feed N (counted per path; `slow` paths answer after
    `delay` seconds); POST /hook records the JSON body (after `sink_delay`).
    """

    def __init__(self, feeds: int) -> None:
        self.bodies = {
            f"/feed/{n}": rss(
                [
                    {
                        "title": f"{KEYWORD} river report {n}",
                        "link": f"https://news.example.org/scale/{n}",
                        "guid": f"https://news.example.org/scale/{n}",
                        "description": f"Story {n} on the {KEYWORD}.",
                    }
                ]
            ).encode()
            for n in range(feeds)
        }
        self.hits: Counter[str] = Counter()
        self.posts: list[dict[str, Any]] = []
        self.slow: set[str] = set()
        self.delay = 0.0
        self.sink_delay = 0.0
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        web = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with web._lock:
                    web.hits[self.path] += 1
                    body = web.bodies.get(self.path)
                if self.path in web.slow:
                    time.sleep(web.delay)  # a slow origin: the poll holds its lease meanwhile
                self._reply(200 if body else 404, body or b"not found", "application/rss+xml")

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(web.sink_delay)  # a slow channel: the sender holds its claims
                with web._lock:
                    web.posts.append(json.loads(data or b"{}"))
                self._reply(200, b'{"ok": true}', "application/json")

            def _reply(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def messages(self) -> list[str]:
        with self._lock:
            return [f"{post.get('title', '')}\n{post.get('message', '')}" for post in self.posts]

    def delivered(self) -> list[str]:
        """Every article URL in every message, in order (repeats kept)."""
        return [url for message in self.messages() for url in ARTICLE.findall(message)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def write_config(folder: Path, web: Web, *, settings: str = "", rule: str = "") -> Path:
    """sources.yaml: every feed of `web` (interval 1h) and one rule alerting the webhook."""
    sources = "".join(
        f"  - name: s{n}\n    url: {web.url(path)}\n    kind: feed\n"
        for n, path in enumerate(web.bodies)
    )
    path = folder / "sources.yaml"
    path.write_text(
        "settings:\n  http: {port: 0}\n  interval: 1h\n  per_host_concurrency: 20\n"
        f"{settings}"
        f'channels:\n  hook: "json://127.0.0.1:{web.port}/hook"\n'
        f"sources:\n{sources}"
        f"rules:\n  - name: mekong\n    keywords: [{KEYWORD}]\n    channels: [hook]\n{rule}"
    )
    return path


class Replica:
    """One `newsmon --database URL --config FILE run` subprocess logging JSON to a file."""

    def __init__(self, name: str, config: Path, database: str) -> None:
        self.name = name
        self.log = config.parent / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
        env["NEWSMON_LOG_FORMAT"] = "json"
        cmd = [sys.executable, "-m", "monitor", "--database", database, "--config", str(config)]
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [*cmd, "run"], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT
            )

    def events(self) -> list[dict[str, Any]]:
        docs = []
        for line in self.log.read_text().splitlines():
            try:
                docs.append(json.loads(line))
            except ValueError:
                docs.append({"event": line})  # a traceback or a plain line: kept for the message
        return docs

    def polled(self) -> list[str]:
        """The sources this replica polled to the end, from its log."""
        events = self.events()
        return [
            str(e.get("source")) for e in events if str(e.get("event", "")).startswith("polled")
        ]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 15) -> str:
        return f"--- {self.name} (exit {self.proc.poll()}):\n" + "\n".join(
            self.log.read_text().splitlines()[-lines:]
        )

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM and wait: the exit code (None: it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def replica_states(replicas: list[Replica]) -> str:
    """Every replica's exit status and last log lines, for an assertion message."""
    return "\n".join(r.tail() for r in replicas)
