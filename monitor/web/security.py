"""The dashboard's guard: read-only methods, the optional token, and security headers.

One ASGI middleware around the whole app, so no route can forget them:

- only GET and HEAD exist: anything else is 405, whatever the path;
- with a token set, every path but the open ones (``/healthz`` for Docker's
  HEALTHCHECK, ``/metrics``, which keeps its own ``metrics_token``) wants
  ``Authorization: Bearer TOKEN`` or HTTP basic auth with TOKEN as the
  password (any user name), so a browser's own login prompt works;
- every answer carries a Content-Security-Policy that allows no script at
  all, ``nosniff``, ``Referrer-Policy: no-referrer`` (links out to articles
  never tell the site the dashboard's address) and ``Cache-Control: no-store``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "OPEN_PATHS", "Guard", "token_matches"]

CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
OPEN_PATHS = frozenset({"/healthz", "/metrics"})
_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
)


def token_matches(token: str, authorization: str | None) -> bool:
    """Whether an Authorization header carries `token` (bearer, or basic auth's password)."""
    scheme, _, given = (authorization or "").partition(" ")
    given = given.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(given, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        given = decoded.partition(":")[2]
    elif scheme.lower() != "bearer":
        return False
    # compare_digest: the time taken must not tell how much of the token matched.
    return hmac.compare_digest(given.encode(), token.encode())


class Guard:
    """ASGI middleware: 405 for writes, 401 without the token, security headers always."""

    def __init__(self, app: ASGIApp, token: Callable[[], str | None]) -> None:
        self._app = app
        self._token = token  # read per request: a reload may change it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in _HEADERS if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        if scope["method"] not in ("GET", "HEAD"):
            await _plain(
                secured,
                405,
                "method not allowed: the dashboard is read-only\n",
                [(b"allow", b"GET, HEAD")],
            )
            return
        token = self._token()
        if token and scope["path"] not in OPEN_PATHS:
            headers = dict(scope.get("headers", []))
            authorization = headers.get(b"authorization", b"").decode("latin-1")
            if not token_matches(token, authorization):
                challenge = [(b"www-authenticate", b'Basic realm="newsmon", charset="UTF-8"')]
                await _plain(secured, 401, "unauthorized: send the NEWSMON_UI_TOKEN\n", challenge)
                return
        await self._app(scope, receive, secured)


async def _plain(
    send: Send, status: int, text: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
