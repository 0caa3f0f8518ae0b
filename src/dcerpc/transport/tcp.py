"""ncacn_ip_tcp: DCE/RPC over TCP ([MS-RPCE] 2.1.1.1), IPv4 and IPv6.

Nagle is disabled (TCP_NODELAY): a call is one write of whole PDUs and waiting for an
ACK before sending the next small request only adds latency.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from ..runtime.binding import NCACN_IP_TCP, StringBinding
from .base import Listener

__all__ = ["connect", "listen"]


def _nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def connect(binding: StringBinding, factory: Callable[[], asyncio.Protocol]
                  ) -> tuple[asyncio.BaseTransport, asyncio.Protocol]:
    loop = asyncio.get_running_loop()
    host = binding.network_addr or "127.0.0.1"
    transport, protocol = await loop.create_connection(factory, host, binding.port)
    _nodelay(transport)
    return transport, protocol


async def listen(binding: StringBinding, factory: Callable[[], asyncio.Protocol]
                 ) -> Listener:
    loop = asyncio.get_running_loop()
    host = binding.network_addr or None  # empty: every interface
    port = binding.port or 0

    def make() -> asyncio.Protocol:
        return factory()

    server = await loop.create_server(make, host, port, reuse_address=True)
    bindings = []
    for sock in server.sockets:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepts
        addr, real_port = sock.getsockname()[:2]
        bindings.append(StringBinding(NCACN_IP_TCP, binding.network_addr or addr,
                                      str(real_port)))

    async def close() -> None:
        server.close()
        await server.wait_closed()

    return Listener(bindings, close)
