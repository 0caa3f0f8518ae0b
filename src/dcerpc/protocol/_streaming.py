"""Streamed calls: request and response stubs that travel fragment by fragment.

Theory of operation
-------------------
An operation with ``pipe`` parameters can carry any amount of data (C706 §14.3.11; MIDL
"Pipes"): the whole stub is never held in memory, so the usual "deliver a request when
its LAST fragment arrives" cannot apply. The bound for such a call is memory, not size.

The cores keep their reassembling fast path untouched; a driver that wants streaming
attaches a helper to a connection (``conn._streaming``):

* :class:`ServerStreams` with a predicate ``(interface, opnum) -> bool``. The FIRST
  fragment of a request the predicate accepts becomes :class:`RequestStarted` (with the
  first fragment's stub octets) and every later fragment :class:`RequestData`, with
  ``last`` set on the fragment carrying PFC_LAST_FRAG. The call is "in progress" from the
  FIRST fragment on: co_cancel, orphaned, ``send_fault`` and ``send_response`` work at
  once. While a streamed request is incomplete no other request may start on the
  connection (C706 §12.6.2: fragments of different requests are not interleaved; the
  same rule the reassembler applies). A request whose call was faulted or orphaned
  before its LAST fragment has its remaining fragments dropped, and a new call may
  start. :meth:`ServerStreams.send_response_part` sends a reply over time.
* :class:`ClientStreams`: :meth:`~ClientStreams.begin_request` opens a call whose request
  goes out with :meth:`~ClientStreams.send_request_part`; with ``stream_response`` its
  response fragments come as :class:`ResponseData` events instead of one
  ``ResponseReceived``. A fault still ends the call with ``FaultReceived``.

Sending over time: each part goes out at once as full fragments plus a short one (a
pushed pipe chunk must reach the peer now), or with ``flush=False`` the remainder is kept
back to fill the next fragment. PFC_FIRST_FRAG goes on the first fragment sent,
PFC_LAST_FRAG on the one sent with ``last=True`` (an empty final part gives an empty LAST
fragment). ``alloc_hint`` is 0 ("unknown", C706 §12.6.4.9) except on the last fragment,
where the remaining size is known.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import status as st
from ..errors import LocalProtocolError, RemoteProtocolError
from ._connection_base import ConnectionState
from ._fragments import REQUEST_HEADER, RESPONSE_HEADER, payload_size
from ._security import protect, sec_trailer_overhead, unprotect
from .constants import (
    PFC_FIRST_FRAG,
    PFC_LAST_FRAG,
    PFC_MAYBE,
    PFC_PENDING_CANCEL,
    PTYPE,
)
from .events import Event
from .pdu import Request, Response

__all__ = ["ClientStreams", "RequestData", "RequestStarted", "ResponseData",
           "ServerStreams"]

_FIRST, _LAST = int(PFC_FIRST_FRAG), int(PFC_LAST_FRAG)
_CANCEL, _MAYBE = int(PFC_PENDING_CANCEL), int(PFC_MAYBE)
_DREP_LE = b"\x10\x00\x00\x00"
_BOUND = ConnectionState.BOUND


@dataclass(frozen=True, slots=True)
class RequestStarted(Event):
    """The FIRST fragment of a streamed request (server). More stub octets follow as
    :class:`RequestData` unless ``last``."""

    call_id: int
    p_cont_id: int
    opnum: int
    stub: bytes
    object: uuid.UUID | None = None
    interface: Any = None
    little_endian: bool = True
    last: bool = False
    #: The security context that verified the fragment (None when unauthenticated).
    security: Any = None


@dataclass(frozen=True, slots=True)
class RequestData(Event):
    """A later fragment's stub octets of a streamed request (server)."""

    call_id: int
    stub: bytes
    last: bool = False


@dataclass(frozen=True, slots=True)
class ResponseData(Event):
    """One fragment's stub octets of a streamed response (client); ``last`` ends the
    call as ``ResponseReceived`` would."""

    call_id: int
    stub: bytes
    first: bool = False
    last: bool = False
    cancel_count: int = 0


@dataclass(slots=True)
class _Out:
    """A stub being sent over time."""

    p_cont_id: int
    opnum: int = 0
    object: uuid.UUID | None = None
    buf: bytearray = field(default_factory=bytearray)
    started: bool = False


@dataclass(slots=True)
class _In:
    """A streamed request being received."""

    call_id: int
    p_cont_id: int
    opnum: int
    drep: bytes


def _cut(out: _Out, payload: int, last: bool, flush: bool) -> list[tuple[int, bytes]]:
    """(pfc_flags, stub chunk) of every fragment ready to go (see the module docstring);
    ``flush`` sends a short fragment rather than keep octets back."""
    frags: list[tuple[int, bytes]] = []
    buf = out.buf
    view = memoryview(buf)
    off, n = 0, len(buf)
    while n - off > payload:
        frags.append((0 if out.started else _FIRST, bytes(view[off:off + payload])))
        out.started = True
        off += payload
    if flush and not last and off < n:
        frags.append((0 if out.started else _FIRST, bytes(view[off:])))
        out.started = True
        off = n
    if last:
        frags.append(((0 if out.started else _FIRST) | _LAST, bytes(view[off:])))
        out.started = True
        off = n
    view.release()
    if off:
        del buf[:off]
    return frags


class ServerStreams:
    """Streamed requests and responses of one :class:`ServerConnection`."""

    def __init__(self, conn: Any, predicate: Callable[[Any, int], bool]) -> None:
        self.conn = conn
        self.predicate = predicate
        self.rx: _In | None = None
        self.tx: dict[int, _Out] = {}
        conn._streaming = self

    # -- inbound (called by ServerConnection._on_request_fields) ---------------------
    def on_fragment(self, call_id: int, flags: int, alloc_hint: int, p_cont_id: int,
                    opnum: int, obj: uuid.UUID | None, drep: bytes, raw: bytes,
                    pdu: Request | None) -> bool:
        """Take one request fragment if it belongs to a streamed call; False to let the
        reassembler handle it."""
        conn = self.conn
        rx = self.rx
        if rx is not None:
            if call_id == rx.call_id and not flags & _FIRST:
                if (p_cont_id, opnum, drep) != (rx.p_cont_id, rx.opnum, rx.drep):
                    raise RemoteProtocolError(
                        f"fragment of call {call_id} changes p_cont_id, opnum or drep")
                last = bool(flags & _LAST)
                if last:
                    self.rx = None
                call = conn._calls.get(call_id)
                if call is None:
                    return True  # faulted or orphaned meanwhile: drop the rest
                if flags & _CANCEL:
                    call.cancel_count += 1
                stub = unprotect(pdu, raw, conn.auth) if pdu is not None else raw[24:]
                conn._emit(RequestData(call_id, stub, last))
                return True
            if rx.call_id in conn._calls:
                raise RemoteProtocolError(
                    f"call {call_id} starts while call {rx.call_id} is incomplete")
            self.rx = None  # an abandoned stream: its remaining fragments never came
        if not flags & _FIRST or flags & _MAYBE or conn._rx is not None:
            return False
        ctx = conn.contexts.get(p_cont_id)
        if ctx is None or not self.predicate(ctx.interface, opnum):
            return False
        conn._check_start(call_id, flags)
        last = bool(flags & _LAST)
        if not last:
            self.rx = _In(call_id, p_cont_id, opnum, drep)
        if len(conn._calls) >= conn.config.max_concurrent_calls:
            conn._send_fault(call_id, st.nca_s_server_too_busy, p_cont_id,
                             did_not_execute=True)
            return True  # not in _calls: its other fragments are dropped
        from ._server import _Call

        conn._calls[call_id] = _Call(p_cont_id, 0)
        stub = unprotect(pdu, raw, conn.auth) if pdu is not None else raw[24:]
        conn._emit(RequestStarted(call_id, p_cont_id, opnum, stub, obj, ctx.interface,
                                  bool(drep[0] & 0x10), last,
                                  conn.auth if pdu is not None else None))
        return True

    def receiving(self, call_id: int) -> bool:
        """Is the request of ``call_id`` still arriving?"""
        return self.rx is not None and self.rx.call_id == call_id

    # -- outbound ----------------------------------------------------------------------
    def send_response_part(self, call_id: int, data: bytes | bytearray | memoryview,
                           last: bool = False, flush: bool = True) -> bool:
        """Queue ``data`` as the next octets of the response of ``call_id``; ``last`` ends
        the call; without ``flush`` up to one fragment's worth is kept back to fill the
        next fragment. False (nothing sent) when the call is no longer in progress."""
        conn = self.conn
        call = conn._calls.get(call_id) if not conn.closed else None
        if call is None:
            self.tx.pop(call_id, None)
            return False
        if conn.state is not _BOUND:
            raise LocalProtocolError(f"no call can be answered in state {conn.state.value}")
        out = self.tx.get(call_id)
        if out is None:
            out = self.tx[call_id] = _Out(call.p_cont_id)
        out.buf += data
        payload = payload_size(conn.max_xmit_frag, 24, sec_trailer_overhead(conn.auth))
        frags = _cut(out, payload, last, flush)
        if last:
            del self.tx[call_id]
            del conn._calls[call_id]
        cancel_count = min(call.cancel_count, 0xFF)
        parts: list[bytes | memoryview] = []
        for flags, chunk in frags:
            hint = len(chunk) if flags & _LAST else 0
            if conn.auth is None:
                parts.append(RESPONSE_HEADER.pack(5, 0, int(PTYPE.response), flags, _DREP_LE,
                                                  24 + len(chunk), 0, call_id, hint,
                                                  call.p_cont_id, cancel_count, 0))
                parts.append(chunk)
            else:
                parts.append(protect(Response(
                    call_id=call_id, pfc_flags=flags, alloc_hint=hint,
                    p_cont_id=call.p_cont_id, cancel_count=cancel_count, stub_data=chunk),
                    conn.auth))
        if parts:
            conn._queue_parts(parts)
        return True

    def forget(self, call_id: int) -> None:
        """The call ended some other way (fault): drop what waited to be sent."""
        self.tx.pop(call_id, None)


class ClientStreams:
    """Streamed requests and responses of one :class:`ClientConnection`."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.tx: dict[int, _Out] = {}
        self.rx: dict[int, bool] = {}  # call_id → its FIRST response fragment arrived
        conn._streaming = self

    @property
    def sending(self) -> bool:
        """Is a streamed request incomplete (no other request may start meanwhile)?"""
        return bool(self.tx)

    def begin_request(self, p_cont_id: int, opnum: int, *, object: uuid.UUID | None = None,
                      stream_response: bool = True, now: float | None = None) -> int:
        """Open a call whose request is sent with :meth:`send_request_part`."""
        conn = self.conn
        conn._require(_BOUND, action="send a request")
        if p_cont_id not in conn.contexts:
            raise LocalProtocolError(f"p_cont_id {p_cont_id} is not an accepted context")
        if self.tx:
            raise LocalProtocolError("a streamed request is still being sent")
        if conn._calls and not conn.conc_mpx:
            raise LocalProtocolError("another call is in progress and PFC_CONC_MPX is off")
        if len(conn._calls) >= conn.config.max_concurrent_calls:
            raise LocalProtocolError("max_concurrent_calls reached")
        from ._client import _Call

        call_id: int = conn._new_call_id()
        conn._calls[call_id] = _Call(p_cont_id)
        self.tx[call_id] = _Out(p_cont_id, opnum, object)
        if stream_response:
            self.rx[call_id] = False
        if now is not None:
            conn._last_activity = now
        return call_id

    def send_request_part(self, call_id: int, data: bytes | bytearray | memoryview,
                          last: bool = False, flush: bool = True) -> bool:
        """Queue the next octets of the request; False when the call already ended (a
        fault, an orphan): the rest of the request is not sent."""
        conn = self.conn
        out = self.tx.get(call_id)
        if out is None:
            raise LocalProtocolError(f"call {call_id} has no request being sent")
        if call_id not in conn._calls or conn.closed:
            del self.tx[call_id]
            return False
        out.buf += data
        header = 24 if out.object is None else 40
        payload = payload_size(conn.max_xmit_frag, header, sec_trailer_overhead(conn.auth))
        frags = _cut(out, payload, last, flush)
        if last:
            del self.tx[call_id]
        parts: list[bytes | memoryview] = []
        for flags, chunk in frags:
            hint = len(chunk) if flags & _LAST else 0
            if conn.auth is None and out.object is None:
                parts.append(REQUEST_HEADER.pack(5, 0, int(PTYPE.request), flags, _DREP_LE,
                                                 24 + len(chunk), 0, call_id, hint,
                                                 out.p_cont_id, out.opnum))
                parts.append(chunk)
            else:
                pdu = Request(call_id=call_id, pfc_flags=flags, alloc_hint=hint,
                              p_cont_id=out.p_cont_id, opnum=out.opnum, object=out.object,
                              stub_data=chunk)
                parts.append(protect(pdu, conn.auth) if conn.auth is not None
                             else pdu.encode())
        if parts:
            conn._queue_parts(parts)
        return True

    def abort_request(self, call_id: int) -> None:
        """Stop sending the request of ``call_id`` (the call is orphaned or failed)."""
        self.tx.pop(call_id, None)
        self.rx.pop(call_id, None)

    # -- inbound (called by ClientConnection._on_response_fields) --------------------
    def on_response(self, call_id: int, flags: int, cancel_count: int, raw: bytes,
                    pdu: Response | None) -> None:
        conn = self.conn
        started = self.rx[call_id]
        if flags & _FIRST:
            if started:
                raise RemoteProtocolError(f"response of call {call_id} restarted")
            self.rx[call_id] = True
        elif not started:
            raise RemoteProtocolError(
                f"response fragment of call {call_id} without a first fragment")
        stub = unprotect(pdu, raw, conn.auth) if pdu is not None else raw[24:]
        last = bool(flags & _LAST)
        if last:
            del self.rx[call_id]
            conn._calls.pop(call_id, None)
            self.tx.pop(call_id, None)
        conn._emit(ResponseData(call_id, stub, bool(flags & _FIRST), last, cancel_count))
