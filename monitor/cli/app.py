"""The `newsmon` command line (DESIGN §9). Exit codes: 0 ok, 1 runtime failure, 2 usage/config."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TextIO

import typer

from monitor import __version__
from monitor.cli.catalogue import CommandCatalogue
from monitor.errors import UsageError

if TYPE_CHECKING:
    from monitor.config.load import Config
    from monitor.logs import Secrets
    from notifiers import Channels
    from storage import Store

__all__ = ["Format", "Globals", "UsageError", "app", "fail", "globals_of", "parse_since"]


class NewsmonCommands(CommandCatalogue):
    """The root group: the commands registered on `app`, built when one runs."""

    def source(self) -> typer.Typer:
        return app


# Heavy modules (the config models, storage, notifiers, fetching) are imported where a
# command uses them, never at import time: `newsmon --help` and `--version` stay fast
# (bench/startup.py; tests/monitor/test_cli_surface.py checks what they import).
app = typer.Typer(
    name="newsmon",
    cls=NewsmonCommands,
    help="Monitor news sources and alert on tracked keywords.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, pwsh)
    rich_markup_mode=None,  # plain help: no rich import, no markup read in news-facing text
    pretty_exceptions_enable=False,
)


@dataclass
class Globals:
    """What every command starts from: the global options, given before or after the command.

    `main` makes it before the arguments are parsed; the root callback and each
    command's copies of the global options fill it in.
    """

    config_arg: str | None = None
    database_arg: str | None = None
    verbosity: int = 0  # -1 quiet, 0 normal, 1 verbose
    json_logs: bool = False  # NEWSMON_LOG_FORMAT=json: console alerts become JSON lines too
    _secrets: Secrets | None = field(default=None, repr=False)
    _logging: bool = field(default=False, repr=False)

    @property
    def secrets(self) -> Secrets:
        """The one mask for logs, output and error messages; `config` fills it."""
        if self._secrets is None:
            from monitor.logs import Secrets

            self._secrets = Secrets()
        return self._secrets

    def mask(self, text: str) -> str:
        """`text` with the loaded config's secrets masked (none before a config is read)."""
        return text if self._secrets is None else self._secrets.mask(text)

    def setup_logging(self) -> None:
        from monitor.logs import setup_logging

        setup_logging(self.verbosity, json_format=self.json_logs, secrets=self.secrets)
        self._logging = True

    def set_verbosity(self, verbosity: int) -> None:
        """-v or -q, before or after the command: the last one given wins."""
        self.verbosity = verbosity
        if self._logging:
            self.setup_logging()

    def config_path(self) -> Path:
        from monitor.config.load import resolve_config_path

        return resolve_config_path(self.config_arg, os.environ)

    def config(self) -> Config:
        from monitor.config.load import apply_env_overrides, load_config

        config = apply_env_overrides(load_config(self.config_path(), os.environ), os.environ)
        self.secrets.use(config.secrets)  # logs and output mask them from here on (also on reload)
        return config

    def database_url(self, config: Config | None = None) -> str:
        """The database; with --database or $NEWSMON_DATABASE_URL no config is read."""
        from monitor.config.load import resolve_database_url

        if config is None and (self.database_arg or os.environ.get("NEWSMON_DATABASE_URL")):
            return str(self.database_arg or os.environ["NEWSMON_DATABASE_URL"])
        return resolve_database_url(self.database_arg, os.environ, config or self.config())

    def store(self, config: Config | None = None) -> Store:
        from storage import Store

        return Store.open(self.database_url(config))

    def reader(self, config: Config | None = None) -> Store:
        """The store for commands that only read: a read-only database will do."""
        from storage import Store

        return Store.open_for_reading(self.database_url(config))

    def channels(self, config: Config, *, console: TextIO | None = None) -> Channels:
        """The config's channels; console alerts go to `console` (default stdout)."""
        from monitor.clock import zone
        from notifiers import Channels

        return Channels(
            config.channels,
            telegram_api_url=config.settings.telegram_api_url,
            console=console or sys.stdout,
            console_json=self.json_logs,
            timezone=zone(config.settings.timezone),  # alerts and digests show local times
        )


def fail(message: str, code: int, secrets: Secrets) -> NoReturn:
    typer.echo(secrets.mask(f"newsmon: {message}"), err=True)
    raise typer.Exit(code)


def remember_option(ctx: typer.Context, param: typer.CallbackParam, value: object) -> None:
    """Record a global option given before or after the command (the last one given wins).

    The callback of the root's --config, --database, -v and -q, and of their copies
    on every command (`catalogue.add_global_options`).
    """
    if ctx.resilient_parsing or value is None or value is False:
        return  # not given here: what was given elsewhere stands
    g = ctx.find_root().ensure_object(Globals)
    if param.name == "config":
        g.config_arg = str(value)
    elif param.name == "database":
        g.database_arg = str(value)
    else:
        g.set_verbosity(1 if param.name == "verbose" else -1)


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
            "--config",
            "-c",
            metavar="PATH",
            callback=remember_option,
            help="Config file (default $NEWSMON_CONFIG or ./sources.yaml).",
        ),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            metavar="URL",
            callback=remember_option,
            help="Database URL (default $NEWSMON_DATABASE_URL).",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", callback=remember_option, help="More log output.")
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", callback=remember_option, help="Only warnings and errors."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    # The options' callbacks (`remember_option`) have filled the Globals `main` passed
    # (or, for a bare `app()`, a new one); the command's copies may still change it.
    g = ctx.ensure_object(Globals)
    g.json_logs = os.environ.get("NEWSMON_LOG_FORMAT", "").lower() == "json"
    g.setup_logging()  # a -v/-q after the command, parsed after this, sets it up again


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
        from monitor.config.units import parse_duration

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
