"""Message rendering per channel family: pure functions of an `Alert`.

- email (`notifiers.render_email`): subject `[newsmon] <rule>: <title>`, an
  HTML part (hits in <mark>) and a plain-text part (hits marked «like this»);
- Telegram (`notifiers.render_telegram`): its HTML subset (<b>, <i>, <a href>),
  one message per instant alert, combined and digest alerts split into parts,
  never over 4096;
- other services and the console (`notifiers.render_text`): plain text.

Article text is escaped everywhere (see `notifiers.markup`), and every message
is bounded (see `notifiers.bounds`): a list that does not fit ends in
"… and N more". This module is the renderers' one public face.
"""

from __future__ import annotations

from notifiers.render_email import EmailMessageParts, render_email
from notifiers.render_telegram import TELEGRAM_MAX_CHARS, render_telegram_parts, telegram_length
from notifiers.render_text import (
    alert_title,
    email_subject,
    is_combined,
    render_console,
    render_console_json,
    render_text,
)

__all__ = [
    "TELEGRAM_MAX_CHARS",
    "EmailMessageParts",
    "alert_title",
    "email_subject",
    "is_combined",
    "render_console",
    "render_console_json",
    "render_email",
    "render_telegram_parts",
    "render_text",
    "telegram_length",
]
