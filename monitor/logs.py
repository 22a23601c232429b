"""Logging setup: human-readable lines by default, JSON lines with NEWSMON_LOG_FORMAT=json.

Human lines start with the UTC date and time (2026-11-29T04:55:12Z: a daemon runs
for months) and end with ``[source]`` unless the source name is already a word of
the line. Every line passes `monitor.redact.RedactFilter`, which masks secrets.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

from monitor.redact import RedactFilter

__all__ = ["JsonFormatter", "log_to", "setup_logging"]

# `extra=` keys copied into JSON lines when a record carries them.
_EXTRA_FIELDS = ("source", "url", "channel", "rule", "outcome", "error", "pruned", "port")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, event, and known extras."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key in _EXTRA_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                doc[key] = value
        if record.exc_text:  # set, and redacted, by RedactFilter
            doc["exception"] = record.exc_text
        elif record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


class _HumanFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.isoformat(timespec="seconds").replace("+00:00", "Z")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        source = getattr(record, "source", None)
        if not source:
            return line
        # A whole word: source "sm" is not named by "newsmon".
        message = record.getMessage()
        named = re.search(rf"(?<![\w-]){re.escape(str(source))}(?![\w-])", message)
        return line if named else f"{line} [{source}]"


def setup_logging(verbosity: int, *, json_format: bool, stream: TextIO | None = None) -> None:
    """Configure the root logger. verbosity: -1 quiet, 0 normal, 1 verbose."""
    level = {-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(stream or sys.stderr)
    if json_format:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(_HumanFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactFilter())  # on the handler: it sees every logger's records
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # At DEBUG these log bot tokens, passwords and whole configs.
    for noisy in ("apprise", "urllib3", "httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(level, logging.INFO))
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Their INFO lines ("Context impl SQLiteImpl", "Adding job tentatively") are noise
    # at the default level; -v shows them.
    quiet = logging.INFO if verbosity > 0 else logging.WARNING
    for chatty in ("alembic", "apscheduler.scheduler"):
        logging.getLogger(chatty).setLevel(max(level, quiet))


def log_to(stream: TextIO) -> None:
    """Send the log lines set up by `setup_logging` to `stream` (the daemon: stdout)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
