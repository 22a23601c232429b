"""A `newsmon run` daemon as a subprocess, with its HTTP endpoints and its log lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.helpers import ROOT, free_port, wait_for


class DaemonProcess:
    """`newsmon --config CONFIG run`, stdout and stderr captured in files."""

    def __init__(
        self,
        config: Path,
        *,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        port: int | None = None,
    ) -> None:
        self.config = config
        self.port = port or free_port()
        self.out = config.parent / "daemon.out"
        self.err = config.parent / "daemon.err"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
        full_env["NEWSMON_DATABASE_URL"] = f"sqlite:///{config.parent / 'newsmon.db'}"
        full_env.update(env or {})
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", *args, "--config", str(config), "run"],
                stdout=out,
                stderr=err,
                text=True,
                env=full_env,
                cwd=ROOT,
            )

    def stdout(self) -> str:
        return self.out.read_text()

    def stderr(self) -> str:
        return self.err.read_text()

    def get(self, path: str, token: str | None = None) -> tuple[int, str, dict[str, str]]:
        """GET http://127.0.0.1:PORT/path: status, body, headers (lower-case names)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                return response.status, response.read().decode(), headers
        except urllib.error.HTTPError as exc:
            headers = {k.lower(): v for k, v in exc.headers.items()}
            return exc.code, exc.read().decode(), headers

    def wait_listening(self, timeout: float = 20) -> None:
        def up() -> bool:
            assert self.proc.poll() is None, f"daemon exited: {self.stderr()}{self.stdout()}"
            try:
                self.get("/healthz")
            except OSError:
                return False
            return True

        wait_for(up, timeout=timeout, what="the daemon's HTTP server")

    def wait_log(self, text: str, timeout: float = 20, count: int = 1) -> None:
        wait_for(
            lambda: self.stdout().count(text) >= count,
            timeout=timeout,
            what=f"log line {text!r}",
        )

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def metric(text: str, name: str, labels: str = "") -> float:
    """One sample's value in Prometheus text: metric(t, "newsmon_polls_total", 'outcome="ok"').

    The sample may carry more labels than `labels` names (a daemon adds `replica`).
    """
    wanted = set(labels.split(",")) if labels else set()
    for line in text.splitlines():
        sample, _, value = line.rpartition(" ")
        found, _, rest = sample.partition("{")
        if found == name and wanted <= set(filter(None, rest.rstrip("}").split(","))):
            return float(value)
    raise AssertionError(f"no sample {name}{{{labels}}} in:\n{text}")


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line parsed as one JSON object (fails on the first line that is not)."""
    docs = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"line {number} is not JSON: {line!r}") from exc
        assert isinstance(doc, dict), line
        docs.append(doc)
    return docs
