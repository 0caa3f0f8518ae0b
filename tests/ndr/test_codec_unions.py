"""Unions (C706 §14.3.8, [MS-RPCE] 2.2.4.5, protocol-digest §5.6)."""

from __future__ import annotations

import pytest

from dcerpc import ndr, status
from dcerpc.ndr import types as t


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", "").replace("|", ""))


def S(name: str, *fields: tuple[str, t.NdrType]) -> t.Struct:
    return t.Struct(name, [t.Field(n, T) for n, T in fields])


NE = t.Union("NE", t.USHORT, [
    t.Arm([1], "l", t.ULONG),
    t.Arm([2, 3], "s", t.USHORT),
    t.Arm([4], "empty", None),
    t.Arm([5], "p", t.Pointer("unique", t.USHORT)),
])
HOLDER = S("HOLDER", ("level", t.USHORT), ("u", t.Switch(NE, t.Ref("level"))))


def test_non_encapsulated_union_discriminant_then_arm_own_alignment() -> None:
    U, H = ndr.python_type(NE), ndr.python_type(HOLDER)
    data = ndr.encode(HOLDER, H(u=U(1, 0x01020304)))
    assert data == h("0100 | 0100 | 04030201")
    assert ndr.decode(HOLDER, data) == H(1, U(1, 0x01020304))
    data = ndr.encode(HOLDER, H(u=U(3, 7)))
    assert data == h("0300 0300 0700")  # arm aligned to its own 2
    assert ndr.encode(HOLDER, H(u=U(4))) == h("0400 0400")  # empty arm
    assert ndr.decode(HOLDER, h("0400 0400")) == H(4, U(4, None))
    data = ndr.encode(HOLDER, H(u=U(5, 9)))
    assert data == h("0500 0500 00000200 0900")  # pointer arm: referent deferred
    assert ndr.decode(HOLDER, data) == H(5, U(5, 9))
    assert ndr.decode(HOLDER, ndr.encode(HOLDER, H(u=U(1, 5)), little_endian=False),
                      little_endian=False) == H(1, U(1, 5))


def test_union_alignment_seen_by_struct_is_max_of_arms() -> None:
    T = S("UA", ("c", t.USMALL), ("level", t.USHORT), ("u", t.Switch(NE, t.Ref("level"))))
    # struct alignment is 4 (the ULONG/pointer arms), the discriminant aligns to 2
    assert ndr.operation_codec(t.Operation("Op", 0, [
        t.Param("x", t.USMALL), t.Param("s", T)])).encode_request(
        [9, ndr.python_type(T)(1, u=ndr.python_type(NE)(2, 5))]) == h(
        "09 000000 | 01 00 0200 | 0200 0500")


def test_ms_union_aligns_arm_to_largest() -> None:
    MS = t.Union("MSU", t.USHORT, [t.Arm([1], "l", t.ULONG), t.Arm([2], "s", t.USHORT)],
                 ms_union=True)
    T = S("MSH", ("level", t.USHORT), ("u", t.Switch(MS, t.Ref("level"))))
    data = ndr.encode(T, ndr.python_type(T)(u=ndr.python_type(MS)(2, 7)))
    assert data == h("0200 0200 0700")  # already 4-aligned at offset 4
    T2 = S("MSH2", ("c", t.USMALL), ("level", t.USHORT), ("u", t.Switch(MS, t.Ref("level"))))
    data = ndr.encode(T2, ndr.python_type(T2)(1, u=ndr.python_type(MS)(2, 7)))
    assert data == h("01 00 0200 0200 0000 0700")


def test_encapsulated_union_arm_part_aligned_to_largest_arm() -> None:
    EU = t.Union("EU", t.ULONG, [t.Arm([1], "s", t.USHORT), t.Arm([2], "h", t.HYPER)],
                 encapsulated=True, switch_name="d", union_name="u")
    cls = ndr.python_type(EU)
    assert ndr.encode(EU, cls(1, 7)) == h("01000000 00000000 0700")
    assert ndr.encode(EU, cls(2, 7)) == h("02000000 00000000 0700000000000000")
    assert ndr.decode(EU, h("01000000 00000000 0700")) == cls(1, 7)


def test_default_arm_and_enum_discriminant() -> None:
    E = t.Enum("LEVEL", {"ONE": 1, "TWO": 2})
    DU = t.Union("DU", E, [t.Arm([1], "a", t.USMALL), t.Arm([], "rest", t.ULONG)],
                 encapsulated=True)
    cls, EL = ndr.python_type(DU), ndr.python_type(E)
    # the union part aligns to the largest arm (4) even for the 1-byte arm
    assert ndr.encode(DU, cls(EL.ONE, 3)) == h("0100 0000 03")
    assert ndr.encode(DU, cls(7, 3)) == h("0700 0000 03000000")
    got = ndr.decode(DU, h("0100 0000 03"))
    assert got == cls(1, 3) and got.tag is EL.ONE
    assert ndr.decode(DU, h("0900 0000 03000000")) == cls(9, 3)


def test_bad_tag_mismatch_and_none() -> None:
    U, H = ndr.python_type(NE), ndr.python_type(HOLDER)
    with pytest.raises(ndr.NdrError) as ei:
        ndr.encode(HOLDER, H(u=U(9, 1)))
    assert ei.value.status == status.RPC_S_INVALID_TAG
    with pytest.raises(ndr.NdrError) as ei:
        ndr.decode(HOLDER, h("0900 0900 00000000"))
    assert ei.value.status == status.RPC_S_INVALID_TAG
    with pytest.raises(ndr.NdrError) as ei:
        ndr.encode(HOLDER, H(level=2, u=U(1, 1)))
    assert "switch_is" in str(ei.value)
    with pytest.raises(ndr.NdrError) as ei:
        ndr.decode(HOLDER, h("0100 0200 0500"))
    assert "discriminant" in str(ei.value)
    with pytest.raises(ndr.NdrError) as ei:
        ndr.encode(HOLDER, H())  # union field default None
    assert "HOLDER.u" in str(ei.value)


def test_union_as_operation_parameter_with_switch_param() -> None:
    op = t.Operation("Get", 1, [t.Param("level", t.ULONG),
                                t.Param("info", t.Switch(NE, t.Ref("level")), in_=False, out=True)])
    codec = ndr.operation_codec(op)
    U = ndr.python_type(NE)
    with pytest.raises(ndr.NdrError):
        codec.encode_request([None])  # no [in] data to derive level from
    data = codec.encode_request([1])
    assert data == h("01000000")
    resp = codec.encode_response(U(2, 6))
    assert resp == h("0200 0600")
    assert codec.decode_response(resp) == U(2, 6)
