"""Secrets from ${VAR} never appear in logs or CLI output (DESIGN §10)."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.cli.app import Globals
from monitor.config.load import load_config
from monitor.logs import Secrets, redact, setup_logging
from notifiers.privacy import MASK, MIN_SECRET_LENGTH, scrub
from tests.helpers import FeedServer, newsmon, rss

PASSWORD = "hunter2-pass"
KEY = "k3y-0123456789"
ENV = {"FEED_PASS": PASSWORD, "FEED_KEY": KEY, "LANG_CODE": "en"}


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("GET https://h/feed?apikey=abcd1234", {"abcd1234"}, "GET https://h/feed?apikey=****"),
        ("https://bob:pw@h/feed", set(), "https://bob:****@h/feed"),
        ("https://bob:longpass@h/f?k=longpass", {"longpass"}, "https://bob:****@h/f?k=****"),
        ("token abcdef and abc", {"abc", "abcdef"}, "token **** and abc"),  # longest first
        ("key abcd-efgh", {"abcd", "abcd-efgh"}, "key ****"),  # a secret inside another
        ("lang en, id 12", {"en", "12"}, "lang en, id 12"),  # under 4 characters: no secret
        ("https://user@h/feed", set(), "https://user@h/feed"),  # no password, nothing to mask
    ],
)
def test_redact_masks_secrets_and_url_passwords(
    text: str, secrets: set[str], expected: str
) -> None:
    assert redact(text, secrets) == expected


def test_the_config_records_the_values_it_took_from_the_environment(tmp_path: Path) -> None:
    config_file = tmp_path / "sources.yaml"
    config_file.write_text(
        "sources:\n"
        "  - name: wire\n"
        "    url: https://u:${FEED_PASS}@h/feed?apikey=${FEED_KEY}&lang=${LANG_CODE}\n"
        "  - name: other\n"
        "    url: https://h/${UNSET:-default-path}\n"
    )
    config = load_config(config_file, ENV)
    assert config.secrets == frozenset(
        {PASSWORD, KEY}
    )  # "en" is too short; defaults are no secrets
    assert "secrets" not in config.model_dump()


@pytest.fixture
def secrets() -> Secrets:
    return Secrets()


@pytest.fixture
def log_lines(secrets: Secrets) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    setup_logging(0, json_format=False, secrets=secrets, stream=stream)
    yield stream
    root.handlers[:], root.level = handlers, level


def test_one_mask_and_one_minimum_for_config_and_channel_secrets() -> None:
    # The config's secrets (logs, CLI output) and a channel's (notifier errors,
    # Apprise's privacy URLs) are masked alike.
    assert MASK == "****"
    assert MIN_SECRET_LENGTH == 4
    text = "token abc and abcd"
    assert redact(text, ["abc", "abcd"]) == scrub(text, ["abc", "abcd"]) == "token abc and ****"


def test_a_reload_masks_the_new_configs_secrets_in_log_lines_from_then_on(
    log_lines: io.StringIO, secrets: Secrets
) -> None:
    log = logging.getLogger("monitor.daemon")
    secrets.use({KEY})
    log.warning("old %s, new %s", KEY, PASSWORD)
    secrets.use({PASSWORD})  # what `Globals.config` does on SIGHUP
    log.warning("old %s, new %s", KEY, PASSWORD)
    assert log_lines.getvalue().splitlines()[0].endswith(f"old ****, new {PASSWORD}")
    assert log_lines.getvalue().splitlines()[1].endswith(f"old {KEY}, new ****")


def test_each_config_load_installs_its_secrets_in_the_clis_one_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file = tmp_path / "sources.yaml"
    config_file.write_text("sources:\n  - name: wire\n    url: https://h/feed?k=${FEED_KEY}\n")
    g = Globals(str(config_file), None, 0)
    monkeypatch.setenv("FEED_KEY", KEY)
    g.config()
    assert g.secrets.values == (KEY,)
    monkeypatch.setenv("FEED_KEY", PASSWORD)  # the key rotated, then SIGHUP
    g.config()
    assert g.secrets.values == (PASSWORD,)
    assert g.secrets.mask(f"k={KEY} k={PASSWORD}") == f"k={KEY} k=****"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("k=" + KEY, "k=****"),
        ({"url": f"https://h/?k={KEY}", "n": 3}, {"url": "https://h/?k=****", "n": 3}),
        ([KEY, None, ("x", KEY)], ["****", None, ("x", "****")]),
    ],
)
def test_printed_values_are_masked_all_the_way_down(value: object, shown: object) -> None:
    assert Secrets([KEY]).mask_value(value) == shown


def test_human_log_lines_start_with_a_utc_date_time_and_mask_secrets(
    log_lines: io.StringIO, secrets: Secrets
) -> None:
    secrets.use({KEY})
    logging.getLogger("monitor.pipeline.poll").warning(
        "fetch: wire: HTTP 404 for %s", f"https://h/f?apikey={KEY}", extra={"source": "wire"}
    )
    [line] = log_lines.getvalue().splitlines()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ WARNING monitor.pipeline.poll: "
        r"fetch: wire: HTTP 404 for https://h/f\?apikey=\*\*\*\*",
        line,
    ), line


@pytest.mark.parametrize(
    ("source", "message", "tagged"),
    [
        ("sm", "newsmon started", True),  # "sm" inside a word does not name the source
        ("sm", "poll sm: 3 new", False),
        ("wire", "polled", True),
        ("le-monde", "fetch: le-monde: HTTP 503", False),
        ("le", "fetch: le-monde: HTTP 503", True),
    ],
)
def test_the_source_tag_is_added_unless_the_line_names_the_source(
    log_lines: io.StringIO, source: str, message: str, tagged: bool
) -> None:
    logging.getLogger("monitor").info(message, extra={"source": source})
    line = log_lines.getvalue().rstrip("\n")
    assert line.endswith(f"{message} [{source}]") is tagged, line
    assert line.endswith(message) is not tagged, line


def test_no_command_prints_a_secret_from_the_environment(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    web = FeedServer(httpserver)  # serves by path: the credentials are ignored
    web.set("/feed.xml", rss([{"title": "Cambodia rice exports", "link": "https://e.org/1"}]))
    base = f"{httpserver.host}:{httpserver.port}"
    config = tmp_path / "sources.yaml"
    config.write_text(
        "sources:\n"
        "  - name: wire\n"
        f"    url: http://reader:${{FEED_PASS}}@{base}/feed.xml?apikey=${{FEED_KEY}}\n"
        "  - name: gone\n"
        f"    url: http://{base}/gone.xml?apikey=${{FEED_KEY}}\n"
        "rules:\n"
        "  - name: rice\n"
        "    keywords: [rice]\n"
    )
    database = f"sqlite:///{tmp_path / 'newsmon.db'}"
    runs = [
        newsmon("--database", database, "run", "--once", config=config, env=ENV),
        newsmon(
            "--database",
            database,
            "-v",
            "run",
            "--once",
            "--force",  # the failing source is in backoff after the first run
            config=config,
            env={**ENV, "NEWSMON_LOG_FORMAT": "json"},
        ),
        *(
            newsmon("--database", database, "sources", "--format", fmt, config=config, env=ENV)
            for fmt in ("json", "table", "csv")
        ),
        newsmon("sources", "export", config=config, env=ENV),
        *(
            newsmon("check", "--fetch", "--format", fmt, config=config, env=ENV)
            for fmt in ("json", "table")
        ),
        newsmon("--database", database, "alerts", "--format", "json", config=config, env=ENV),
    ]

    everything = "\n".join(r.stdout + r.stderr for r in runs)
    assert [r.returncode for r in runs] == [0, 0, 0, 0, 0, 0, 1, 1, 0], everything
    for secret in (PASSWORD, KEY):
        leaks = [line for line in everything.splitlines() if secret in line]
        assert leaks == [], leaks
    sources = {s["name"]: s for s in json.loads(runs[2].stdout)}
    assert sources["wire"]["url"] == f"http://reader:****@{base}/feed.xml?apikey=****"
    assert sources["gone"]["last_error"]
    assert "/gone.xml?apikey=****" in runs[1].stderr  # the JSON log line's url
    assert f'xmlUrl="http://reader:****@{base}/feed.xml?apikey=****"' in runs[5].stdout
    checked = {row["source"]: row for row in json.loads(runs[6].stdout)}
    assert checked["wire"]["status"] == "ok"
    assert "Cambodia rice exports" in everything  # the alert went out; only secrets are masked
