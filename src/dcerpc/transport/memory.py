"""An in-process transport: ``memory:[name]`` (tests, embedding).

Two :class:`MemoryTransport` objects are cross-wired: a ``write`` on one is delivered to
the other side's protocol with ``loop.call_soon`` (grpclib's in-memory transport idea),
so ordering and the "data arrives later" behaviour match a socket. Listeners are kept in
a per-process table by name.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from .. import status as st
from ..errors import RpcError
from ..runtime.binding import StringBinding
from .base import Listener

__all__ = ["MEMORY", "MemoryTransport", "connect", "listen", "pipe"]

MEMORY = "memory"
_listeners: dict[str, Callable[[], asyncio.Protocol]] = {}
_names = itertools.count(1)


class MemoryTransport(asyncio.Transport):
    """One end of an in-memory stream."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: asyncio.Protocol,
                 name: str) -> None:
        super().__init__({"peername": (MEMORY, name), "sockname": (MEMORY, name)})
        self._loop = loop
        self._protocol = protocol
        self.peer: MemoryTransport | None = None
        self._closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        peer = self.peer
        if self._closing or peer is None or peer._closing or not data:
            return
        self._loop.call_soon(peer._deliver, bytes(data))

    def _deliver(self, data: bytes) -> None:
        if not self._closing:
            self._protocol.data_received(data)

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._loop.call_soon(self._protocol.connection_lost, None)
        peer = self.peer
        if peer is not None and not peer._closing:
            self._loop.call_soon(peer.close)

    def abort(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self._closing

    def can_write_eof(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_protocol(self, protocol: Any) -> None:
        self._protocol = protocol

    def get_protocol(self) -> Any:
        return self._protocol


def pipe(loop: asyncio.AbstractEventLoop, client: asyncio.Protocol, server: asyncio.Protocol,
         name: str) -> tuple[MemoryTransport, MemoryTransport]:
    """Wire two protocols together and call their ``connection_made``."""
    a, b = MemoryTransport(loop, client, name), MemoryTransport(loop, server, name)
    a.peer, b.peer = b, a
    server.connection_made(b)
    client.connection_made(a)
    return a, b


async def connect(binding: StringBinding, factory: Callable[[], asyncio.Protocol]
                  ) -> tuple[asyncio.BaseTransport, asyncio.Protocol]:
    listener = _listeners.get(binding.endpoint)
    if listener is None:
        raise RpcError(f"nothing listens on {binding}", st.RPC_S_SERVER_UNAVAILABLE)
    loop = asyncio.get_running_loop()
    client = factory()
    a, _b = pipe(loop, client, listener(), binding.endpoint)
    return a, client


async def listen(binding: StringBinding, factory: Callable[[], asyncio.Protocol]
                 ) -> Listener:
    name = binding.endpoint or f"mem{next(_names)}"
    if name in _listeners:
        raise RpcError(f"memory endpoint {name!r} is in use", st.RPC_S_DUPLICATE_ENDPOINT)
    _listeners[name] = factory

    async def close() -> None:
        if _listeners.get(name) is factory:
            del _listeners[name]

    return Listener([StringBinding(MEMORY, "", name)], close)
