"""What the client and server state machines share: buffering, the event queue, the
error discipline and the timer plumbing.

Theory of operation
-------------------
The core is sans-IO (DESIGN.md §3, style-anchors §11.3): the driver feeds octets with
``receive_data(data)`` (``b""`` = EOF), pulls events with ``next_event()`` until it returns
``NEED_DATA``, writes whatever ``data_to_send()`` returns, and arms one timer at
``get_timer()``, calling ``handle_timer(now)`` when it fires. Methods that start a timer
take an optional ``now``; without one the timer is simply not armed.

PDUs are cut from the stream by :class:`PduReader` (bounded by our ``max_recv_frag``) and
decoded lazily, one per ``next_event`` step, so a driver controls how much work a burst
of input causes (h11 ``next_event``).

Errors: anything the peer does wrong raises :class:`RemoteProtocolError` out of
``receive_data``/``next_event``; the connection is then in ``ERROR`` for good, and
``data_to_send()`` may still hold the last words the spec requires (a fault
``nca_s_proto_error`` or a bind_nak, C706 §12.4 / protocol-digest §3.4-§3.5) which the
driver writes before closing the transport. Any other exception escaping those two
methods is a bug. Caller misuse raises :class:`LocalProtocolError` and changes nothing.
"""

from __future__ import annotations

import enum
import struct
from collections import deque
from typing import Any

from .. import status as st
from ..errors import LocalProtocolError, RemoteProtocolError
from ._config import ConnectionConfig
from ._fragments import ReassemblyBuffer
from ._pdu_base import drep_endian
from ._security import SecurityHook
from .events import NEED_DATA, ConnectionClosed, Event, NeedData
from .pdu import Pdu, PduReader, decode_pdu

__all__ = ["ConnectionBase", "ConnectionState"]


class ConnectionState(enum.Enum):
    """Association states (C706 §12.3 / §12.5, simplified to what a caller can observe)."""

    IDLE = "IDLE"  # client: not bound yet; server: waiting for the bind
    BINDING = "BINDING"  # client: bind sent, no bind_ack yet
    BOUND = "BOUND"  # association established: calls may flow
    CLOSED = "CLOSED"  # orderly end (EOF, bind_nak, timer, close())
    ERROR = "ERROR"  # the peer broke the protocol; nothing more is accepted

    def __repr__(self) -> str:
        return self.value


#: Win32 protocol-level statuses → the NCA status that goes into a fault PDU
#: ([MS-RPCE] 2.2.2.8 / protocol-digest §3.4).
_WIRE_STATUS = {
    st.RPC_S_PROTOCOL_ERROR: st.nca_s_proto_error,
    st.RPC_S_CALL_FAILED: st.nca_s_proto_error,
}


_LE_U32 = struct.Struct("<I")


class _Framer(PduReader):
    """:class:`PduReader` that cuts PDUs straight out of the chunk the transport handed
    in, with a shortcut for the usual header (rpc_vers 5, little-endian ASCII/IEEE drep).

    A chunk is kept as it is (``bytes`` are immutable, so views of it stay valid); only
    a PDU cut short at its end is moved to the base class's buffer to wait for the rest.
    A PDU that is all of a chunk is returned as that very object, one inside a chunk as
    a copy — except a large fragment of a multi-fragment request/response, which is
    returned as a ``memoryview`` of the chunk: the call's reassembly copies its stub once
    anyway (:class:`~._fragments.StubAssembler`), so a 16 MiB call is not also copied
    into a stream buffer and out again fragment by fragment. Anything else goes the
    checked general way of :class:`PduReader`.
    """

    def __init__(self, max_frag_length: int) -> None:
        super().__init__(max_frag_length)
        self._chunk: bytes = b""
        self._pos = 0

    @property
    def buffered(self) -> int:
        return len(self._buffer) + len(self._chunk) - self._pos

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        if not data or type(data) is not bytes or self._eof or self._pos < len(self._chunk):
            self._spill()
            super().receive_data(data)
            return
        buf, pos = self._buffer, 0
        if buf:
            # A PDU cut short by the previous chunk: complete it from this one (copying
            # only its missing part), and keep the rest of this chunk as it is.
            if len(buf) < 10:
                pos = min(10 - len(buf), len(data))
                buf += data[:pos]
            need = self._pending_length()
            if need is not None and len(buf) < need:
                take = min(need - len(buf), len(data) - pos)
                with memoryview(data) as view:
                    buf += view[pos:pos + take]
                pos += take
        self._chunk, self._pos = data, pos
        if not buf:
            self._chunk_length()  # header checks as soon as the octets are there

    def _spill(self) -> None:
        """Move the unread rest of the chunk to the buffer (a PDU cut short)."""
        chunk, pos = self._chunk, self._pos
        if pos < len(chunk):
            self._buffer += memoryview(chunk)[pos:]
        self._chunk, self._pos = b"", 0

    def _chunk_length(self) -> int | None:
        """frag_length of the PDU at the front of the chunk, checked; None if unknown."""
        buf, pos = self._chunk, self._pos
        if len(buf) - pos >= 10 and buf[pos] == 5 and buf[pos + 4] == 0x10 \
                and buf[pos + 5] == 0:
            frag_length = buf[pos + 8] | buf[pos + 9] << 8
            if 16 <= frag_length <= self.max_frag_length:
                return frag_length
        # Unusual or short header: let the general check judge these octets (at most
        # one header's worth is looked at, the chunk itself stays as it is).
        head = PduReader(self.max_frag_length)
        head._buffer = bytearray(buf[pos:pos + 10])
        return head._pending_length()

    def _pending_length(self) -> int | None:
        buf = self._buffer
        if len(buf) >= 10 and buf[0] == 5 and buf[4] == 0x10 and buf[5] == 0:
            frag_length = buf[8] | buf[9] << 8
            if 16 <= frag_length <= self.max_frag_length:
                return frag_length
        return super()._pending_length()

    def next_pdu(self) -> bytes | None:  # type: ignore[override]
        buf = self._buffer
        if buf:  # what waits in the buffer comes before the chunk
            need = self._pending_length()
            if (need is None or len(buf) < need) and self._pos < len(self._chunk):
                self._spill()
                need = self._pending_length()
            if need is None or len(buf) < need:
                return None
            if need == len(buf):
                if need > _VIEW_MIN and buf[2] in _FRAGMENTED and buf[3] & 3 != 3:
                    # A large fragment that straddled two chunks: hand out the buffer
                    # it was completed in (the call's reassembly copies its stub once
                    # anyway) instead of copying it to ``bytes`` first; the framer
                    # starts a new buffer, so the view stays valid.
                    self._buffer = bytearray()
                    return memoryview(buf).toreadonly()  # type: ignore[return-value]
                pdu = bytes(buf)
                buf.clear()
                return pdu
            view = memoryview(buf)
            try:
                pdu = view[:need].tobytes()
            finally:
                view.release()
            del buf[:need]  # O(1) at the front of a bytearray
            return pdu
        chunk, pos = self._chunk, self._pos
        if pos >= len(chunk):
            return None
        # _chunk_length's usual case inline (this runs once per PDU)
        if len(chunk) - pos >= 10 and chunk[pos] == 5 and chunk[pos + 4] == 0x10 \
                and chunk[pos + 5] == 0 \
                and 16 <= (need := chunk[pos + 8] | chunk[pos + 9] << 8) \
                <= self.max_frag_length:
            pass
        else:
            need = self._chunk_length()
        end = pos + need if need is not None else 0
        if need is None or end > len(chunk):
            self._spill()  # wait for the rest of this PDU
            return None
        self._pos = end
        if pos == 0 and end == len(chunk):
            return chunk
        if need > _VIEW_MIN and chunk[pos + 2] in _FRAGMENTED and chunk[pos + 3] & 3 != 3:
            return memoryview(chunk)[pos:end]  # type: ignore[return-value]
        return chunk[pos:end]


#: Fragments above this size may be handed out as views of the received chunk (above).
_VIEW_MIN = 4096
#: request and response: the PDUs whose fragments are reassembled into a stub.
_FRAGMENTED = (0, 2)


def _peek_call_id(raw: bytes) -> int:
    """The header's call_id even when the rest of the PDU will not decode (0 if unknown)."""
    try:
        endian = drep_endian(raw[4:8])
    except RemoteProtocolError:
        return 0
    return int(struct.unpack_from(endian + "I", raw, 12)[0]) if len(raw) >= 16 else 0


def wire_status(exc: RemoteProtocolError) -> int:
    return _WIRE_STATUS.get(exc.status, exc.status)


class ConnectionBase:
    """Shared plumbing; see the module docstring."""

    def __init__(self, config: ConnectionConfig | None, auth: SecurityHook | None,
                 now: float | None) -> None:
        self.config = config if config is not None else ConnectionConfig()
        self.auth = auth
        self.state = ConnectionState.IDLE
        #: Negotiated fragment sizes (ours until the bind settles them).
        self.max_xmit_frag = self.config.max_xmit_frag
        self.max_recv_frag = self.config.max_recv_frag
        self.conc_mpx = False
        self._reader = _Framer(self.config.max_recv_frag)
        #: Opt-in by the driver (see :class:`~._fragments.ReassemblyBuffer`): large stubs
        #: of several fragments are then views of this reused buffer, each valid until
        #: the driver asks for the next event after the one that carried it.
        self.stub_buffer: ReassemblyBuffer | None = None
        self._events: deque[Event] = deque()
        self._out = bytearray()
        #: Output queued before ``_out`` as separate buffers (large stubs, not copied).
        self._parts: list[bytes | bytearray | memoryview] = []
        self._eof = False
        self._last_activity = now
        #: call_id and first header octets of the PDU being handled, so that the final
        #: fault or bind_nak can answer it even when it does not decode.
        self._current_call_id = 0
        self._current_header = b""

    # -- public sans-IO surface ----------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once the connection is CLOSED or in ERROR: nothing more is processed."""
        return self.state in (ConnectionState.CLOSED, ConnectionState.ERROR)

    def receive_data(self, data: bytes | bytearray | memoryview, now: float | None = None
                     ) -> None:
        """Feed octets from the transport; ``b""`` means the peer closed (EOF).

        Data after the connection closed is discarded (the driver may still be draining).
        """
        if now is not None:
            self._last_activity = now
        if self.closed or self._eof:
            return
        if not data:
            self._eof = True
            return
        try:
            self._reader.receive_data(data)
        except RemoteProtocolError as exc:
            self._current_call_id, self._current_header = 0, b""
            self._fail(exc)
            raise

    def note_activity(self, now: float) -> None:
        """Octets arrived at ``now`` that a driver's batch path consumed itself, without
        :meth:`receive_data` (see ``batch_ready`` of the subclasses): the idle timer
        counts them."""
        self._last_activity = now

    def next_event(self) -> Event | NeedData:
        """The next event, or ``NEED_DATA``.

        Raises :class:`RemoteProtocolError` when the peer broke the protocol (and again on
        every later call); any other exception is a bug.
        """
        if self._events:
            return self._events.popleft()
        if self.state is ConnectionState.ERROR:
            raise RemoteProtocolError("connection is in ERROR after a protocol violation")
        try:
            while not self._events:
                if self.state is ConnectionState.CLOSED:
                    return NEED_DATA
                self._current_call_id, self._current_header = 0, b""
                raw = self._reader.next_pdu()
                if raw is None:
                    if not self._eof:
                        return NEED_DATA
                    if self._reader.buffered:
                        raise RemoteProtocolError(
                            f"stream ended inside a PDU ({self._reader.buffered} octets)")
                    self._close("eof")
                    break
                self._current_header = bytes(raw[:4])
                # Fast path: an unauthenticated little-endian request/response (the bulk
                # of all traffic) is handled from its 24-octet header without building a
                # PDU object; everything else takes the general decoder.
                if (raw[4] == 0x10 and raw[5] == 0 and raw[1] <= 1 and len(raw) >= 24
                        and not raw[10] and not raw[11] and raw[2] in self._fast_ptypes):
                    self._current_call_id = _LE_U32.unpack_from(raw, 12)[0]
                    if self._handle_fast(raw):
                        continue
                if type(raw) is not bytes:  # a view of a large fragment (see _Framer)
                    raw = bytes(raw)
                self._current_call_id = _peek_call_id(raw)
                pdu = decode_pdu(raw)
                self._handle_pdu(pdu, raw)
        except RemoteProtocolError as exc:
            self._fail(exc)
            raise
        return self._events.popleft()

    def data_to_send(self) -> bytes:
        """Octets to write to the transport, in order; ``b""`` when there are none."""
        if self._parts:
            return b"".join(self.take_parts())
        if not self._out:
            return b""
        out = bytes(self._out)
        self._out.clear()
        return out

    def take_parts(self) -> list[bytes | bytearray | memoryview]:
        """Like :meth:`data_to_send`, as a list of buffers to write in order, handed over
        without copying (the caller owns them; empty when there is nothing to send). A
        multi-megabyte stub is never copied into one buffer on its way out this way."""
        parts, out = self._parts, self._out
        if out:
            parts.append(out)
            self._out = bytearray()
        if parts:
            self._parts = []
        return parts

    def _queue_parts(self, parts: list[bytes | memoryview]) -> None:
        """Queue buffers after everything queued so far (see :meth:`take_parts`)."""
        if self._out:
            self._parts.append(self._out)
            self._out = bytearray()
        self._parts += parts

    @property
    def pending_calls(self) -> tuple[int, ...]:
        """Call ids still in progress; after a RemoteProtocolError the call engine fails
        each of them (DESIGN.md §6: every call ends exactly once)."""
        return self._pending_calls()

    def get_timer(self) -> float | None:
        """The earliest deadline the driver should call ``handle_timer`` at, or None."""
        if self.closed:
            return None
        deadlines = [d for d, _kind, _key in self._deadlines()]
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> None:
        """Fire every timer whose deadline is ≤ ``now`` (events and PDUs may follow)."""
        for deadline, kind, key in sorted(self._deadlines(), key=lambda t: t[0]):
            if deadline <= now and not self.closed:
                self._on_timer(kind, key, now)

    def close(self) -> None:
        """Local close: stop processing. No event is emitted for what the caller did."""
        if not self.closed:
            self.state = ConnectionState.CLOSED
            self._release()

    # -- for subclasses ------------------------------------------------------------
    def _handle_pdu(self, pdu: Pdu, raw: bytes) -> None:
        raise NotImplementedError

    #: PTYPEs :meth:`_handle_fast` may take (the subclass's inbound call PDU).
    _fast_ptypes: frozenset[int] = frozenset()

    def _handle_fast(self, raw: bytes) -> bool:
        """Handle an unauthenticated little-endian call PDU straight from its octets;
        False to fall back to :func:`decode_pdu` + :meth:`_handle_pdu`."""
        return False

    def _deadlines(self) -> list[tuple[float, str, Any]]:
        return []

    def _on_timer(self, kind: str, key: Any, now: float) -> None:
        raise NotImplementedError

    def _pending_calls(self) -> tuple[int, ...]:
        return ()

    def _final_words(self, exc: RemoteProtocolError) -> bytes:
        """What the spec wants sent before closing after ``exc`` (server: fault/bind_nak)."""
        return b""

    def _release(self) -> None:
        """Drop per-connection resources (association group membership, buffers)."""
        self.stub_buffer = None

    def _idle_deadline(self, busy: bool) -> list[tuple[float, str, Any]]:
        timeout = self.config.idle_timeout
        if (timeout is None or busy or self._last_activity is None
                or self.state is not ConnectionState.BOUND):
            return []
        return [(self._last_activity + timeout, "idle", None)]

    def _emit(self, event: Event) -> None:
        self._events.append(event)

    def _send(self, pdu: Pdu) -> None:
        self._out += pdu.encode()

    def _close(self, reason: str) -> None:
        pending = self._pending_calls()
        self.state = ConnectionState.CLOSED
        self._release()
        self._emit(ConnectionClosed(reason, pending))

    def _fail(self, exc: RemoteProtocolError) -> None:
        if self.state is ConnectionState.ERROR:
            return
        self._out += self._final_words(exc)
        self.state = ConnectionState.ERROR
        self._release()

    def _require(self, *states: ConnectionState, action: str) -> None:
        if self.state not in states:
            raise LocalProtocolError(f"cannot {action} in state {self.state.value}")
