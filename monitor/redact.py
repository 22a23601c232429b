"""Secrets out of logs and CLI output (DESIGN §10).

The config loader records every value it substituted from the environment
(``Config.secrets``); the CLI installs them here once the config is loaded (and
again on a SIGHUP reload), and the output edges (the log filter, the row
printers in `monitor.cli.output`, OPML export, error messages) pass their text
through `redact`. Values shorter than `MIN_SECRET_LENGTH` characters are not
treated as secrets: masking every "1" or "en" would garble all output.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TypeVar, cast

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "RedactFilter",
    "active_secrets",
    "redact",
    "redact_value",
    "secrets_of",
    "set_secrets",
]

T = TypeVar("T")

MASK = "***"
MIN_SECRET_LENGTH = 4

# scheme://user:password@ — the password goes even when it came from the file itself.
# Anchored on the literal "://" (one look back for a scheme character) rather than on
# the scheme: a scheme pattern is tried at every letter of a long word and rescans it,
# which made a 80,000-character link take 7 s. Neither the user nor the password can
# hold a "/", so no attempt runs past the next "://" and the whole pass is linear.
_USERINFO = re.compile(r"(?<=[A-Za-z0-9+.-])://([^:/?#@\s]*):([^@/?#\s]+)@")


def secrets_of(values: Iterable[str]) -> frozenset[str]:
    """The values long enough to mask (shorter ones would match everywhere)."""
    return frozenset(v for v in values if len(v) >= MIN_SECRET_LENGTH)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret (longest first) and each URL password replaced by ***."""
    for secret in sorted(secrets_of(secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _USERINFO.sub(rf"://\1:{MASK}@", text)


_ACTIVE: dict[str, frozenset[str]] = {"secrets": frozenset()}


def set_secrets(secrets: Iterable[str]) -> None:
    """Install the secrets of the loaded config (the CLI edge calls this)."""
    _ACTIVE["secrets"] = secrets_of(secrets)


def active_secrets() -> frozenset[str]:
    return _ACTIVE["secrets"]


def redact_value(value: T, secrets: Iterable[str] | None = None) -> T:
    """`value` with every string inside it (dicts, lists, tuples) redacted."""
    found = active_secrets() if secrets is None else frozenset(secrets)
    return cast(T, _walk(value, found))


def _walk(value: object, secrets: frozenset[str]) -> object:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {key: _walk(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_walk(item, secrets) for item in value)
    return value


class RedactFilter(logging.Filter):
    """Masks the installed secrets in a record's message, extras and traceback."""

    _FORMATTER = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = active_secrets()
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
