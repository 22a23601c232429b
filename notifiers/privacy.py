"""Keeping channel secrets out of messages and logs.

Only privacy-form URLs leave this package. Apprise plugins print their own
privacy form (`url(privacy=True)`); `redact_url` does the same for a URL that
Apprise could not load. Secrets of loaded channels are registered with a filter
on the `apprise` logger, so even a plugin's own warning cannot print them, and
`quiet_apprise_logging` keeps the `apprise` and `urllib3` loggers above DEBUG,
where they print bot tokens, request URLs and whole configs.

What a secret is and how it is masked (`MASK`, `MIN_SECRET_LENGTH`, `scrub`) is
decided here once; `monitor.logs` masks the config's secrets with the same rule.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "maskable",
    "plain_privacy_url",
    "quiet_apprise_logging",
    "redact_url",
    "register_secrets",
    "scrub",
    "secrets_of",
    "silence_apprise",
]

# The one mask and the one minimum for every secret newsmon prints, here and in
# `monitor.logs`: "****" is what Apprise's own privacy form shows for a password, so
# a channel URL, a log line and a CLI row all look alike.
MASK = "****"
# Shorter values are not secrets: masking every "en" or "443" would garble all output.
MIN_SECRET_LENGTH = 4
_NOISY_LOGGERS = ("apprise", "urllib3")
_HOST_RE = re.compile(
    r"^(localhost|[0-9.]+|\[[0-9a-f:.]+\]|([a-z0-9-]+\.)+[a-z]{2,})(:\d+)?$", re.I
)
_PLAIN_QUERY_KEYS = {"to", "from", "cc", "bcc", "mode", "format", "overflow", "name", "smtp"}


def maskable(values: Iterable[str]) -> tuple[str, ...]:
    """The values long enough to be secrets, longest first.

    Longest first: a secret that contains a shorter one is masked whole.
    """
    return tuple(sorted({v for v in values if len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True))


def _outer(text: str) -> str:
    """Apprise's privacy print: first and last character only."""
    return f"{text[0]}...{text[-1]}" if len(text) > 2 else MASK


def redact_url(url: str) -> str:
    """A channel URL in privacy form: password masked, tokens shortened to `a...z`.

    Used for URLs Apprise rejected (it cannot print those itself): host names
    stay readable, anything that may be a token does not.
    """
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        return MASK
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    shown = ""
    if at:
        user, colon, _password = userinfo.partition(":")
        shown = user + (f":{MASK}" if colon else "") + "@"
    shown += hostport if _HOST_RE.match(hostport) else _outer(hostport) if hostport else ""
    segments = [_outer(s) if s else "" for s in path.split("/")] if path else []
    out = f"{scheme}://{shown}{slash}{'/'.join(segments)}"
    if query:
        pairs = []
        for pair in query.split("&"):
            key, eq, value = pair.partition("=")
            plain = key.lower() in _PLAIN_QUERY_KEYS or not value
            pairs.append(key + eq + (value if plain else _outer(value)))
        out += "?" + "&".join(pairs)
    return out


def plain_privacy_url(privacy: str, original: str) -> str:
    """Apprise's privacy URL keeping only the query options the user wrote.

    Apprise prints every option with its default (`?image=False&detect=no&...`);
    the user's own URL is what they recognise.
    """
    base, _, query = privacy.partition("?")
    try:
        wanted = {k.lower() for k, _ in parse_qsl(urlsplit(original).query, keep_blank_values=True)}
    except ValueError:
        wanted = set()
    kept = [p for p in query.split("&") if p and p.partition("=")[0].lower() in wanted]
    return base + ("?" + "&".join(kept) if kept else "")


def secrets_of(plugin: Any, url: str) -> tuple[str, ...]:
    """The secret values of a loaded Apprise plugin: private tokens, password, URL password."""
    found: set[str] = set()
    specs: dict[str, Any] = {
        **getattr(plugin, "template_tokens", {}),
        **getattr(plugin, "template_args", {}),
    }
    for key, spec in specs.items():
        if isinstance(spec, dict) and spec.get("private"):
            for attr in (key, spec.get("map_to")):
                value = getattr(plugin, attr, None) if isinstance(attr, str) else None
                if isinstance(value, str):
                    found.add(value)
    if isinstance(getattr(plugin, "password", None), str):
        found.add(plugin.password)
    with contextlib.suppress(ValueError):
        if (password := urlsplit(url).password) is not None:
            found.add(password)
    variants = {v for s in found for v in (s, unquote(s), quote(s, safe=""))}
    return maskable(variants)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (`maskable`) replaced by `MASK`."""
    for secret in maskable(secrets):
        text = text.replace(secret, MASK)
    return text


class _SecretFilter(logging.Filter):
    """Rewrites apprise log records so registered secrets never reach a handler."""

    def __init__(self) -> None:
        super().__init__("newsmon-secrets")
        # Replaced whole, never mutated: other threads read it while logging.
        self.secrets: tuple[str, ...] = ()  # longest first
        self.silenced: set[int] = set()  # thread ids loading untrusted URLs

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread in self.silenced:
            return False
        if self.secrets:
            message = record.getMessage()
            cleaned = scrub(message, self.secrets)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


_FILTER = _SecretFilter()


def quiet_apprise_logging() -> None:
    """Keep the apprise and urllib3 loggers at INFO or above; guard apprise's records.

    The level is set on the loggers themselves, so a root logger turned to
    DEBUG later (`newsmon -v`) still does not reach them.
    """
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:  # NOTSET (0) too: it would inherit DEBUG
            logger.setLevel(logging.INFO)
    apprise_logger = logging.getLogger("apprise")
    if _FILTER not in apprise_logger.filters:
        apprise_logger.addFilter(_FILTER)


def register_secrets(secrets: Iterable[str]) -> None:
    """Scrub these values from every apprise log record from now on."""
    _FILTER.secrets = maskable({*_FILTER.secrets, *secrets})


@contextlib.contextmanager
def silence_apprise() -> Iterator[None]:
    """Drop this thread's apprise records (an invalid URL's warning prints its token)."""
    me = threading.get_ident()
    _FILTER.silenced.add(me)
    try:
        yield
    finally:
        _FILTER.silenced.discard(me)
