"""Numbers of the connection-oriented protocol: PDU types, flags, syntax identifiers,
negotiation results, reject reasons and security constants.

Member names are spelled as the specifications spell them (C706 ch. 12, [MS-RPCE] 2.2)
so the code greps against the text. Module-level aliases (``PFC_FIRST_FRAG`` …) exist for
the flags because that is how every other implementation writes them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import IntEnum, IntFlag

__all__ = [
    "BIND_TIME_FEATURE_NEGOTIATION_PREFIX",
    "CO_PTYPES",
    "DREP_BE",
    "DREP_LE",
    "EXTENDED_ERROR_SIGNATURE",
    "MUST_RECV_FRAG_SIZE",
    "NDR64_SYNTAX",
    "NDR_SYNTAX",
    "NULL_SYNTAX",
    "PFC_CONC_MPX",
    "PFC_DID_NOT_EXECUTE",
    "PFC_FIRST_FRAG",
    "PFC_LAST_FRAG",
    "PFC_MAYBE",
    "PFC_OBJECT_UUID",
    "PFC_PENDING_CANCEL",
    "PFC_RESERVED_1",
    "PFC_SUPPORT_HEADER_SIGN",
    "PTYPE",
    "RPC_FAULT_FLAG_EXTENDED_ERROR",
    "AuthnLevel",
    "AuthnType",
    "BindTimeFeatures",
    "ContDefResult",
    "PfcFlags",
    "ProviderReason",
    "RejectReason",
    "SyntaxId",
    "bind_time_feature_syntax",
    "bind_time_features",
]


class PTYPE(IntEnum):
    """The ``PTYPE`` header octet (C706 §12.1 table 12-1; [MS-RPCE] 2.2.2.10 adds rpc_auth_3)."""

    request = 0
    ping = 1  # connectionless only
    response = 2
    fault = 3
    working = 4  # connectionless only
    nocall = 5  # connectionless only
    reject = 6  # connectionless only
    ack = 7  # connectionless only
    cl_cancel = 8  # connectionless only
    fack = 9  # connectionless only
    cancel_ack = 10  # connectionless only
    bind = 11
    bind_ack = 12
    bind_nak = 13
    alter_context = 14
    alter_context_resp = 15
    rpc_auth_3 = 16  # [MS-RPCE] 2.2.2.10
    auth3 = 16  # the short name everyone else uses
    shutdown = 17
    co_cancel = 18
    orphaned = 19
    rts = 20  # ncacn_http only ([MS-RPCH]); not decoded here


#: The PDU types of the connection-oriented protocol that this codec decodes.
CO_PTYPES = frozenset({
    PTYPE.request, PTYPE.response, PTYPE.fault, PTYPE.bind, PTYPE.bind_ack, PTYPE.bind_nak,
    PTYPE.alter_context, PTYPE.alter_context_resp, PTYPE.rpc_auth_3, PTYPE.shutdown,
    PTYPE.co_cancel, PTYPE.orphaned,
})


class PfcFlags(IntFlag):
    """``pfc_flags`` (C706 §12.6.3.1; [MS-RPCE] 2.2.2.3).

    0x04 means PFC_SUPPORT_HEADER_SIGN on bind, bind_ack, alter_context,
    alter_context_resp and rpc_auth_3, and PFC_PENDING_CANCEL on every other type.
    """

    PFC_FIRST_FRAG = 0x01
    PFC_LAST_FRAG = 0x02
    PFC_PENDING_CANCEL = 0x04
    PFC_SUPPORT_HEADER_SIGN = 0x04
    PFC_RESERVED_1 = 0x08
    PFC_CONC_MPX = 0x10
    PFC_DID_NOT_EXECUTE = 0x20
    PFC_MAYBE = 0x40
    PFC_OBJECT_UUID = 0x80


PFC_FIRST_FRAG = PfcFlags.PFC_FIRST_FRAG
PFC_LAST_FRAG = PfcFlags.PFC_LAST_FRAG
PFC_PENDING_CANCEL = PfcFlags.PFC_PENDING_CANCEL
PFC_SUPPORT_HEADER_SIGN = PfcFlags.PFC_SUPPORT_HEADER_SIGN
PFC_RESERVED_1 = PfcFlags.PFC_RESERVED_1
PFC_CONC_MPX = PfcFlags.PFC_CONC_MPX
PFC_DID_NOT_EXECUTE = PfcFlags.PFC_DID_NOT_EXECUTE
PFC_MAYBE = PfcFlags.PFC_MAYBE
PFC_OBJECT_UUID = PfcFlags.PFC_OBJECT_UUID

#: ``packed_drep`` for little-endian integers, ASCII characters, IEEE floats (C706 §14.1):
#: what Windows, Samba and impacket send, and what we send by default.
DREP_LE = b"\x10\x00\x00\x00"
#: The same with big-endian integers; peers may send it and we must decode it (C706 §12.6.3.2).
DREP_BE = b"\x00\x00\x00\x00"

#: C706 Table K-2 ``MustRecvFragSize`` for connection-oriented transports: every
#: implementation accepts fragments at least this large, so a bind must fit in it.
MUST_RECV_FRAG_SIZE = 1432

#: [MS-RPCE] 2.2.2.8: the low bit of the fault PDU's ``reserved`` octet says extended error
#: information ([MS-EERR]) follows in the stub.
RPC_FAULT_FLAG_EXTENDED_ERROR = 0x01

#: [MS-RPCE] 2.2.1.1.2: the bind_nak ``Signature`` announcing extended error information.
EXTENDED_ERROR_SIGNATURE = uuid.UUID("90740320-fad0-11d3-82d7-009027b130ab")


class ContDefResult(IntEnum):
    """``p_cont_def_result_t`` of a bind_ack result (C706 §12.6.3.1; [MS-RPCE] 2.2.2.4)."""

    acceptance = 0
    user_rejection = 1
    provider_rejection = 2
    negotiate_ack = 3  # [MS-RPCE] 3.3.1.5.3: answer to a bind-time feature negotiation element


class ProviderReason(IntEnum):
    """``p_provider_reason_t`` of a rejected context (C706 §12.6.3.1)."""

    reason_not_specified = 0
    abstract_syntax_not_supported = 1
    proposed_transfer_syntaxes_not_supported = 2
    local_limit_exceeded = 3


class RejectReason(IntEnum):
    """``p_reject_reason_t`` of bind_nak (C706 §12.6.3.1; [MS-RPCE] 2.2.2.5 adds 8 and 9)."""

    REASON_NOT_SPECIFIED = 0
    TEMPORARY_CONGESTION = 1  # MS: treat like LOCAL_LIMIT_EXCEEDED
    LOCAL_LIMIT_EXCEEDED = 2
    CALLED_PADDR_UNKNOWN = 3  # not used
    PROTOCOL_VERSION_NOT_SUPPORTED = 4
    DEFAULT_CONTEXT_NOT_SUPPORTED = 5  # not used
    USER_DATA_NOT_READABLE = 6  # not used
    NO_PSAP_AVAILABLE = 7  # not used
    AUTHENTICATION_TYPE_NOT_RECOGNIZED = 8  # MS spelling: authentication_type_not_recognized
    INVALID_CHECKSUM = 9  # MS spelling: invalid_checksum


class AuthnType(IntEnum):
    """``auth_type`` of the sec_trailer ([MS-RPCE] 2.2.1.1.7)."""

    RPC_C_AUTHN_NONE = 0x00
    RPC_C_AUTHN_GSS_NEGOTIATE = 0x09
    RPC_C_AUTHN_WINNT = 0x0A
    RPC_C_AUTHN_GSS_SCHANNEL = 0x0E
    RPC_C_AUTHN_GSS_KERBEROS = 0x10
    RPC_C_AUTHN_DPA = 0x11
    RPC_C_AUTHN_MSN = 0x12
    RPC_C_AUTHN_KERNEL = 0x14
    RPC_C_AUTHN_DIGEST = 0x15
    RPC_C_AUTHN_NETLOGON = 0x44
    RPC_C_AUTHN_MQ = 0x64
    RPC_C_AUTHN_DEFAULT = 0xFF


class AuthnLevel(IntEnum):
    """``auth_level`` of the sec_trailer ([MS-RPCE] 2.2.1.1.8)."""

    RPC_C_AUTHN_LEVEL_DEFAULT = 0
    RPC_C_AUTHN_LEVEL_NONE = 1
    RPC_C_AUTHN_LEVEL_CONNECT = 2
    RPC_C_AUTHN_LEVEL_CALL = 3
    RPC_C_AUTHN_LEVEL_PKT = 4
    RPC_C_AUTHN_LEVEL_PKT_INTEGRITY = 5
    RPC_C_AUTHN_LEVEL_PKT_PRIVACY = 6


# --------------------------------------------------------------------------- syntax ids
@dataclass(frozen=True, slots=True)
class SyntaxId:
    """``p_syntax_id_t`` (C706 §12.6.3.1): an interface or transfer syntax UUID + version.

    ``if_version`` is the 32-bit wire value: major version in the low 16 bits, minor in the
    high 16 bits (C706 §12.6.3.1, protocol-digest §1.4). Use :meth:`make` to build one from
    ``(major, minor)``.
    """

    if_uuid: uuid.UUID
    if_version: int = 0

    @classmethod
    def make(cls, if_uuid: uuid.UUID | str, major: int = 0, minor: int = 0) -> SyntaxId:
        if isinstance(if_uuid, str):
            if_uuid = uuid.UUID(if_uuid)
        return cls(if_uuid, (major & 0xFFFF) | ((minor & 0xFFFF) << 16))

    @property
    def major(self) -> int:
        return self.if_version & 0xFFFF

    @property
    def minor(self) -> int:
        return (self.if_version >> 16) & 0xFFFF

    def __str__(self) -> str:
        return f"{self.if_uuid} v{self.major}.{self.minor}"


#: NDR 2.0 transfer syntax (C706 §14; [MS-RPCE] 2.2.4.12).
NDR_SYNTAX = SyntaxId.make("8a885d04-1ceb-11c9-9fe8-08002b104860", 2, 0)
#: NDR64 transfer syntax ([MS-RPCE] 2.2.4.12).
NDR64_SYNTAX = SyntaxId.make("71710533-beba-4937-8319-b5dbef9ccc36", 1, 0)
#: All zero: the transfer syntax of a rejected or negotiate_ack result (C706 §12.6.3.1).
NULL_SYNTAX = SyntaxId(uuid.UUID(int=0), 0)

#: [MS-RPCE] 3.3.1.5.3: the first 8 octets (wire order) of the bind-time feature
#: negotiation transfer syntax UUID ``6cb71c2c-9812-4540-…``; the last 8 are the bitmask.
BIND_TIME_FEATURE_NEGOTIATION_PREFIX = uuid.UUID(
    "6cb71c2c-9812-4540-0000-000000000000").bytes_le[:8]


class BindTimeFeatures(IntFlag):
    """``BindTimeFeatureNegotiationBitmask`` octet 0 ([MS-RPCE] 2.2.2.14)."""

    SecurityContextMultiplexingSupported = 0x01
    KeepConnectionOnOrphanSupported = 0x02


def bind_time_feature_syntax(features: int) -> SyntaxId:
    """The transfer syntax a client proposes to negotiate ``features`` ([MS-RPCE] 3.3.1.5.3).

    The bitmask occupies the last 8 octets of the UUID in wire order; only octet 0 has
    defined bits. The version is 1.0.
    """
    if not 0 <= features <= 0xFF:
        raise ValueError(f"bind-time feature bitmask out of range: {features!r}")
    raw = BIND_TIME_FEATURE_NEGOTIATION_PREFIX + bytes([features]) + bytes(7)
    return SyntaxId(uuid.UUID(bytes_le=raw), 1)


def bind_time_features(syntax: SyntaxId) -> BindTimeFeatures | None:
    """The feature bitmask if ``syntax`` is a bind-time feature negotiation syntax, else None.

    Only the UUID prefix identifies it ([MS-RPCE] 3.3.1.5.3); bits beyond octet 0 are ignored.
    """
    raw = syntax.if_uuid.bytes_le
    if raw[:8] != BIND_TIME_FEATURE_NEGOTIATION_PREFIX:
        return None
    return BindTimeFeatures(raw[8])
