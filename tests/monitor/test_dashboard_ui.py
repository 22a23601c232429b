"""`newsmon ui`: the dashboard over the database alone, as a cron-driven setup runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from storage import Store
from tests.helpers import free_port, newsmon, wait_for
from tests.monitor.dashboard_helpers import seed, utcnow


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_ui_serves_a_database_without_a_config_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "newsmon.db"
    store = Store.open(f"sqlite:///{db}")
    try:
        seed(store, utcnow())
    finally:
        store.close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor",
            "--database",
            f"sqlite:///{db}",
            "ui",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,  # no sources.yaml here
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            return _get(base + "/sources")[0] == 200
        except OSError:
            return False

    try:
        wait_for(up, timeout=30, what="newsmon ui to answer")
        status, html = _get(base + "/sources")
        assert status == 200
        assert '<a href="/sources/broken">broken</a>' in html
        assert _get(base + "/healthz")[0] == 404  # the daemon's endpoint, not the dashboard's
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stdout is not None
    out = proc.stdout.read()
    assert f"http: dashboard on http://127.0.0.1:{port}" in out


def test_ui_on_a_taken_port_says_so_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = newsmon(
            "--database",
            f"sqlite:///{tmp_path / 'newsmon.db'}",
            "ui",
            "--port",
            str(port),
            env={"NEWSMON_CONFIG": str(tmp_path / "absent.yaml")},
        )
    assert result.returncode == 1
    assert f"newsmon: http: cannot listen on 127.0.0.1:{port}: Address already in use" in (
        result.stderr
    )
