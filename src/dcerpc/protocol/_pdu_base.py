"""Shared machinery of the PDU codec: the common header, the security trailer, and the
bounded reader every body decoder uses.

Strategy (h11 ``_readers.py`` style): a body decoder is handed a :class:`_Reader` whose
limit is the end of the PDU body (the first auth pad octet, or ``frag_length`` when there
is no verifier). Every read is bounds-checked and raises :class:`RemoteProtocolError`
naming the field, so a decoder can never index past the PDU, loop on a huge count, or
leak ``struct.error``/``IndexError``.
"""

from __future__ import annotations

import dataclasses
import functools
import struct
import uuid
from dataclasses import dataclass, field
from typing import ClassVar

from ..errors import LocalProtocolError, RemoteProtocolError
from .constants import (
    DREP_LE,
    PFC_FIRST_FRAG,
    PFC_LAST_FRAG,
    PTYPE,
    AuthnLevel,
    AuthnType,
    SyntaxId,
)

__all__ = ["COMMON_HEADER_SIZE", "SEC_TRAILER_SIZE", "AuthVerifier", "Pdu"]

#: C706 §12.6.1: every connection-oriented PDU starts with these 16 octets.
COMMON_HEADER_SIZE = 16
#: [MS-RPCE] 2.2.2.11: auth_type, auth_level, auth_pad_length, auth_reserved, auth_context_id.
SEC_TRAILER_SIZE = 8
#: frag_length is an unsigned 16-bit field (C706 §12.6.3.1).
MAX_FRAG_LENGTH = 0xFFFF

_HEADER = {e: struct.Struct(e + "BBBB4sHHI") for e in "<>"}
_SEC_TRAILER = {e: struct.Struct(e + "BBBBI") for e in "<>"}


def drep_endian(packed_drep: bytes, error: type[Exception] = RemoteProtocolError) -> str:
    """``"<"`` or ``">"`` for a ``packed_drep``; rejects what we cannot honour.

    C706 §14.1: octet 0 = integer rep (high nibble: 0 big-endian, 1 little-endian) | character
    rep (low nibble: 0 ASCII, 1 EBCDIC); octet 1 = floating-point rep (0 IEEE, 1 VAX, 2 Cray,
    3 IBM). PDU headers hold no characters or floats, but the stub does and the protocol
    core hands the drep on to NDR, which speaks only ASCII and IEEE — so anything else is
    refused here, once, at the door. Octets 2-3 are reserved and ignored.
    """
    if len(packed_drep) != 4:
        raise error(f"packed_drep must be 4 octets, got {len(packed_drep)}")
    int_rep, char_rep, float_rep = packed_drep[0] >> 4, packed_drep[0] & 0x0F, packed_drep[1]
    if int_rep > 1:
        raise error(f"bad packed_drep {packed_drep.hex()}: integer representation {int_rep}")
    if char_rep != 0:
        raise error(f"unsupported packed_drep {packed_drep.hex()}: character representation "
                    f"{char_rep} (only ASCII)")
    if float_rep != 0:
        raise error(f"unsupported packed_drep {packed_drep.hex()}: floating-point "
                    f"representation {float_rep} (only IEEE)")
    return "<" if int_rep == 1 else ">"


def maybe_enum(enum_type: type, value: int) -> int:
    """``enum_type(value)`` when the value is a known member, else the plain int."""
    try:
        return enum_type(value)  # type: ignore[no-any-return]
    except ValueError:
        return value


def uuid_to_wire(value: uuid.UUID, endian: str) -> bytes:
    """A UUID as NDR marshals it: Data1..3 follow the integer representation (C706 §14.2.9)."""
    return value.bytes_le if endian == "<" else value.bytes


def syntax_to_wire(syntax: SyntaxId, endian: str) -> bytes:
    return uuid_to_wire(syntax.if_uuid, endian) + struct.pack(endian + "I", syntax.if_version)


@functools.cache
def _struct(fmt: str) -> struct.Struct:
    return struct.Struct(fmt)


class _Reader:
    """Bounds-checked cursor over one PDU; ``limit`` is the end of the PDU body."""

    __slots__ = ("data", "endian", "limit", "pos")

    def __init__(self, data: bytes, pos: int, limit: int, endian: str) -> None:
        self.data, self.pos, self.limit, self.endian = data, pos, limit, endian

    @property
    def remaining(self) -> int:
        return self.limit - self.pos

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > self.limit:
            raise RemoteProtocolError(
                f"{what} needs {n} octets at offset {self.pos} but the PDU body ends at "
                f"{self.limit}")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple[int, ...]:
        s = _struct(self.endian + fmt)
        return s.unpack(self.take(s.size, what))

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        return int(self.unpack("H", what)[0])

    def u32(self, what: str) -> int:
        return int(self.unpack("I", what)[0])

    def uuid(self, what: str) -> uuid.UUID:
        raw = self.take(16, what)
        return uuid.UUID(bytes_le=raw) if self.endian == "<" else uuid.UUID(bytes=raw)

    def syntax(self, what: str) -> SyntaxId:
        if_uuid = self.uuid(what)
        return SyntaxId(if_uuid, self.u32(what))

    def align(self, n: int, what: str) -> None:
        """Skip to the next multiple of ``n`` counted from the start of the PDU."""
        self.take(-self.pos % n, what)

    def rest(self) -> bytes:
        return self.take(self.remaining, "rest of body")


# --------------------------------------------------------------------------- sec_trailer
@dataclass(frozen=True, slots=True, kw_only=True)
class AuthVerifier:
    """The optional ``auth_verifier``: auth pad + ``sec_trailer`` + ``auth_value``.

    [MS-RPCE] 2.2.2.11 (C706 §13.2.6.1 ``auth_verifier_co_t``). ``auth_pad`` holds the pad
    octets that precede the sec_trailer inside the PDU body; ``None`` (the default) lets
    the PDU choose them when it is constructed (zeros, see ``Pdu._default_auth_pad``).
    Decoded PDUs carry the octets found on the wire, so re-encoding is byte-exact.
    """

    auth_type: int = AuthnType.RPC_C_AUTHN_WINNT
    auth_level: int = AuthnLevel.RPC_C_AUTHN_LEVEL_CONNECT
    auth_context_id: int = 0
    auth_value: bytes = b""
    auth_pad: bytes | None = None
    auth_reserved: int = field(default=0, repr=False)

    @property
    def auth_pad_length(self) -> int | None:
        """``len(auth_pad)``; None while the encoder is still free to choose."""
        return None if self.auth_pad is None else len(self.auth_pad)

    @property
    def auth_length(self) -> int:
        return len(self.auth_value)

    def encode_trailer(self, pad_length: int, endian: str) -> bytes:
        return _SEC_TRAILER[endian].pack(self.auth_type, self.auth_level, pad_length,
                                         self.auth_reserved, self.auth_context_id)


def decode_auth_verifier(data: bytes, frag_length: int, auth_length: int, endian: str,
                         body_start: int) -> tuple[AuthVerifier, int]:
    """Split the verifier off a PDU; returns it and the offset where the body ends.

    The sec_trailer sits at ``frag_length - auth_length - 8`` ([MS-RPCE] 2.2.2.11) and
    exactly ``auth_pad_length`` octets before it are padding: never infer padding from
    alignment (senders pad to 4 or to 16, both are legal in practice).
    """
    trailer_off = frag_length - auth_length - SEC_TRAILER_SIZE
    if trailer_off < body_start:
        raise RemoteProtocolError(
            f"auth_length {auth_length} is inconsistent with frag_length {frag_length}: the "
            f"sec_trailer would start at {trailer_off}, inside the {body_start}-octet header")
    auth_type, auth_level, pad_length, reserved, context_id = _SEC_TRAILER[endian].unpack_from(
        data, trailer_off)
    body_end = trailer_off - pad_length
    if body_end < body_start:
        raise RemoteProtocolError(
            f"auth_pad_length {pad_length} reaches back past the {body_start}-octet header "
            f"(sec_trailer at {trailer_off})")
    verifier = AuthVerifier(
        auth_type=maybe_enum(AuthnType, auth_type), auth_level=maybe_enum(AuthnLevel, auth_level),
        auth_context_id=context_id, auth_value=bytes(data[trailer_off + SEC_TRAILER_SIZE:]),
        auth_pad=bytes(data[body_end:trailer_off]), auth_reserved=reserved)
    return verifier, body_end


# --------------------------------------------------------------------------- PDU base
@dataclass(frozen=True, slots=True, kw_only=True)
class Pdu:
    """Common fields of every connection-oriented PDU (C706 §12.6.1).

    ``frag_length`` and ``auth_length`` are not fields: :meth:`encode` computes them.
    ``packed_drep`` selects the integer byte order of the encoding (little-endian unless
    a decoded big-endian PDU is re-encoded).
    """

    PTYPE: ClassVar[PTYPE]
    #: Octets between the common header and the first variable part (minimum body size).
    FIXED_BODY: ClassVar[int] = 0
    rpc_vers: ClassVar[int] = 5

    call_id: int = 0
    pfc_flags: int = PFC_FIRST_FRAG | PFC_LAST_FRAG
    rpc_vers_minor: int = 0
    packed_drep: bytes = DREP_LE
    auth_verifier: AuthVerifier | None = None

    @property
    def ptype(self) -> PTYPE:
        return self.PTYPE

    @property
    def auth_length(self) -> int:
        return 0 if self.auth_verifier is None else len(self.auth_verifier.auth_value)

    @property
    def frag_length(self) -> int:
        return len(self.encode())

    # -- encoding -------------------------------------------------------------------
    def encode(self) -> bytes:
        """The PDU as octets, ``frag_length`` and ``auth_length`` filled in.

        Raises :class:`LocalProtocolError` for values that do not fit their fields.
        """
        endian = drep_endian(self.packed_drep, LocalProtocolError)
        try:
            body = self._encode_body(endian)
            tail, auth_length = self._encode_verifier(endian)
            frag_length = COMMON_HEADER_SIZE + len(body) + len(tail)
            if frag_length > MAX_FRAG_LENGTH:
                raise LocalProtocolError(
                    f"{self.PTYPE.name} PDU of {frag_length} octets exceeds frag_length's "
                    f"limit of {MAX_FRAG_LENGTH}; fragment it")
            header = _HEADER[endian].pack(self.rpc_vers, self.rpc_vers_minor, self.PTYPE,
                                          self.pfc_flags, self.packed_drep, frag_length,
                                          auth_length, self.call_id)
        except (struct.error, OverflowError, TypeError) as exc:
            raise LocalProtocolError(f"cannot encode {self.PTYPE.name} PDU: {exc}") from exc
        return header + body + tail

    def _encode_body(self, endian: str) -> bytes:
        raise NotImplementedError

    def __post_init__(self) -> None:
        # Fix the auth pad now, so that decode_pdu(p.encode()) == p holds for every PDU.
        av = self.auth_verifier
        if av is not None and av.auth_pad is None:
            pad = bytes(self._default_auth_pad())
            object.__setattr__(self, "auth_verifier", dataclasses.replace(av, auth_pad=pad))

    def _default_auth_pad(self) -> int:
        """Pad octets put before the sec_trailer when the caller did not choose them.

        [MS-RPCE] 2.2.2.11 asks for 16-octet alignment "with respect to the beginning of the
        PDU body" for PDUs with stub data (the stub-carrying subclasses override this);
        for the others C706's rule — 4-octet alignment from the start of the PDU — applies,
        and their bodies always end 4-aligned, so no pad is needed.
        """
        return 0

    def _encode_verifier(self, endian: str) -> tuple[bytes, int]:
        av = self.auth_verifier
        if av is None:
            return b"", 0
        if not av.auth_value:
            # auth_length 0 means "no sec_trailer" ([MS-RPCE] 2.2.2.11): the receiver would
            # read the trailer as body, so an empty auth_value cannot be sent.
            raise LocalProtocolError("auth_verifier needs a non-empty auth_value")
        pad = av.auth_pad if av.auth_pad is not None else bytes(self._default_auth_pad())
        if len(pad) > 0xFF:
            raise LocalProtocolError(f"auth pad of {len(pad)} octets exceeds auth_pad_length")
        return pad + av.encode_trailer(len(pad), endian) + av.auth_value, len(av.auth_value)

    # -- decoding -------------------------------------------------------------------
    @classmethod
    def _decode_body(cls, r: _Reader, common: dict[str, object]) -> Pdu:
        raise NotImplementedError

    @classmethod
    def _body_start(cls, pfc_flags: int) -> int:
        """Where the body of this PDU type may first hold the auth pad (see decode_pdu)."""
        return COMMON_HEADER_SIZE + cls.FIXED_BODY
