"""HTTP fetching: the one module that speaks HTTP (DESIGN §2, §3 Politeness).

`Fetcher` sends httpx requests through shared transports (`monitor.fetch_guard`,
aiohttp underneath) and applies the politeness rules:
a per-host and a global concurrency limit, conditional GET, a whole-fetch
deadline, at most `max_redirects` redirects and a cap on the decompressed body.
Every failure leaves as `FetchError("fetch: <subject>: <what>")`; no httpx type
crosses this module's boundary, so the transport can be swapped here alone.
There is no `httpx.AsyncClient`: its cookie, auth and redirect machinery cost
more than the request itself (bench/fetch.py), and newsmon keeps no cookies.

Redirects are followed by hand and bodies are decompressed by us rather than by
httpx (`monitor.fetch_response`, pure of httpx, which also holds `Response`),
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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

import httpx

from monitor.egress import EgressPolicy, Network, home_networks, parse_network
from monitor.errors import FetchError
from monitor.fetch_guard import EgressRefused, GuardedTransport
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
        # subject -> the private networks its configured URL was last reached in.
        self._homes: dict[str, tuple[Network, ...]] = {}
        self._global = asyncio.Semaphore(limits.concurrency)
        # Entries are dropped when unused, so months of article hosts don't pile up.
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
            transport = self._transports[policy] = GuardedTransport(policy)
        return transport

    def _policy(self, origin: Origin, subject: str) -> EgressPolicy:
        if origin == "config":
            return EgressPolicy(private_ok=True, allowed=self._allowed)
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
            target = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise FetchError(f"fetch: {subject}: invalid URL {url!r}: {exc}") from None
        problem = _url_problem(target)
        if problem is not None:
            raise FetchError(f"fetch: {subject}: invalid URL {url!r}: {problem}")
        deadline = self._limits.timeout if timeout is None else timeout
        connect = min(self._limits.connect_timeout, deadline)
        headers = dict(self._headers)
        extra = self._extra.get(subject)
        private: tuple[str, ...] = ()  # the source's own headers: never sent to another host
        if extra is not None and target.host == extra[0]:
            headers.update(extra[1])
            private = tuple(extra[1])
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        # httpx's types and transport interface without its client: the client's
        # cookie, auth and redirect machinery cost more than the request (bench/fetch.py).
        # Cookies are neither sent nor kept, redirects are followed by hand below.
        request = httpx.Request(
            "GET",
            target,
            headers=headers,
            extensions={"timeout": httpx.Timeout(deadline, connect=connect).as_dict()},
        )
        async with self._slot(target.host):
            # The deadline starts once a slot is ours: queueing is not the server's fault.
            started = time.monotonic()
            hop = _Hop(request, origin, private=private)
            try:
                async with asyncio.timeout(deadline):
                    return await self._exchange(hop, url, subject, started)
            except EgressRefused as exc:
                raise FetchError(f"fetch: {subject}: {exc} for {hop.request.url}") from None
            except TimeoutError:
                raise FetchError(f"fetch: {subject}: {hop.timed_out(deadline)}") from None
            except httpx.HTTPError as exc:
                what = _describe(exc, deadline, connect)
                if isinstance(exc, httpx.ReadTimeout):
                    what = hop.timed_out(deadline)
                raise FetchError(f"fetch: {subject}: {what}") from exc

    @asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = _HostSlot(
                asyncio.Semaphore(self._limits.per_host_concurrency)
            )
        slot.users += 1
        try:
            # Host first: a task queued behind a busy host must not hold a global slot.
            async with slot.semaphore, self._global:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._hosts[host]

    async def _exchange(self, hop: _Hop, url: str, subject: str, started: float) -> Response:
        for _ in range(self._limits.max_redirects + 1):
            transport = self._transport(self._policy(hop.origin, subject))
            response = await transport.handle_async_request(hop.request)
            hop.answered = True
            try:
                if hop.origin == "config":
                    self._homes[subject] = _home_networks(_peer(response))
                following = _next_request(response, hop.request)
                if following is None:
                    return await self._receive(response, url, subject, started)
            finally:
                await response.aclose()
            problem = _url_problem(following.url)
            if problem is not None:
                raise FetchError(
                    f"fetch: {subject}: redirect to invalid URL {str(following.url)!r}: {problem}"
                )
            if following.url.host != hop.request.url.host:
                for name in hop.private:  # a source's cookies and tokens stay with its host
                    following.headers.pop(name, None)
            # A redirect target is the server's word, not the operator's.
            hop.request, hop.origin, hop.answered = following, "document", False
        raise FetchError(
            f"fetch: {subject}: too many redirects (more than {self._limits.max_redirects})"
        )

    async def _receive(
        self, response: httpx.Response, url: str, subject: str, started: float
    ) -> Response:
        status = response.status_code
        # The transport decoded them as latin-1; .items() would guess an encoding per call.
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers.raw
        }
        if status == 304:
            body = b""
        elif 200 <= status < 300:
            body = await read_body(response.aiter_raw(), headers, subject, self._limits.max_bytes)
            if not body and status == 200:
                raise FetchError(f"fetch: {subject}: empty response")
        else:
            raise FetchError(
                f"fetch: {subject}: HTTP {status} {_reason(response)}".rstrip(),
                retry_after=retry_after(headers),
            )
        return Response(
            url=url,
            final_url=str(response.url),
            status=status,
            headers=headers,
            body=body,
            elapsed=time.monotonic() - started,
        )


@dataclass(slots=True)
class _Hop:
    """The request in flight: which hop of a redirect chain, and whether it was answered."""

    request: httpx.Request
    origin: Origin
    answered: bool = False
    private: tuple[str, ...] = ()  # header names not to carry to another host

    def timed_out(self, deadline: float) -> str:
        if self.answered:
            return f"timed out after {deadline:g}s"
        return f"no response within {deadline:g}s"


def _next_request(response: httpx.Response, request: httpx.Request) -> httpx.Request | None:
    """The GET a redirect asks for (as httpx's client builds it), None when no redirect."""
    if not response.has_redirect_location:
        return None
    location = response.headers["Location"]
    try:
        url = httpx.URL(location)
    except httpx.InvalidURL as exc:
        message = f"Invalid URL in location header: {exc}."
        raise httpx.RemoteProtocolError(message, request=request) from None
    if url.scheme and not url.host:  # "https:///path" means the same host
        url = url.copy_with(host=request.url.host)
    if url.is_relative_url:
        url = request.url.join(url)
    if request.url.fragment and not url.fragment:
        url = url.copy_with(fragment=request.url.fragment)
    headers = httpx.Headers(request.headers)
    headers.pop("Host", None)  # httpx.Request sets it for the new URL
    return httpx.Request("GET", url, headers=headers, extensions=request.extensions)


# Pure, and asked after every configured URL's answer: remembered per peer address.
_home_networks = functools.lru_cache(maxsize=1024)(home_networks)


def _peer(response: httpx.Response) -> tuple[str, ...]:
    """The address the response came from, as far as the connection tells."""
    stream = response.extensions.get("network_stream")
    address = stream.get_extra_info("server_addr") if stream is not None else None
    return (str(address[0]),) if isinstance(address, tuple) and address else ()


@dataclass(slots=True)
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0


def _url_problem(url: httpx.URL) -> str | None:
    if url.scheme not in ("http", "https"):
        return "use http:// or https://"
    if not url.host:
        return "no host"
    return None


def _reason(response: httpx.Response) -> str:
    try:
        return http.HTTPStatus(response.status_code).phrase
    except ValueError:
        return response.reason_phrase


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
