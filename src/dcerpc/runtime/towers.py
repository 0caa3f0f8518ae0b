"""Protocol towers (``twr_t`` contents) ⇄ interface, transfer syntax and string binding.

A tower is how the endpoint mapper names "interface X over protocol Y at address Z"
(C706 appendix L "Protocol Tower Encoding", appendix I for the protocol identifiers,
[MS-RPCE] 2.2.1.2.5). Its octets are *not* NDR; all counts are
little-endian::

    floor_count u16
    floor_count times { lhs_length u16 | lhs (protocol id, then data) | rhs_length u16 | rhs }

Floors for a connection-oriented protocol sequence, in this order (impacket and Windows
read the endpoint from floor 4 by position, so the order is part of the contract):

1. ``0x0D`` + interface UUID (``bytes_le``) + major version u16 │ minor version u16
2. ``0x0D`` + transfer syntax UUID + major version u16 │ minor version u16
3. RPC protocol: ``0x0B`` (ncacn), ``0x0A`` (ncadg), ``0x0C`` (ncalrpc) │ minor version u16
4. endpoint: ``0x07`` TCP / ``0x08`` UDP / ``0x1F`` HTTP port (**big-endian** u16),
   ``0x0F`` SMB pipe / ``0x10`` local pipe / ``0x20`` Unix socket (NUL-terminated name)
5. host: ``0x09`` IPv4 (4 octets, network order), ``0x11`` NetBIOS name (NUL-terminated)

Which floors a protocol sequence uses comes from
:data:`dcerpc.runtime.binding.PROTSEQ_TOWER_FLOORS`. Pure functions, no I/O, no name
resolution: a network address that is not an IPv4 literal goes out as ``0.0.0.0``, which
is also what clients put in ``ept_map`` queries (the mapper never looks at it).

Malformed towers raise :class:`~dcerpc.errors.NdrError` (a tower arrives inside NDR stub
data, so a bad one is bad stub data).
"""

from __future__ import annotations

import ipaddress
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import NdrError
from ..protocol.constants import NDR_SYNTAX, SyntaxId
from .binding import PROTSEQ_TOWER_FLOORS, StringBinding

__all__ = [
    "EPM_PROTOCOL_HTTP",
    "EPM_PROTOCOL_IP",
    "EPM_PROTOCOL_NAMED_PIPE",
    "EPM_PROTOCOL_NCACN",
    "EPM_PROTOCOL_NCADG",
    "EPM_PROTOCOL_NCALRPC",
    "EPM_PROTOCOL_NETBIOS",
    "EPM_PROTOCOL_SMB",
    "EPM_PROTOCOL_TCP",
    "EPM_PROTOCOL_UDP",
    "EPM_PROTOCOL_UNIX_DS",
    "EPM_PROTOCOL_UUID",
    "TOWER_FLOORS",
    "Floor",
    "Tower",
    "as_syntax",
    "decode_floors",
    "decode_tower",
    "encode_floors",
    "encode_tower",
]

# Protocol identifiers (C706 appendix I; names as Samba's epmapper.idl spells them).
EPM_PROTOCOL_TCP = 0x07
EPM_PROTOCOL_UDP = 0x08
EPM_PROTOCOL_IP = 0x09
EPM_PROTOCOL_NCADG = 0x0A
EPM_PROTOCOL_NCACN = 0x0B
EPM_PROTOCOL_NCALRPC = 0x0C
EPM_PROTOCOL_UUID = 0x0D
EPM_PROTOCOL_SMB = 0x0F
EPM_PROTOCOL_NAMED_PIPE = 0x10
EPM_PROTOCOL_NETBIOS = 0x11
EPM_PROTOCOL_HTTP = 0x1F
EPM_PROTOCOL_UNIX_DS = 0x20

#: Floors 3.. per protocol sequence: the shared table plus Samba's Unix-socket sequence.
TOWER_FLOORS: dict[str, tuple[int, ...]] = {
    **PROTSEQ_TOWER_FLOORS,
    "ncacn_unix_stream": (EPM_PROTOCOL_NCACN, EPM_PROTOCOL_UNIX_DS),
}
_PROTSEQ_BY_FLOORS = {floors: protseq for protseq, floors in TOWER_FLOORS.items()}

_RPC_PROTOCOLS = frozenset({EPM_PROTOCOL_NCACN, EPM_PROTOCOL_NCADG, EPM_PROTOCOL_NCALRPC})
_PORT_FLOORS = frozenset({EPM_PROTOCOL_TCP, EPM_PROTOCOL_UDP, EPM_PROTOCOL_HTTP})
_NAME_FLOORS = frozenset({EPM_PROTOCOL_SMB, EPM_PROTOCOL_NAMED_PIPE, EPM_PROTOCOL_UNIX_DS,
                          EPM_PROTOCOL_NETBIOS})
_HOST_FLOORS = frozenset({EPM_PROTOCOL_IP, EPM_PROTOCOL_NETBIOS})
_U16 = struct.Struct("<H")
_MAX_FLOORS = 32  # real towers have 4-6; anything far above is garbage


@dataclass(frozen=True, slots=True)
class Floor:
    """One tower floor: ``lhs`` starts with the protocol identifier (C706 L.1)."""

    lhs: bytes
    rhs: bytes

    @property
    def protocol_id(self) -> int:
        return self.lhs[0]


# --------------------------------------------------------------------------- floors
def encode_floors(floors: Sequence[Floor]) -> bytes:
    """``floor_count`` then each floor's ``lhs_length | lhs | rhs_length | rhs``."""
    out = bytearray(_U16.pack(len(floors)))
    for f in floors:
        if not f.lhs or len(f.lhs) > 0xFFFF or len(f.rhs) > 0xFFFF:
            raise NdrError(f"tower floor cannot be encoded (lhs {len(f.lhs)}, rhs {len(f.rhs)} "
                           "octets; lhs needs a protocol id)")
        out += _U16.pack(len(f.lhs)) + f.lhs + _U16.pack(len(f.rhs)) + f.rhs
    return bytes(out)


def decode_floors(data: bytes | bytearray | memoryview) -> list[Floor]:
    """Split tower octets into floors; every length is checked against the data."""
    b = bytes(data)
    if len(b) < 2:
        raise NdrError(f"tower of {len(b)} octets has no floor count", 0)
    (count,) = _U16.unpack_from(b, 0)
    if count == 0 or count > _MAX_FLOORS:
        raise NdrError(f"tower floor count {count} out of range 1..{_MAX_FLOORS}", 0)
    pos, floors = 2, []
    for i in range(count):
        lhs, pos = _counted(b, pos, f"floor {i + 1} lhs")
        if not lhs:
            raise NdrError(f"tower floor {i + 1} has an empty lhs (no protocol id)", pos)
        rhs, pos = _counted(b, pos, f"floor {i + 1} rhs")
        floors.append(Floor(lhs, rhs))
    if pos != len(b):
        raise NdrError(f"{len(b) - pos} octets after the last tower floor", pos)
    return floors


def _counted(b: bytes, pos: int, what: str) -> tuple[bytes, int]:
    if pos + 2 > len(b):
        raise NdrError(f"tower truncated in the {what} length", pos)
    (n,) = _U16.unpack_from(b, pos)
    pos += 2
    if pos + n > len(b):
        raise NdrError(f"tower {what} claims {n} octets, {len(b) - pos} left", pos)
    return b[pos:pos + n], pos + n


# --------------------------------------------------------------------------- syntax floors
def as_syntax(value: Any) -> SyntaxId:
    """A :class:`SyntaxId` from a SyntaxId, an ``Interface`` (or anything with
    ``.syntax``), a generated interface class, or ``(uuid, (major, minor))``."""
    if isinstance(value, SyntaxId):
        return value
    syntax = getattr(value, "syntax", None)
    if syntax is None and hasattr(value, "__ndr__"):
        syntax = getattr(value.__ndr__, "syntax", None)
    if syntax is not None:
        value = syntax
    try:
        if_uuid, (major, minor) = value
        return SyntaxId.make(if_uuid if isinstance(if_uuid, uuid.UUID) else uuid.UUID(str(if_uuid)),
                             int(major), int(minor))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not an interface or syntax identifier: {value!r}") from exc


def _uuid_floor(s: SyntaxId) -> Floor:
    return Floor(bytes([EPM_PROTOCOL_UUID]) + s.if_uuid.bytes_le + _U16.pack(s.major),
                 _U16.pack(s.minor))


def _parse_uuid_floor(f: Floor, which: str) -> SyntaxId:
    # C706 L.3: lhs = 0x0D, UUID, major version; rhs = minor version.
    if f.protocol_id != EPM_PROTOCOL_UUID or len(f.lhs) != 19 or len(f.rhs) != 2:
        raise NdrError(f"tower {which} floor is not a UUID floor (id 0x{f.protocol_id:02x}, "
                       f"lhs {len(f.lhs)}, rhs {len(f.rhs)} octets)")
    (major,) = _U16.unpack_from(f.lhs, 17)
    (minor,) = _U16.unpack(f.rhs)
    return SyntaxId.make(uuid.UUID(bytes_le=f.lhs[1:17]), major, minor)


# --------------------------------------------------------------------------- address floors
def _address_rhs(protocol_id: int, text: str) -> bytes:
    if protocol_id in _RPC_PROTOCOLS:
        return _U16.pack(0)  # minor version of the RPC protocol (C706 L.3)
    if protocol_id in _PORT_FLOORS:
        port = int(text) if text else 0
        return struct.pack(">H", port)
    if protocol_id == EPM_PROTOCOL_IP:
        try:
            return ipaddress.IPv4Address(text).packed
        except ValueError:
            return bytes(4)  # host names / IPv6 cannot be carried; see the module docstring
    if protocol_id in _NAME_FLOORS:
        return text.encode("latin-1") + b"\0"
    raise NdrError(f"no tower encoding for protocol id 0x{protocol_id:02x}")


def _address_text(f: Floor) -> str:
    pid, rhs = f.protocol_id, f.rhs
    if pid in _PORT_FLOORS:
        if len(rhs) != 2:
            raise NdrError(f"tower port floor 0x{pid:02x} has {len(rhs)} octets, not 2")
        return str(struct.unpack(">H", rhs)[0])
    if pid == EPM_PROTOCOL_IP:
        if len(rhs) != 4:
            raise NdrError(f"tower IPv4 floor has {len(rhs)} octets, not 4")
        return str(ipaddress.IPv4Address(rhs))
    if pid in _NAME_FLOORS:
        return rhs.split(b"\0", 1)[0].decode("latin-1")
    return ""


# --------------------------------------------------------------------------- towers
@dataclass(frozen=True, slots=True)
class Tower:
    """A decoded tower. ``protseq`` is None for protocol floors we have no name for."""

    interface: SyntaxId
    transfer_syntax: SyntaxId
    floors: tuple[Floor, ...]
    protseq: str | None
    endpoint: str = ""
    network_addr: str = ""

    @property
    def protocol_ids(self) -> tuple[int, ...]:
        """The protocol ids of floors 3.. (the key :data:`TOWER_FLOORS` maps)."""
        return tuple(f.protocol_id for f in self.floors[2:])

    @property
    def binding(self) -> StringBinding:
        """The tower as a string binding (raises NdrError for unknown protocols)."""
        if self.protseq is None:
            raise NdrError(f"no protocol sequence for tower floors "
                           f"{', '.join(f'0x{p:02x}' for p in self.protocol_ids)}")
        return StringBinding(self.protseq, self.network_addr, self.endpoint)

    def encode(self) -> bytes:
        return encode_floors(self.floors)


def encode_tower(interface: Any, binding: StringBinding | str,
                 transfer_syntax: Any = NDR_SYNTAX) -> bytes:
    """The tower octets for ``interface`` over ``binding``'s protocol sequence, endpoint
    and network address (C706 appendix L). An empty endpoint encodes as port 0 / ``""``,
    which is what ``ept_map`` queries carry."""
    sb = StringBinding.parse(binding) if isinstance(binding, str) else binding
    ids = TOWER_FLOORS.get(sb.protseq.lower())
    if ids is None:
        raise NdrError(f"no tower encoding for protocol sequence {sb.protseq!r}")
    floors = [_uuid_floor(as_syntax(interface)), _uuid_floor(as_syntax(transfer_syntax))]
    endpoint_done = False
    for pid in ids:
        if pid in _RPC_PROTOCOLS:
            text = ""
        elif pid in _HOST_FLOORS and endpoint_done:
            text = sb.network_addr
        else:
            text, endpoint_done = sb.endpoint, True
        try:
            floors.append(Floor(bytes([pid]), _address_rhs(pid, text)))
        except (ValueError, struct.error, UnicodeEncodeError) as exc:
            raise NdrError(f"cannot put {text!r} into a tower floor 0x{pid:02x}: {exc}") from None
    return encode_floors(floors)


def decode_tower(data: bytes | bytearray | memoryview) -> Tower:
    """Parse tower octets: floors 1-2 must be UUID floors; floors 3.. give the protocol
    sequence (None when unknown), the endpoint (floor 4) and the host (floor 5)."""
    floors = decode_floors(data)
    if len(floors) < 3:
        raise NdrError(f"tower has {len(floors)} floors; at least 3 are needed")
    interface = _parse_uuid_floor(floors[0], "interface")
    transfer = _parse_uuid_floor(floors[1], "transfer syntax")
    rest = floors[2:]
    protseq = _PROTSEQ_BY_FLOORS.get(tuple(f.protocol_id for f in rest))
    endpoint = _address_text(rest[1]) if len(rest) > 1 else ""
    host = _address_text(rest[2]) if len(rest) > 2 else ""
    return Tower(interface, transfer, tuple(floors), protseq, endpoint, host)
