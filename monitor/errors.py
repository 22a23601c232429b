"""The monitor exception tree.

    MonitorError
    ├── ConfigError      bad or missing config (CLI exit code 2)
    ├── UsageError       a bad command-line argument (CLI exit code 2)
    ├── FetchError       a source could not be fetched
    ├── ParseError       a response could not be parsed
    └── QuerySyntaxError a query that does not parse (monitor.match.query)

Messages name the stage and the subject, e.g. ``fetch: fresh-news: HTTP 503``.
"""

from __future__ import annotations

__all__ = ["ConfigError", "FetchError", "MonitorError", "ParseError", "UsageError"]


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
