"""Client connection pools: one per endpoint and association group.

Theory of operation
-------------------
Every proxy and binding handle to the same endpoint (with the same connection options)
shares one :class:`Channel` on the loop, reference-counted. A channel holds up to
``connections`` :class:`ClientProtocol` connections that belong to one association group
([MS-RPCE] 3.3.1.3): the first bind asks for a new group, later connections join it, so
context handles work on any of them.

Choosing a connection for a call: a usable connection with room for another call
(PFC_CONC_MPX multiplexes up to ``max_concurrent_calls``; without it, one call at a
time), the least loaded first. When every connection is full the pool grows, up to
``connections``; after that the call waits for room. A connection that lacks the
interface's presentation context gets it with alter_context first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ..errors import CommFailure
from ..protocol.connection import ConnectionConfig
from ..protocol.constants import SyntaxId
from ..runtime.binding import StringBinding
from ..transport import open_connection
from ._client_proto import ClientProtocol

__all__ = ["Channel", "ChannelKey", "get_channel"]

#: auth_context_id of our one security context per connection (any value will do).
_AUTH_CONTEXT_ID = 1


@dataclass(frozen=True, slots=True)
class ChannelKey:
    protseq: str
    network_addr: str
    endpoint: str
    config: ConnectionConfig
    connections: int
    #: (credentials, level): every connection of the pool authenticates at its bind.
    security: tuple[Any, int] | None = None


class Channel:
    """A pool of connections to one endpoint (see the module docstring)."""

    def __init__(self, key: ChannelKey) -> None:
        self.key = key
        self.binding = StringBinding(key.protseq, key.network_addr, key.endpoint)
        self.conns: list[ClientProtocol] = []
        self.assoc_group_id = 0
        self.refs = 0
        self._open_lock = asyncio.Lock()
        self._room = asyncio.Event()
        #: acquire() calls waiting on _room: a call that ends sets it only for them
        self._room_waiters = 0
        #: (syntax, connection, p_cont_id) of the last call (see acquire_now)
        self._fast: tuple[SyntaxId, ClientProtocol, int] | None = None

    def _limit(self, proto: ClientProtocol) -> int:
        return self.key.config.max_concurrent_calls if proto.conn.conc_mpx else 1

    def _pick(self, syntax: SyntaxId) -> ClientProtocol | None:
        best = None
        for proto in self.conns:
            if not proto.usable() or proto.in_flight >= self._limit(proto):
                continue
            if syntax in proto.refused:
                raise proto.refused[syntax]
            if best is None or (syntax in proto.contexts, -proto.in_flight) > (
                    syntax in best.contexts, -best.in_flight):
                best = proto
        return best

    def acquire_now(self, syntax: SyntaxId) -> tuple[ClientProtocol, int] | None:
        """:meth:`acquire` without waiting: None unless a bound connection with room and
        the context for ``syntax`` is at hand (the steady state of a busy pool)."""
        conns = self.conns
        if len(conns) == 1:  # the usual pool: no choice to make
            proto = conns[0]
            fast = self._fast
            # the context of the last call's syntax object (contexts are never taken back)
            if fast is not None and fast[0] is syntax and fast[1] is proto:
                p: int | None = fast[2]
            else:
                p = proto.contexts.get(syntax)
                if p is not None:
                    self._fast = (syntax, proto, p)
            if p is not None and (proto._bound_ok or proto.usable()) and not proto.dead \
                    and not proto.draining:
                conn = proto.conn
                streams = conn._streaming  # proto.in_flight inline
                in_flight = len(proto.calls) if streams is None or not streams.sending \
                    else 1 << 30
                if in_flight < (self.key.config.max_concurrent_calls if conn.conc_mpx
                                else 1):
                    return proto, p
        proto = self._pick(syntax)
        if proto is not None and not proto.dead:
            p = proto.contexts.get(syntax)
            if p is not None:
                return proto, p
        return None

    async def acquire(self, syntax: SyntaxId) -> tuple[ClientProtocol, int]:
        """A connection with room for one more call, and the p_cont_id for ``syntax``."""
        while True:
            for proto in self.conns:
                if proto.dead and proto.auth_error is not None:
                    # The server refused these credentials: every new connection would
                    # be refused the same way (and could not join the group any more).
                    raise proto.auth_error
            self.conns = [c for c in self.conns if not c.dead]
            proto = self._pick(syntax)
            if proto is None and len(self.conns) < self.key.connections:
                async with self._open_lock:
                    proto = self._pick(syntax)
                    if proto is None and len(self.conns) < self.key.connections:
                        return await self._open(syntax)
            if proto is not None:
                if syntax in proto.contexts:
                    return proto, proto.contexts[syntax]
                return proto, await proto.alter_context(syntax)
            self._room.clear()
            self._room_waiters += 1
            try:
                await self._room.wait()
            finally:
                self._room_waiters -= 1

    async def _open(self, syntax: SyntaxId) -> tuple[ClientProtocol, int]:
        security = self.key.security
        auth = None
        if security is not None:
            creds, level = security
            # One security context per connection ([MS-RPCE] 3.3.1.5.2); the target
            # names the server for providers that need it (Kerberos SPNs).
            auth = creds.client_context(level, _AUTH_CONTEXT_ID, self.key.network_addr)

        def factory() -> ClientProtocol:
            return ClientProtocol(self.key.config, self._on_idle, auth)

        _transport, proto = await open_connection(self.binding, factory)
        assert isinstance(proto, ClientProtocol)
        if not any(not c.dead for c in self.conns):
            # A group lives only while it has associations ([MS-RPCE] 3.3.1.3): with every
            # earlier connection gone (a restarted server, maybe a new one on the same
            # port), ask for a new group instead of being refused with bind_nak.
            self.assoc_group_id = 0
        self.conns.append(proto)
        try:
            proto.bind(syntax, self.assoc_group_id)
            ev = await proto.bound
        except BaseException:
            proto.close()
            raise
        if not self.assoc_group_id:
            self.assoc_group_id = ev.assoc_group_id
        return proto, proto.settle_bind(ev)

    def _on_idle(self, proto: ClientProtocol) -> None:
        if self._room_waiters:  # else nobody waits: acquire() clears it before waiting
            self._room.set()

    def close(self) -> None:
        conns, self.conns = self.conns, []
        for proto in conns:
            proto.close()
        self._room.set()


_channels: dict[tuple[int, ChannelKey], Channel] = {}


def get_channel(binding: StringBinding, config: ConnectionConfig, connections: int,
                security: tuple[Any, int] | None = None) -> Channel:
    """The shared channel for ``binding`` on the running loop (reference counted)."""
    loop = asyncio.get_running_loop()
    key = ChannelKey(binding.protseq.lower(), binding.network_addr, binding.endpoint, config,
                     max(1, connections), security)
    channel = _channels.get((id(loop), key))
    if channel is None or getattr(channel, "_loop", None) is not loop:
        channel = Channel(key)
        channel._loop = loop  # type: ignore[attr-defined]
        _channels[(id(loop), key)] = channel
    channel.refs += 1
    return channel


def release_channel(channel: Channel) -> None:
    channel.refs -= 1
    if channel.refs <= 0:
        loop: Any = getattr(channel, "_loop", None)
        _channels.pop((id(loop), channel.key), None)
        channel.close()


def fail_closed() -> CommFailure:
    return CommFailure("the proxy is closed")
