"""MS-RPCE 2.2.6 type serialization version 1 (``[encode, decode]`` pickling).

Layout: common type header (2.2.6.1: Version 1, Endianness 0x10/0x00, CommonHeaderLength
8, Filler 0xCCCCCCCC), private header (2.2.6.2: ObjectBufferLength, Filler 0), then the
NDR data of the top-level type padded with zeros to a multiple of 8 (ObjectBufferLength
includes the padding).  The body's alignment is relative to its first byte, which sits
at offset 16 (8-aligned) of the stream.
"""

from __future__ import annotations

import struct
from typing import Any

from .. import status as _status
from ..errors import NdrError
from ._codec import decode_at, descriptor, encode

_COMMON_FILLER = 0xCCCCCCCC


def type_serialize(T: Any, value: Any, *, little_endian: bool = True) -> bytes:
    """The type-serialization-v1 octet stream of one value of T."""
    body = encode(T, value, little_endian=little_endian)
    body += bytes(-len(body) % 8)
    bo = "<" if little_endian else ">"
    common = struct.pack("<BBHI", 1, 0x10 if little_endian else 0x00, 8, _COMMON_FILLER)
    private = struct.pack(bo + "II", len(body), 0)
    return common + private + body


def type_deserialize(T: Any, data: bytes | bytearray | memoryview) -> Any:
    """Decode the first (only) value of a type-serialization-v1 stream."""
    b = data if type(data) is bytes else bytes(data)
    if len(b) < 16:
        raise NdrError(f"type serialization stream too short ({len(b)} bytes)", 0)
    version, endian, hlen, _filler = struct.unpack_from("<BBHI", b, 0)
    if version != 1:
        raise NdrError(f"type serialization version {version}, expected 1", 0,
                       _status.RPC_X_WRONG_ES_VERSION)
    if endian not in (0x10, 0x00):
        raise NdrError(f"bad type serialization endianness {endian:#x}", 1)
    if hlen != 8:
        raise NdrError(f"bad CommonHeaderLength {hlen}, expected 8", 2)
    le = endian == 0x10
    length, _ = struct.unpack_from("<II" if le else ">II", b, 8)
    if 16 + length > len(b):
        raise NdrError(f"ObjectBufferLength {length} exceeds the {len(b) - 16} bytes present", 8)
    if length % 8:
        raise NdrError(f"ObjectBufferLength {length} is not a multiple of 8", 8)
    body = b[16:16 + length]
    value, pos = decode_at(descriptor(T), body, 0, le)
    if length - pos >= 8:
        raise NdrError(f"{length - pos} unused bytes in the serialized object", 16 + pos)
    return value
