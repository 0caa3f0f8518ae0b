"""Python mapping/defaults, type serialization v1 ([MS-RPCE] 2.2.6), pipe chunks."""

from __future__ import annotations

import enum
import uuid

import pytest

from dcerpc import ndr, status
from dcerpc.ndr import types as t


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", "").replace("|", ""))


def S(name: str, *fields: tuple[str, t.NdrType]) -> t.Struct:
    return t.Struct(name, [t.Field(n, T) for n, T in fields])


WSTR = t.Array(t.WCHAR, (t.Dim(),), string=True)


# ---------------------------------------------------------------- mapping and defaults
def test_python_types_are_created_once_and_cached() -> None:
    st = S("CACHED", ("a", t.ULONG))
    E = t.Enum("CE", {"X": 3, "Y": 0})
    U = t.Union("CU", t.ULONG, [t.Arm([1], "a", t.ULONG)])
    cls = ndr.python_type(st)
    assert ndr.python_type(st) is cls is st.py and cls.__ndr__ is st
    ecls = ndr.python_type(E)
    assert issubclass(ecls, enum.IntEnum) and ecls.X == 3 and ecls.__ndr__ is E
    ucls = ndr.python_type(U)
    assert issubclass(ucls, t.UnionValue) and ucls(1, 2).tag == 1 and ucls.__ndr__ is U
    assert ndr.python_type(t.Switch(U, t.Ref("x"))) is ucls
    with pytest.raises(TypeError):
        ndr.python_type(t.ULONG)


def test_default_values() -> None:
    E = t.Enum("DE", {"A": 5, "B": 0})
    E2 = t.Enum("DE2", {"A": 5, "B": 6})
    inner = S("DIN", ("x", t.ULONG))
    assert ndr.default_value(t.ULONG) == 0
    assert ndr.default_value(t.BOOLEAN) is False
    assert ndr.default_value(t.DOUBLE) == 0.0 and isinstance(ndr.default_value(t.FLOAT), float)
    assert ndr.default_value(t.GUID) == uuid.UUID(int=0)
    assert ndr.default_value(E) == 0 and ndr.default_value(E).name == "B"
    assert ndr.default_value(E2).name == "A"
    assert ndr.default_value(t.Pointer("unique", t.ULONG)) is None
    assert ndr.default_value(t.Pointer("ptr", t.ULONG)) is None
    assert ndr.default_value(t.Pointer("ref", t.ULONG)) == 0
    assert ndr.default_value(WSTR) == ""
    assert ndr.default_value(t.Array(t.BYTE, (t.Dim(fixed=4),))) == bytes(4)
    assert ndr.default_value(t.Array(t.BYTE, (t.Dim(),))) == b""
    assert ndr.default_value(t.Array(t.ULONG, (t.Dim(fixed=3),))) == [0, 0, 0]
    assert ndr.default_value(t.Array(t.ULONG, (t.Dim(),))) == []
    assert ndr.default_value(inner) == ndr.python_type(inner)(0)
    assert ndr.default_value(t.Union("DU", t.ULONG, [])) is None
    assert ndr.default_value(t.ContextHandle()) == ndr.ContextHandleValue()
    assert ndr.default_value(t.Range(t.ULONG, 2, 5)) == 2


def test_dataclass_defaults_and_count_fields() -> None:
    T = S("DC", ("n", t.ULONG), ("a", t.Pointer("unique", t.Array(t.ULONG, (
        t.Dim(size_is=t.Ref("n")),)))), ("l", t.Array(t.ULONG, (t.Dim(fixed=2),))),
        ("s", t.Pointer("ref", WSTR)))
    v = ndr.python_type(T)()
    assert v.n is None and v.a is None and v.l == [0, 0] and v.s == ""
    assert ndr.python_type(T)().l is not v.l  # no shared mutable default
    assert ndr.decode(T, ndr.encode(T, v)) == ndr.python_type(T)(0, None, [0, 0], "")


# ---------------------------------------------------------------- type serialization
def test_type_serialization_v1_layout() -> None:
    T = S("TS", ("a", t.ULONG), ("s", t.Pointer("unique", WSTR)))
    cls = ndr.python_type(T)
    data = ndr.type_serialize(T, cls(1, "ab"))
    body = h("01000000 00000200 03000000 00000000 03000000 6100 6200 0000")
    padded = body + bytes(-len(body) % 8)
    assert data[:8] == h("01 10 0800 cccccccc")
    assert data[8:16] == len(padded).to_bytes(4, "little") + bytes(4)
    assert data[16:] == padded and len(data) % 8 == 0
    assert ndr.type_deserialize(T, data) == cls(1, "ab")
    be = ndr.type_serialize(T, cls(1, "ab"), little_endian=False)
    assert be[:4] == h("01 00 0800") and ndr.type_deserialize(T, be) == cls(1, "ab")


def test_type_deserialize_rejects_bad_headers() -> None:
    good = ndr.type_serialize(t.ULONG, 7)
    with pytest.raises(ndr.NdrError) as ei:
        ndr.type_deserialize(t.ULONG, b"\x02" + good[1:])
    assert ei.value.status == status.RPC_X_WRONG_ES_VERSION
    with pytest.raises(ndr.NdrError):
        ndr.type_deserialize(t.ULONG, good[:1] + b"\x20" + good[2:])  # bad Endianness
    with pytest.raises(ndr.NdrError):
        ndr.type_deserialize(t.ULONG, good[:8] + (64).to_bytes(4, "little") + good[12:])
    with pytest.raises(ndr.NdrError):
        ndr.type_deserialize(t.ULONG, good[:10])


# ---------------------------------------------------------------- pipe chunks
def test_pipe_chunks() -> None:
    assert ndr.encode_pipe_chunk(t.ULONG, [1, 2]) == h("02000000 01000000 02000000")
    assert ndr.encode_pipe_chunk(t.ULONG, []) == h("00000000")  # terminator
    assert ndr.encode_pipe_chunk(t.BYTE, b"ab") == h("02000000 6162")
    stream = h("02000000 6162 0000 01000000 63 000000 00000000")
    items, off = ndr.decode_pipe_chunk(t.BYTE, stream, 0)
    assert (items, off) == (b"ab", 6)
    items, off = ndr.decode_pipe_chunk(t.BYTE, stream, off)  # realigns to 4 first
    assert (items, off) == (b"c", 13)
    items, off = ndr.decode_pipe_chunk(t.BYTE, stream, off)
    assert (items, off) == (b"", 20)
    with pytest.raises(ndr.NdrError):
        ndr.decode_pipe_chunk(t.ULONG, h("05000000 01000000"), 0)
    with pytest.raises(ndr.NdrError):
        ndr.decode_pipe_chunk(t.ULONG, h("00000000"), 9)
    pipe = t.Pipe(t.USHORT)
    assert ndr.decode_pipe_chunk(pipe, ndr.encode_pipe_chunk(pipe, [1, 2]))[0] == [1, 2]
