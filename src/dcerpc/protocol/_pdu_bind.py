"""Association PDUs: bind, alter_context, their acks, and bind_nak.

C706 §12.6.4.3-5 and §12.6.4.1-2, [MS-RPCE] 2.2.2.4-2.2.2.9; layouts in protocol-digest
§1.5-1.7. Presentation contexts are negotiated here (protocol-digest §2.1); this module
only moves them between octets and values.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field
from typing import ClassVar

from ..errors import LocalProtocolError, RemoteProtocolError
from ._pdu_base import Pdu, _Reader, maybe_enum, syntax_to_wire, uuid_to_wire
from .constants import (
    NDR_SYNTAX,
    NULL_SYNTAX,
    PTYPE,
    ContDefResult,
    ProviderReason,
    RejectReason,
    SyntaxId,
)

__all__ = [
    "AlterContext",
    "AlterContextResp",
    "Bind",
    "BindAck",
    "BindNak",
    "ContextElement",
    "ContextResult",
]

#: Our default fragment sizes: Windows' (protocol-digest §2.3). The protocol core sets them.
DEFAULT_FRAG = 5840
_CONTEXT_ELEM_FIXED = 4 + 20  # p_cont_id, n_transfer_syn, reserved, abstract_syntax
_SYNTAX_SIZE = 20
_RESULT_SIZE = 24


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextElement:
    """``p_cont_elem_t``: one proposed presentation context (C706 §12.6.3.1)."""

    p_cont_id: int
    abstract_syntax: SyntaxId
    transfer_syntaxes: tuple[SyntaxId, ...] = (NDR_SYNTAX,)
    reserved: int = field(default=0, repr=False)

    @property
    def n_transfer_syn(self) -> int:
        return len(self.transfer_syntaxes)

    def encode(self, endian: str) -> bytes:
        head = struct.pack(endian + "HBB", self.p_cont_id, self.n_transfer_syn, self.reserved)
        return head + b"".join(syntax_to_wire(s, endian)
                               for s in (self.abstract_syntax, *self.transfer_syntaxes))

    @classmethod
    def decode(cls, r: _Reader) -> ContextElement:
        p_cont_id = r.u16("p_cont_id")
        n_transfer_syn = r.u8("n_transfer_syn")
        reserved = r.u8("p_cont_elem reserved")
        abstract = r.syntax("abstract_syntax")
        if n_transfer_syn * _SYNTAX_SIZE > r.remaining:
            raise RemoteProtocolError(
                f"n_transfer_syn={n_transfer_syn} of context {p_cont_id} needs "
                f"{n_transfer_syn * _SYNTAX_SIZE} octets, only {r.remaining} remain")
        syntaxes = tuple(r.syntax("transfer_syntaxes") for _ in range(n_transfer_syn))
        return cls(p_cont_id=p_cont_id, abstract_syntax=abstract, transfer_syntaxes=syntaxes,
                   reserved=reserved)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextResult:
    """``p_result_t``: the answer to one context element (C706 §12.6.3.1).

    For ``negotiate_ack`` ([MS-RPCE] 3.3.1.5.3) ``reason`` carries the accepted
    bind-time feature bitmask instead of a ``p_provider_reason_t``.
    """

    result: int = ContDefResult.acceptance
    reason: int = ProviderReason.reason_not_specified
    transfer_syntax: SyntaxId = NULL_SYNTAX

    def encode(self, endian: str) -> bytes:
        return struct.pack(endian + "HH", self.result, self.reason) + syntax_to_wire(
            self.transfer_syntax, endian)

    @classmethod
    def decode(cls, r: _Reader) -> ContextResult:
        result = maybe_enum(ContDefResult, r.u16("result"))
        raw_reason = r.u16("reason")
        reason = raw_reason if result == ContDefResult.negotiate_ack else maybe_enum(
            ProviderReason, raw_reason)
        return cls(result=result, reason=reason, transfer_syntax=r.syntax("transfer_syntax"))


def _check_count(count: int, unit: int, r: _Reader, what: str) -> None:
    """Refuse a count that cannot fit before walking it (no work for a lying peer)."""
    if count * unit > r.remaining:
        raise RemoteProtocolError(
            f"{what}={count} needs at least {count * unit} octets, only {r.remaining} remain")


# --------------------------------------------------------------------------- bind / alter
@dataclass(frozen=True, slots=True, kw_only=True)
class _BindBase(Pdu):
    FIXED_BODY: ClassVar[int] = 12

    max_xmit_frag: int = DEFAULT_FRAG
    max_recv_frag: int = DEFAULT_FRAG
    assoc_group_id: int = 0
    p_context_elem: tuple[ContextElement, ...] = ()
    reserved: int = field(default=0, repr=False)
    reserved2: int = field(default=0, repr=False)

    @property
    def n_context_elem(self) -> int:
        return len(self.p_context_elem)

    def _encode_body(self, endian: str) -> bytes:
        head = struct.pack(endian + "HHIBBH", self.max_xmit_frag, self.max_recv_frag,
                           self.assoc_group_id, self.n_context_elem, self.reserved,
                           self.reserved2)
        return head + b"".join(e.encode(endian) for e in self.p_context_elem)

    @classmethod
    def _decode_body(cls, r: _Reader, common: dict[str, object]) -> Pdu:
        max_xmit, max_recv, group, n, reserved, reserved2 = r.unpack("HHIBBH", "bind header")
        _check_count(n, _CONTEXT_ELEM_FIXED, r, "n_context_elem")
        elems = tuple(ContextElement.decode(r) for _ in range(n))
        # Octets after the list and before the auth pad are tolerated and dropped, as Samba
        # does ([flag(NDR_REMAINING)]); C706 gives them no meaning.
        return cls(max_xmit_frag=max_xmit, max_recv_frag=max_recv, assoc_group_id=group,
                   p_context_elem=elems, reserved=reserved, reserved2=reserved2,
                   **common)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class Bind(_BindBase):
    """bind (PTYPE 11): C706 §12.6.4.3, [MS-RPCE] 2.2.2.x; digest §1.5."""

    PTYPE: ClassVar[PTYPE] = PTYPE.bind


@dataclass(frozen=True, slots=True, kw_only=True)
class AlterContext(_BindBase):
    """alter_context (PTYPE 14): same body as bind (C706 §12.6.4.1)."""

    PTYPE: ClassVar[PTYPE] = PTYPE.alter_context


# --------------------------------------------------------------------------- acks
@dataclass(frozen=True, slots=True, kw_only=True)
class _BindAckBase(Pdu):
    FIXED_BODY: ClassVar[int] = 10

    max_xmit_frag: int = DEFAULT_FRAG
    max_recv_frag: int = DEFAULT_FRAG
    assoc_group_id: int = 0
    #: ``port_any_t`` port_spec without its NUL; "" encodes as length 0 (no octets).
    sec_addr: str = ""
    p_result_list: tuple[ContextResult, ...] = ()
    reserved: int = field(default=0, repr=False)
    reserved2: int = field(default=0, repr=False)

    @property
    def n_results(self) -> int:
        return len(self.p_result_list)

    def _encode_body(self, endian: str) -> bytes:
        try:
            port_spec = self.sec_addr.encode("latin-1") + b"\0" if self.sec_addr else b""
        except UnicodeEncodeError as exc:
            raise LocalProtocolError(f"sec_addr must be 8-bit text: {exc}") from exc
        head = struct.pack(endian + "HHIH", self.max_xmit_frag, self.max_recv_frag,
                           self.assoc_group_id, len(port_spec)) + port_spec
        # C706 §12.6.4.4: the result list is 4-aligned from the start of the PDU.
        head += bytes(-(16 + len(head)) % 4)
        head += struct.pack(endian + "BBH", self.n_results, self.reserved, self.reserved2)
        return head + b"".join(res.encode(endian) for res in self.p_result_list)

    @classmethod
    def _decode_body(cls, r: _Reader, common: dict[str, object]) -> Pdu:
        max_xmit, max_recv, group, length = r.unpack("HHIH", "bind_ack header")
        if length > r.remaining:
            raise RemoteProtocolError(
                f"sec_addr length {length} overflows the PDU body ({r.remaining} octets left)")
        port_spec = r.take(length, "sec_addr")
        if length and port_spec[-1] != 0:
            raise RemoteProtocolError("sec_addr port_spec is not NUL-terminated")
        r.align(4, "padding after sec_addr")
        n, reserved, reserved2 = r.unpack("BBH", "p_result_list header")
        _check_count(n, _RESULT_SIZE, r, "n_results")
        results = tuple(ContextResult.decode(r) for _ in range(n))
        return cls(max_xmit_frag=max_xmit, max_recv_frag=max_recv, assoc_group_id=group,
                   sec_addr=port_spec[:-1].decode("latin-1"), p_result_list=results,
                   reserved=reserved, reserved2=reserved2, **common)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class BindAck(_BindAckBase):
    """bind_ack (PTYPE 12): C706 §12.6.4.4; digest §1.6. ``sec_addr`` is e.g. ``"135"``."""

    PTYPE: ClassVar[PTYPE] = PTYPE.bind_ack


@dataclass(frozen=True, slots=True, kw_only=True)
class AlterContextResp(_BindAckBase):
    """alter_context_resp (PTYPE 15): same body as bind_ack (C706 §12.6.4.2)."""

    PTYPE: ClassVar[PTYPE] = PTYPE.alter_context_resp


@dataclass(frozen=True, slots=True, kw_only=True)
class BindNak(Pdu):
    """bind_nak (PTYPE 13): C706 §12.6.4.5 + [MS-RPCE] 2.2.2.9.

    ``versions`` is ``p_rt_versions_supported_t`` as ``(major, minor)`` pairs. [MS-RPCE]
    appends an optional ``signature`` UUID, present iff frag_length leaves room for it right
    after the versions, and any octets after it (extended error information when the
    signature is :data:`~dcerpc.protocol.constants.EXTENDED_ERROR_SIGNATURE`).
    Without a signature the PDU is padded to a multiple of 4 as Samba does (24 octets for
    one version). bind_nak carries no auth verifier.
    """

    PTYPE: ClassVar[PTYPE] = PTYPE.bind_nak
    FIXED_BODY: ClassVar[int] = 3

    provider_reject_reason: int = RejectReason.REASON_NOT_SPECIFIED
    versions: tuple[tuple[int, int], ...] = ((5, 0),)
    signature: uuid.UUID | None = None
    extended_error: bytes = b""

    def _encode_body(self, endian: str) -> bytes:
        if self.auth_verifier is not None:
            raise LocalProtocolError("bind_nak carries no auth verifier (C706 §12.6.4.5)")
        if self.extended_error and self.signature is None:
            raise LocalProtocolError("bind_nak extended_error needs a signature")
        body = struct.pack(endian + "HB", self.provider_reject_reason, len(self.versions))
        body += b"".join(struct.pack("BB", major, minor) for major, minor in self.versions)
        if self.signature is None:
            return body + bytes(-(16 + len(body)) % 4)
        return body + uuid_to_wire(self.signature, endian) + self.extended_error

    @classmethod
    def _decode_body(cls, r: _Reader, common: dict[str, object]) -> Pdu:
        reason = maybe_enum(RejectReason, r.u16("provider_reject_reason"))
        n = r.u8("n_protocols")
        _check_count(n, 2, r, "n_protocols")
        versions = tuple((r.u8("rpc_vers"), r.u8("rpc_vers_minor")) for _ in range(n))
        signature, extended = None, b""
        if r.remaining >= 16:  # [MS-RPCE] 2.2.2.9: present iff frag_length >= L + 16
            signature = r.uuid("signature")
            extended = r.rest()
        return cls(provider_reject_reason=reason, versions=versions, signature=signature,
                   extended_error=extended, **common)  # type: ignore[arg-type]
