"""The console-script entry point: every command module registered, errors mapped to exit codes.

Exit codes (DESIGN §9): 0 ok, 1 runtime failure, 2 usage or config error.
"""

from __future__ import annotations

import sys

import typer

from monitor.cli import backfill, commands, db, digest, replicas, search, sources, stories
from monitor.cli.app import app
from monitor.errors import ConfigError, MonitorError, UsageError
from monitor.logs import Secrets
from notifiers import NotifyError
from storage import StorageError

__all__ = ["COMMAND_MODULES", "main"]

# Importing a command module registers its commands on `app`.
COMMAND_MODULES = (backfill, commands, db, digest, replicas, search, sources, stories)


def main() -> None:
    """Run the CLI; our own errors become one `newsmon: ...` line and an exit code."""
    secrets = Secrets()  # the app fills it when a command loads the config
    try:
        # Standalone mode: click reports usage errors itself (exit 2) and ends
        # with SystemExit; our own errors propagate to here.
        app(obj=secrets)
    except (ConfigError, UsageError) as exc:
        typer.echo(secrets.mask(f"newsmon: {exc}"), err=True)
        sys.exit(2)
    except (MonitorError, StorageError, NotifyError) as exc:
        typer.echo(secrets.mask(f"newsmon: {exc}"), err=True)
        sys.exit(1)
