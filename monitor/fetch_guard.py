"""The network edge of the egress policy: resolve, check, connect to what was checked.

`GuardedBackend` is an httpcore network backend: httpcore asks it for a TCP
connection to (host, port), it resolves the host itself, refuses the whole host
if any of its addresses is refused (`monitor.egress`), and connects to one of
the checked addresses. A second DNS answer therefore cannot swap in another
address (DNS rebinding). TLS still verifies and sends SNI for the hostname:
httpcore passes it to `start_tls` apart from the address connected to.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable

import httpcore

from monitor.egress import EgressPolicy, address_problem

__all__ = ["EgressRefused", "GuardedBackend"]


class EgressRefused(Exception):
    """A host resolved to an address the policy refuses; `reason` reads "private address"."""

    def __init__(self, reason: str, address: str) -> None:
        super().__init__(f"refused {reason} {address}")
        self.reason = reason
        self.address = address


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses that `policy` allows."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port, timeout)
        for address in addresses:
            reason = address_problem(address, self.policy)
            if reason is not None:
                raise EgressRefused(reason, address)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # _resolve never returns an empty list
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int, within: float | None) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(within):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
    except OSError as exc:
        raise httpcore.ConnectError(str(exc)) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise httpcore.ConnectError(f"{host} has no address")
    return addresses
