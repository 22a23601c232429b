"""The `newsmon` command line (DESIGN §9). Exit codes: 0 ok, 1 runtime failure, 2 usage/config."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn, TextIO

import typer

from monitor import __version__
from monitor.config.load import (
    Config,
    apply_env_overrides,
    load_config,
    resolve_config_path,
    resolve_database_url,
)
from monitor.config.units import parse_duration
from monitor.errors import UsageError
from monitor.logs import Secrets, setup_logging
from notifiers import Channels
from storage import Store

__all__ = ["Format", "Globals", "UsageError", "app", "fail", "globals_of", "parse_since"]

app = typer.Typer(
    name="newsmon",
    help="Monitor news sources and alert on tracked keywords.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass
class Globals:
    """What every command starts from: the global options, read once by the app callback."""

    config_arg: str | None
    database_arg: str | None
    verbosity: int
    json_logs: bool = False  # NEWSMON_LOG_FORMAT=json: console alerts become JSON lines too
    # The one mask for logs, output and error messages; `config` fills it.
    secrets: Secrets = field(default_factory=Secrets)

    def config_path(self) -> Path:
        return resolve_config_path(self.config_arg, os.environ)

    def config(self) -> Config:
        config = apply_env_overrides(load_config(self.config_path(), os.environ), os.environ)
        self.secrets.use(config.secrets)  # logs and output mask them from here on (also on reload)
        return config

    def database_url(self, config: Config | None = None) -> str:
        """The database; with --database or $NEWSMON_DATABASE_URL no config is read."""
        if config is None and (self.database_arg or os.environ.get("NEWSMON_DATABASE_URL")):
            return str(self.database_arg or os.environ["NEWSMON_DATABASE_URL"])
        return resolve_database_url(self.database_arg, os.environ, config or self.config())

    def store(self, config: Config | None = None) -> Store:
        return Store.open(self.database_url(config))

    def reader(self, config: Config | None = None) -> Store:
        """The store for commands that only read: a read-only database will do."""
        return Store.open_for_reading(self.database_url(config))

    def channels(self, config: Config, *, console: TextIO | None = None) -> Channels:
        """The config's channels; console alerts go to `console` (default stdout)."""
        return Channels(
            config.channels,
            telegram_api_url=config.settings.telegram_api_url,
            console=console or sys.stdout,
            console_json=self.json_logs,
        )


def fail(message: str, code: int, secrets: Secrets) -> NoReturn:
    typer.echo(secrets.mask(f"newsmon: {message}"), err=True)
    raise typer.Exit(code)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"newsmon {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        str | None,
        typer.Option(
            "--config", "-c", help="Config file (default $NEWSMON_CONFIG or ./sources.yaml)."
        ),
    ] = None,
    database: Annotated[
        str | None, typer.Option("--database", help="Database URL (default $NEWSMON_DATABASE_URL).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More log output.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    verbosity = 1 if verbose else -1 if quiet else 0
    json_logs = os.environ.get("NEWSMON_LOG_FORMAT", "").lower() == "json"
    # `main` passes the Secrets it masks its own error lines with; a bare `app()` has none.
    secrets = ctx.obj if isinstance(ctx.obj, Secrets) else Secrets()
    ctx.obj = Globals(config, database, verbosity, json_logs, secrets)
    setup_logging(verbosity, json_format=json_logs, secrets=secrets)


def globals_of(ctx: typer.Context) -> Globals:
    obj = ctx.obj
    assert isinstance(obj, Globals)
    return obj


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    """A date (2024-05-01), a datetime (ISO 8601, UTC if naive) or a duration ago (7d)."""
    if value is None:
        return None
    now = now or datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            return now - timedelta(seconds=parse_duration(value))
        except ValueError:
            raise UsageError(
                f"invalid date '{value}' (use 2024-05-01, 2024-05-01T08:00:00Z or 7d)"
            ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    json = "json"
