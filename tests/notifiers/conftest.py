"""Real parts for delivery tests: an SMTP server, a fake Telegram Bot API, a webhook sink."""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from notifiers.render import TELEGRAM_MAX_CHARS, render_telegram_parts
from notifiers.types import Alert, AlertItem

BOT_TOKEN = "123456789:AAHsecretTokenPartXYZ_abc-def"
CHAT_ID = 987654321
SMTP_USER = "newsmon"
SMTP_PASSWORD = "pa55-w0rd-Secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_item(**overrides: Any) -> AlertItem:
    fields: dict[str, Any] = {
        "title": "ASEAN and Russia sign trade pact",
        "url": "https://news.example.org/2023/09/asean-russia?id=7&lang=en",
        "snippet": "Leaders of ASEAN met Russia in Phnom Penh on Tuesday.",
        "spans": ((11, 16), (21, 27)),
        "terms": ("ASEAN", "Russia"),
        "outlets": ("fresh-news", "khmer-times"),
        "published_at": datetime(2023, 9, 13, 6, 30, tzinfo=UTC),
    }
    fields.update(overrides)
    return AlertItem(**fields)


def make_alert(*items: AlertItem, rule: str = "asean-russia", kind: str = "instant") -> Alert:
    return Alert(rule=rule, items=items or (make_item(),), kind=kind)


# --- SMTP ------------------------------------------------------------------


@dataclass
class Inbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 (plain, no TLS) collecting what it receives."""
    inbox = Inbox(port=free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def smtp_login_server() -> Iterator[Inbox]:
    """An SMTP server that requires a login (over plain SMTP, for the test only)."""
    inbox = Inbox(port=free_port())
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=inbox.port,
        authenticator=_authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    yield inbox
    controller.stop()


# --- HTTP: the fake Telegram Bot API and a webhook sink -----------------------


@pytest.fixture(scope="module")
def http_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def http(http_server: HTTPServer) -> Iterator[HTTPServer]:
    http_server.clear()
    yield http_server
    http_server.clear()


@dataclass
class BotApi:
    """A fake Telegram Bot API: records sendMessage calls, answers like Telegram does."""

    server: HTTPServer
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    replies: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [payload for method, payload in self.calls if method == "sendMessage"]

    def handle(self, request: Request) -> Response:
        match = re.fullmatch(r"/bot(?P<token>[^/]+)/(?P<method>\w+)", request.path)
        if match is None or match["token"] != BOT_TOKEN:
            return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        payload = json.loads(request.get_data() or b"{}")
        self.calls.append((match["method"], payload))
        if match["method"] == "getUpdates":
            update = {"update_id": 1, "message": {"from": {"id": CHAT_ID, "first_name": "Desk"}}}
            return self._reply(200, {"ok": True, "result": [update]})
        if self.replies:
            status, body = self.replies.pop(0)
            return self._reply(status, body)
        message = {"message_id": len(self.calls), "chat": {"id": payload.get("chat_id")}}
        return self._reply(200, {"ok": True, "result": message})

    @staticmethod
    def _reply(status: int, body: dict[str, Any]) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")


@pytest.fixture
def bot_api(http: HTTPServer) -> BotApi:
    api = BotApi(http)
    http.expect_request(re.compile(r"^/bot.*")).respond_with_handler(api.handle)
    return api


@dataclass
class WebhookSink:
    server: HTTPServer

    def url(self, scheme: str, path: str) -> str:
        return f"{scheme}://127.0.0.1:{self.server.port}{path}"

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.get_data()) for r, _ in self.server.log if r.path.startswith("/hook")]


@pytest.fixture
def webhook(http: HTTPServer) -> WebhookSink:
    http.expect_request(re.compile(r"^/hook.*"), method="POST").respond_with_data("ok")
    return WebhookSink(http)


# --- checking Telegram HTML ---------------------------------------------------

_BAD_ENTITY = re.compile(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")


class _TelegramHtmlCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("b", "i", "a"):
            self.problems.append(f"tag <{tag}> is not allowed")
        if tag == "a" and (len(attrs) != 1 or attrs[0][0] != "href"):
            self.problems.append(f"<a> must carry only href: {attrs}")
        if tag in self.stack:
            self.problems.append(f"<{tag}> nested in itself")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            self.problems.append(f"raw angle bracket in text: {data[:40]!r}")


def telegram_html_problems(text: str) -> list[str]:
    """Why `text` is not well-formed Telegram HTML (empty when it is)."""
    check = _TelegramHtmlCheck()
    check.feed(text)
    check.close()
    problems = check.problems + [f"unclosed <{t}>" for t in check.stack]
    problems += [f"bad entity at {m.start()}" for m in _BAD_ENTITY.finditer(text)]
    return problems


class _TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)


def html_tags(page: str) -> set[str]:
    collector = _TagCollector()
    collector.feed(page)
    return collector.tags


def telegram_texts(alert: Alert, limit: int = TELEGRAM_MAX_CHARS) -> list[str]:
    """The Telegram messages of an alert, without their item counts."""
    return [text for text, _ in render_telegram_parts(alert, limit)]
