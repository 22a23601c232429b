"""The root command group: commands are listed from a table and built only when one runs.

`newsmon --help`, `newsmon --version` and the shell completion of command names
read `COMMANDS` below and import nothing heavy (no SQLAlchemy, Alembic, httpx,
parsers or Apprise). The first command resolved imports every module of
`monitor.cli`, which registers its commands on `app`, and builds them. Each
built command also takes the global options after its name
(`newsmon run --once -q`, `newsmon search X --config f.yaml`), and every
parameter's help shows a plain name (`--since DATE`, `--format [table|json]`)
in place of Typer's `<str>`/`<bool>` types.

A new top-level command needs its line in `COMMANDS`; `tests/monitor/test_cli_surface.py`
fails until the line and the command's own help agree.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

__all__ = ["COMMANDS", "GLOBAL_OPTIONS", "CommandCatalogue", "walk"]

# name -> short help, in the order `newsmon --help` lists them.
COMMANDS: dict[str, str] = {
    "run": "Run the daemon (or one pass with --once).",
    "check": "Validate the config; with --fetch, fetch each source and report items found.",
    "sources": "List sources and their polling state.",
    "search": "Search the stored articles with the rule query language.",
    "stories": (
        "Recent stories by the number of outlets that carried them: outlets, first seen, title."
    ),
    "rematch": "Run the rules over stored articles and print what would alert.",
    "export": "Print every stored article (times in UTC).",
    "backfill": "Fetch history into the store: paged feeds, listing pages, sitemap indexes.",
    "alerts": "The outbox of alerts: list, retry, send.",
    "digest": "Send the pending digests now; an empty digest is not sent.",
    "notify-test": "Send a test message through a channel.",
    "replicas": (
        "The daemons running on this database: last heartbeat, sources and alerts they hold."
    ),
    "ui": "Serve the read-only dashboard over the database, without polling or sending.",
    "db": "Database maintenance.",
}

# The root's options that every command accepts after its name too (their param names).
GLOBAL_OPTIONS = ("config", "database", "verbose", "quiet")


class CommandCatalogue(TyperGroup):
    """The `newsmon` group: lists `COMMANDS`, builds the real commands on first use.

    A subclass names the Typer app the command modules register on (`source`).
    The global options' copies keep the root option's callback, which records
    the value wherever it is given.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._describing = False  # help and completion of names: the table will do
        self._loaded = False

    def source(self) -> typer.Typer:
        """The Typer app the command modules register their commands on."""
        raise NotImplementedError

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> TyperCommand | None:  # type: ignore[override]
        if self._describing:
            summary = COMMANDS.get(cmd_name)
            return None if summary is None else TyperCommand(cmd_name, help=summary)
        self._load()
        command = self.commands.get(cmd_name)
        return command if isinstance(command, TyperCommand | TyperGroup) else None  # type: ignore[return-value]

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        with self._from_table():
            super().format_help(ctx, formatter)

    def shell_complete(self, ctx: typer.Context, incomplete: str) -> Any:  # type: ignore[override]
        # Completes the command names and the root's own options; completing inside a
        # command resolves it through `get_command` outside this block, so it is built.
        with self._from_table():
            return super().shell_complete(ctx, incomplete)

    @contextmanager
    def _from_table(self) -> Iterator[None]:
        """Inside this block the catalogue answers from `COMMANDS`, building nothing."""
        self._describing = True
        try:
            yield
        finally:
            self._describing = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        # Every module of this package: importing a command module registers its commands.
        for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
            importlib.import_module(f"{__package__}.{module.name}")
        app = self.source()
        short, markup = app.pretty_exceptions_short, app.rich_markup_mode
        built = [
            typer.main.get_command_from_info(
                info, pretty_exceptions_short=short, rich_markup_mode=markup
            )
            for info in app.registered_commands
        ] + [
            typer.main.get_group_from_info(
                info,
                pretty_exceptions_short=short,
                suggest_commands=app.suggest_commands,
                rich_markup_mode=markup,
            )
            for info in app.registered_groups
        ]
        templates = [p for p in self.params if p.name in GLOBAL_OPTIONS]
        for top in built:
            assert isinstance(top, TyperCommand | TyperGroup)
            for command in walk(top):
                add_global_options(command, templates)
                plain_metavars(command)
            assert top.name is not None
            self.commands[top.name] = top


def walk(command: TyperCommand | TyperGroup) -> Iterator[TyperCommand | TyperGroup]:
    """`command` and, for a group, every command below it."""
    yield command
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            if isinstance(sub, TyperCommand | TyperGroup):
                yield from walk(sub)


def add_global_options(command: TyperCommand | TyperGroup, templates: list[Any]) -> None:
    """Give `command` copies of the root's global options (same callback, no value passed)."""
    taken = {opt for param in command.params for opt in param.opts}
    for template in templates:
        if taken & set(template.opts):
            continue  # the command's own option of that name wins
        option = copy.copy(template)
        option.expose_value = False
        help_at = next((i for i, p in enumerate(command.params) if "--help" in p.opts), None)
        command.params.insert(len(command.params) if help_at is None else help_at, option)


class PlainArgument(TyperArgument):
    """An argument shown by its name alone: `QUERY` in usage and help, no `<str>`."""

    def display_type_rich(self, ctx: typer.Context) -> str | None:  # type: ignore[override]
        return None

    def get_usage_pieces(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return [name if self.required else f"[{name}]"]


def plain_metavars(command: TyperCommand | TyperGroup) -> None:
    """Options show `NAME` or `[a|b]`, flags nothing, arguments their upper-case name."""
    for param in command.params:
        if isinstance(param, TyperArgument):
            param.__class__ = PlainArgument
            param.metavar = param.metavar or (param.name or "value").upper()
        elif isinstance(param, TyperOption) and not param.is_flag and param.metavar is None:
            param.metavar = option_metavar(param)


# What an option's value is, by its name, as README's CLI table writes it; others: NAME.upper().
VALUE_NAMES = {
    "since": "DATE",
    "until": "DATE",
    "before": "DATE",
    "published_since": "DATE",
    "older_than": "DURATION",
    "source": "NAME",
    "rule": "NAME",
    "channel": "NAME",
    "limit": "N",
    "max_pages": "N",
    "min_outlets": "N",
}


def option_metavar(param: TyperOption) -> str:
    choices = getattr(param.type_descriptor, "choices", None)
    if choices:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
    name = param.name or "value"
    return VALUE_NAMES.get(name, name.upper())
