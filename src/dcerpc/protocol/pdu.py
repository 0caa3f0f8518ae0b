"""The connection-oriented PDU codec (C706 ch. 12, [MS-RPCE] 2.2.2): values ⇄ octets.

Pure functions over bytes: no I/O, no clock, no state beyond :class:`PduReader`'s buffer.

* Every PDU is a frozen, slotted dataclass with the specification's field names; its
  ``encode()`` returns the octets with ``frag_length`` and ``auth_length`` computed.
* :func:`decode_pdu` takes exactly one PDU (``len(data) == frag_length``), dispatches on
  ``PTYPE``, honours ``packed_drep`` (big-endian peers decode; we encode little-endian
  unless told otherwise) and raises :class:`~dcerpc.errors.RemoteProtocolError` — and
  nothing else — for every malformed input.
* :class:`PduReader` cuts a byte stream into PDUs by ``frag_length`` with bounded memory.

Decoding is strict about structure (counts, lengths, versions, drep) and lenient about
content the protocol core judges (flags, reserved fields, unknown result codes, context
ids), following "emit strictly, accept anything well-formed" (protocol-digest §1.12).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from ..errors import RemoteProtocolError
from ._pdu_base import (
    COMMON_HEADER_SIZE,
    MAX_FRAG_LENGTH,
    SEC_TRAILER_SIZE,
    AuthVerifier,
    Pdu,
    _Reader,
    decode_auth_verifier,
    drep_endian,
)
from ._pdu_bind import (
    AlterContext,
    AlterContextResp,
    Bind,
    BindAck,
    BindNak,
    ContextElement,
    ContextResult,
)
from ._pdu_call import Auth3, CoCancel, Fault, Orphaned, Request, Response, Shutdown
from .constants import CO_PTYPES, PTYPE, PfcFlags

__all__ = [
    "COMMON_HEADER_SIZE",
    "MAX_FRAG_LENGTH",
    "PDU_CLASSES",
    "SEC_TRAILER_SIZE",
    "AlterContext",
    "AlterContextResp",
    "Auth3",
    "AuthVerifier",
    "Bind",
    "BindAck",
    "BindNak",
    "CoCancel",
    "ContextElement",
    "ContextResult",
    "Fault",
    "Orphaned",
    "Pdu",
    "PduReader",
    "Request",
    "Response",
    "Shutdown",
    "decode_pdu",
]

#: PTYPE -> PDU class, for every connection-oriented type this codec knows.
PDU_CLASSES: dict[PTYPE, type[Pdu]] = {
    cls.PTYPE: cls
    for cls in (Request, Response, Fault, Bind, BindAck, BindNak, AlterContext,
                AlterContextResp, Auth3, Shutdown, CoCancel, Orphaned)
}
assert set(PDU_CLASSES) == CO_PTYPES

_COMMON = {e: struct.Struct(e + "BBBB4sHHI") for e in "<>"}
#: Every pfc_flags octet as a PfcFlags, built once (constructing IntFlags is slow).
_FLAGS = tuple(PfcFlags(i) for i in range(256))


def decode_pdu(data: bytes | bytearray | memoryview) -> Pdu:
    """Decode one complete connection-oriented PDU.

    Raises :class:`RemoteProtocolError` with a message naming the offending field for
    anything malformed; any other exception escaping from here is a bug.
    """
    data = bytes(data)
    if len(data) < COMMON_HEADER_SIZE:
        raise RemoteProtocolError(
            f"short PDU: {len(data)} octets, the common header alone is {COMMON_HEADER_SIZE}")
    rpc_vers, rpc_vers_minor, ptype, pfc_flags, drep = data[0], data[1], data[2], data[3], data[4:8]
    if rpc_vers != 5:
        raise RemoteProtocolError(f"rpc_vers {rpc_vers} is not 5")
    if rpc_vers_minor not in (0, 1):
        raise RemoteProtocolError(f"rpc_vers_minor {rpc_vers_minor} is not 0 or 1")
    endian = drep_endian(drep)
    cls = _pdu_class(ptype)
    *_, frag_length, auth_length, call_id = _COMMON[endian].unpack_from(data)
    if frag_length != len(data):
        raise RemoteProtocolError(
            f"frag_length {frag_length} does not match the {len(data)} octets given")
    body_start = cls._body_start(pfc_flags)
    if frag_length < body_start:
        raise RemoteProtocolError(
            f"{cls.PTYPE.name} PDU of {frag_length} octets is shorter than its "
            f"{body_start}-octet header")
    verifier, body_end = None, frag_length
    if auth_length:
        verifier, body_end = decode_auth_verifier(data, frag_length, auth_length, endian,
                                                  body_start)
    common: dict[str, object] = {
        "call_id": call_id, "pfc_flags": _FLAGS[pfc_flags], "rpc_vers_minor": rpc_vers_minor,
        "packed_drep": drep, "auth_verifier": verifier,
    }
    return cls._decode_body(_Reader(data, COMMON_HEADER_SIZE, body_end, endian), common)


def _pdu_class(ptype: int) -> type[Pdu]:
    cls = PDU_CLASSES.get(ptype)  # type: ignore[call-overload]
    if cls is not None:
        return cls
    try:
        name = PTYPE(ptype).name
    except ValueError:
        raise RemoteProtocolError(f"unknown PTYPE {ptype}") from None
    raise RemoteProtocolError(f"PTYPE {ptype} ({name}) is not a connection-oriented PDU")


# --------------------------------------------------------------------------- framing
class PduReader:
    """Sans-IO framer: feed it byte chunks, take complete PDUs (as ``bytes``) out.

    ``max_frag_length`` bounds memory: a header claiming a larger ``frag_length`` raises
    :class:`RemoteProtocolError` as soon as its first 10 octets are seen — before
    waiting for (or buffering beyond) what the caller already handed in. Use the
    ``max_recv_frag`` negotiated at bind time once it is known.

    Usage::

        reader.receive_data(chunk)
        for pdu_bytes in reader:        # every PDU now complete, in order
            handle(decode_pdu(pdu_bytes))
        ...
        reader.receive_data(b"")        # EOF: raises if a PDU was cut short
    """

    def __init__(self, max_frag_length: int = MAX_FRAG_LENGTH) -> None:
        if not COMMON_HEADER_SIZE <= max_frag_length <= MAX_FRAG_LENGTH:
            raise ValueError(f"max_frag_length must be in [{COMMON_HEADER_SIZE}, "
                             f"{MAX_FRAG_LENGTH}], got {max_frag_length}")
        self.max_frag_length = max_frag_length
        self._buffer = bytearray()
        self._eof = False

    @property
    def buffered(self) -> int:
        """Octets received but not yet returned as part of a PDU."""
        return len(self._buffer)

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Append a chunk; an empty chunk means end of stream (wsproto/h11 convention)."""
        if self._eof and data:
            raise RuntimeError("receive_data after end of stream")
        if not data:
            self._eof = True
            if self._buffer:
                raise RemoteProtocolError(
                    f"stream ended inside a PDU ({len(self._buffer)} octets pending)")
            return
        self._buffer += data
        self._pending_length()

    def next_pdu(self) -> bytes | None:
        """The next complete PDU, or None until more data arrives."""
        need = self._pending_length()
        if need is None or len(self._buffer) < need:
            return None
        pdu = bytes(self._buffer[:need])
        del self._buffer[:need]
        return pdu

    def __iter__(self) -> Iterator[bytes]:
        while (pdu := self.next_pdu()) is not None:
            yield pdu

    def _pending_length(self) -> int | None:
        """frag_length of the PDU at the front of the buffer, checked; None if unknown yet."""
        buf = self._buffer
        if buf and buf[0] != 5:
            raise RemoteProtocolError(f"rpc_vers {buf[0]} is not 5: not a DCE/RPC stream")
        if len(buf) < 10:
            return None
        endian = drep_endian(bytes(buf[4:8]))
        (frag_length,) = struct.unpack_from(endian + "H", buf, 8)
        if frag_length < COMMON_HEADER_SIZE:
            raise RemoteProtocolError(f"frag_length {frag_length} is shorter than the header")
        if frag_length > self.max_frag_length:
            raise RemoteProtocolError(
                f"frag_length {frag_length} exceeds the limit of {self.max_frag_length}")
        return int(frag_length)
