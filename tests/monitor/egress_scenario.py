"""A hostile feed against `newsmon run --once`, inside a private network namespace.

Run as `unshare -n python -m tests.monitor.egress_scenario WORKDIR [CIDR...]`:
it brings up `lo`, adds 169.254.169.254 and 10.0.0.5 to it, serves a fake
cloud metadata service and a private intranet page there, serves on 127.0.0.1
a `full_text` feed whose article links point at them in every disguise, runs
`newsmon run --once` then `newsmon export`, and prints one JSON report: what
each server was asked for, the CLI's stdout/stderr and the stored articles.
The CIDRs, if any, go to `settings.allow_networks`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.helpers import ROOT, newsmon, rss

CREDENTIALS = "AKIAFAKEMETADATA0SECRET"
INTRANET = "INTRANET-ONLY-PAYROLL-PAGE"
META = "/latest/meta-data/iam/security-credentials/admin"
# The same metadata address as an attacker writes it.
HOSTILE = {
    "direct": f"http://169.254.169.254{META}",
    "decimal": f"http://2852039166{META}",
    "hex": f"http://0xA9FEA9FE{META}",
    "mapped": f"http://[::ffff:169.254.169.254]{META}",
    "redirect": "http://127.0.0.1:{port}/go",
    "private": "http://10.0.0.5/payroll",
}
ARTICLE = (
    "<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
    + "<p>{text} ASEAN ministers met in Phnom Penh to discuss trade and security.</p>" * 8
    + "</article></body></html>"
)


def _server(host: str, port: int, pages: dict[str, tuple[int, str, str]]) -> ThreadingHTTPServer:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            status, kind, body = pages.get(self.path, pages.get("*", (404, "text/plain", "")))
            data = body.encode()
            self.send_response(status)
            if status in (301, 302):
                self.send_header("Location", body)
                data = b""
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.hits = hits  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def _servers() -> Iterator[tuple[ThreadingHTTPServer, ThreadingHTTPServer, ThreadingHTTPServer]]:
    creds = json.dumps({"AccessKeyId": CREDENTIALS, "SecretAccessKey": CREDENTIALS})
    meta_page = ARTICLE.format(title="ASEAN credentials", text=creds)
    metadata = _server("169.254.169.254", 80, {"*": (200, "text/html", meta_page)})
    intranet_page = ARTICLE.format(title="ASEAN payroll", text=INTRANET)
    intranet = _server("10.0.0.5", 80, {"/payroll": (200, "text/html", intranet_page)})
    pages: dict[str, tuple[int, str, str]] = {}  # filled once the port is known
    site = _server("127.0.0.1", 0, pages)
    port = site.server_address[1]
    links = {name: url.format(port=port) for name, url in HOSTILE.items()}
    links["control"] = f"http://127.0.0.1:{port}/ok"
    items = [
        {"title": f"ASEAN story {name}", "link": link, "guid": link, "description": "teaser"}
        for name, link in links.items()
    ]
    pages["/feed.xml"] = (200, "application/rss+xml", rss(items))
    pages["/go"] = (302, "text/plain", HOSTILE["direct"])
    pages["/ok"] = (200, "text/html", ARTICLE.format(title="ASEAN control", text="Plain news."))
    try:
        yield metadata, intranet, site
    finally:
        for server in (metadata, intranet, site):
            server.shutdown()
            server.server_close()


def main(workdir: Path, allow: list[str]) -> None:
    for command in (
        "ip link set lo up",
        "ip addr add 169.254.169.254/32 dev lo",
        "ip addr add 10.0.0.5/32 dev lo",
    ):
        subprocess.run(command.split(), check=True)
    with _servers() as (metadata, intranet, site):
        config = workdir / "sources.yaml"
        config.write_text(
            f"""settings:
  database: sqlite:///{workdir / "newsmon.db"}
  timeout: 10s
{f"  allow_networks: {json.dumps(allow)}" if allow else ""}
sources:
  - name: hostile
    url: http://127.0.0.1:{site.server_address[1]}/feed.xml
    kind: feed
    full_text: true
rules:
  - name: asean
    keywords: [ASEAN]
"""
        )
        run = newsmon("run", "--once", config=config)
        stored = newsmon("export", "--format", "json", config=config)
        report = {
            "metadata_hits": metadata.hits,  # type: ignore[attr-defined]
            "intranet_hits": intranet.hits,  # type: ignore[attr-defined]
            "site_hits": site.hits,  # type: ignore[attr-defined]
            "returncode": run.returncode,
            "stdout": run.stdout,
            "stderr": run.stderr,
            "export": stored.stdout,
        }
    print(json.dumps(report))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(Path(sys.argv[1]), sys.argv[2:])
