"""The Apprise edge: named channels, one rendered message per alert, failures as data.

A channel is a name and an Apprise URL (or `console://`). URLs are loaded and
validated once, at construction. `send` picks the renderer from the service:
email (mailto/mailtos) gets HTML with a text alternative, Telegram its HTML
subset (one notify call per part), the console a printout, every other service
plain text. Delivery failures come back as `SendResult(ok=False, error=...)`
with the reason (the lines Apprise logged, or the SMTP reply), secrets masked.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import tzinfo
from enum import StrEnum
from typing import Any, TextIO

import apprise
from apprise.plugins.email import NotifyEmail
from apprise.plugins.telegram import NotifyTelegram

from notifiers.console import CONSOLE_URL, is_console_url, print_alert
from notifiers.errors import NotifyError, UnknownChannelError
from notifiers.mail import send_email
from notifiers.privacy import (
    plain_privacy_url,
    quiet_apprise_logging,
    redact_url,
    register_secrets,
    scrub,
    secrets_of,
    silence_apprise,
)
from notifiers.render import render_email, render_telegram_parts, render_text
from notifiers.types import Alert, AlertItem, SendResult

__all__ = ["Channels", "quiet_apprise_logging"]

_RETRY_AFTER_RE = re.compile(r"retry after (\d+(?:\.\d+)?)", re.I)


class _Kind(StrEnum):
    CONSOLE = "console"
    EMAIL = "email"
    TELEGRAM = "telegram"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class _Channel:
    name: str
    kind: _Kind
    privacy_url: str
    service: str = "console"
    plugin: Any = None  # the loaded Apprise plugin
    notifier: Any = None  # an Apprise object holding just that plugin
    secrets: tuple[str, ...] = ()


def _invalid_hint(url: str) -> str:
    """Why Apprise may have rejected `url`, when that is clear from its scheme."""
    scheme, sep, _ = url.strip().partition("://")
    if not sep:
        return " (expected scheme://...)"
    plugins: Any = apprise.NotificationManager
    return "" if scheme.lower() in plugins() else f" (unknown scheme '{scheme}')"


class Channels:
    """The configured delivery channels, by name."""

    def __init__(
        self,
        urls: Mapping[str, str],
        *,
        telegram_api_url: str | None = None,
        console: TextIO | None = None,
        console_json: bool = False,
        timezone: tzinfo | None = None,
    ) -> None:
        quiet_apprise_logging()
        self._zone = timezone  # alerts show times in it (JSON console lines stay UTC)
        self._console = console
        self._console_json = console_json
        self._telegram_api_url = telegram_api_url
        self._asset = apprise.AppriseAsset(app_id="newsmon", app_desc="newsmon news monitor")
        self._channels = {name: self._load(name, url) for name, url in urls.items()}

    def _load(self, name: str, url: str) -> _Channel:
        if is_console_url(url):
            if url.strip().rstrip("/") != CONSOLE_URL.rstrip("/"):
                raise NotifyError(f"channel '{name}': console:// takes no host or options")
            return _Channel(name, _Kind.CONSOLE, CONSOLE_URL)
        with silence_apprise():  # a rejected URL's warning would print its token
            plugin: Any = apprise.Apprise.instantiate(url, asset=self._asset)
        if plugin is None:
            hint = _invalid_hint(url)
            raise NotifyError(f"channel '{name}': not a valid Apprise URL: {redact_url(url)}{hint}")
        secrets = secrets_of(plugin, url)
        register_secrets(secrets)
        if isinstance(plugin, NotifyTelegram):
            kind = _Kind.TELEGRAM
            if self._telegram_api_url:
                # Per instance, not on the class: two configs never share a server.
                plugin.notify_url = f"{self._telegram_api_url.rstrip('/')}/bot"
        elif isinstance(plugin, NotifyEmail):
            kind = _Kind.EMAIL
        else:
            kind = _Kind.TEXT
        holder = apprise.Apprise(asset=self._asset)
        holder.add(plugin)
        return _Channel(
            name=name,
            kind=kind,
            privacy_url=scrub(plain_privacy_url(plugin.url(privacy=True), url), secrets),
            service=str(plugin.service_name),
            plugin=plugin,
            notifier=holder,
            secrets=secrets,
        )

    def names(self) -> list[str]:
        """The channel names, in configuration order."""
        return list(self._channels)

    def privacy_url(self, name: str) -> str:
        """The channel's URL with secrets masked (safe to print and log)."""
        return self._get(name).privacy_url

    def _get(self, name: str) -> _Channel:
        try:
            return self._channels[name]
        except KeyError:
            known = ", ".join(self._channels) or "none"
            raise UnknownChannelError(f"unknown channel '{name}' (known: {known})") from None

    async def send(self, name: str, alert: Alert) -> SendResult:
        """Render `alert` for channel `name` and send it; failures are returned, not raised."""
        channel = self._get(name)
        if self._zone is not None:
            alert = alert.in_zone(self._zone)
        if channel.kind is _Kind.CONSOLE:
            return print_alert(alert, self._console, json_lines=self._console_json)
        try:
            if channel.kind is _Kind.EMAIL:
                parts = render_email(alert)
                return await asyncio.to_thread(send_email, channel.plugin, parts, channel.secrets)
            if channel.kind is _Kind.TELEGRAM:
                return await self._send_telegram(channel, alert)
            text = render_text(alert)
            return await self._notify(
                channel, body=text.body, title=text.title, body_format=apprise.NotifyFormat.TEXT
            )
        except Exception as exc:  # the edge: a plugin bug is a failed send, not a crash
            reason = f"{channel.service}: {type(exc).__name__}: {exc}"
            return SendResult(ok=False, error=scrub(reason, channel.secrets))

    async def _send_telegram(self, channel: _Channel, alert: Alert) -> SendResult:
        """One notify call per part; a failure says how many leading items got through."""
        delivered = 0
        for part, items in render_telegram_parts(alert):
            # body_format None: Apprise passes our Telegram HTML through untouched.
            result = await self._notify(channel, body=part, title="", body_format=None)
            if not result.ok:
                return replace(result, delivered_items=delivered) if delivered else result
            delivered += items
        return SendResult(ok=True)

    async def send_test(self, name: str) -> SendResult:
        """Send a short `newsmon test message` through channel `name`."""
        item = AlertItem(
            title="newsmon test message",
            url="",
            snippet=f"Channel '{name}' works: newsmon alerts will arrive here.",
        )
        return await self.send(name, Alert(rule="notify-test", items=(item,)))

    async def _notify(self, channel: _Channel, **message: Any) -> SendResult:
        result = await channel.notifier.async_notify(**message)
        if result:
            return SendResult(ok=True)
        lines = [
            entry.message
            for service in result
            for entry in service.logs()
            if entry.level in ("WARNING", "ERROR", "CRITICAL")
        ]
        lines += [entry.message for entry in result.call_logs()]
        reason = "; ".join(dict.fromkeys(lines)) or f"delivery failed ({result.status.name})"
        retry = _RETRY_AFTER_RE.search(reason)
        return SendResult(
            ok=False,
            error=scrub(f"{channel.service}: {reason}", channel.secrets),
            retry_after=float(retry.group(1)) if retry else None,
        )
