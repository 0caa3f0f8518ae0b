"""Arrays and strings (C706 §14.3.3-4, protocol-digest §5.3-5.4)."""

from __future__ import annotations

import pytest

from dcerpc import ndr, status
from dcerpc.ndr import types as t


def S(name: str, *fields: tuple[str, t.NdrType]) -> t.Struct:
    return t.Struct(name, [t.Field(n, T) for n, T in fields])


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", "").replace("|", ""))


def A(el: t.NdrType, *dims: t.Dim, string: bool = False) -> t.Array:
    return t.Array(el, dims or (t.Dim(),), string=string)


WSTR = A(t.WCHAR, string=True)
CSTR = A(t.CHAR, string=True)


# ---------------------------------------------------------------- fixed
def test_fixed_arrays() -> None:
    T = A(t.ULONG, t.Dim(fixed=3))
    assert ndr.encode(T, [1, 2, 3]) == h("01000000 02000000 03000000")
    assert ndr.decode(T, h("01000000 02000000 03000000")) == [1, 2, 3]
    B = A(t.BYTE, t.Dim(fixed=4))
    assert ndr.encode(B, b"abcd") == b"abcd"
    assert ndr.decode(B, b"abcd") == b"abcd"
    with pytest.raises(ndr.NdrError):
        ndr.encode(T, [1, 2])
    with pytest.raises(ndr.NdrError):
        ndr.encode(B, b"abc")


def test_fixed_array_in_struct_and_big_endian() -> None:
    T = S("FA", ("c", t.USMALL), ("a", A(t.USHORT, t.Dim(fixed=2))),
          ("b", A(t.BYTE, t.Dim(fixed=3))))
    v = ndr.python_type(T)(1, [2, 3], b"xyz")
    assert ndr.encode(T, v) == h("01 00 0200 0300") + b"xyz"
    assert ndr.encode(T, v, little_endian=False) == h("01 00 0002 0003") + b"xyz"
    assert ndr.decode(T, ndr.encode(T, v, little_endian=False), little_endian=False) == v


def test_fixed_wchar_array_is_nul_padded_str() -> None:
    T = A(t.WCHAR, t.Dim(fixed=4))
    assert ndr.encode(T, "ab") == "ab\0\0".encode("utf-16-le")
    assert ndr.decode(T, "ab\0\0".encode("utf-16-le")) == "ab"
    with pytest.raises(ndr.NdrError):
        ndr.encode(T, "abcde")


def test_multidimensional_fixed_row_major() -> None:
    T = A(t.USHORT, t.Dim(fixed=2), t.Dim(fixed=3))
    v = [[1, 2, 3], [4, 5, 6]]
    assert ndr.encode(T, v) == h("0100 0200 0300 0400 0500 0600")
    assert ndr.decode(T, ndr.encode(T, v)) == v
    B = A(t.BYTE, t.Dim(fixed=2), t.Dim(fixed=2))
    assert ndr.decode(B, ndr.encode(B, [b"ab", b"cd"])) == [b"ab", b"cd"]


def test_multidimensional_conformant_all_max_counts_first() -> None:
    T = A(t.USHORT, t.Dim(), t.Dim())
    v = [[1, 2, 3], [4, 5, 6]]
    data = ndr.encode(T, v)
    assert data == h("02000000 03000000 0100 0200 0300 0400 0500 0600")
    assert ndr.decode(T, data) == v


def test_multidimensional_conformant_varying_pairs_after_counts() -> None:
    T = A(t.USMALL, t.Dim(size_is=t.Const(2), length_is=t.Const(2)),
          t.Dim(size_is=t.Const(3), length_is=t.Const(1)))
    data = ndr.encode(T, [b"\x07", b"\x08"])
    assert data == h("02000000 03000000 | 00000000 02000000 00000000 01000000 | 07 08")
    assert ndr.decode(T, data) == [b"\x07", b"\x08"]  # innermost byte rows are bytes


# ---------------------------------------------------------------- conformant / varying
def test_conformant_top_level_array() -> None:
    T = A(t.ULONG)
    assert ndr.encode(T, [5, 6]) == h("02000000 05000000 06000000")
    assert ndr.decode(T, h("02000000 05000000 06000000")) == [5, 6]
    assert ndr.encode(T, []) == h("00000000")
    H = A(t.HYPER)
    assert ndr.encode(H, [1]) == h("01000000 00000000") + (1).to_bytes(8, "little")


def test_conformant_byte_array_is_bytes() -> None:
    T = A(t.BYTE)
    assert ndr.encode(T, b"\x01\x02") == h("02000000 0102")
    assert ndr.decode(T, h("02000000 0102")) == b"\x01\x02"
    assert ndr.encode(T, bytearray(b"\x03")) == h("01000000 03")


def test_varying_fixed_array_in_struct() -> None:
    T = S("VA", ("l", t.ULONG), ("a", A(t.USHORT, t.Dim(fixed=5, length_is=t.Ref("l")))))
    v = ndr.python_type(T)(a=[9, 8])
    data = ndr.encode(T, v)
    assert data == h("02000000 | 00000000 02000000 | 0900 0800")
    assert ndr.decode(T, data) == ndr.python_type(T)(2, [9, 8])
    with pytest.raises(ndr.NdrError) as ei:
        ndr.encode(T, ndr.python_type(T)(a=[1] * 6))
    assert ei.value.status == status.RPC_S_INVALID_BOUND
    # decode: offset + actual_count > fixed size
    with pytest.raises(ndr.NdrError):
        ndr.decode(T, h("06000000 00000000 06000000") + bytes(12))


def test_first_is_last_is() -> None:
    T = S("FL", ("f", t.ULONG), ("x", t.ULONG),
          ("a", A(t.USMALL, t.Dim(fixed=8, first_is=t.Ref("f"), last_is=t.Ref("x")))))
    cls = ndr.python_type(T)
    data = ndr.encode(T, cls(2, 4, b"abc"))
    assert data == h("02000000 04000000 | 02000000 03000000") + b"abc"
    assert ndr.decode(T, data) == cls(2, 4, b"abc")
    # offset != 0 without first_is is rejected ([MS-RPCE] 3.1.1.5.3.2.1.7)
    V = S("V", ("l", t.ULONG), ("a", A(t.USMALL, t.Dim(fixed=8, length_is=t.Ref("l")))))
    with pytest.raises(ndr.NdrError) as ei:
        ndr.decode(V, h("01000000 01000000 01000000 61"))
    assert "offset=1" in str(ei.value)


def test_conformant_varying_pointee_and_bounds_checks() -> None:
    T = S("CVP", ("m", t.ULONG), ("l", t.ULONG),
          ("p", t.Pointer("unique", A(t.ULONG, t.Dim(size_is=t.Ref("m"), length_is=t.Ref("l"))))))
    cls = ndr.python_type(T)
    data = ndr.encode(T, cls(m=4, p=[1]))
    assert data == h("04000000 01000000 00000200 | 04000000 00000000 01000000 01000000")
    assert ndr.decode(T, data) == cls(4, 1, [1])
    # actual_count > max_count on the wire
    bad = h("04000000 05000000 00000200 | 04000000 00000000 05000000") + bytes(20)
    with pytest.raises(ndr.NdrError) as ei:
        ndr.decode(T, bad)
    assert ei.value.status == status.RPC_S_INVALID_BOUND


def test_huge_count_fails_fast_without_allocation() -> None:
    with pytest.raises(ndr.NdrError) as ei:
        ndr.decode(A(t.ULONG), h("ffffff7f 01000000"))
    assert "truncated" in str(ei.value) and ei.value.offset == 4
    T = A(S("EL", ("a", t.ULONG), ("p", t.Pointer("unique", t.ULONG))))
    with pytest.raises(ndr.NdrError):
        ndr.decode(T, h("ffffffff") + bytes(16))
    with pytest.raises(ndr.NdrError):
        ndr.decode(WSTR, h("ffffff7f 00000000 ffffff7f 4100"))


def test_array_of_flat_structs_with_stride_padding() -> None:
    el = S("E6", ("a", t.ULONG), ("b", t.USHORT))
    T = A(el)
    cls = ndr.python_type(el)
    v = [cls(1, 2), cls(3, 4), cls(5, 6)]
    data = ndr.encode(T, v)
    # elements are 4-aligned: 2 pad bytes between elements, none after the last
    assert data == h("03000000 | 01000000 0200 0000 | 03000000 0400 0000 | 05000000 0600")
    assert ndr.decode(T, data) == v
    be = ndr.encode(T, v, little_endian=False)
    assert ndr.decode(T, be, little_endian=False) == v


def test_array_of_unions_and_of_strings() -> None:
    U = t.Union("AU", t.USHORT, [t.Arm([1], "l", t.ULONG), t.Arm([2], "s", t.USHORT)],
                encapsulated=True)
    cls = ndr.python_type(U)
    T = A(U)
    v = [cls(1, 7), cls(2, 8)]
    data = ndr.encode(T, v)
    assert data == h("02000000 | 0100 0000 07000000 | 0200 0000 0800")
    assert ndr.decode(T, data) == v
    P = A(t.Pointer("unique", WSTR))
    data = ndr.encode(P, ["a", None, "b"])
    assert data == h("03000000 00000200 00000000 04000200 "
                     "02000000 00000000 02000000 6100 0000 "
                     "02000000 00000000 02000000 6200 0000")
    assert ndr.decode(P, data) == ["a", None, "b"]


# ---------------------------------------------------------------- strings
def test_empty_strings() -> None:
    assert ndr.encode(CSTR, "") == h("01000000 00000000 01000000 00")
    assert ndr.encode(WSTR, "") == h("01000000 00000000 01000000 0000")
    assert ndr.decode(WSTR, h("01000000 00000000 01000000 0000")) == ""


def test_strings_le_be_and_non_ascii() -> None:
    assert ndr.encode(WSTR, "hi") == h("03000000 00000000 03000000 6800 6900 0000")
    assert ndr.encode(WSTR, "hi", little_endian=False) == h(
        "00000003 00000000 00000003 0068 0069 0000")
    for s in ("héllo", "€", "\U0001F600", "a\0b"):
        assert ndr.decode(WSTR, ndr.encode(WSTR, s)) == s
        assert ndr.decode(WSTR, ndr.encode(WSTR, s, little_endian=False),
                          little_endian=False) == s
    assert ndr.encode(WSTR, "\U0001F600")[:4] == h("03000000")  # surrogate pair = 2 units
    assert ndr.decode(CSTR, ndr.encode(CSTR, "\xff\x01")) == "\xff\x01"
    with pytest.raises(ndr.NdrError):
        ndr.encode(CSTR, "€")


def test_string_without_terminator_rejected() -> None:
    with pytest.raises(ndr.NdrError) as ei:
        ndr.decode(WSTR, h("02000000 00000000 02000000 6100 6200"))
    assert "terminator" in str(ei.value)
    with pytest.raises(ndr.NdrError):
        ndr.decode(CSTR, h("00000000 00000000 00000000"))


def test_sized_string_buffer() -> None:
    T = S("SB", ("m", t.ULONG),
          ("s", t.Pointer("unique", A(t.WCHAR, t.Dim(size_is=t.Ref("m")), string=True))))
    cls = ndr.python_type(T)
    data = ndr.encode(T, cls(10, "ab"))
    assert data == h("0a000000 00000200 | 0a000000 00000000 03000000 6100 6200 0000")
    assert ndr.decode(T, data) == cls(10, "ab")
    with pytest.raises(ndr.NdrError):
        ndr.encode(T, cls(2, "ab"))  # needs 3 with the NUL


def test_fixed_string_in_struct_is_varying_only() -> None:
    T = S("FS", ("c", t.USMALL), ("s", A(t.CHAR, t.Dim(fixed=8), string=True)))
    cls = ndr.python_type(T)
    data = ndr.encode(T, cls(1, "ab"))
    assert data == h("01 000000 | 00000000 03000000 | 616200")
    assert ndr.decode(T, data) == cls(1, "ab")
    with pytest.raises(ndr.NdrError):
        ndr.encode(T, cls(1, "abcdefgh"))


def test_conformant_string_as_last_member_hoists_max_count() -> None:
    T = S("CS", ("x", t.USHORT), ("s", WSTR))
    cls = ndr.python_type(T)
    data = ndr.encode(T, cls(5, "a"))
    assert data == h("02000000 | 0500 0000 | 00000000 02000000 | 6100 0000")
    assert ndr.decode(T, data) == cls(5, "a")


def test_wchar_array_without_string_is_str() -> None:
    T = S("WA", ("n", t.ULONG), ("p", t.Pointer("unique", A(t.WCHAR, t.Dim(size_is=t.Ref("n"))))))
    cls = ndr.python_type(T)
    data = ndr.encode(T, cls(p="ab"))
    assert data == h("02000000 00000200 02000000 6100 6200")
    assert ndr.decode(T, data) == cls(2, "ab")


def test_range_on_string_counts_terminator() -> None:
    R = t.Range(t.Pointer("unique", WSTR), 1, 3)
    op = t.Operation("Op", 0, [t.Param("s", R)])
    codec = ndr.operation_codec(op)
    assert codec.decode_request(codec.encode_request(["ab"])) == ["ab"]
    with pytest.raises(ndr.NdrError) as ei:
        codec.encode_request(["abc"])
    assert ei.value.status == status.RPC_S_INVALID_BOUND
