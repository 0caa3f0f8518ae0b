"""One client connection: an ``asyncio.Protocol`` pumping a sans-IO ClientConnection.

It owns the calls in flight on the connection (call_id → :class:`ClientCall`) and ends
each exactly once: ResponseReceived → the decoded result, FaultReceived → CallFault,
CancelTimedOut → CallCancelled, and anything that ends the connection (EOF, a protocol
violation by the server, a transport error) → CommFailure for every call still in flight
(DESIGN.md §6: never a hang, never a lost call).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from .. import status as st
from ..errors import (
    BindError,
    CallCancelled,
    CallFault,
    CommFailure,
    NdrError,
    RpcError,
    SecurityError,
)
from ..ndr import OperationCodec
from ..protocol._fragments import ReassemblyBuffer
from ..protocol._streaming import ResponseData
from ..protocol.connection import ClientConnection, ConnectionConfig
from ..protocol.constants import SyntaxId
from ..protocol.events import (
    NEED_DATA,
    AlterContextAccepted,
    BindAccepted,
    BindRejected,
    CancelTimedOut,
    ConnectionClosed,
    FaultReceived,
    ResponseReceived,
    ShutdownRequested,
)
from ..protocol.pdu import ContextElement
from ..runtime.calls import ClientCall
from ._batch import partial_request
from ._pipe_client import on_response_data
from ._pipes import wake_drain
from ._reply_batch import take_replies
from ._writer import Writer

__all__ = ["ClientProtocol"]

log = logging.getLogger("dcerpc.client")

#: Most requests coalesced into one write (see ``send``).
_BATCH = 16
#: Association-level fault statuses that mean "your authentication was refused".
_SECURITY_FAULTS = frozenset({st.RPC_S_ACCESS_DENIED, st.RPC_S_SEC_PKG_ERROR})


class ClientProtocol(asyncio.Protocol):
    """See the module docstring."""

    def __init__(self, config: ConnectionConfig, on_idle: Any = None, auth: Any = None
                 ) -> None:
        self.loop = asyncio.get_running_loop()
        self.conn = ClientConnection(config, auth=auth)
        # _handle decodes each reply's stub before _process asks for the next event:
        # large stubs may be reassembled into one reused buffer.
        self.conn.stub_buffer = ReassemblyBuffer()
        self.transport: asyncio.Transport | None = None
        self.calls: dict[int, tuple[ClientCall, OperationCodec]] = {}
        #: accepted presentation contexts by abstract syntax, and refused ones
        self.contexts: dict[SyntaxId, int] = {}
        self.refused: dict[SyntaxId, RpcError] = {}
        self.bound: asyncio.Future[BindAccepted] = self.loop.create_future()
        self.bound.add_done_callback(_consume)
        self._pending_syntax: tuple[int, SyntaxId] | None = None
        self.alter_lock = asyncio.Lock()
        self._negotiation: tuple[int, asyncio.Future[Any]] | None = None
        self._next_cont_id = 0
        self.dead = False
        self.draining = False  # the server asked us to shut down (C706 §12.6.4.11)
        self._on_idle = on_idle
        self._timer: asyncio.TimerHandle | None = None
        self._flush_scheduled = False
        self._batched = 0  # requests queued since the last write
        self._bound_ok = False
        self._writer = Writer()
        #: the start of a reply cut short by the end of the last chunk, kept by the
        #: batch path (at most one fragment, ``max_recv_frag``)
        self._tail = b""
        #: status of an association-level security fault (our auth3 was refused)
        self._assoc_fault: int | None = None
        #: set when the connection died because the server refused our credentials
        self.auth_error: RpcError | None = None

    # -- asyncio.Protocol ----------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.dead:
            return
        conn = self.conn
        tail = self._tail
        if tail:
            data = tail + data
            self._tail = b""
        if type(data) is bytes and conn.batch_ready():
            # The usual small replies straight from the chunk (aio/_reply_batch.py); the
            # first unusual PDU and all after it take the general path below, in order.
            conn.note_activity(self.loop.time())
            pos = take_replies(self, conn, data)
            if self.dead:
                return
            if pos:
                rest = data[pos:]
                if not rest or partial_request(rest, conn._reader.max_frag_length, 2):
                    # A reply cut short by the end of the chunk waits here for its rest
                    # (the core's framer holds nothing meanwhile).
                    self._tail = rest
                    self.flush()
                    return
                data = rest
        try:
            self.conn.receive_data(data, self.loop.time())
        except RpcError as exc:
            self._die(f"protocol error: {exc}")
            return
        self._process()

    def pause_writing(self) -> None:
        self._writer.paused = True

    def resume_writing(self) -> None:
        self._writer.resume(self.transport)
        wake_drain(self)

    def eof_received(self) -> bool:
        if not self.dead:
            if self._tail:  # a reply cut short: the core reports the truncation
                tail, self._tail = self._tail, b""
                try:
                    self.conn.receive_data(tail)
                except RpcError as exc:
                    self._die(f"protocol error: {exc}")
                    return False
            self.conn.receive_data(b"")
            self._process()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._die(f"connection lost ({exc})" if exc else "connection closed by the server")

    # -- intents -------------------------------------------------------------------
    def new_context_id(self) -> int:
        p, self._next_cont_id = self._next_cont_id, self._next_cont_id + 1
        return p

    def bind(self, syntax: SyntaxId, assoc_group_id: int) -> int:
        p = self.new_context_id()
        call_id = self.conn.bind([ContextElement(p_cont_id=p, abstract_syntax=syntax)],
                                 assoc_group_id=assoc_group_id)
        self._negotiation = (call_id, self.bound)
        self._pending_syntax = (p, syntax)
        self.flush()
        return p

    async def alter_context(self, syntax: SyntaxId) -> int:
        """Add a presentation context for ``syntax`` (alter_context, C706 §12.6.4.1)."""
        async with self.alter_lock:
            if syntax in self.contexts:
                return self.contexts[syntax]
            if syntax in self.refused:
                raise self.refused[syntax]
            if self.dead:
                raise CommFailure("connection lost")
            p = self.new_context_id()
            fut: asyncio.Future[Any] = self.loop.create_future()
            fut.add_done_callback(_consume)
            call_id = self.conn.alter_context(
                [ContextElement(p_cont_id=p, abstract_syntax=syntax)])
            self._negotiation = (call_id, fut)
            self.flush()
            ev = await fut
            return self._settle(p, syntax, ev.contexts)

    def _settle(self, p: int, syntax: SyntaxId, accepted: dict[int, Any]) -> int:
        if p in accepted:
            self.contexts[syntax] = p
            return p
        err = BindError(f"the server does not support interface {syntax}",
                        st.RPC_S_UNKNOWN_IF)
        self.refused[syntax] = err
        raise err

    def settle_bind(self, ev: BindAccepted) -> int:
        assert self._pending_syntax is not None
        p, syntax = self._pending_syntax
        return self._settle(p, syntax, ev.contexts)

    def send(self, call: ClientCall, codec: OperationCodec, p_cont_id: int,
             stub: bytes | bytearray | memoryview,
             object_uuid: Any) -> None:
        call.call_id = self.conn.send_request(p_cont_id, call.operation.opnum, stub,
                                              object=object_uuid, now=self.loop.time())
        self.calls[call.call_id] = (call, codec)
        # Coalesce: the calls issued in this loop turn (the coroutines woken by one batch
        # of replies each send their next request) go out together, in writes of up to
        # _BATCH requests so that the server can start on the first ones meanwhile.
        self._batched += 1
        if self._batched >= _BATCH or len(self.calls) == 1:  # full, or a lone call
            self.flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_scheduled = False
        if self._batched:
            self.flush()

    def abandon(self, call: ClientCall, exc: RpcError) -> None:
        """Give up on ``call`` locally (timeout, task cancelled): send orphaned
        ([MS-RPCE] 3.3.1.5.10) so the server can stop, and end it with ``exc``."""
        if call.call_id is not None and self.calls.pop(call.call_id, None) is not None:
            self.conn.orphan(call.call_id)
            self.flush()
            self._call_ended()
        call.set_exception(exc)

    @property
    def in_flight(self) -> int:
        streams = self.conn._streaming  # a streamed request holds the connection
        return len(self.calls) if streams is None or not streams.sending else 1 << 30

    def usable(self) -> bool:
        if not self._bound_ok:
            self._bound_ok = self.bound.done() and not self.bound.cancelled() \
                and self.bound.exception() is None
        return self._bound_ok and not self.dead and not self.draining

    def close(self) -> None:
        if self.transport is not None:
            self._writer.drain_all(self.transport)
            self.transport.close()
        self._die("connection closed by the client")

    # -- the pump ------------------------------------------------------------------
    def _process(self) -> None:
        while True:
            try:
                ev = self.conn.next_event()
            except RpcError as exc:
                self.flush()
                self._die(f"protocol error: {exc}")
                return
            if ev is NEED_DATA:
                break
            self._handle(ev)
        self.flush()

    def _handle(self, ev: Any) -> None:
        if isinstance(ev, ResponseReceived):
            entry = self.calls.pop(ev.call_id, None)
            if entry is not None:
                call, codec = entry
                try:
                    call.set_result(codec.decode_response(ev.stub))
                except NdrError as exc:
                    call.set_exception(exc)
                # _call_ended() inline: once per reply
                if self.draining and not self.calls:
                    self.close()
                if self._on_idle is not None:
                    self._on_idle(self)
        elif isinstance(ev, FaultReceived):
            if ev.association:
                neg = self._negotiation
                if neg is not None and neg[0] == ev.call_id and not neg[1].done():
                    neg[1].set_exception(BindError(status=ev.status))
                elif ev.status in _SECURITY_FAULTS:
                    # The server refused our rpc_auth_3 (wrong password, unknown user):
                    # the fault names the bind's call_id and the connection is going away;
                    # every call on it fails with that status.
                    self._assoc_fault = ev.status
                return
            entry = self.calls.pop(ev.call_id, None)
            if entry is not None:
                entry[0].set_exception(CallFault(
                    f"{entry[0].operation.name}: server fault {st.status_name(ev.status)}",
                    ev.status))
                self._call_ended()
        elif isinstance(ev, CancelTimedOut):
            entry = self.calls.pop(ev.call_id, None)
            if entry is not None:
                entry[0].set_exception(CallCancelled())
                self._call_ended()
        elif isinstance(ev, (BindAccepted, AlterContextAccepted)):
            neg, self._negotiation = self._negotiation, None
            if neg is not None and not neg[1].done():
                neg[1].set_result(ev)
        elif isinstance(ev, BindRejected):
            neg, self._negotiation = self._negotiation, None
            if neg is not None and not neg[1].done():
                neg[1].set_exception(BindError(
                    f"bind rejected (reason {ev.reason}, status {ev.status})",
                    ev.status or st.RPC_S_CALL_FAILED_DNE))
        elif isinstance(ev, ResponseData):
            on_response_data(self, ev)
        elif isinstance(ev, ShutdownRequested):
            self.draining = True
            if not self.calls:
                self.close()
        elif isinstance(ev, ConnectionClosed):
            self.flush()
            if self.transport is not None:
                self._writer.drain_all(self.transport)
                self.transport.close()
            self._die(f"connection closed ({ev.reason})")

    def flush(self) -> None:
        self._batched = 0
        parts = self.conn.take_parts()
        transport = self.transport
        if parts and transport is not None and not transport.is_closing():
            self._writer.write(transport, parts)
        self._arm_timer()

    def _arm_timer(self) -> None:
        deadline = None if self.dead else self.conn.get_timer()
        if self._timer is not None and (deadline is None or self._timer.when() != deadline):
            self._timer.cancel()
            self._timer = None
        if deadline is not None and self._timer is None:
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if not self.dead:
            self.conn.handle_timer(self.loop.time())
            self._process()

    def _call_ended(self) -> None:
        if self.draining and not self.calls:
            self.close()
        if self._on_idle is not None:
            self._on_idle(self)

    def _die(self, reason: str) -> None:
        """End the connection: every call and negotiation in flight fails, once."""
        if self.dead:
            return
        self.dead = True
        self._writer.drain_all(None)  # nothing more goes out: drop what waits
        if self._timer is not None:
            self._timer.cancel()
        self.conn.close()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        wake_drain(self)
        if self._assoc_fault is not None:
            self.auth_error = SecurityError(
                f"the server refused the authentication "
                f"({st.status_name(self._assoc_fault)})", self._assoc_fault)
        calls, self.calls = self.calls, {}
        for call, _codec in calls.values():
            if self.auth_error is not None:
                call.set_exception(type(self.auth_error)(
                    f"{call.operation.name}: {self.auth_error}", self.auth_error.status))
            else:
                call.set_exception(CommFailure(f"{call.operation.name}: {reason}"))
        neg, self._negotiation = self._negotiation, None
        for fut in (neg[1] if neg else None, self.bound):
            if fut is not None and not fut.done():
                fut.set_exception(CommFailure(reason))
        if self._on_idle is not None:
            self._on_idle(self)


def _consume(fut: asyncio.Future[Any]) -> None:
    """Mark a negotiation future's exception as seen (its waiter may be gone)."""
    if not fut.cancelled():
        fut.exception()
