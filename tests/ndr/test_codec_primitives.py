"""NDR 2.0 primitives, enums, GUIDs, context handles and alignment (C706 §14.2).

Hand-computed vectors, both byte orders."""

from __future__ import annotations

import struct
import uuid

import pytest

from dcerpc import ndr, status
from dcerpc.ndr import types as t

G = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")


def S(name: str, *fields: tuple[str, t.NdrType]) -> t.Struct:
    return t.Struct(name, [t.Field(n, T) for n, T in fields])


@pytest.mark.parametrize(("T", "value", "le", "be"), [
    (t.USMALL, 0xAB, "ab", "ab"),
    (t.SMALL, -1, "ff", "ff"),
    (t.CHAR, 0x41, "41", "41"),
    (t.BYTE, 7, "07", "07"),
    (t.SHORT, -2, "feff", "fffe"),
    (t.USHORT, 0x1234, "3412", "1234"),
    (t.WCHAR, 0x263A, "3a26", "263a"),
    (t.LONG, -2, "feffffff", "fffffffe"),
    (t.ULONG, 0x01020304, "04030201", "01020304"),
    (t.ERROR_STATUS_T, 5, "05000000", "00000005"),
    (t.INT3264, 1, "01000000", "00000001"),
    (t.UINT3264, 1, "01000000", "00000001"),
    (t.HYPER, -1, "ff" * 8, "ff" * 8),
    (t.UHYPER, 0x0102030405060708, "0807060504030201", "0102030405060708"),
    (t.FLOAT, 1.5, struct.pack("<f", 1.5).hex(), struct.pack(">f", 1.5).hex()),
    (t.DOUBLE, -0.25, struct.pack("<d", -0.25).hex(), struct.pack(">d", -0.25).hex()),
])
def test_primitive_vectors(T: t.NdrType, value: object, le: str, be: str) -> None:
    assert ndr.encode(T, value).hex() == le
    assert ndr.encode(T, value, little_endian=False).hex() == be
    assert ndr.decode(T, bytes.fromhex(le)) == value
    assert ndr.decode(T, bytes.fromhex(be), little_endian=False) == value


def test_boolean_encodes_one_zero_and_decodes_nonzero_true() -> None:
    assert ndr.encode(t.BOOLEAN, True) == b"\x01"
    assert ndr.encode(t.BOOLEAN, False) == b"\x00"
    assert ndr.encode(t.BOOLEAN, 5) == b"\x01"
    assert ndr.decode(t.BOOLEAN, b"\x02") is True
    assert ndr.decode(t.BOOLEAN, b"\x00") is False


def test_struct_member_alignment_and_no_trailing_pad() -> None:
    T = S("A", ("a", t.USHORT), ("b", t.ULONG), ("c", t.USMALL), ("d", t.DOUBLE),
          ("e", t.SHORT))
    v = ndr.python_type(T)(1, 2, 3, 4.0, -1)
    data = ndr.encode(T, v)
    # a@0 pad2 b@4 c@8 pad7 d@16 e@24, no trailing padding (NDR20)
    assert data == (bytes.fromhex("0100 0000 02000000 03") + bytes(7)
                    + struct.pack("<d", 4.0) + b"\xff\xff")
    assert len(data) == 26
    assert ndr.decode(T, data) == v
    be = ndr.encode(T, v, little_endian=False)
    assert be[:8] == bytes.fromhex("0001 0000 00000002")
    assert ndr.decode(T, be, little_endian=False) == v


def test_hyper_aligned_to_8_in_ndr20() -> None:
    T = S("H", ("c", t.USMALL), ("h", t.HYPER))
    assert ndr.encode(T, ndr.python_type(T)(1, 2)) == b"\x01" + bytes(7) + (2).to_bytes(8, "little")


def test_guid_le_and_be() -> None:
    assert ndr.encode(t.GUID, G).hex() == "33221100554477668899aabbccddeeff"
    assert ndr.encode(t.GUID, G, little_endian=False).hex() == G.hex
    assert ndr.decode(t.GUID, G.bytes_le) == G
    assert ndr.decode(t.GUID, G.bytes, little_endian=False) == G
    T = S("G", ("c", t.USMALL), ("g", t.GUID))
    data = ndr.encode(T, ndr.python_type(T)(1, G))
    assert data == b"\x01\x00\x00\x00" + G.bytes_le  # GUID aligns to 4


def test_context_handle() -> None:
    ch = ndr.ContextHandleValue(0, G)
    assert ndr.encode(t.ContextHandle(), ch) == bytes(4) + G.bytes_le
    assert ndr.decode(t.ContextHandle(), bytes(4) + G.bytes_le) == ch
    assert ndr.encode(t.ContextHandle(), ndr.ContextHandleValue()) == bytes(20)
    assert ndr.encode(t.ContextHandle(), None) == bytes(20)
    null = ndr.decode(t.ContextHandle(), bytes(20))
    assert not null and null == ndr.ContextHandleValue()
    assert ch
    assert ndr.decode(t.ContextHandle(), ndr.encode(t.ContextHandle(), ch, little_endian=False),
                      little_endian=False) == ch


E = t.Enum("COLOR", {"RED": 0, "GREEN": 1, "BLUE": 2})
E32 = t.Enum("BIG", {"ONE": 1, "TWO": 2}, v1_enum=True)


def test_enum16_is_two_bytes_and_decodes_to_intenum() -> None:
    cls = ndr.python_type(E)
    assert ndr.encode(E, cls.BLUE) == b"\x02\x00"
    assert ndr.encode(E, cls.BLUE, little_endian=False) == b"\x00\x02"
    got = ndr.decode(E, b"\x01\x00")
    assert got is cls.GREEN
    unknown = ndr.decode(E, b"\x09\x00")  # newer peer value: plain int, no failure
    assert unknown == 9 and type(unknown) is int


def test_enum16_out_of_range() -> None:
    with pytest.raises(ndr.NdrError) as ei:
        ndr.encode(E, 40000)
    assert ei.value.status == status.RPC_X_ENUM_VALUE_OUT_OF_RANGE
    with pytest.raises(ndr.NdrError) as ei:
        ndr.encode(E, -1)
    assert ei.value.status == status.RPC_X_ENUM_VALUE_OUT_OF_RANGE
    with pytest.raises(ndr.NdrError) as ei:
        ndr.decode(E, b"\x00\x80")
    assert ei.value.status == status.RPC_X_ENUM_VALUE_OUT_OF_RANGE


def test_v1_enum_is_four_bytes() -> None:
    cls = ndr.python_type(E32)
    assert ndr.encode(E32, cls.TWO) == b"\x02\x00\x00\x00"
    assert ndr.decode(E32, b"\x01\x00\x00\x00") is cls.ONE
    T = S("VE", ("c", t.USMALL), ("e", E32))
    assert ndr.encode(T, ndr.python_type(T)(1, cls.ONE)) == bytes.fromhex("01000000 01000000")


def test_range_checked_both_ways() -> None:
    R = t.Range(t.ULONG, 1, 10)
    assert ndr.encode(R, 10) == b"\x0a\x00\x00\x00"
    assert ndr.decode(R, b"\x01\x00\x00\x00") == 1
    with pytest.raises(ndr.NdrError) as ei:
        ndr.encode(R, 11)
    assert ei.value.status == status.RPC_S_INVALID_BOUND
    with pytest.raises(ndr.NdrError) as ei:
        ndr.decode(R, b"\x00\x00\x00\x00")
    assert ei.value.status == status.RPC_S_INVALID_BOUND


def test_truncated_and_trailing_data() -> None:
    with pytest.raises(ndr.NdrError) as ei:
        ndr.decode(t.ULONG, b"\x01\x02\x03")
    assert "truncated" in str(ei.value)
    with pytest.raises(ndr.NdrError) as ei:
        ndr.decode(t.ULONG, b"\x01\x02\x03\x04\x05")
    assert ei.value.offset == 4 and "trailing" in str(ei.value)


def test_bad_python_values_raise_ndr_error() -> None:
    with pytest.raises(ndr.NdrError):
        ndr.encode(t.USHORT, 70000)
    with pytest.raises(ndr.NdrError):
        ndr.encode(t.ULONG, "x")
    with pytest.raises(ndr.NdrError):
        ndr.encode(t.GUID, "not a uuid")


def test_accepts_bytearray_and_memoryview() -> None:
    assert ndr.decode(t.ULONG, bytearray(b"\x01\x00\x00\x00")) == 1
    assert ndr.decode(t.ULONG, memoryview(b"\x02\x00\x00\x00")) == 2


def test_class_with_ndr_attribute_is_accepted() -> None:
    T = S("P", ("x", t.ULONG))
    cls = ndr.python_type(T)
    assert cls.__ndr__ is T and T.py is cls
    assert ndr.encode(cls, cls(3)) == ndr.encode(T, cls(3)) == b"\x03\x00\x00\x00"
    assert ndr.decode(cls, b"\x03\x00\x00\x00") == cls(3)
