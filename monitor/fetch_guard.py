"""The network edge of the egress policy: resolve, check, connect to what was checked.

`GuardedTransport` is the httpx transport `monitor.fetch` uses: aiohttp
underneath (bench/fetch.py: httpx's own pool reached a tenth of its speed).
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
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.connector import Connection

from monitor.egress import EgressPolicy, address_problem

__all__ = ["EgressRefused", "GuardedResolver", "GuardedTransport"]


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


class _Peer:
    """The `network_stream` extension `monitor.fetch` reads the peer address from."""

    def __init__(self, address: object) -> None:
        self._address = address

    def get_extra_info(self, name: str) -> object:
        return self._address if name == "server_addr" else None


class _Response(aiohttp.ClientResponse):
    """Remembers the peer address: a small body releases the connection before we look."""

    peer: object = None

    async def start(self, connection: Connection) -> _Response:
        transport = connection.transport
        self.peer = transport.get_extra_info("peername") if transport is not None else None
        await super().start(connection)
        return self


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped(self._request):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        # A body not read to its end closes the connection instead of pooling it.
        self._response.release()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over aiohttp whose every connection passes the egress policy.

    Redirects, decompression, cookies and proxies are all off: `monitor.fetch`
    follows redirects and decompresses by itself (under its size cap).
    """

    def __init__(self, policy: EgressPolicy, *, keepalive: float = 5.0) -> None:
        self.policy = policy
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
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
                trust_env=False,
                response_class=_Response,
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = yarl.URL(str(request.url), encoded=True)
        address = _numeric_host(request.url.host)
        if address is not None:  # aiohttp connects to a literal without asking the resolver
            reason = _address_problem(address, self.policy)
            if reason is not None:
                raise EgressRefused(reason, address)
            if address != request.url.host:  # "2852039166", "127.1": aiohttp takes no such
                url = url.with_host(address)  # forms; the Host header keeps the original
        # Only the connect timeout: monitor.fetch holds the whole fetch to its deadline,
        # and a per-read timer would be re-armed on every chunk.
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(total=None, connect=timeouts.get("connect"))
        body = await request.aread()
        with _mapped(request):
            response = await self._open().request(
                request.method,
                url,
                headers=[
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw
                ],
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
            )
        peer = response.peer if isinstance(response, _Response) else None
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            request=request,
            stream=_Body(response, request),
            extensions={
                "network_stream": _Peer(peer),
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
                "http_version": b"HTTP/1.1",
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# A pure function of two small values, asked once per request: worth remembering.
_address_problem = functools.lru_cache(maxsize=4096)(address_problem)


@functools.lru_cache(maxsize=4096)
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


@contextmanager
def _mapped(request: httpx.Request) -> Iterator[None]:
    """aiohttp's errors as the httpx errors `monitor.fetch` describes, with the OS cause kept."""
    try:
        yield
    except aiohttp.ClientConnectorCertificateError as exc:
        raise httpx.ConnectError(str(exc), request=request) from exc.certificate_error
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc), request=request) from exc.os_error
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc), request=request) from exc
    except aiohttp.SocketTimeoutError as exc:
        raise httpx.ReadTimeout(str(exc), request=request) from exc
    except aiohttp.ServerDisconnectedError as exc:
        message = "Server disconnected without sending a response."
        raise httpx.RemoteProtocolError(message, request=request) from exc
    except (aiohttp.ClientPayloadError, aiohttp.ClientResponseError) as exc:
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except aiohttp.ClientOSError as exc:
        raise httpx.ReadError(str(exc), request=request) from exc
    except aiohttp.ClientError as exc:
        raise httpx.NetworkError(str(exc), request=request) from exc
