"""What the daemon benchmarks share: their sources.yaml (N local feeds, a console channel,
one rule) and their feed servers' answer."""

from __future__ import annotations

from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from pathlib import Path


def write_feed_config(
    folder: Path, port: int, feeds: int, settings: Sequence[str], keyword: str
) -> Path:
    """`folder`/sources.yaml: feeds f0..f{feeds-1} at http://127.0.0.1:`port`/feed/N,
    the `settings` lines (indented YAML under ``settings:``), a console channel and
    one rule on `keyword` sending to it."""
    lines = ["settings:", *(f"  {line}" for line in settings)]
    lines += ["channels:", '  console: "console://"', "sources:"]
    for n in range(feeds):
        lines += [f"  - name: f{n}", f"    url: http://127.0.0.1:{port}/feed/{n}", "    kind: feed"]
    lines += ["rules:", "  - name: bench", f"    keywords: [{keyword}]", "    channels: [console]"]
    path = folder / "sources.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def send_feed(handler: BaseHTTPRequestHandler, body: bytes, *headers: tuple[str, str]) -> None:
    """Answer `handler`'s request with `body` as RSS (200), plus `headers`."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
