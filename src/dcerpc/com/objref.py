"""OBJREF and DUALSTRINGARRAY: the marshaled form of an interface pointer.

[MS-DCOM] 2.2.18 (OBJREF) and 2.2.19 (DUALSTRINGARRAY): a raw little-endian blob inside
``MInterfacePointer.abData``, not NDR. Layout in protocol-digest §7.3:

* ``signature`` 'MEOW', ``flags`` (1 standard, 2 handler, 4 custom, 8 extended), ``iid``;
* standard: ``STDOBJREF {flags, cPublicRefs, oxid, oid, ipid}`` then ``saResAddr``, the
  DUALSTRINGARRAY of the object exporter's OXID resolver;
* custom: ``clsid``, ``cbExtension``, ``size``, then the unmarshaler's data.

A DUALSTRINGARRAY holds STRINGBINDINGs (``wTowerId`` + ``aNetworkAddr``, UTF-16, NUL
terminated, the list ended by a zero) then SECURITYBINDINGs (``wAuthnSvc``,
``wAuthzSvc``, ``aPrincName``), in 16-bit units; ``wSecurityOffset`` is where the
security bindings start. In NDR contexts (ResolveOxid2, ScmReplyInfo) the same array is
the conformant struct ``DUALSTRINGARRAY`` of ms-dcom.idl: :meth:`DualStringArray.words`
and :meth:`DualStringArray.from_words` convert.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field

from ..errors import NdrError

__all__ = [
    "OBJREF_CUSTOM",
    "OBJREF_EXTENDED",
    "OBJREF_HANDLER",
    "OBJREF_SIGNATURE",
    "OBJREF_STANDARD",
    "SORF_NOPING",
    "TOWER_NCACN_IP_TCP",
    "DualStringArray",
    "ObjRefCustom",
    "ObjRefStandard",
    "SecurityBinding",
    "StdObjRef",
    "StringBinding",
    "decode_objref",
]

OBJREF_SIGNATURE = 0x574F454D  # 'MEOW'
OBJREF_STANDARD = 0x1
OBJREF_HANDLER = 0x2
OBJREF_CUSTOM = 0x4
OBJREF_EXTENDED = 0x8
#: STDOBJREF.flags: the client must not ping this OID ([MS-DCOM] 2.2.18.2).
SORF_NOPING = 0x1000
#: [MS-DCOM] 2.2.19.3 / C706 Appendix I: protocol tower ids in STRINGBINDINGs.
TOWER_NCACN_IP_TCP = 0x07
TOWER_NCALRPC = 0x10
#: The protocol sequences we speak, by tower id.
TOWER_PROTSEQ = {TOWER_NCACN_IP_TCP: "ncacn_ip_tcp", TOWER_NCALRPC: "ncalrpc"}

_HEAD = struct.Struct("<II16s")
_STD = struct.Struct("<IIQQ16s")
_CUSTOM = struct.Struct("<16sII")


@dataclass(frozen=True)
class StringBinding:
    wTowerId: int
    aNetworkAddr: str


@dataclass(frozen=True)
class SecurityBinding:
    wAuthnSvc: int
    wAuthzSvc: int = 0xFFFF
    aPrincName: str = ""


@dataclass(frozen=True)
class DualStringArray:
    string_bindings: tuple[StringBinding, ...] = ()
    security_bindings: tuple[SecurityBinding, ...] = ()

    def words(self) -> tuple[list[int], int]:
        """``(aStringArray, wSecurityOffset)`` in 16-bit units."""
        out: list[int] = []
        for sb in self.string_bindings:
            out.append(sb.wTowerId)
            out += _utf16z(sb.aNetworkAddr)
        out += [0] if self.string_bindings else [0, 0]
        offset = len(out)
        for sec in self.security_bindings:
            out += [sec.wAuthnSvc, sec.wAuthzSvc]
            out += _utf16z(sec.aPrincName)
        out += [0] if self.security_bindings else [0, 0]
        return out, offset

    def pack(self) -> bytes:
        """The packed (non-NDR) form used inside an OBJREF."""
        words, offset = self.words()
        return struct.pack(f"<HH{len(words)}H", len(words), offset, *words)

    @classmethod
    def from_words(cls, words: list[int], security_offset: int) -> DualStringArray:
        if not 0 <= security_offset <= len(words):
            raise NdrError(f"DUALSTRINGARRAY: wSecurityOffset {security_offset} outside "
                           f"the {len(words)} entries")
        strings: list[StringBinding] = []
        i = 0
        while i < security_offset and words[i] != 0:
            tower = words[i]
            text, i = _read_z(words, i + 1, security_offset)
            strings.append(StringBinding(tower, text))
        secs: list[SecurityBinding] = []
        i = security_offset
        while i + 1 < len(words) and words[i] != 0:
            authn, authz = words[i], words[i + 1]
            text, i = _read_z(words, i + 2, len(words))
            secs.append(SecurityBinding(authn, authz, text))
        return cls(tuple(strings), tuple(secs))

    @classmethod
    def unpack(cls, data: bytes, offset: int = 0) -> tuple[DualStringArray, int]:
        """Parse a packed array at ``offset``; returns (array, end offset)."""
        if len(data) - offset < 4:
            raise NdrError("DUALSTRINGARRAY truncated", offset)
        n, sec = struct.unpack_from("<HH", data, offset)
        end = offset + 4 + 2 * n
        if end > len(data):
            raise NdrError(f"DUALSTRINGARRAY claims {n} entries, data has fewer", offset)
        words = list(struct.unpack_from(f"<{n}H", data, offset + 4))
        return cls.from_words(words, sec), end

    def tcp_bindings(self) -> list[str]:
        """``host[port]`` network addresses of the ncacn_ip_tcp string bindings."""
        return [sb.aNetworkAddr for sb in self.string_bindings
                if sb.wTowerId == TOWER_NCACN_IP_TCP]

    def rpc_bindings(self) -> list[str]:
        """The string bindings we can connect to (``ncacn_ip_tcp:host[port]``,
        ``ncalrpc:[endpoint]``), in the array's order."""
        out = []
        for sb in self.string_bindings:
            protseq = TOWER_PROTSEQ.get(sb.wTowerId)
            if protseq is not None:
                out.append(f"{protseq}:{sb.aNetworkAddr}")
        return out


def _utf16z(text: str) -> list[int]:
    raw = text.encode("utf-16-le")
    return [*struct.unpack(f"<{len(raw) // 2}H", raw), 0]


def _read_z(words: list[int], i: int, limit: int) -> tuple[str, int]:
    start = i
    while i < limit and words[i] != 0:
        i += 1
    if i >= limit:
        raise NdrError("DUALSTRINGARRAY: unterminated binding string")
    raw = struct.pack(f"<{i - start}H", *words[start:i])
    return raw.decode("utf-16-le", errors="replace"), i + 1


@dataclass(frozen=True)
class StdObjRef:
    """[MS-DCOM] 2.2.18.2."""

    flags: int
    cPublicRefs: int
    oxid: int
    oid: int
    ipid: uuid.UUID


@dataclass(frozen=True)
class ObjRefStandard:
    iid: uuid.UUID
    std: StdObjRef
    saResAddr: DualStringArray = field(default_factory=DualStringArray)

    def pack(self) -> bytes:
        s = self.std
        return (_HEAD.pack(OBJREF_SIGNATURE, OBJREF_STANDARD, self.iid.bytes_le)
                + _STD.pack(s.flags, s.cPublicRefs, s.oxid, s.oid, s.ipid.bytes_le)
                + self.saResAddr.pack())


@dataclass(frozen=True)
class ObjRefCustom:
    """[MS-DCOM] 2.2.18.6; ``size`` as impacket and Windows write it (len(data) + 8)."""

    iid: uuid.UUID
    clsid: uuid.UUID
    pObjectData: bytes
    cbExtension: int = 0
    size: int | None = None

    def pack(self) -> bytes:
        size = self.size if self.size is not None else len(self.pObjectData) + 8
        return (_HEAD.pack(OBJREF_SIGNATURE, OBJREF_CUSTOM, self.iid.bytes_le)
                + _CUSTOM.pack(self.clsid.bytes_le, self.cbExtension, size)
                + self.pObjectData)


def decode_objref(data: bytes) -> ObjRefStandard | ObjRefCustom:
    """Parse an OBJREF (standard or custom). Raises :class:`NdrError` when malformed."""
    data = bytes(data)
    if len(data) < _HEAD.size:
        raise NdrError(f"OBJREF truncated ({len(data)} bytes)", 0)
    sig, flags, iid = _HEAD.unpack_from(data, 0)
    if sig != OBJREF_SIGNATURE:
        raise NdrError(f"OBJREF signature {sig:#010x}, expected 'MEOW'", 0)
    pos = _HEAD.size
    if flags == OBJREF_STANDARD:
        if len(data) < pos + _STD.size:
            raise NdrError("OBJREF_STANDARD truncated", pos)
        f, refs, oxid, oid, ipid = _STD.unpack_from(data, pos)
        dsa, _ = DualStringArray.unpack(data, pos + _STD.size)
        return ObjRefStandard(uuid.UUID(bytes_le=iid),
                              StdObjRef(f, refs, oxid, oid, uuid.UUID(bytes_le=ipid)), dsa)
    if flags == OBJREF_CUSTOM:
        if len(data) < pos + _CUSTOM.size:
            raise NdrError("OBJREF_CUSTOM truncated", pos)
        clsid, cb_ext, size = _CUSTOM.unpack_from(data, pos)
        return ObjRefCustom(uuid.UUID(bytes_le=iid), uuid.UUID(bytes_le=clsid),
                            data[pos + _CUSTOM.size:], cb_ext, size)
    raise NdrError(f"OBJREF flags {flags:#x} not supported (standard and custom are)", 4)
