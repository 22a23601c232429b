"""Read-only commands on a SQLite database that cannot be written.

Tests run as root, which ignores file modes, so `chmod 444` proves nothing.
The database's folder is instead bind-mounted read-only in a private mount
namespace (`unshare -m`): the kernel refuses every write, root's included,
and SQLite cannot even create its `-shm` file there.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, FeedServer, newsmon, rss


def read_only_mount(folder: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run `command` with `folder` mounted read-only (for that process only)."""
    quoted = shlex.quote(str(folder))
    script = (
        f"mount --bind {quoted} {quoted} && mount -o remount,bind,ro {quoted} && "
        f"! touch {quoted}/probe 2>/dev/null && exec {shlex.join(command)}"
    )
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_search_export_alerts_and_sources_work_on_a_read_only_mount(
    tmp_path: Path, feeds: FeedServer
) -> None:
    if shutil.which("unshare") is None or read_only_mount(tmp_path, "true").returncode != 0:
        pytest.skip("cannot make a read-only mount here (unshare -m and mount need privileges)")
    url = feeds.set(
        "/feed.xml",
        rss([{"title": "ASEAN summit opens", "link": "https://example.org/asean"}]),
    )
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"sources:\n  - name: wire\n    url: {url}\n    kind: feed\n"
        "rules:\n  - name: asean\n    keywords: [ASEAN]\n"
    )
    db = tmp_path / "newsmon.db"
    env = {"NEWSMON_DATABASE_URL": f"sqlite:///{db}"}
    assert newsmon("run", "--once", config=config, env=env).returncode == 0

    base = [sys.executable, "-m", "monitor", "--database", f"sqlite:///{db}"]
    search = read_only_mount(tmp_path, *base, "search", "ASEAN", "--format", "json")
    assert search.returncode == 0, search.stderr
    assert [doc["title"] for doc in json.loads(search.stdout)] == ["ASEAN summit opens"]
    export = read_only_mount(tmp_path, *base, "export", "--format", "json")
    assert export.returncode == 0, export.stderr
    assert [doc["url"] for doc in json.loads(export.stdout)] == ["https://example.org/asean"]
    alerts = read_only_mount(tmp_path, *base, "alerts", "--format", "json")
    assert alerts.returncode == 0, alerts.stderr
    rows = [(a["rule"], a["channel"], a["status"]) for a in json.loads(alerts.stdout)]
    assert rows == [("asean", "console", "sent")]
    listed = read_only_mount(
        tmp_path, *base, "--config", str(config), "sources", "--format", "json"
    )
    assert listed.returncode == 0, listed.stderr
    assert [(s["name"], s["status"], s["articles"]) for s in json.loads(listed.stdout)] == [
        ("wire", "ok", 1)
    ]
    assert "database is read-only: sources are shown as last stored" in listed.stderr
    for result in (search, export, alerts, listed):
        assert "Traceback" not in result.stderr
