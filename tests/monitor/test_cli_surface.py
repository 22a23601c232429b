"""The command line as a user meets it: global options anywhere, plain help, completion, start-up.

Each behaviour runs the real `newsmon` entry point in a subprocess; the help of
every command is also rendered in-process, to cover them all without a process each.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from pytest_httpserver import HTTPServer

from monitor.cli.app import app
from monitor.cli.catalogue import COMMANDS, CommandCatalogue, walk
from tests.helpers import ROOT, FeedServer, newsmon, rss

HEAVY = ("sqlalchemy", "alembic", "httpx", "feedparser", "trafilatura", "apprise")
TYPE_NOISE = re.compile(r"<(str|bool|int|float|path|int range|[a-z]+\|[a-z|]+)>")
SUMMARY = "run --once: "  # the INFO line every `run --once` logs at the end


def entry_point() -> list[str]:
    script = Path(sys.executable).with_name("newsmon")
    return [str(script)] if script.exists() else [sys.executable, "-m", "monitor"]


def run_newsmon(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "_NEWSMON"))}
    return subprocess.run(
        [*entry_point(), *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=cwd,
        timeout=120,
    )


def imported_top_level(*args: str) -> set[str]:
    """The top-level packages `python -X importtime -m monitor ARGS` imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "monitor", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in lines}


@pytest.fixture
def wire_config(tmp_path: Path, httpserver: HTTPServer) -> Path:
    feeds = FeedServer(httpserver)
    url = feeds.set(
        "/feed.xml",
        rss([{"title": "ASEAN ministers meet", "link": "https://e.org/a", "guid": "a"}]),
    )
    config = tmp_path / "wire.yaml"
    config.write_text(
        f'channels:\n  out: "console://"\nsources:\n  - name: wire\n    url: {url}\n'
        "rules:\n  - name: asean\n    keywords: [ASEAN]\n    channels: [out]\n"
    )
    return config


# --- global options after the command ---------------------------------------------


def test_quiet_after_the_command_silences_the_run_once_summary(wire_config: Path) -> None:
    loud = run_newsmon("run", "--once", "--config", str(wire_config))
    assert loud.returncode == 0, loud.stderr
    assert SUMMARY in loud.stderr
    quiet = run_newsmon("run", "--once", "-q", "--config", str(wire_config))
    assert quiet.returncode == 0, quiet.stderr
    assert SUMMARY not in quiet.stderr
    assert quiet.stderr == ""


def test_verbose_after_the_command_shows_debug_lines(wire_config: Path) -> None:
    result = run_newsmon("run", "--once", "-v", "--config", str(wire_config))
    assert result.returncode == 0, result.stderr
    assert " DEBUG " in result.stderr


def test_search_finds_articles_with_config_given_after_the_query(wire_config: Path) -> None:
    assert run_newsmon("--config", str(wire_config), "run", "--once", "-q").returncode == 0
    found = run_newsmon("search", "ASEAN", "--config", str(wire_config), "--format", "json")
    assert found.returncode == 0, found.stderr
    assert [doc["title"] for doc in json.loads(found.stdout)] == ["ASEAN ministers meet"]


def test_database_after_the_command_picks_that_database(wire_config: Path, tmp_path: Path) -> None:
    assert run_newsmon("run", "--once", "-q", "--config", str(wire_config)).returncode == 0
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert run_newsmon("db", "upgrade", "--database", other, "-q").returncode == 0
    empty = run_newsmon("export", "--format", "json", "--database", other)
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout) == []
    stored = run_newsmon("export", "--format", "json", "--config", str(wire_config))
    assert [doc["title"] for doc in json.loads(stored.stdout)] == ["ASEAN ministers meet"]


def test_a_global_option_after_the_command_wins_over_the_one_before(
    wire_config: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.yaml"
    result = run_newsmon("--config", str(missing), "check", "--config", str(wire_config))
    assert result.returncode == 0, result.stderr
    failed = run_newsmon("--config", str(wire_config), "check", "--config", str(missing))
    assert failed.returncode == 2
    assert failed.stderr.strip() == f"newsmon: config file not found: {missing}"


def test_global_options_work_after_a_sub_command(wire_config: Path) -> None:
    result = run_newsmon("sources", "export", "--config", str(wire_config))
    assert result.returncode == 0, result.stderr
    assert "<opml" in result.stdout


# --- help ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [[], ["run"], ["search"], ["sources"], ["alerts", "retry"], ["db", "prune"], ["backfill"]],
    ids=lambda c: " ".join(c) or "newsmon",
)
def test_help_shows_option_names_not_type_noise(command: list[str]) -> None:
    result = run_newsmon(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert TYPE_NOISE.search(result.stdout) is None, result.stdout
    assert "--config PATH" in result.stdout
    assert "-q, --quiet" in result.stdout


def test_no_command_help_shows_type_noise() -> None:
    """Every command and sub-command's help, rendered in-process."""
    root = typer.main.get_command(app)
    assert isinstance(root, CommandCatalogue)
    rendered = 0
    with typer.Context(root, info_name="newsmon") as ctx:
        for name in root.list_commands(ctx):
            top = root.get_command(ctx, name)
            assert top is not None, name
            for command in walk(top):
                with typer.Context(command, info_name=command.name, parent=ctx) as sub:
                    text = command.get_help(sub)
                assert TYPE_NOISE.search(text) is None, text
                rendered += 1
    assert rendered > len(COMMANDS)  # the groups' sub-commands were rendered too


def test_the_command_list_in_help_is_each_commands_own_summary() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, CommandCatalogue)
    with typer.Context(root, info_name="newsmon") as ctx:
        root.get_command(ctx, "run")  # builds every command
        built = dict(root.commands)
    assert set(built) == set(COMMANDS)
    for name, command in built.items():
        assert command.get_short_help_str(limit=300) == COMMANDS[name], name


def test_top_level_help_lists_every_command() -> None:
    result = run_newsmon("--help")
    assert result.returncode == 0
    listed = re.findall(r"^  ([a-z-]+)  ", result.stdout.split("Commands:")[1], re.M)
    assert listed == list(COMMANDS)


# --- shell completion ---------------------------------------------------------------


def test_shell_completion_completes_commands_and_their_options() -> None:
    def complete(line: str) -> list[str]:
        words = line.split(" ")
        result = run_newsmon(
            env={
                "_NEWSMON_COMPLETE": "complete_bash",
                "COMP_WORDS": line,
                "COMP_CWORD": str(len(words) - 1),
            }
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    assert complete("newsmon rem") == ["rematch"]
    assert complete("newsmon run --o") == ["--once"]
    assert complete("newsmon alerts re") == ["retry"]
    assert "--config" in complete("newsmon search x --con")


def test_install_completion_writes_the_bash_script(tmp_path: Path) -> None:
    # Typer detects the user's shell from the process tree, which a test runner's
    # worker may not have; its switch makes --install-completion take the name.
    env = {"HOME": str(tmp_path), "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    result = run_newsmon("--install-completion", "bash", env=env)
    assert result.returncode == 0, result.stderr
    assert "bash completion installed" in result.stdout
    script = (tmp_path / ".bash_completions" / "newsmon.sh").read_text()
    assert "_NEWSMON_COMPLETE=complete_bash" in script
    assert "newsmon.sh" in (tmp_path / ".bashrc").read_text()


# --- start-up ------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_import_no_database_network_or_parser_module(flag: str) -> None:
    imported = imported_top_level(flag)
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))
    assert {"monitor", "typer"} <= imported


def test_a_command_does_load_the_heavy_modules_it_needs() -> None:
    """The control for the test above: the same probe sees them when a command is built."""
    imported = imported_top_level("db", "upgrade", "--help")
    assert {"sqlalchemy", "alembic"} <= imported


def test_version_via_the_entry_point() -> None:
    result = run_newsmon("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"newsmon \d+\.\d+\.\d+\n", result.stdout)
    assert newsmon("--version").stdout == result.stdout
