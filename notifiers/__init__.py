"""Delivery for newsmon: rendering per channel, the Apprise edge, the console channel.

from notifiers import Alert, AlertItem, Channels
channels = Channels({"desk": "mailto://..."}, telegram_api_url=None)
result = await channels.send("desk", Alert(rule="asean", items=(AlertItem(...),)))
"""

from __future__ import annotations

from notifiers.channels import Channels, quiet_apprise_logging
from notifiers.console import CONSOLE_URL
from notifiers.errors import NotifyError, UnknownChannelError
from notifiers.privacy import redact_url
from notifiers.render import (
    TELEGRAM_MAX_CHARS,
    EmailMessageParts,
    alert_title,
    email_subject,
    render_console,
    render_email,
    render_text,
)
from notifiers.types import Alert, AlertItem, Rendered, SendResult

__all__ = [
    "CONSOLE_URL",
    "TELEGRAM_MAX_CHARS",
    "Alert",
    "AlertItem",
    "Channels",
    "EmailMessageParts",
    "NotifyError",
    "Rendered",
    "SendResult",
    "UnknownChannelError",
    "alert_title",
    "email_subject",
    "quiet_apprise_logging",
    "redact_url",
    "render_console",
    "render_email",
    "render_text",
]
