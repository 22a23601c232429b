"""The console channel (`console://`): alerts printed as plain text on a stream."""

from __future__ import annotations

import sys
from typing import TextIO

from notifiers.render import render_console
from notifiers.types import Alert, SendResult

__all__ = ["CONSOLE_URL", "is_console_url", "print_alert"]

CONSOLE_URL = "console://"


def is_console_url(url: str) -> bool:
    """True for `console://` (the scheme, whatever follows it)."""
    return url.strip().lower().startswith(CONSOLE_URL)


def print_alert(alert: Alert, stream: TextIO | None = None) -> SendResult:
    """Print `alert` (default: on stdout, looked up now so redirection works)."""
    out = stream if stream is not None else sys.stdout
    try:
        out.write(render_console(alert) + "\n\n")
        out.flush()
    except (OSError, ValueError) as exc:  # a closed stream or a broken pipe
        return SendResult(ok=False, error=f"console: cannot print: {exc}")
    return SendResult(ok=True)
