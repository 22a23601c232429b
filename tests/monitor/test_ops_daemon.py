"""The daemon as an operator runs it: /healthz, /metrics, JSON logs without secrets, SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from storage import Store
from tests.helpers import FeedServer, SmtpSink, newsmon, rss, wait_for
from tests.monitor.ops_helpers import DaemonProcess, json_lines, metric

ASEAN_STORY = {
    "title": "ASEAN ministers meet in Phnom Penh",
    "link": "https://e.org/asean",
    "guid": "asean",
}
OTHER_STORY = {"title": "Rice harvest up", "link": "https://e.org/rice", "guid": "rice"}
SMTP_PASSWORD = "pw-SECRET-4711"
TG_TOKEN = "987654:SECRETtelegramTOKEN"
METRICS_TOKEN = "scrape-SECRET-0815"


def test_healthz_and_metrics_describe_the_running_daemon(
    tmp_path: Path, httpserver: HTTPServer, smtp: SmtpSink
) -> None:
    feeds = FeedServer(httpserver)
    url = feeds.set("/feed.xml", rss([ASEAN_STORY, OTHER_STORY]))
    config = tmp_path / "sources.yaml"
    daemon = DaemonProcess(config, env={"METRICS_TOKEN": METRICS_TOKEN})
    config.write_text(
        f"settings:\n  http: {{port: {daemon.port}, metrics_token: '${{METRICS_TOKEN}}'}}\n"
        f'channels:\n  mail: "{smtp.url()}"\n'
        f"sources:\n  - name: wire\n    url: {url}\n    interval: 1h\n"
        "rules:\n  - name: asean\n    keywords: [ASEAN]\n    channels: [mail]\n"
    )
    try:
        daemon.wait_listening()
        wait_for(lambda: len(smtp.messages) == 1, timeout=20, what="the alert email")

        status, body, headers = daemon.get("/healthz")
        assert status == 200
        assert headers["content-type"] == "application/json"
        health = json.loads(body)
        assert health["status"] == "ok"
        assert health["database"] == "ok"
        assert health["last_tick"].endswith("Z")
        assert health["sources"] == {"total": 1, "ok": 1, "erroring": 0}
        replica = health["replica"]  # HOST:PID:STARTTS, the id `newsmon replicas` lists
        assert replica.startswith(f"{socket.gethostname()}:{daemon.proc.pid}:")

        status, body, headers = daemon.get("/metrics")
        assert status == 401
        assert headers["www-authenticate"] == 'Bearer realm="newsmon"'
        assert daemon.get("/metrics", token="wrong")[0] == 401

        # The email arrives a moment before the outbox row is marked sent.
        wait_for(
            lambda: metric(daemon.get("/metrics", METRICS_TOKEN)[1], "newsmon_alerts_pending") == 0,
            timeout=10,
            what="the outbox to empty",
        )
        status, text, headers = daemon.get("/metrics", token=METRICS_TOKEN)
        assert status == 200
        assert headers["content-type"].startswith("text/plain; version=0.0.4")
        assert metric(text, "newsmon_polls_total", 'outcome="ok"') == 1
        assert metric(text, "newsmon_polls_total", 'outcome="error"') == 0
        assert metric(text, "newsmon_poll_duration_seconds_count") == 1
        assert metric(text, "newsmon_articles_total", 'result="new"') == 2
        assert metric(text, "newsmon_sources", 'status="ok"') == 1
        assert metric(text, "newsmon_dispatcher_last_tick_timestamp_seconds") > 0
        samples = [line for line in text.splitlines() if line and not line.startswith("#")]
        unlabelled = [line for line in samples if f'replica="{replica}"' not in line]
        assert samples
        assert unlabelled == []

        assert daemon.get("/nope")[0] == 404
        assert daemon.stop() == 0
    finally:
        daemon.kill()


def test_json_logs_are_one_object_per_line_and_never_show_a_secret(
    tmp_path: Path, httpserver: HTTPServer, smtp: SmtpSink
) -> None:
    feeds = FeedServer(httpserver)
    url = feeds.set("/feed.xml", rss([ASEAN_STORY]))
    # The fake Telegram API refuses the token; the failure must not print it.
    feeds.set(
        f"/bot{TG_TOKEN}/sendMessage",
        '{"ok": false, "error_code": 401, "description": "Unauthorized"}',
        "application/json",
        status=401,
    )
    env = {"SMTP_PASSWORD": SMTP_PASSWORD, "TG_TOKEN": TG_TOKEN, "NEWSMON_LOG_FORMAT": "json"}
    config = tmp_path / "sources.yaml"
    # The SMTP sink offers no AUTH: the login with the password fails.
    mail = smtp.url().replace("mailto://", "mailto://desk:${SMTP_PASSWORD}@")
    daemon = DaemonProcess(config, env=env, args=("-v",))
    config.write_text(
        f"settings:\n  http: {{port: {daemon.port}}}\n"
        f"  telegram_api_url: http://127.0.0.1:{httpserver.port}\n"
        f'channels:\n  mail: "{mail}"\n  tg: "tgram://${{TG_TOKEN}}/4242"\n'
        f"sources:\n  - name: wire\n    url: {url}\n    interval: 1h\n"
        "rules:\n  - name: asean\n    keywords: [ASEAN]\n    channels: [mail, tg]\n"
    )
    store = Store(f"sqlite:///{tmp_path / 'newsmon.db'}")
    try:
        wait_for(
            lambda: (
                daemon.proc.poll() is None
                and (tmp_path / "newsmon.db").exists()
                and len(_failed(store)) == 2
            ),
            timeout=30,
            what="both deliveries to fail",
        )
        assert feeds.hits(f"/bot{TG_TOKEN}/sendMessage")  # Telegram was really tried
        assert daemon.stop() == 0
    finally:
        daemon.kill()
        store.close()

    records = json_lines(daemon.stdout())
    assert records, "the daemon logged nothing on stdout"
    for record in records:
        assert {"timestamp", "level", "logger", "event"} <= set(record)
    polled = [r for r in records if r["event"].startswith("polled:")]
    assert polled[0]["source"] == "wire"
    assert polled[0]["url"] == url
    assert any(r["level"] == "warning" and r.get("channel") == "tg" for r in records)

    env_cli = {k: v for k, v in env.items() if k != "NEWSMON_LOG_FORMAT"}
    outputs = {
        "daemon stdout": daemon.stdout(),
        "daemon stderr": daemon.stderr(),
    }
    for args in (
        ("check",),
        ("sources", "--format", "json"),
        ("alerts", "--format", "json"),
    ):
        result = newsmon(*args, config=config, env=env_cli)
        assert result.returncode == 0, result.stderr
        outputs[" ".join(args)] = result.stdout + result.stderr
    assert "mailto://desk:****@127.0.0.1" in outputs["check"]
    assert "tgram://9...N/4242" in outputs["check"]  # the token in privacy form
    for where, text in outputs.items():
        for secret in (SMTP_PASSWORD, TG_TOKEN, TG_TOKEN.split(":")[1]):
            assert secret not in text, f"{secret!r} leaked in {where}"


def _failed(store: Store) -> list[object]:
    try:
        return list(store.list_deliveries("failed"))
    except Exception:  # the daemon has not created the schema yet
        return []


def test_sigterm_during_a_poll_finishes_it_and_sends_its_alert(
    tmp_path: Path, httpserver: HTTPServer, smtp: SmtpSink
) -> None:
    in_request = threading.Event()
    release = threading.Event()

    def slow_feed(request: Request) -> Response:
        in_request.set()
        release.wait(timeout=20)
        return Response(rss([ASEAN_STORY]), content_type="application/rss+xml")

    httpserver.expect_request("/slow.xml").respond_with_handler(slow_feed)
    config = tmp_path / "sources.yaml"
    daemon = DaemonProcess(config)
    config.write_text(
        f"settings:\n  http: {{port: {daemon.port}}}\n"
        f'channels:\n  mail: "{smtp.url()}"\n'
        f"sources:\n  - name: slow\n    url: {httpserver.url_for('/slow.xml')}\n"
        "rules:\n  - name: asean\n    keywords: [ASEAN]\n    channels: [mail]\n"
    )
    try:
        wait_for(in_request.is_set, timeout=20, what="the poll to start")
        started = time.monotonic()
        daemon.signal(signal.SIGTERM)
        daemon.wait_log("stopping: finishing in-flight work")
        assert smtp.messages == []
        release.set()
        assert daemon.proc.wait(timeout=30) == 0
        took = time.monotonic() - started
    finally:
        release.set()
        daemon.kill()
    assert smtp.subjects() == ["[newsmon] asean: ASEAN ministers meet in Phnom Penh"]
    assert took < 30  # within the drain timeout
    assert "stopped" in daemon.stdout()
