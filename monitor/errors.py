"""The monitor exception tree.

    MonitorError
    ├── ConfigError      bad or missing config (CLI exit code 2)
    ├── UsageError       a bad command-line argument (CLI exit code 2)
    ├── FetchError       a source could not be fetched
    ├── ParseError       a response could not be parsed
    └── QuerySyntaxError a query that does not parse (raised by monitor.match.query)

Messages name the stage and the subject, e.g. ``fetch: fresh-news: HTTP 503``.
"""

from __future__ import annotations

import re

__all__ = [
    "ConfigError",
    "FetchError",
    "MonitorError",
    "ParseError",
    "QuerySyntaxError",
    "UsageError",
]


class MonitorError(Exception):
    """Root of the errors raised by the monitor package."""


class ConfigError(MonitorError):
    """The configuration is missing or invalid; the message is shown as is."""


class UsageError(MonitorError):
    """A bad command-line argument; the message is shown as is."""


class FetchError(MonitorError):
    """Fetching a URL failed.

    `retry_after` carries the server's Retry-After (seconds) when it sent one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ParseError(MonitorError):
    """A response body could not be parsed as the expected kind."""


class QuerySyntaxError(MonitorError):
    """A query that does not parse: where (1-based column) and why."""

    def __init__(self, query: str, column: int, reason: str) -> None:
        self.query = query
        self.column = column
        self.reason = reason
        super().__init__(f"{self.headline()}\n{self.caret()}")

    def headline(self) -> str:
        return f"syntax error at column {self.column}: {self.reason}"

    def caret(self) -> str:
        """The query on one line and a caret under the column."""
        shown = re.sub(r"\s", " ", self.query)
        return f"  {shown}\n  {' ' * (self.column - 1)}^"
