"""The console channel (`console://`): alerts printed as plain text on a stream."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TextIO

from notifiers.render import render_console, render_console_json
from notifiers.types import Alert, SendResult

__all__ = ["CONSOLE_URL", "is_console_url", "print_alert"]

CONSOLE_URL = "console://"


def is_console_url(url: str) -> bool:
    """True for `console://` (the scheme, whatever follows it)."""
    return url.strip().lower().startswith(CONSOLE_URL)


def print_alert(
    alert: Alert, stream: TextIO | None = None, *, json_lines: bool = False
) -> SendResult:
    """Print `alert` (default: on stdout, looked up now so redirection works).

    With `json_lines`, one JSON object on one line, so alerts interleave cleanly
    with JSON log lines on the same stream.
    """
    out = stream if stream is not None else sys.stdout
    try:
        if json_lines:
            out.write(render_console_json(alert, datetime.now(UTC)) + "\n")
        else:
            out.write(render_console(alert) + "\n\n")
        out.flush()
    except (OSError, ValueError) as exc:  # a closed stream or a broken pipe
        return SendResult(ok=False, error=f"console: cannot print: {exc}")
    return SendResult(ok=True)
