"""The outbox from the command line: `alerts send`, `alerts retry --all`, `alerts --limit/--rule`,
and a mistyped channel scheme caught as a config error."""

from __future__ import annotations

import json
from pathlib import Path

from storage import Store
from tests.helpers import FeedServer, Sink, SmtpSink, free_port, newsmon
from tests.monitor.delivery_helpers import queue_matches


def write_config(tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink) -> Path:
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"""
channels:
  mail: "{smtp.url()}"
  hook: "json://127.0.0.1:{sink.server.port}/hook"
sources:
  - name: wire
    url: {feeds.server.url_for("/feed.xml")}
rules:
  - name: asean-russia
    keywords: [ASEAN]
    channels: [mail, hook]
  - name: trade
    keywords: [trade]
    channels: [hook]
"""
    )
    return config


def test_alerts_send_delivers_what_is_due_without_polling_and_retry_all_requeues_a_channel(
    tmp_path: Path, feeds: FeedServer, sink: Sink
) -> None:
    smtp = SmtpSink(port=free_port())  # down at first
    config = write_config(tmp_path, feeds, smtp, sink)
    env = {"NEWSMON_DATABASE_URL": f"sqlite:///{tmp_path / 'newsmon.db'}"}
    store = Store.open(env["NEWSMON_DATABASE_URL"])
    try:
        queue_matches(store, ["a", "b"], channels=("mail", "hook"))
    finally:
        store.close()

    first = newsmon("alerts", "send", config=config, env=env)

    assert first.returncode == 1  # a channel failed
    assert first.stdout == "alerts send: 2 sent, 2 failed\n"
    assert len(sink.webhook_bodies()) == 2
    assert feeds.requests == []  # no source was polled
    assert newsmon("alerts", "send", config=config, env=env).stdout == "nothing due to send\n"

    smtp.start()
    try:
        retry = newsmon("alerts", "retry", "--all", "--channel", "mail", config=config, env=env)
        assert (retry.returncode, retry.stdout) == (0, "requeued 2 alerts\n")
        sent = newsmon("alerts", "send", config=config, env=env)
        assert (sent.returncode, sent.stdout) == (0, "alerts send: 2 sent, 0 failed\n")
    finally:
        smtp.stop()
    assert sorted(smtp.subjects()) == [
        "[newsmon] asean-russia: ASEAN story a",
        "[newsmon] asean-russia: ASEAN story b",
    ]
    assert len(sink.webhook_bodies()) == 2  # the hook's alerts were not sent again
    again = newsmon("alerts", "retry", "--all", config=config, env=env)
    assert again.stdout == "nothing to requeue: no failed or dead alerts\n"


def test_alerts_retry_needs_ids_or_all_and_a_retryable_status(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink
) -> None:
    config = write_config(tmp_path, feeds, smtp, sink)
    cases = {
        ("alerts", "retry"): "newsmon: alerts retry: give alert ids or --all",
        (
            "alerts",
            "retry",
            "3",
            "--all",
        ): "newsmon: alerts retry: give alert ids or --all, not both",
        ("alerts", "retry", "--all", "--status", "sent"): (
            "newsmon: alerts retry: --status is failed or dead, not 'sent'"
        ),
        ("alerts", "retry", "3", "--rule", "trade"): (
            "newsmon: alerts retry: --rule, --channel and --status go with --all"
        ),
    }
    for args, message in cases.items():
        result = newsmon(*args, config=config)
        assert (result.returncode, result.stderr.strip()) == (2, message), args


def test_alerts_lists_one_rule_and_at_most_limit_newest_first(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink
) -> None:
    config = write_config(tmp_path, feeds, smtp, sink)
    env = {"NEWSMON_DATABASE_URL": f"sqlite:///{tmp_path / 'newsmon.db'}"}
    store = Store.open(env["NEWSMON_DATABASE_URL"])
    try:
        queue_matches(store, ["a", "b", "c"], channels=("hook",))
        queue_matches(store, ["t"], rule="trade", channels=("hook",))
    finally:
        store.close()

    def listed(*args: str) -> list[tuple[str, str]]:
        result = newsmon("alerts", *args, "--format", "json", config=config, env=env)
        assert result.returncode == 0, result.stderr
        return [(row["rule"], row["title"]) for row in json.loads(result.stdout)]

    assert listed("--rule", "trade") == [("trade", "ASEAN story t")]
    assert len(listed()) == 4
    assert len(listed("--limit", "2")) == 2
    assert listed("--rule", "asean-russia", "--limit", "1") == [("asean-russia", "ASEAN story c")]
    table = newsmon("alerts", "--limit", "2", config=config, env=env)
    assert "newest 2 alerts (--limit 2); more are stored" in table.stdout


def test_a_mistyped_channel_scheme_is_a_config_error_with_line_key_and_did_you_mean(
    tmp_path: Path,
) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(
        "channels:\n"
        '  desk: "mailto://127.0.0.1:2525?to=desk@example.org"\n'
        '  ops: "telegarm://${BOT_TOKEN}/42"\n'
        "sources: []\n"
        "rules: []\n"
    )

    result = newsmon("check", config=config, env={"BOT_TOKEN": "123456:SECRETtokenABC"})

    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"newsmon: {config}:3: channels.ops: unknown channel scheme 'telegarm://' "
        "(did you mean tgram://?)"
    )
    assert "SECRET" not in result.stderr
