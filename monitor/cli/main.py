"""The console-script entry point: the app run, our errors mapped to exit codes.

Exit codes (DESIGN §9): 0 ok, 1 runtime failure, 2 usage or config error. The
command modules are imported by `catalogue.CommandCatalogue` when a command
runs, not here: `newsmon --help` and `--version` import nothing heavy.
"""

from __future__ import annotations

import sys

import typer

from monitor.cli.app import Globals, app
from monitor.errors import ConfigError, MonitorError, UsageError

__all__ = ["exit_code", "main"]

# The other packages' exception roots, by module: importing them here would import
# storage (SQLAlchemy) and notifiers (Apprise); an exception of a module that was
# never imported cannot have been raised.
_RUNTIME_ROOTS = (("storage.errors", "StorageError"), ("notifiers.errors", "NotifyError"))


def exit_code(exc: BaseException) -> int | None:
    """2 for a usage or config error, 1 for our other errors, None for a bug."""
    if isinstance(exc, ConfigError | UsageError):
        return 2
    if isinstance(exc, MonitorError):
        return 1
    for module_name, class_name in _RUNTIME_ROOTS:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return 1
    return None


def main() -> None:
    """Run the CLI; our own errors become one `newsmon: ...` line and an exit code."""
    g = Globals()  # filled by the options; its Secrets mask what we print
    try:
        # Standalone mode: click reports usage errors itself (exit 2) and ends
        # with SystemExit; our own errors propagate to here.
        app(obj=g, prog_name="newsmon")
    except Exception as exc:
        code = exit_code(exc)
        if code is None:
            raise
        typer.echo(g.mask(f"newsmon: {exc}"), err=True)
        sys.exit(code)
