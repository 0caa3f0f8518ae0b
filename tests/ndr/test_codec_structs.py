"""Structures: conformant/varying structs, hoisting, count derivation (C706 §14.3.6-7)."""

from __future__ import annotations

import pytest

from dcerpc import ndr, status
from dcerpc.ndr import types as t


def S(name: str, *fields: tuple[str, t.NdrType]) -> t.Struct:
    return t.Struct(name, [t.Field(n, T) for n, T in fields])


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", "").replace("|", ""))


CONF = S("CONF", ("n", t.USHORT), ("a", t.Array(t.ULONG, (t.Dim(size_is=t.Ref("n")),))))


def test_digest_conformant_struct_after_uchar_param() -> None:
    # protocol-digest §5.2 [RUN]: {uchar c} {struct{ushort n; [size_is(n)] ulong a[]}}
    op = t.Operation("Op", 0, [t.Param("c", t.USMALL), t.Param("s", CONF)])
    codec = ndr.operation_codec(op)
    v = ndr.python_type(CONF)(2, [7, 8])
    data = codec.encode_request([0xCC, v])
    assert data == h("cc|000000|02000000|0200|0000|07000000 08000000")
    assert codec.decode_request(data) == [0xCC, v]


def test_conformant_struct_counts_hoisted_through_nesting() -> None:
    outer = S("OUTER", ("c", t.USMALL), ("inner", CONF))
    v = ndr.python_type(outer)(0xCC, ndr.python_type(CONF)(a=[7, 8]))
    data = ndr.encode(outer, v)
    # max_count moves to the front of the outermost struct, before its alignment gap
    assert data == h("02000000 | cc 000000 | 0200 0000 | 07000000 08000000")
    got = ndr.decode(outer, data)
    assert got.inner.n == 2 and got.inner.a == [7, 8]


def test_conformant_struct_big_endian() -> None:
    v = ndr.python_type(CONF)(a=[7])
    data = ndr.encode(CONF, v, little_endian=False)
    assert data == h("00000001 0001 0000 00000007")
    assert ndr.decode(CONF, data, little_endian=False).a == [7]


def test_hoisted_count_before_struct_alignment_gap() -> None:
    # struct of alignment 8: max_count aligned to 4 first, then the gap to 8
    T = S("H8", ("h", t.HYPER), ("a", t.Array(t.BYTE, (t.Dim(size_is=t.Ref("h")),))))
    op = t.Operation("Op", 0, [t.Param("c", t.USMALL), t.Param("s", T)])
    data = ndr.operation_codec(op).encode_request([1, ndr.python_type(T)(a=b"xy")])
    assert data == h("01 000000 | 02000000") + (2).to_bytes(8, "little") + b"xy"


def test_conformant_varying_struct_keeps_offset_and_count_in_place() -> None:
    T = S("CV", ("m", t.ULONG), ("l", t.USHORT),
          ("a", t.Array(t.USHORT, (t.Dim(size_is=t.Ref("m"), length_is=t.Ref("l")),))))
    v = ndr.python_type(T)(m=5, a=[1, 2])
    data = ndr.encode(T, v)
    assert data == h("05000000 | 05000000 0200 0000 | 00000000 02000000 | 0100 0200")
    got = ndr.decode(T, data)
    assert (got.m, got.l, got.a) == (5, 2, [1, 2])


RUS = S("RPC_UNICODE_STRING", ("Length", t.USHORT), ("MaximumLength", t.USHORT),
        ("Buffer", t.Pointer("unique", t.Array(t.WCHAR, (t.Dim(
            size_is=t.BinOp("/", t.Ref("MaximumLength"), t.Const(2)),
            length_is=t.BinOp("/", t.Ref("Length"), t.Const(2))),)))))


def test_rpc_unicode_string_counts_derived() -> None:
    cls = ndr.python_type(RUS)
    v = cls(Buffer="abc")
    assert v.Length is None and v.MaximumLength is None  # count fields default to None
    data = ndr.encode(RUS, v)
    assert data == h("0600 0600 00000200 | 03000000 00000000 03000000 610062006300")
    got = ndr.decode(RUS, data)
    assert got == cls(6, 6, "abc")
    assert ndr.decode(RUS, ndr.encode(RUS, got)) == got


def test_rpc_unicode_string_explicit_counts_are_authoritative() -> None:
    cls = ndr.python_type(RUS)
    data = ndr.encode(RUS, cls(Length=4, MaximumLength=10, Buffer="ab"))
    assert data == h("0400 0a00 00000200 | 05000000 00000000 02000000 61006200")
    assert ndr.decode(RUS, data) == cls(4, 10, "ab")
    with pytest.raises(ndr.NdrError) as ei:
        ndr.encode(RUS, cls(Length=2, MaximumLength=10, Buffer="ab"))
    assert "length_is(Length/2)" in str(ei.value) and "1" in str(ei.value)
    with pytest.raises(ndr.NdrError) as ei:
        ndr.encode(RUS, cls(Length=6, MaximumLength=4, Buffer="abc"))
    assert ei.value.status == status.RPC_S_INVALID_BOUND


def test_null_buffer_derives_zero_counts() -> None:
    cls = ndr.python_type(RUS)
    assert ndr.encode(RUS, cls()) == h("0000 0000 00000000")


def test_size_is_mismatch_names_both() -> None:
    cls = ndr.python_type(CONF)
    with pytest.raises(ndr.NdrError) as ei:
        ndr.encode(CONF, cls(3, [1, 2, 3, 4]))
    msg = str(ei.value)
    assert "size_is(n)" in msg and "3" in msg and "4" in msg


def test_decode_count_field_must_match_wire_conformance() -> None:
    bad = h("02000000 0300 0000 07000000 08000000")  # n=3 but max_count=2
    with pytest.raises(ndr.NdrError) as ei:
        ndr.decode(CONF, bad)
    assert "size_is(n)" in str(ei.value)


def test_conformant_struct_not_last_is_rejected() -> None:
    T = S("BAD", ("inner", CONF), ("x", t.ULONG))
    with pytest.raises(ndr.NdrError):
        ndr.encode(T, ndr.python_type(T)())


def test_nested_struct_values_and_defaults() -> None:
    inner = S("IN", ("a", t.USHORT), ("g", t.GUID))
    outer = S("OUT", ("x", t.USMALL), ("i", inner), ("y", t.ULONG))
    cls = ndr.python_type(outer)
    v = cls()
    assert v.i == ndr.python_type(inner)() and v.i is not cls().i  # fresh default
    data = ndr.encode(outer, v)
    assert data == bytes(4 + 4 + 16 + 4)
    assert ndr.decode(outer, data) == v


def test_struct_positional_and_keyword_construction() -> None:
    T = S("KW", ("a", t.ULONG), ("b", t.USHORT))
    cls = ndr.python_type(T)
    assert cls(1, 2) == cls(b=2, a=1)
    assert [f for f in cls.__dataclass_fields__] == ["a", "b"]


def test_keyword_field_name_gets_underscore() -> None:
    T = S("KWD", ("in", t.ULONG), ("class", t.USHORT))
    cls = ndr.python_type(T)
    v = cls(in_=1, class_=2)
    assert ndr.decode(T, ndr.encode(T, v)) == v
