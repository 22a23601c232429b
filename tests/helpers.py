"""Test helpers: local servers standing in for the outside world, and a CLI runner."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 collecting messages."""

    port: int = field(default_factory=free_port)
    messages: list[EmailMessage] = field(default_factory=list)
    _controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def url(self) -> str:
        return (
            f"mailto://127.0.0.1:{self.port}?from=newsmon@example.org"
            "&to=desk@example.org&secure=no&smtp=127.0.0.1"
        )

    def subjects(self) -> list[str]:
        with self._lock:
            return [str(m["subject"]) for m in self.messages]


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll `predicate` until true or fail after `timeout` seconds (no sleep-as-sync)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def newsmon(
    *args: str,
    config: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI as a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "monitor"]
    if config is not None:
        cmd += ["--config", str(config)]
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, env=full_env, timeout=timeout, cwd=ROOT
    )


def rss(items: list[dict[str, str]], *, title: str = "Test feed", ttl: int | None = None) -> str:
    """A small RSS 2.0 document from item dicts (title, link, guid, description, pubDate)."""
    from xml.sax.saxutils import escape

    parts = []
    for item in items:
        fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in item.items())
        parts.append(f"<item>{fields}</item>")
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://example.org/</link>{ttl_tag}"
        + "".join(parts)
        + "</channel></rss>"
    )


class FeedServer:
    """Feeds on a real HTTP server (pytest-httpserver) with ETag/304 support.

    `set(path, body)` changes what a path serves; `requests` records each
    request's path and headers.
    """

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.bodies: dict[str, tuple[bytes, str, int]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()

        def handler(request: Request) -> Response:
            with self._lock:
                self.requests.append((request.path, dict(request.headers)))
                body, ctype, status = self.bodies.get(
                    request.path, (b"not found", "text/plain", 404)
                )
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if status == 200 and request.headers.get("If-None-Match") == etag:
                return Response(status=304, headers={"ETag": etag})
            return Response(body, status=status, content_type=ctype, headers={"ETag": etag})

        server.expect_request(re.compile(".*")).respond_with_handler(handler)

    def set(
        self, path: str, body: str | bytes, ctype: str = "application/rss+xml", status: int = 200
    ) -> str:
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self.bodies[path] = (data, ctype, status)
        return str(self.server.url_for(path))

    def hits(self, path: str) -> list[dict[str, str]]:
        with self._lock:
            return [headers for p, headers in self.requests if p == path]


class Sink:
    """A local HTTP sink standing in for the Telegram Bot API and webhooks."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.posts: list[tuple[str, dict[str, Any]]] = []

        def handler(request: Request) -> Response:
            body = request.get_data(as_text=True)
            try:
                doc = json.loads(body) if body else {}
            except ValueError:
                doc = dict(request.form)
            self.posts.append((request.path, doc))
            result = {"ok": True, "result": {"message_id": len(self.posts), "chat": {"id": 1}}}
            return Response(json.dumps(result), content_type="application/json")

        server.expect_request(re.compile(".*")).respond_with_handler(handler)

    def telegram_texts(self) -> list[str]:
        return [doc["text"] for path, doc in self.posts if path.endswith("/sendMessage")]

    def webhook_bodies(self) -> list[str]:
        return [doc.get("message", "") for path, doc in self.posts if path == "/hook"]
