"""One server connection: an ``asyncio.Protocol`` pumping a sans-IO ServerConnection.

The loop (style-anchors §11.5): feed octets with ``receive_data``, drain ``next_event``
and route each event, write ``data_to_send()`` as one ``transport.write``, re-arm the one
timer from ``get_timer()``. A :class:`RemoteProtocolError` means the peer broke the
protocol: the core's last words (a fault or bind_nak) are written and the connection is
closed; the server carries on with everyone else (DESIGN.md §6).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, cast

from ..errors import RemoteProtocolError
from ..protocol._fragments import ReassemblyBuffer
from ..protocol._security import VerifierError
from ..protocol._streaming import RequestData, RequestStarted
from ..protocol.connection import ServerConnection
from ..protocol.events import (
    NEED_DATA,
    AuthFailed,
    BindReceived,
    CallOrphaned,
    CancelRequested,
    ConnectionClosed,
    RequestReceived,
)
from ..runtime.binding import NCALRPC
from ..transport import lrpc
from . import _pipe_server
from ._batch import partial_request, serve_chunk
from ._callctx import CallContext
from ._pipes import wake_drain
from ._writer import Writer

if TYPE_CHECKING:
    from .server import Server

__all__ = ["ServerProtocol"]

log = logging.getLogger("dcerpc.server")

#: Seconds a connection closed for a protocol error keeps draining input (see below).
_LINGER = 1.0
#: Most replies coalesced into one write (see ``flush_soon``).
_BATCH = 16


class ServerProtocol(asyncio.Protocol):
    """See the module docstring."""

    def __init__(self, server: Server, protseq: str, sec_addr: str = "") -> None:
        self.server = server
        self.protseq = protseq
        self.sec_addr = sec_addr
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.conn: ServerConnection | None = None
        self.peer: Any = None
        #: ncalrpc: the caller's (uid, gid, pid); None elsewhere
        self.peer_credentials: Any = None
        #: the ClientIdentity made from ``peer_credentials`` (once per connection)
        self.local_identity: Any = None
        self.group = 0
        #: calls dispatched to a manager and not answered yet, by call_id
        self.calls: dict[int, CallContext] = {}
        self.closed = self.loop.create_future()
        self._timer: asyncio.TimerHandle | None = None
        self._torn_down = False
        self._flush_scheduled = False
        self._batched = 0  # replies queued since the last write
        #: True while process() drains events: replies produced meanwhile (managers run
        #: eagerly, see aio/_eager.py) leave in writes of ``_BATCH`` replies and the one
        #: write process() ends with.
        self._pumping = False
        self._writer = Writer()
        #: the start of a request cut short by the end of the last chunk, kept by the
        #: batch path (at most one fragment, ``max_recv_frag``)
        self._tail = b""

    # -- asyncio.Protocol ----------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.peer = transport.get_extra_info("peername") or transport.get_extra_info(
            "sockname")
        if self.protseq == NCALRPC:  # who the local caller is (SO_PEERCRED)
            self.peer_credentials = lrpc.peer_credentials(transport)
            if self.peer_credentials is not None:
                self.local_identity = lrpc.local_identity(self.peer_credentials)
        self.conn = ServerConnection(self.server.registry.policy,
                                     self.server.config_for(self.sec_addr),
                                     groups=self.server.groups,
                                     acceptors=self.server.acceptors, now=self.loop.time())
        # Server._dispatch decodes each request's stub before the pump asks for the next
        # event: large stubs may be reassembled into one reused buffer.
        self.conn.stub_buffer = ReassemblyBuffer()
        self.server._protocols.add(self)
        _pipe_server.attach(self)  # pipe operations stream (no-op without any)
        self._arm_timer()

    def data_received(self, data: bytes) -> None:
        conn = self.conn
        if conn is None or self._torn_down:
            return
        tail = self._tail
        if tail:
            data = tail + data
            self._tail = b""
        if type(data) is bytes and conn.batch_ready():
            # The usual small requests straight from the chunk (aio/_batch.py); the
            # first unusual PDU and all after it take the general path below, in order.
            conn.note_activity(self.loop.time())
            self._pumping = True
            try:
                pos = serve_chunk(self, conn, data)
            finally:
                self._pumping = False
            if pos:
                rest = data[pos:]
                if not rest or partial_request(rest, conn._reader.max_frag_length):
                    # A request cut short by the end of the chunk waits here for its
                    # rest (the core's framer holds nothing meanwhile).
                    self._tail = rest
                    if not self._torn_down:
                        self.flush()
                    return
                data = rest
        try:
            conn.receive_data(data, self.loop.time())
        except RemoteProtocolError as exc:
            self._protocol_error(exc)
            return
        self.process()

    def eof_received(self) -> bool:
        if self.conn is not None and not self._torn_down:
            if self._tail:  # a request cut short: the core reports the truncation
                tail, self._tail = self._tail, b""
                try:
                    self.conn.receive_data(tail)
                except RemoteProtocolError as exc:
                    self._protocol_error(exc)
                    return False
            self.conn.receive_data(b"")
            self.process()
        return False  # let asyncio close the transport

    def pause_writing(self) -> None:
        # Back-pressure: a client that does not read its replies is not read either, so
        # neither its requests nor our responses pile up without bound.
        self._writer.paused = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self._writer.resume(self.transport)
        wake_drain(self)
        if self._writer.paused:  # the backlog filled the transport again
            return
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._writer.drain_all(None)  # nothing more goes out: drop what waits
        self._teardown()
        self.server._protocols.discard(self)

    # -- the pump ------------------------------------------------------------------
    def process(self) -> None:
        """Drain the core's events, then flush what it wants sent."""
        conn = self.conn
        assert conn is not None
        server = self.server
        self._pumping = True
        try:
            self._pump(conn, server)
        finally:
            self._pumping = False
        if not self._torn_down:
            self.flush()

    def _pump(self, conn: ServerConnection, server: Server) -> None:
        while True:
            try:
                event = conn.next_event()
            except RemoteProtocolError as exc:
                self._pumping = False
                self._protocol_error(exc)
                return
            if event is NEED_DATA:
                return
            if isinstance(event, RequestReceived):
                server._dispatch(self, event)
            elif isinstance(event, (RequestStarted, RequestData)):
                _pipe_server.on_event(self, event)
            elif isinstance(event, CancelRequested):
                call = self.calls.get(event.call_id)
                if call is not None:
                    call.cancelled.set()
            elif isinstance(event, CallOrphaned):
                call = self.calls.pop(event.call_id, None)
                if call is not None:
                    call.orphaned = True
                    call.cancelled.set()
            elif isinstance(event, AuthFailed):
                server.security_stats["bind_refused"] += 1
            elif isinstance(event, BindReceived):
                if event.accepted:
                    self.group = event.assoc_group_id
                    server.handles.join(self.group)
            elif isinstance(event, ConnectionClosed):
                self.flush()
                self.close()
                return

    def flush(self) -> None:
        conn, transport = self.conn, self.transport
        if conn is None or transport is None:
            return
        self._batched = 0
        parts = conn.take_parts()
        if parts and not transport.is_closing():
            self._writer.write(transport, parts)
        self._arm_timer()

    def flush_soon(self) -> None:
        """Flush at the end of this loop turn: the replies of the calls that complete in
        the turn go out together, in writes of up to ``_BATCH`` replies, so that the
        client can start on the first ones while we finish the rest. With no other call
        in progress on the connection (sequential calls) there is nothing to wait for:
        flush now."""
        self._batched += 1
        if self._batched >= _BATCH:  # full: let the client start on these meanwhile
            self.flush()
        elif self._pumping:  # process() writes the rest once it has drained the input
            return
        elif not self.calls:  # nothing else to wait for
            self.flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_scheduled = False
        if self._batched:
            self.flush()

    def _arm_timer(self) -> None:
        conn = self.conn
        deadline = conn.get_timer() if conn is not None else None
        if self._timer is not None and (deadline is None or self._timer.when() != deadline):
            self._timer.cancel()
            self._timer = None
        if deadline is not None and self._timer is None and not self._torn_down:
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self.conn is not None and not self._torn_down:
            self.conn.handle_timer(self.loop.time())
            self.process()

    def _protocol_error(self, exc: RemoteProtocolError) -> None:
        log.info("closing connection from %s: %s", self.peer, exc)
        # Every refused PDU is counted: a bad verifier, or anything that breaks the
        # framing or the call sequence (a tampered header may do either).
        kind = "verifier_rejected" if isinstance(exc, VerifierError) else "protocol_error"
        self.server.security_stats[kind] += 1
        self.flush()  # the fault / bind_nak the spec wants sent first
        self._teardown()
        transport = self.transport
        self._writer.drain_all(transport)
        if transport is not None and not transport.is_closing() and transport.can_write_eof():
            # Lingering close: closing a socket with unread input makes TCP send a reset,
            # which can destroy the fault before the peer reads it. Half-close, discard
            # what still arrives, and close for good after a short grace period.
            transport.write_eof()
            self.loop.call_later(_LINGER, self.close)
        else:
            self.close()

    # -- teardown ------------------------------------------------------------------
    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._writer.drain_all(self.transport)
            self.transport.close()
        self._teardown()

    def _teardown(self) -> None:
        """Once per connection: cancel its calls, leave the association group (and run
        down its context handles when this was the group's last connection)."""
        if self._torn_down:
            return
        self._torn_down = True
        if self._timer is not None:
            self._timer.cancel()
        if self.conn is not None:
            self.conn.close()
        for call in self.calls.values():
            call.orphaned = True
            call.cancelled.set()
        self.calls.clear()
        wake_drain(self)
        group, self.group = self.group, 0
        self.server._connection_gone(self, group)
        if not self.closed.done():
            self.closed.set_result(None)
