"""asyncio transports for the connection-oriented protocol.

* ``ncacn_ip_tcp`` — TCP over IPv4 or IPv6, TCP_NODELAY (:mod:`.tcp`);
* ``ncalrpc`` — a Unix-domain stream socket named after the endpoint (:mod:`.lrpc`);
* ``memory`` — an in-process pair for tests and embedding (:mod:`.memory`).

:func:`open_connection` and :func:`start_listener` take a parsed string binding and an
``asyncio.Protocol`` factory; the protocols (in :mod:`dcerpc.aio`) never know which
transport carries them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .. import status as st
from ..errors import RpcError
from ..runtime.binding import NCACN_IP_TCP, NCALRPC, StringBinding
from . import lrpc, memory, tcp
from .base import Listener

__all__ = ["MEMORY", "Listener", "open_connection", "start_listener"]

MEMORY = memory.MEMORY

ProtocolFactory = Callable[[], asyncio.Protocol]


async def open_connection(binding: StringBinding, factory: ProtocolFactory
                          ) -> tuple[asyncio.BaseTransport, asyncio.Protocol]:
    """Connect to ``binding`` (which must name an endpoint).

    Raises :class:`RpcError` ``RPC_S_SERVER_UNAVAILABLE`` when nobody listens there and
    ``RPC_S_PROTSEQ_NOT_SUPPORTED`` for a protocol sequence we do not carry.
    """
    protseq = binding.protseq.lower()
    try:
        if protseq == NCACN_IP_TCP:
            return await tcp.connect(binding, factory)
        if protseq == NCALRPC:
            return await lrpc.connect(binding, factory)
        if protseq == MEMORY:
            return await memory.connect(binding, factory)
    except OSError as exc:
        raise RpcError(f"cannot connect to {binding}: {exc}",
                       st.RPC_S_SERVER_UNAVAILABLE) from exc
    raise RpcError(f"protocol sequence {binding.protseq!r} is not supported",
                   st.RPC_S_PROTSEQ_NOT_SUPPORTED)


async def start_listener(binding: StringBinding, factory: Callable[[str], asyncio.Protocol]
                         ) -> Listener:
    """Listen on ``binding``; ``factory(protseq)`` makes one protocol per connection.

    An empty or ``0`` TCP endpoint picks a free port; the listener's ``bindings`` name
    what was actually bound.
    """
    protseq = binding.protseq.lower()
    try:
        if protseq == NCACN_IP_TCP:
            return await tcp.listen(binding, lambda: factory(NCACN_IP_TCP))
        if protseq == NCALRPC:
            return await lrpc.listen(binding, lambda: factory(NCALRPC))
        if protseq == MEMORY:
            return await memory.listen(binding, lambda: factory(MEMORY))
    except OSError as exc:
        raise RpcError(f"cannot listen on {binding}: {exc}",
                       st.RPC_S_CANT_CREATE_ENDPOINT) from exc
    raise RpcError(f"protocol sequence {binding.protseq!r} is not supported",
                   st.RPC_S_PROTSEQ_NOT_SUPPORTED)
