"""Call PDUs (request, response, fault) and the small control PDUs (rpc_auth_3, shutdown,
co_cancel, orphaned).

C706 §12.6.4.6-12.6.4.12, [MS-RPCE] 2.2.2.8 and 2.2.2.10; layouts in protocol-digest
§1.8-1.11. Stub data is opaque here: fragmentation and reassembly belong to the protocol
core.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field
from typing import ClassVar

from ..errors import LocalProtocolError, RemoteProtocolError
from ._pdu_base import COMMON_HEADER_SIZE, Pdu, _Reader, uuid_to_wire
from .constants import (
    PFC_DID_NOT_EXECUTE,
    PFC_OBJECT_UUID,
    PTYPE,
    RPC_FAULT_FLAG_EXTENDED_ERROR,
)

__all__ = ["Auth3", "CoCancel", "Fault", "Orphaned", "Request", "Response", "Shutdown"]

_OBJECT_UUID = int(PFC_OBJECT_UUID)


def _stub_auth_pad(stub_length: int) -> int:
    """[MS-RPCE] 2.2.2.11: sec_trailer 16-aligned from the start of the stub (as Samba's
    DCERPC_AUTH_PAD_ALIGNMENT); what Windows and Samba emit and every peer accepts."""
    return -stub_length % 16


@dataclass(frozen=True, slots=True, kw_only=True)
class Request(Pdu):
    """request (PTYPE 0): C706 §12.6.4.9; digest §1.8.

    ``object`` is the optional object UUID (DCOM: the IPID). Its presence and
    ``PFC_OBJECT_UUID`` in ``pfc_flags`` always agree: construction sets or clears the flag
    to match ``object``.
    """

    PTYPE: ClassVar[PTYPE] = PTYPE.request
    FIXED_BODY: ClassVar[int] = 8

    alloc_hint: int = 0
    p_cont_id: int = 0
    opnum: int = 0
    object: uuid.UUID | None = None
    stub_data: bytes = b""

    def __post_init__(self) -> None:
        # Plain int arithmetic: IntFlag operators cost microseconds on the hot path.
        flags = int(self.pfc_flags) & ~_OBJECT_UUID
        if self.object is not None:
            flags |= _OBJECT_UUID
        if flags != self.pfc_flags:
            object.__setattr__(self, "pfc_flags", flags)
        Pdu.__post_init__(self)

    def _encode_body(self, endian: str) -> bytes:
        head = struct.pack(endian + "IHH", self.alloc_hint, self.p_cont_id, self.opnum)
        if self.object is not None:
            head += uuid_to_wire(self.object, endian)
        return head + bytes(self.stub_data)

    def _default_auth_pad(self) -> int:
        return _stub_auth_pad(len(self.stub_data))

    @classmethod
    def _body_start(cls, pfc_flags: int) -> int:
        return COMMON_HEADER_SIZE + cls.FIXED_BODY + (16 if pfc_flags & _OBJECT_UUID else 0)

    @classmethod
    def _decode_body(cls, r: _Reader, common: dict[str, object]) -> Pdu:
        alloc_hint, p_cont_id, opnum = r.unpack("IHH", "request header")
        flags = int(common["pfc_flags"])  # type: ignore[call-overload]
        obj = r.uuid("object") if flags & _OBJECT_UUID else None
        return cls(alloc_hint=alloc_hint, p_cont_id=p_cont_id, opnum=opnum, object=obj,
                   stub_data=r.rest(), **common)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class Response(Pdu):
    """response (PTYPE 2): C706 §12.6.4.10; digest §1.9."""

    PTYPE: ClassVar[PTYPE] = PTYPE.response
    FIXED_BODY: ClassVar[int] = 8

    alloc_hint: int = 0
    p_cont_id: int = 0
    cancel_count: int = 0
    stub_data: bytes = b""
    reserved: int = field(default=0, repr=False)

    def _encode_body(self, endian: str) -> bytes:
        return struct.pack(endian + "IHBB", self.alloc_hint, self.p_cont_id, self.cancel_count,
                           self.reserved) + bytes(self.stub_data)

    def _default_auth_pad(self) -> int:
        return _stub_auth_pad(len(self.stub_data))

    @classmethod
    def _decode_body(cls, r: _Reader, common: dict[str, object]) -> Pdu:
        alloc_hint, p_cont_id, cancel_count, reserved = r.unpack("IHBB", "response header")
        return cls(alloc_hint=alloc_hint, p_cont_id=p_cont_id, cancel_count=cancel_count,
                   reserved=reserved, stub_data=r.rest(), **common)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault(Pdu):
    """fault (PTYPE 3): C706 §12.6.4.7 + [MS-RPCE] 2.2.2.8; digest §1.10.

    ``reserved`` is the octet [MS-RPCE] turns into flags (bit 0 = extended error
    information in the stub). ``alloc_hint`` defaults to 32, the whole PDU, as Windows and
    Samba send it. Add ``PFC_DID_NOT_EXECUTE`` to ``pfc_flags`` for calls that never ran.
    """

    PTYPE: ClassVar[PTYPE] = PTYPE.fault
    FIXED_BODY: ClassVar[int] = 16

    alloc_hint: int = 32
    p_cont_id: int = 0
    cancel_count: int = 0
    status: int = 0
    stub_data: bytes = b""
    reserved: int = 0
    reserved2: int = field(default=0, repr=False)

    @property
    def did_not_execute(self) -> bool:
        return bool(self.pfc_flags & PFC_DID_NOT_EXECUTE)

    @property
    def extended_error_present(self) -> bool:
        return bool(self.reserved & RPC_FAULT_FLAG_EXTENDED_ERROR)

    def _encode_body(self, endian: str) -> bytes:
        return struct.pack(endian + "IHBBII", self.alloc_hint, self.p_cont_id,
                           self.cancel_count, self.reserved, self.status,
                           self.reserved2) + bytes(self.stub_data)

    def _default_auth_pad(self) -> int:
        return _stub_auth_pad(len(self.stub_data))

    @classmethod
    def _decode_body(cls, r: _Reader, common: dict[str, object]) -> Pdu:
        alloc_hint, p_cont_id, cancel_count, reserved, status, reserved2 = r.unpack(
            "IHBBII", "fault header")
        return cls(alloc_hint=alloc_hint, p_cont_id=p_cont_id, cancel_count=cancel_count,
                   reserved=reserved, status=status, reserved2=reserved2,
                   stub_data=r.rest(), **common)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class Auth3(Pdu):
    """rpc_auth_3 (PTYPE 16): [MS-RPCE] 2.2.2.10; digest §1.11.

    Four ``pad`` octets ("any arbitrary value", impacket sends spaces), then the
    sec_trailer; ``auth_length`` MUST be non-zero, so ``auth_verifier`` is required.
    """

    PTYPE: ClassVar[PTYPE] = PTYPE.rpc_auth_3
    FIXED_BODY: ClassVar[int] = 4

    pad: bytes = bytes(4)

    def _encode_body(self, endian: str) -> bytes:
        if self.auth_verifier is None or not self.auth_verifier.auth_value:
            raise LocalProtocolError("rpc_auth_3 needs an auth_verifier with an auth_value "
                                     "([MS-RPCE] 2.2.2.10)")
        if len(self.pad) != 4:
            raise LocalProtocolError(f"rpc_auth_3 pad must be 4 octets, got {len(self.pad)}")
        return bytes(self.pad)

    @classmethod
    def _decode_body(cls, r: _Reader, common: dict[str, object]) -> Pdu:
        if common["auth_verifier"] is None:
            raise RemoteProtocolError("rpc_auth_3 with auth_length 0 ([MS-RPCE] 2.2.2.10)")
        return cls(pad=r.take(4, "rpc_auth_3 pad"), **common)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class _HeaderOnly(Pdu):
    """A PDU with no body of its own (C706 §12.6.4.6, .8, .11): only an optional verifier.

    Octets between the header and the auth pad are tolerated and dropped.
    """

    def _encode_body(self, endian: str) -> bytes:
        return b""

    @classmethod
    def _decode_body(cls, r: _Reader, common: dict[str, object]) -> Pdu:
        return cls(**common)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class Shutdown(_HeaderOnly):
    """shutdown (PTYPE 17): server asks the client to close the association (C706 §12.6.4.11)."""

    PTYPE: ClassVar[PTYPE] = PTYPE.shutdown


@dataclass(frozen=True, slots=True, kw_only=True)
class CoCancel(_HeaderOnly):
    """co_cancel (PTYPE 18): cancel the call ``call_id`` (C706 §12.6.4.6; digest §3.3)."""

    PTYPE: ClassVar[PTYPE] = PTYPE.co_cancel


@dataclass(frozen=True, slots=True, kw_only=True)
class Orphaned(_HeaderOnly):
    """orphaned (PTYPE 19): the client abandons call ``call_id`` (C706 §12.6.4.8)."""

    PTYPE: ClassVar[PTYPE] = PTYPE.orphaned
