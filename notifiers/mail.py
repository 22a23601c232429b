"""Email delivery: our own multipart/alternative message, sent with smtplib.

Apprise's email plugin derives the text part from the HTML body itself, and
the hit marks and the link targets are lost on the way. So Apprise parses the
`mailto://` URL (host, port, TLS mode, login, sender, recipients, Cc, Bcc)
and this module builds the message from `EmailMessageParts` and talks SMTP the
way the plugin does: SSL, STARTTLS or plain, then login; one message per To
address.

A message accepted for some recipients is a success (a retry would send it to
all of them again); the refusals are logged and returned as the note in `error`.
"""

from __future__ import annotations

import email.policy
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

from notifiers.privacy import scrub
from notifiers.render import EmailMessageParts
from notifiers.types import SendResult

__all__ = ["build_messages", "send_email"]

log = logging.getLogger("newsmon.notifiers")

# Headers are folded only past 998 characters: folding a subject just over 78
# moves it whole to a continuation line, which parsers read back with a leading space.
_WIRE = email.policy.SMTP.clone(max_line_length=998)


def _address(name: Any, addr: str) -> str:
    return formataddr((name, addr)) if isinstance(name, str) and name else addr


def build_messages(plugin: Any, parts: EmailMessageParts) -> list[tuple[list[str], EmailMessage]]:
    """(envelope recipients, message) for each To address of an Apprise email plugin."""
    from_name, from_addr = plugin.from_addr
    names: dict[str, Any] = plugin.names or {}
    out: list[tuple[list[str], EmailMessage]] = []
    for to_name, to_addr in plugin.targets:
        cc = sorted(set(plugin.cc) - set(plugin.bcc) - {to_addr})
        bcc = sorted(set(plugin.bcc) - {to_addr})
        msg = EmailMessage()
        msg["Subject"] = parts.subject
        msg["From"] = _address(from_name, from_addr)
        msg["To"] = _address(to_name, to_addr)
        if cc:
            msg["Cc"] = ", ".join(_address(names.get(a), a) for a in cc)
        reply_to = sorted(set(plugin.reply_to) - {to_addr})
        if reply_to:
            msg["Reply-To"] = ", ".join(_address(names.get(a), a) for a in reply_to)
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=from_addr.rpartition("@")[2] or None)
        msg["X-Mailer"] = "newsmon"
        for key, value in (plugin.headers or {}).items():
            msg[key] = value
        msg.set_content(parts.text, cte="quoted-printable")
        msg.add_alternative(parts.html, subtype="html", cte="quoted-printable")
        out.append(([to_addr, *cc, *bcc], msg))
    return out


def _connect(plugin: Any) -> smtplib.SMTP:
    """An SMTP session as the Apprise plugin would open it: SSL, STARTTLS or plain, then login."""
    context = ssl.create_default_context()
    if not plugin.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    timeout = plugin.socket_connect_timeout
    smtp: smtplib.SMTP
    if plugin.secure_mode == "ssl":
        smtp = smtplib.SMTP_SSL(plugin.smtp_host, plugin.port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(plugin.smtp_host, plugin.port, timeout=timeout)
    try:
        if plugin.secure_mode == "starttls":
            smtp.starttls(context=context)
        if plugin.user and plugin.password:
            smtp.login(plugin.user, plugin.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {text}"


def send_email(plugin: Any, parts: EmailMessageParts, secrets: tuple[str, ...]) -> SendResult:
    """Send `parts` through the SMTP server of `plugin` (blocking: run it in a thread)."""
    where = f"{plugin.smtp_host}:{plugin.port}"
    messages = build_messages(plugin, parts)
    if not messages:
        return SendResult(ok=False, error="email: no recipients (add ?to=... to the URL)")
    accepted = 0
    problems: list[str] = []
    try:
        with _connect(plugin) as smtp:
            for recipients, msg in messages:
                try:
                    refused: dict[str, tuple[int, bytes]] = smtp.sendmail(
                        plugin.from_addr[1], recipients, msg.as_bytes(policy=_WIRE)
                    )
                except smtplib.SMTPRecipientsRefused as exc:
                    refused = exc.recipients
                except smtplib.SMTPResponseException as exc:
                    problems.append(f"{recipients[0]}: {_reply(exc.smtp_code, exc.smtp_error)}")
                    continue
                accepted += len(recipients) - len(refused)
                problems += [f"{a} refused: {_reply(*reply)}" for a, reply in refused.items()]
    except smtplib.SMTPAuthenticationError as exc:
        reason = f"login to {where} failed: {_reply(exc.smtp_code, exc.smtp_error)}"
        return SendResult(ok=False, error=scrub(f"email: {reason}", secrets))
    except (OSError, smtplib.SMTPException) as exc:
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return SendResult(
            ok=False, error=scrub(f"email: cannot send via {where}: {detail}", secrets)
        )
    if not problems:
        return SendResult(ok=True)
    note = scrub(f"email: {where}: {'; '.join(problems)}", secrets)
    if accepted:
        log.warning("%s (delivered to the other recipients)", note)
    return SendResult(ok=accepted > 0, error=note)
