"""Fragmenting stub data into PDUs and reassembling it, with bounded memory.

C706 §12.6.2 / [MS-RPCE] 3.3.1.5.7; protocol-digest §3.1-§3.2.

Sending: a stub is cut into payloads of at most ``payload_size(max_frag, header)`` octets.
FIRST goes on the first fragment, LAST on the last, neither in between; an empty stub is
one FIRST|LAST fragment. ``alloc_hint`` is the number of stub octets *remaining* from this
fragment on, as Windows and Samba send it (the hint is only a hint: impacket sends the
total in every fragment and we accept both).

Receiving: :class:`StubAssembler` appends the stub of each fragment of one call. The limits
are checked *before* anything is kept, so a peer claiming a huge ``alloc_hint`` or sending
10 000 tiny fragments costs at most ``max_stub_size`` octets and ``max_fragments`` list
entries; nothing is ever preallocated from ``alloc_hint``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from .. import status as st
from ..errors import LocalProtocolError, RemoteProtocolError
from .constants import PFC_FIRST_FRAG, PFC_LAST_FRAG, PTYPE

__all__ = ["FragmentLimitError", "ReassemblyBuffer", "StubAssembler", "append_request",
           "append_response", "iter_fragments", "payload_size", "request_parts",
           "response_parts"]

_FIRST, _LAST = int(PFC_FIRST_FRAG), int(PFC_LAST_FRAG)

#: The 24-octet request / response header (C706 §12.6.4.9 / §12.6.4.10: the 16-octet
#: common header, then alloc_hint, p_cont_id and opnum resp. cancel_count + reserved),
#: little-endian drep. Precompiled so that unauthenticated calls, the common case, are
#: framed without building and validating a PDU object per fragment.
REQUEST_HEADER = struct.Struct("<BBBB4sHHIIHH")
RESPONSE_HEADER = struct.Struct("<BBBB4sHHIIHBB")
_DREP_LE = b"\x10\x00\x00\x00"
_REQUEST, _RESPONSE = int(PTYPE.request), int(PTYPE.response)


def _append(out: bytearray, ptype: int, call_id: int, field1: int, field2: int,
            stub: bytes | bytearray | memoryview, payload: int, extra: int) -> bytearray:
    total = len(stub)
    try:
        if total <= payload:  # one fragment: the common small call
            if ptype == _REQUEST:
                out += REQUEST_HEADER.pack(5, 0, ptype, _FIRST | _LAST | extra, _DREP_LE,
                                           24 + total, 0, call_id, total, field1, field2)
            else:
                out += RESPONSE_HEADER.pack(5, 0, ptype, _FIRST | _LAST, _DREP_LE,
                                            24 + total, 0, call_id, total, field1, field2, 0)
            out += stub
            return out
        view = memoryview(stub)
        parts: list[bytes | memoryview] = []
        offset = 0
        while offset < total:
            end = min(offset + payload, total)
            flags = (_FIRST if offset == 0 else 0) | (_LAST if end >= total else 0) | extra
            if ptype == _REQUEST:
                parts.append(REQUEST_HEADER.pack(5, 0, ptype, flags, _DREP_LE,
                                                 24 + end - offset, 0, call_id,
                                                 total - offset, field1, field2))
            else:
                parts.append(RESPONSE_HEADER.pack(5, 0, ptype, flags, _DREP_LE,
                                                  24 + end - offset, 0, call_id,
                                                  total - offset, field1, field2, 0))
            parts.append(view[offset:end])
            offset = end
    except (struct.error, OverflowError, TypeError) as exc:
        raise LocalProtocolError(f"cannot encode {PTYPE(ptype).name} PDU: {exc}") from exc
    # One sized copy of the whole stub (growing the buffer fragment by fragment would
    # reallocate and copy it again and again).
    if not out:
        return bytearray().join(parts)
    out += b"".join(parts)
    return out


def request_parts(call_id: int, p_cont_id: int, opnum: int, stub: bytes | memoryview,
                  payload: int,
                  extra: int = 0) -> list[bytes | memoryview]:
    """The request fragments of ``stub`` as header octets and views of ``stub`` (no copy
    of the stub at all), for a transport that writes them one after the other."""
    parts: list[bytes | memoryview] = []
    view = memoryview(stub)
    total = len(view)
    offset = 0
    try:
        while True:
            end = min(offset + payload, total)
            flags = (_FIRST if offset == 0 else 0) | (_LAST if end >= total else 0) | extra
            parts.append(REQUEST_HEADER.pack(5, 0, _REQUEST, flags, _DREP_LE,
                                             24 + end - offset, 0, call_id, total - offset,
                                             p_cont_id, opnum))
            parts.append(view[offset:end])
            if end >= total:
                return parts
            offset = end
    except (struct.error, OverflowError, TypeError) as exc:
        raise LocalProtocolError(f"cannot encode request PDU: {exc}") from exc


def response_parts(call_id: int, p_cont_id: int, cancel_count: int,
                   stub: bytes | memoryview, payload: int) -> list[bytes | memoryview]:
    """The response fragments of ``stub`` as header octets and views of ``stub``, like
    :func:`request_parts` (octet for octet what :func:`append_response` gives)."""
    parts: list[bytes | memoryview] = []
    view = memoryview(stub)
    total = len(view)
    offset = 0
    try:
        while True:
            end = min(offset + payload, total)
            flags = (_FIRST if offset == 0 else 0) | (_LAST if end >= total else 0)
            parts.append(RESPONSE_HEADER.pack(5, 0, _RESPONSE, flags, _DREP_LE,
                                              24 + end - offset, 0, call_id, total - offset,
                                              p_cont_id, cancel_count, 0))
            parts.append(view[offset:end])
            if end >= total:
                return parts
            offset = end
    except (struct.error, OverflowError, TypeError) as exc:
        raise LocalProtocolError(f"cannot encode response PDU: {exc}") from exc


def append_request(out: bytearray, call_id: int, p_cont_id: int, opnum: int,
                   stub: bytes | bytearray | memoryview, payload: int, extra: int = 0
                   ) -> bytearray:
    """``out`` followed by the request fragments of ``stub`` (no object UUID, no verifier):
    octet for octet what ``Request(...).encode()`` per :func:`iter_fragments` chunk gives.
    The result may be a new buffer (when ``out`` was empty): use it instead of ``out``."""
    return _append(out, _REQUEST, call_id, p_cont_id, opnum, stub, payload, extra)


def append_response(out: bytearray, call_id: int, p_cont_id: int, cancel_count: int,
                    stub: bytes | bytearray | memoryview, payload: int) -> bytearray:
    """``out`` followed by the response fragments of ``stub`` (no verifier), as
    ``Response(...).encode()`` would; like :func:`append_request`, use the result."""
    return _append(out, _RESPONSE, call_id, p_cont_id, cancel_count, stub, payload, 0)


class FragmentLimitError(RemoteProtocolError):
    """A call exceeded ``max_stub_size`` or ``max_fragments``.

    The status is rpc_s_access_denied, what Samba answers for an oversize request or
    ``alloc_hint`` (dcesrv_core.c, protocol-digest §3.1) before disconnecting.
    """

    status = st.RPC_S_ACCESS_DENIED


def payload_size(max_frag: int, header: int, trailer: int = 0) -> int:
    """Stub octets per fragment for fragments of at most ``max_frag`` octets.

    ``header`` is 24 (request/response) or 40 (request with object UUID); ``trailer`` the
    per-fragment auth overhead (pad + sec_trailer + signature). Rounded down to 16 so that
    a sealed fragment's pad never pushes it past ``max_frag`` (Samba dcesrv_reply.c).
    """
    room = max_frag - header - trailer
    if room < 16:
        raise ValueError(f"max_frag {max_frag} leaves no room for stub data")
    return room & ~15


def iter_fragments(stub: bytes, payload: int) -> Iterator[tuple[int, int, bytes]]:
    """``(pfc_flags, alloc_hint, chunk)`` for each fragment of ``stub``."""
    total = len(stub)
    view = memoryview(stub)
    offset = 0
    while True:
        chunk = view[offset:offset + payload]
        end = offset + len(chunk)
        flags = (_FIRST if offset == 0 else 0) | (_LAST if end >= total else 0)
        yield flags, total - offset, bytes(chunk)
        if end >= total:
            return
        offset = end


#: Received buffers a call's views may keep alive beyond ``max_stub_size`` (two of the
#: transport's 256 KiB reads: the partly used ones at either end).
_PIN_SLACK = 1 << 19


class StubAssembler:
    """The stub of one call, assembled from its fragments (stub offset 0 = first octet of
    the first fragment's stub: NDR alignment is computed on the whole, C706 §14.2.2)."""

    __slots__ = ("_last_owner", "_parts", "_pinned", "count", "max_fragments",
                 "max_stub_size", "size")

    def __init__(self, max_stub_size: int, max_fragments: int, alloc_hint: int = 0) -> None:
        if alloc_hint > max_stub_size:
            raise FragmentLimitError(
                f"alloc_hint {alloc_hint} exceeds the limit of {max_stub_size} octets")
        self.max_stub_size, self.max_fragments = max_stub_size, max_fragments
        self._parts: list[bytes | memoryview] = []
        self.size = 0
        self.count = 0
        #: octets of the buffers the kept views point into, and the last such buffer
        self._pinned = 0
        self._last_owner: object = None

    def append(self, data: bytes | memoryview) -> None:
        if self.count + 1 > self.max_fragments:
            raise FragmentLimitError(f"call exceeds {self.max_fragments} fragments")
        if self.size + len(data) > self.max_stub_size:
            raise FragmentLimitError(
                f"reassembled stub exceeds the limit of {self.max_stub_size} octets")
        self.count += 1
        self.size += len(data)
        if type(data) is memoryview:
            # A view keeps its whole buffer alive (a received chunk holds several
            # fragments, and more besides): count those buffers, and past the stub limit
            # plus a little slack keep copies instead, so that the memory a call can
            # hold stays bounded by max_stub_size, as the module docstring promises.
            owner = data.obj
            if owner is not self._last_owner:
                self._last_owner = owner
                self._pinned += len(owner)  # type: ignore[arg-type]
            if self._pinned > self.max_stub_size + _PIN_SLACK:
                data = bytes(data)
        if data:
            self._parts.append(data)

    def take(self, reuse: ReassemblyBuffer | None = None) -> bytes | memoryview:
        """The whole stub; the assembler is empty afterwards.  With ``reuse`` (the
        connection's :class:`ReassemblyBuffer`) a large stub of several fragments is a
        read-only view of that buffer, valid until the next call is reassembled."""
        parts = self._parts
        if reuse is not None and self.size >= _REUSE_MIN and len(parts) > 1:
            self._parts = []
            return reuse.fill(parts, self.size)
        if len(parts) == 1 and isinstance(parts[0], bytes):
            out = parts[0]
        else:  # one copy of everything, whatever the number of fragments
            out = b"".join(parts)
        self._parts = []
        return out


#: Stubs from this size on are reassembled into the connection's reusable buffer (when
#: its driver opted in): below it a fresh ``bytes`` costs no page faults worth saving.
_REUSE_MIN = 1 << 20


class ReassemblyBuffer:
    """One connection's buffer for its large reassembled stubs, reused call after call.

    A fresh 16 MiB ``bytes`` per call costs ~4,000 page faults (more than the copy into
    it), and the decoded value is a second such buffer: the allocator hands back heap
    memory of that size only while little of it is freed at once, so two per call are
    returned to the system and faulted in again every time.  A driver that is done with
    each request's (response's) stub before it asks the connection for the next event
    — it decodes the stub at once, copying every value out — sets
    ``conn.stub_buffer = ReassemblyBuffer()``; :meth:`StubAssembler.take` then copies the
    fragments here instead.  The buffer is at most the largest stub received (bounded
    by ``max_stub_size``) and goes away with the connection.
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf: bytearray | None = None

    def fill(self, parts: list[bytes | memoryview], size: int) -> memoryview:
        """Copy ``parts`` (``size`` octets in all) to the front of the buffer; a read-only
        view of them.  A larger stub gets a new buffer (never a resize: an earlier view
        may still be alive, and a resize would fail with BufferError)."""
        buf = self._buf
        if buf is None or len(buf) < size:
            buf = self._buf = bytearray(size)
        view = memoryview(buf)
        pos = 0
        for part in parts:
            end = pos + len(part)
            view[pos:end] = part
            pos = end
        return view[:pos].toreadonly()
