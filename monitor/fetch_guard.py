"""The network edge of the egress policy: resolve, check, connect to what was checked.

`GuardedTransport` is how `monitor.fetch` sends a GET: aiohttp underneath
(bench/fetch.py: httpx's own pool reached a tenth of its speed), a `Target`
in (an httpx URL, parsed once per URL string by `parse_target`), an `Answer`
out, aiohttp's failures raised as the httpx errors `monitor.fetch` describes.
No httpx request or response is built on the way: against aiohttp's ~0.2 ms
a request, they and a fresh URL parse cost ~0.05 ms, for fields read once.

Its connector asks `GuardedResolver` for every new connection's addresses; the
resolver refuses the whole host if any of its addresses is refused
(`monitor.egress`) and hands over only checked addresses, which are what
aiohttp connects to. A second DNS answer therefore cannot swap in another
address (DNS rebinding); aiohttp's DNS cache holds only checked answers, per
policy (one transport per policy). aiohttp skips the resolver for IP literals,
so the transport checks those itself, legacy forms ("2852039166", "127.1")
read as getaddrinfo reads them. TLS still verifies and sends SNI for the
hostname, apart from the address connected to.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from collections.abc import AsyncIterator, Mapping
from typing import NamedTuple

import aiohttp
import httpx
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.connector import Connection

from monitor.egress import EgressPolicy, address_problem

__all__ = [
    "Answer",
    "EgressRefused",
    "GuardedResolver",
    "GuardedTransport",
    "Target",
    "parse_target",
]

REDIRECTS = frozenset((301, 302, 303, 307, 308))


class Target(NamedTuple):
    """A URL as httpx parses and normalises it, with the parts every request asks for."""

    url: httpx.URL
    text: str  # str(url)
    scheme: str
    host: str

    @classmethod
    def of(cls, url: httpx.URL) -> Target:
        return cls(url, str(url), url.scheme, url.host)


@functools.lru_cache(maxsize=4096)
def parse_target(url: str) -> Target:
    """`url` parsed (httpx.InvalidURL if it cannot be); remembered, as a feed is polled again."""
    return Target.of(httpx.URL(url))


class EgressRefused(Exception):
    """A host resolved to an address the policy refuses; `reason` reads "private address"."""

    def __init__(self, reason: str, address: str) -> None:
        super().__init__(f"refused {reason} {address}")
        self.reason = reason
        self.address = address


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver with the egress check: only checked addresses reach the connector.

    aiohttp does not ask the resolver about IP literals; `GuardedTransport`
    checks those itself before the request.
    """

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, family=family)
        results: list[ResolveResult] = []
        for fam, _, proto, _, sockaddr in infos:
            address = str(sockaddr[0])
            reason = address_problem(address, self.policy)
            if reason is not None:
                raise EgressRefused(reason, address)
            results.append(
                ResolveResult(
                    hostname=host,
                    host=address,
                    port=port,
                    family=fam,
                    proto=proto,
                    flags=socket.AI_NUMERICHOST,
                )
            )
        if not results:
            raise OSError(f"{host} has no address")
        return results

    async def close(self) -> None:
        return None


class _Response(aiohttp.ClientResponse):
    """Remembers the peer address: a small body releases the connection before we look."""

    peer: tuple[str, ...] = ()

    async def start(self, connection: Connection) -> _Response:
        transport = connection.transport
        address = transport.get_extra_info("peername") if transport is not None else None
        if isinstance(address, tuple) and address:
            self.peer = (str(address[0]),)
        await super().start(connection)
        return self


class Answer:
    """A response as `monitor.fetch` reads it: status line, headers, peer, then the raw body.

    `headers` has lower-cased names, decoded as latin-1 (a repeated header keeps
    its last value); `peer` is the address answered from, () when unknown.
    The body is still content-coded; `release()` pools the connection when the
    body was read to its end and closes it otherwise.
    """

    __slots__ = ("_response", "headers", "peer", "reason", "status", "target")

    def __init__(self, response: _Response, target: Target) -> None:
        self.target = target
        self.status = response.status
        self.reason = response.reason or ""
        self.headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.raw_headers
        }
        self.peer = response.peer
        self._response = response

    @property
    def location(self) -> str | None:
        """The Location a redirect status points at; None for any other answer."""
        return self.headers.get("location") if self.status in REDIRECTS else None

    async def chunks(self) -> AsyncIterator[bytes]:
        """The raw body as it arrives."""
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except aiohttp.ClientError as exc:
            raise _translated(exc, self.target.url) from _cause(exc)

    def release(self) -> None:
        self._response.release()


class GuardedTransport:
    """GETs over aiohttp whose every connection passes the egress policy.

    Redirects, decompression, cookies and proxies are all off: `monitor.fetch`
    follows redirects and decompresses by itself (under its size cap).
    """

    def __init__(
        self, policy: EgressPolicy, headers: Mapping[str, str], *, keepalive: float = 5.0
    ) -> None:
        self.policy = policy
        # Sent on every request. They name User-Agent, Accept and Accept-Encoding, so
        # aiohttp adds none of its own (skip_auto_headers costs a sort per request).
        self._headers = dict(headers)
        self._keepalive = keepalive
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:  # aiohttp binds to the running loop: open on first use
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.policy),
                limit=0,  # monitor.fetch's semaphores are the limit
                keepalive_timeout=self._keepalive,
                ssl=True,  # aiohttp's shared verifying context (system CA store)
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers=self._headers,
                trust_env=False,
                response_class=_Response,
            )
        return self._session

    async def get(self, target: Target, headers: Mapping[str, str], connect: float) -> Answer:
        """GET `target`; the answer once its head is in.

        `headers` are added to the transport's own, replacing any of the same name.
        Only `connect` is timed here: `monitor.fetch` holds the whole fetch to
        its deadline, and a per-read timer would be re-armed on every chunk.
        """
        url, address = _aiohttp_url(target.text, target.host)
        if address is not None:  # aiohttp connects to a literal without asking the resolver
            reason = _address_problem(address, self.policy)
            if reason is not None:
                raise EgressRefused(reason, address)
            if address != target.host:  # "2852039166", "127.1": the Host header keeps them
                headers = {**headers, "Host": target.url.netloc.decode("ascii")}
        try:
            response = await self._open().get(
                url, headers=headers, allow_redirects=False, timeout=_timeout(connect)
            )
        except aiohttp.ClientError as exc:
            raise _translated(exc, target.url) from _cause(exc)
        assert isinstance(response, _Response)
        return Answer(response, target)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# Pure functions of small values, asked once per request: worth remembering.
_address_problem = functools.lru_cache(maxsize=4096)(address_problem)


@functools.lru_cache(maxsize=64)
def _timeout(connect: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=None, connect=connect)


@functools.lru_cache(maxsize=4096)
def _aiohttp_url(url: str, host: str) -> tuple[yarl.URL, str | None]:
    """The URL aiohttp is given, and the address its host names when it is an IP literal."""
    target = yarl.URL(url, encoded=True)  # already normalised and quoted by httpx
    address = _numeric_host(host)
    if address is not None and address != host:  # aiohttp takes no legacy forms
        target = target.with_host(address)
    return target, address


def _numeric_host(host: str) -> str | None:
    """The address a numeric host names (legacy IPv4 forms too, as getaddrinfo reads them)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    if ":" in host:
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


def _translated(exc: aiohttp.ClientError, url: httpx.URL) -> httpx.HTTPError:
    """aiohttp's error as the httpx error `monitor.fetch` describes."""
    request = httpx.Request("GET", url)  # built on failure only: it names the host and port
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc), request=request)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(exc), request=request)
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return httpx.ReadTimeout(str(exc), request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        message = "Server disconnected without sending a response."
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(str(exc), request=request)
    if isinstance(exc, aiohttp.ClientOSError):
        return httpx.ReadError(str(exc), request=request)
    return httpx.NetworkError(str(exc), request=request)


def _cause(exc: aiohttp.ClientError) -> BaseException:
    """The OS or TLS error under aiohttp's, which `monitor.fetch` puts in words."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return exc.certificate_error
    if isinstance(exc, aiohttp.ClientConnectorError):
        return exc.os_error
    return exc
