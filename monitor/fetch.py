"""HTTP fetching: the one module that speaks HTTP (DESIGN §2, §3 Politeness).

`Fetcher` sends GETs through shared transports (`monitor.fetch_guard`, aiohttp
underneath) and applies the politeness rules:
a per-host and a global concurrency limit, conditional GET, a whole-fetch
deadline, at most `max_redirects` redirects and a cap on the decompressed body.
URLs are httpx's (`httpx.URL`: parsing, normalising, joining a redirect's
Location) and so are the transport's errors, described here; every failure
leaves as `FetchError("fetch: <subject>: <what>")`. No httpx type crosses this
module's boundary, so the transport can be swapped here alone. There is no
`httpx.AsyncClient` and no `httpx.Request`/`Response` per fetch: the client's
cookie, auth and redirect machinery and the models cost more than the request
itself (bench/fetch.py), newsmon keeps no cookies, and it reads a handful of
fields once.

Redirects are followed by hand and bodies are decompressed by us
(`monitor.fetch_response`, pure of httpx, which also holds `Response`),
so neither a redirect body nor a gzip bomb is ever inflated past the cap.

Every request and redirect hop passes the egress policy (`monitor.egress`) on
the addresses it resolves to. A source's configured URL (`origin="config"`)
may be on loopback or a private network; any other URL (a document's link, a
redirect target) only reaches the private network its source was fetched from
or one in `FetchLimits.allow_networks`. Connections are pooled per policy, so
a connection opened for one policy is never reused by a request under another.
"""

from __future__ import annotations

import asyncio
import functools
import http
import socket
import ssl
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

import httpx

from monitor.egress import EgressPolicy, Network, home_networks, parse_network
from monitor.errors import FetchError
from monitor.fetch_guard import Answer, EgressRefused, GuardedTransport, Target, parse_target
from monitor.fetch_response import Response, parse_retry_after, read_body, retry_after

__all__ = ["FetchLimits", "Fetcher", "Origin", "Response", "parse_retry_after"]

Origin = Literal["config", "document"]

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.9, "
    "text/html;q=0.8, application/xhtml+xml;q=0.8, */*;q=0.5"
)
# No "br": brotli cannot bound its output per call, and servers must honour this list.
ACCEPT_ENCODING = "gzip, deflate"


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Politeness and safety limits shared by every fetch."""

    user_agent: str
    timeout: float = 30.0  # whole-fetch deadline, seconds
    connect_timeout: float = 10.0
    max_bytes: int = 10 * 1024 * 1024  # decompressed
    concurrency: int = 20
    per_host_concurrency: int = 2
    max_redirects: int = 5
    allow_networks: tuple[str, ...] = ()  # CIDRs document links may reach despite being private
    # A source's extra request headers (cookies, auth): (subject, its URL, ((name, value), ...)).
    source_headers: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = ()


class Fetcher:
    """Fetches URLs politely through shared transports; use as `async with Fetcher(limits)`."""

    def __init__(self, limits: FetchLimits) -> None:
        self._limits = limits
        self._open = False
        # One transport (and connection pool) per policy; a handful: see _policy.
        self._transports: dict[EgressPolicy, GuardedTransport] = {}
        self._headers = {
            "User-Agent": limits.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        self._allowed: tuple[Network, ...] = tuple(parse_network(n) for n in limits.allow_networks)
        self._config_policy = EgressPolicy(private_ok=True, allowed=self._allowed)
        # subject -> the private networks its configured URL was last reached in.
        self._homes: dict[str, tuple[Network, ...]] = {}
        self._global = asyncio.Semaphore(limits.concurrency)
        self._hosts: dict[str, _HostSlot] = {}
        self._extra: dict[str, tuple[str, dict[str, str]]] = {}
        self.use_source_headers(limits.source_headers)

    def use_source_headers(
        self, headers: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]
    ) -> None:
        """Each source's extra headers, sent on its requests to its own URL's host only
        (its feed, article pages, child sitemaps there); a reload hands in new ones."""
        extra = {}
        for subject, url, pairs in headers:
            try:
                host = httpx.URL(url).host
            except httpx.InvalidURL:
                continue
            if pairs:
                extra[subject] = (host, dict(pairs))
        self._extra = extra

    async def __aenter__(self) -> Fetcher:
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            await transport.aclose()

    def _transport(self, policy: EgressPolicy) -> GuardedTransport:
        transport = self._transports.get(policy)
        if transport is None:
            transport = self._transports[policy] = GuardedTransport(policy, self._headers)
        return transport

    def _policy(self, origin: Origin, subject: str) -> EgressPolicy:
        if origin == "config":
            return self._config_policy
        return EgressPolicy(allowed=self._allowed + self._homes.get(subject, ()))

    async def get(
        self,
        url: str,
        *,
        subject: str,
        origin: Origin = "document",
        etag: str | None = None,
        last_modified: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the contract's per-source deadline
    ) -> Response:
        """GET `url` (conditionally, given validators); raise FetchError naming `subject`.

        `origin` is "config" for a source's own configured URL, which may be on
        loopback or a private network; "document" for a URL read from a fetched
        document, which may only reach the private network that `subject`'s
        configured URL was fetched from, or `allow_networks`.
        """
        if not self._open:
            raise RuntimeError("Fetcher.get() called outside 'async with Fetcher(...)'")
        try:
            target = parse_target(url)
        except httpx.InvalidURL as exc:
            raise FetchError(f"fetch: {subject}: invalid URL {url!r}: {exc}") from None
        problem = _url_problem(target)
        if problem is not None:
            raise FetchError(f"fetch: {subject}: invalid URL {url!r}: {problem}")
        deadline = self._limits.timeout if timeout is None else timeout
        connect = min(self._limits.connect_timeout, deadline)
        headers: dict[str, str] = {}  # beyond the transport's own (self._headers)
        extra = self._extra.get(subject)
        private: tuple[str, ...] = ()  # the source's own headers: never sent to another host
        if extra is not None and target.host == extra[0]:
            headers.update(extra[1])
            private = tuple(extra[1])
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        hop = _Hop(target, origin, headers, private)
        host = target.host
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = _HostSlot(
                asyncio.Semaphore(self._limits.per_host_concurrency)
            )
        slot.users += 1
        try:
            # Host first: a task queued behind a busy host must not hold a global slot.
            async with slot.semaphore, self._global:
                return await self._fetch(hop, url, subject, deadline, connect)
        finally:
            slot.users -= 1
            if slot.users == 0:  # dropped when unused: months of article hosts don't pile up
                del self._hosts[host]

    async def _fetch(
        self, hop: _Hop, url: str, subject: str, deadline: float, connect: float
    ) -> Response:
        # The deadline starts once a slot is ours: queueing is not the server's fault.
        started = time.monotonic()
        try:
            async with asyncio.timeout(deadline):
                return await self._exchange(hop, url, subject, started, connect)
        except EgressRefused as exc:
            raise FetchError(f"fetch: {subject}: {exc} for {hop.target.text}") from None
        except TimeoutError:
            raise FetchError(f"fetch: {subject}: {hop.timed_out(deadline)}") from None
        except httpx.HTTPError as exc:
            what = _describe(exc, deadline, connect)
            if isinstance(exc, httpx.ReadTimeout):
                what = hop.timed_out(deadline)
            raise FetchError(f"fetch: {subject}: {what}") from exc

    async def _exchange(
        self, hop: _Hop, url: str, subject: str, started: float, connect: float
    ) -> Response:
        for _ in range(self._limits.max_redirects + 1):
            transport = self._transport(self._policy(hop.origin, subject))
            answer = await transport.get(hop.target, hop.headers, connect)
            hop.answered = True
            try:
                if hop.origin == "config":
                    self._homes[subject] = _home_networks(answer.peer)
                following = _redirect_target(answer)
                if following is None:
                    return await self._receive(answer, url, subject, started)
            finally:
                answer.release()
            problem = _url_problem(following)
            if problem is not None:
                raise FetchError(
                    f"fetch: {subject}: redirect to invalid URL {following.text!r}: {problem}"
                )
            if following.host != hop.target.host and hop.private:
                # A source's cookies and tokens stay with its host.
                hop.headers = {k: v for k, v in hop.headers.items() if k not in hop.private}
            # A redirect target is the server's word, not the operator's.
            hop.target, hop.origin, hop.answered = following, "document", False
        raise FetchError(
            f"fetch: {subject}: too many redirects (more than {self._limits.max_redirects})"
        )

    async def _receive(self, answer: Answer, url: str, subject: str, started: float) -> Response:
        status, headers = answer.status, answer.headers
        if status == 304:
            body = b""
        elif 200 <= status < 300:
            body = await read_body(answer.chunks(), headers, subject, self._limits.max_bytes)
            if not body and status == 200:
                raise FetchError(f"fetch: {subject}: empty response")
        else:
            raise FetchError(
                f"fetch: {subject}: HTTP {status} {_reason(answer)}".rstrip(),
                retry_after=retry_after(headers),
            )
        return Response(
            url=url,
            final_url=answer.target.text,
            status=status,
            headers=headers,
            body=body,
            elapsed=time.monotonic() - started,
        )


@dataclass(slots=True)
class _Hop:
    """The request in flight: which hop of a redirect chain, and whether it was answered."""

    target: Target
    origin: Origin
    headers: dict[str, str]
    private: tuple[str, ...] = ()  # header names not to carry to another host
    answered: bool = False

    def timed_out(self, deadline: float) -> str:
        if self.answered:
            return f"timed out after {deadline:g}s"
        return f"no response within {deadline:g}s"


def _redirect_target(answer: Answer) -> Target | None:
    """The URL a redirect points at (resolved as httpx's client does), None when no redirect."""
    location = answer.location
    if location is None:
        return None
    request = answer.target.url
    try:
        url = httpx.URL(location)
    except httpx.InvalidURL as exc:
        message = f"Invalid URL in location header: {exc}."
        raise httpx.RemoteProtocolError(message, request=httpx.Request("GET", request)) from None
    if url.scheme and not url.host:  # "https:///path" means the same host
        url = url.copy_with(host=request.host)
    if url.is_relative_url:
        url = request.join(url)
    if request.fragment and not url.fragment:
        url = url.copy_with(fragment=request.fragment)
    return Target.of(url)


# Pure, and asked after every configured URL's answer: remembered per peer address.
_home_networks = functools.lru_cache(maxsize=1024)(home_networks)


@dataclass(slots=True)
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0


def _url_problem(url: Target) -> str | None:
    if url.scheme not in ("http", "https"):
        return "use http:// or https://"
    if not url.host:
        return "no host"
    return None


def _reason(answer: Answer) -> str:
    try:
        return http.HTTPStatus(answer.status).phrase
    except ValueError:
        return answer.reason


def _describe(exc: httpx.HTTPError, deadline: float, connect: float) -> str:
    """The user-facing <what> of an httpx failure."""
    try:
        url = exc.request.url
        where = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
    except RuntimeError:  # raised by .request when httpx did not attach one
        where = "the server"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"cannot connect to {where}: timed out after {connect:g}s"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {where}: {_os_reason(exc)}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {deadline:g}s"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"protocol error from {where}: {exc}"
    if isinstance(exc, httpx.NetworkError):
        return f"connection to {where} failed: {_os_reason(exc)}"
    return f"{type(exc).__name__}: {exc}"


def _os_reason(exc: BaseException) -> str:
    """The root OS/TLS cause of a transport error, in words."""
    cause: BaseException | None = exc
    for _ in range(10):  # a bounded walk: exception chains can, rarely, be cyclic
        if cause is None:
            break
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host not found"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not valid: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause.reason or cause}"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__
