"""The command line: the top layer, which nothing else imports.

Owns the Typer app (`app`), the global options and per-command context
(`Globals`), output formats (`output`) and one module per command group. May
import every other part of monitor, storage and notifiers. Public: `main`.
"""

from monitor.cli.main import main

__all__ = ["main"]
