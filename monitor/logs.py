"""Logging setup, and the one registry of secrets that logs and CLI output mask.

Human lines start with the UTC date and time (2026-11-29T04:55:12Z: a daemon runs
for months) and end with ``[source]`` unless the source name is already a word of
the line; with NEWSMON_LOG_FORMAT=json each line is one JSON object.

Secrets (DESIGN §10): the config loader records every value it substituted from
the environment (``Config.secrets``). The CLI makes one `Secrets`, hands it to
`setup_logging` (whose `RedactFilter` masks every line) and to the printers in
`monitor.cli.output`, and fills it whenever it loads the config (again on a SIGHUP
reload). What counts as a secret and the mask are `notifiers.privacy`'s rule, the
one Apprise's privacy URLs follow too; URL passwords are masked whatever their
length, even when they came from the file itself.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO, TypeVar, cast

from notifiers.privacy import MASK, maskable, scrub

__all__ = [
    "JsonFormatter",
    "RedactFilter",
    "Secrets",
    "log_to",
    "maskable",
    "redact",
    "setup_logging",
]

T = TypeVar("T")

# scheme://user:password@ — the password goes even when it came from the file itself.
# Anchored on the literal "://" (one look back for a scheme character) rather than on
# the scheme: a scheme pattern is tried at every letter of a long word and rescans it,
# which made a 80,000-character link take 7 s. Neither the user nor the password can
# hold a "/", so no attempt runs past the next "://" and the whole pass is linear.
_USERINFO = re.compile(r"(?<=[A-Za-z0-9+.-])://([^:/?#@\s]*):([^@/?#\s]+)@")


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret (longest first) and each URL password masked."""
    return _USERINFO.sub(rf"://\1:{MASK}@", scrub(text, secrets))


class Secrets:
    """The secrets of the loaded config; masks them in text and in printed values.

    One object per process, made by the CLI and passed to whatever prints: the log
    filter keeps it, so a reload that calls `use` reaches every log line at once.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        # Replaced whole, never mutated: the log filter reads it from other threads.
        self._values = maskable(values)

    @property
    def values(self) -> tuple[str, ...]:
        """The masked values, longest first."""
        return self._values

    def use(self, values: Iterable[str]) -> None:
        """Mask these values from now on, in place of the previous ones (a config load)."""
        self._values = maskable(values)

    def mask(self, text: str) -> str:
        return redact(text, self._values)

    def mask_value(self, value: T) -> T:
        """`value` with every string inside it (dicts, lists, tuples) masked."""
        return cast(T, _walk(value, self._values))


def _walk(value: object, secrets: tuple[str, ...]) -> object:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {key: _walk(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_walk(item, secrets) for item in value)
    return value


class RedactFilter(logging.Filter):
    """Masks `secrets` in a record's message, extras and traceback."""

    _FORMATTER = logging.Formatter()

    def __init__(self, secrets: Secrets) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets.values  # one snapshot for the whole record
        record.msg = redact(record.getMessage(), secrets)
        record.args = None
        for key, value in list(vars(record).items()):
            if isinstance(value, str) and key not in ("msg", "levelname", "name"):
                setattr(record, key, redact(value, secrets))
        if record.exc_info and not record.exc_text:
            record.exc_text = self._FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        return True


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


def setup_logging(
    verbosity: int, *, json_format: bool, secrets: Secrets, stream: TextIO | None = None
) -> None:
    """Configure the root logger, masking `secrets`. verbosity: -1 quiet, 0 normal, 1 verbose."""
    level = {-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(stream or sys.stderr)
    if json_format:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(_HumanFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactFilter(secrets))  # on the handler: it sees every logger's records
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
    # trafilatura warns "discarding data: None" (twice per page) when a page holds no
    # article text; newsmon then keeps the feed's own text, so the line tells nobody
    # anything. -v shows it.
    logging.getLogger("trafilatura").setLevel(logging.DEBUG if verbosity > 0 else logging.ERROR)


def log_to(stream: TextIO) -> None:
    """Send the log lines set up by `setup_logging` to `stream` (the daemon: stdout)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
