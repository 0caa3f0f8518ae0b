"""Pointers: ref/unique/full, top-level vs embedded, deferral order, referent ids
(C706 §14.3.10-12, protocol-digest §5.5)."""

from __future__ import annotations

import pytest

from dcerpc import ndr, status
from dcerpc.ndr import types as t


def S(name: str, *fields: tuple[str, t.NdrType]) -> t.Struct:
    return t.Struct(name, [t.Field(n, T) for n, T in fields])


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", "").replace("|", ""))


WSTR = t.Array(t.WCHAR, (t.Dim(),), string=True)


def test_top_level_unique_pointer() -> None:
    P = t.Pointer("unique", t.ULONG)
    assert ndr.encode(P, None) == h("00000000")
    assert ndr.encode(P, 5) == h("00000200 05000000")
    assert ndr.decode(P, h("00000000")) is None
    assert ndr.decode(P, h("78563412 05000000")) == 5  # any non-zero id is accepted


def test_top_level_ref_pointer_is_in_place() -> None:
    P = t.Pointer("ref", t.ULONG)
    assert ndr.encode(P, 5) == h("05000000")
    assert ndr.decode(P, h("05000000")) == 5
    with pytest.raises(ndr.NdrError) as ei:
        ndr.encode(P, None)
    assert ei.value.status == status.RPC_X_NULL_REF_POINTER


def test_embedded_ref_pointer_placeholder_and_deferral() -> None:
    T = S("ER", ("p", t.Pointer("ref", t.USHORT)), ("x", t.ULONG))
    cls = ndr.python_type(T)
    data = ndr.encode(T, cls(7, 9))
    assert data == h("00000200 09000000 | 0700")
    assert ndr.decode(T, data) == cls(7, 9)
    with pytest.raises(ndr.NdrError) as ei:
        ndr.encode(T, cls(None, 1))
    assert ei.value.status == status.RPC_X_NULL_REF_POINTER
    with pytest.raises(ndr.NdrError) as ei:
        ndr.decode(T, h("00000000 09000000 0700"))
    assert ei.value.status == status.RPC_X_NULL_REF_POINTER


def test_digest_deferral_vector() -> None:
    # protocol-digest §5.5 [RUN]: struct {S* p1; [string] wchar_t* w; ulong k} then ulong
    inner = S("SD", ("n", t.USHORT), ("a", t.Array(t.ULONG, (t.Dim(size_is=t.Ref("n")),))))
    T = S("TD", ("p1", t.Pointer("unique", inner)), ("w", t.Pointer("unique", WSTR)),
          ("k", t.ULONG))
    op = t.Operation("Op", 0, [t.Param("t", T), t.Param("after", t.ULONG)])
    codec = ndr.operation_codec(op)
    v = ndr.python_type(T)(ndr.python_type(inner)(a=[9]), "ab", 5)
    data = codec.encode_request([v, 0xFFFFFFFF])
    assert data == h("00000200 04000200 05000000 | 01000000 0100 0000 09000000 | "
                     "03000000 00000000 03000000 6100 6200 0000 | 0000 ffffffff")
    got, after = codec.decode_request(data)
    assert after == 0xFFFFFFFF and got.p1.a == [9] and got.p1.n == 1 and got.w == "ab"


def test_depth_first_nested_referents() -> None:
    leaf = S("LEAF", ("v", t.USHORT))
    mid = S("MID", ("l", t.Pointer("unique", leaf)), ("x", t.ULONG))
    top = S("TOP", ("a", t.Pointer("unique", mid)), ("b", t.Pointer("unique", t.ULONG)))
    L, M, T = (ndr.python_type(s) for s in (leaf, mid, top))
    data = ndr.encode(top, T(M(L(1), 2), 3))
    # a's referent, then a's own referent (leaf), then b's referent
    assert data == h("00000200 04000200 | 08000200 02000000 | 0100 0000 | 03000000")
    assert ndr.decode(top, data) == T(M(L(1), 2), 3)


def test_array_of_structs_inline_parts_first_then_referents_in_order() -> None:
    el = S("EP", ("a", t.ULONG), ("p", t.Pointer("unique", t.USHORT)))
    T = t.Pointer("unique", t.Array(el, (t.Dim(),)))
    E = ndr.python_type(el)
    data = ndr.encode(T, [E(1, 10), E(2, None), E(3, 30)])
    assert data == h("00000200 03000000 | 01000000 04000200 02000000 00000000 03000000 "
                     "08000200 | 0a00 1e00")
    assert ndr.decode(T, data) == [E(1, 10), E(2, None), E(3, 30)]


def test_referent_ids_increase_per_non_null_pointer() -> None:
    T = S("IDS", *[(f"p{i}", t.Pointer("unique", t.USMALL)) for i in range(4)])
    data = ndr.encode(T, ndr.python_type(T)(1, None, 3, 4))
    assert data[:16] == h("00000200 00000000 04000200 08000200")


def test_full_pointers_alias_by_identity() -> None:
    node = S("FN", ("v", t.ULONG))
    T = S("FP", ("a", t.Pointer("ptr", node)), ("b", t.Pointer("ptr", node)),
          ("c", t.Pointer("ptr", node)))
    N, C = ndr.python_type(node), ndr.python_type(T)
    shared = N(7)
    data = ndr.encode(T, C(shared, shared, N(7)))
    # same object -> same id, referent sent once; an equal but distinct object -> new id
    assert data == h("00000200 00000200 04000200 | 07000000 | 07000000")
    got = ndr.decode(T, data)
    assert got.a is got.b and got.a is not got.c and got == C(N(7), N(7), N(7))


def test_full_pointers_to_equal_immutables_do_not_alias() -> None:
    """CPython shares small ints and interned strings; that is not aliasing."""
    T = S("FI", ("a", t.Pointer("ptr", t.ULONG)), ("b", t.Pointer("ptr", t.ULONG)))
    data = ndr.encode(T, ndr.python_type(T)(1, 1))
    assert data == h("00000200 04000200 | 01000000 | 01000000")
    got = ndr.decode(T, data)
    assert (got.a, got.b) == (1, 1)


def test_full_pointer_cycle() -> None:
    node = t.Struct("CYC", [])
    node.fields = [t.Field("v", t.ULONG), t.Field("next", t.Pointer("ptr", node))]
    N = ndr.python_type(node)
    a, b = N(1), N(2)
    a.next, b.next = b, a
    P = t.Pointer("ptr", node)
    data = ndr.encode(P, a)
    assert data == h("00000200 01000000 04000200 02000000 00000200")
    got = ndr.decode(P, data)
    assert got.v == 1 and got.next.v == 2 and got.next.next is got


def test_linked_list_unique() -> None:
    node = t.Struct("NODE", [])
    node.fields = [t.Field("v", t.LONG), t.Field("next", t.Pointer("unique", node))]
    N = ndr.python_type(node)
    v = N(1, N(2, N(3)))
    data = ndr.encode(node, v)
    assert data == h("01000000 00000200 02000000 04000200 03000000 00000000")
    assert ndr.decode(node, data) == v


def test_deep_pointer_chain_raises_ndr_error_not_recursion_error() -> None:
    node = t.Struct("DEEP", [])
    node.fields = [t.Field("next", t.Pointer("unique", node))]
    data = h("00000200") * 20000 + h("00000000")
    with pytest.raises(ndr.NdrError):
        ndr.decode(node, data)
    N = ndr.python_type(node)
    v = N()
    for _ in range(20000):
        v = N(v)
    with pytest.raises(ndr.NdrError):
        ndr.encode(node, v)


def test_pointer_to_pointer() -> None:
    P = t.Pointer("ref", t.Pointer("unique", WSTR))  # [out] LPWSTR *pp
    assert ndr.encode(P, "a") == h("00000200 02000000 00000000 02000000 6100 0000")
    assert ndr.encode(P, None) == h("00000000")
    assert ndr.decode(P, ndr.encode(P, "a")) == "a"
    PP = t.Pointer("unique", t.Pointer("unique", t.ULONG))
    assert ndr.encode(PP, 5) == h("00000200 04000200 05000000")


def test_big_endian_pointers() -> None:
    T = S("BEP", ("p", t.Pointer("unique", t.USHORT)), ("q", t.Pointer("unique", WSTR)))
    cls = ndr.python_type(T)
    data = ndr.encode(T, cls(1, "z"), little_endian=False)
    assert data == h("00020000 00020004 0001 0000 00000002 00000000 00000002 007a 0000")
    assert ndr.decode(T, data, little_endian=False) == cls(1, "z")


def test_interface_pointer_default_and_registered_marshaller() -> None:
    IP = t.InterfacePointer("IFoo")
    T = S("IPS", ("x", t.USMALL), ("ip", IP))
    cls = ndr.python_type(T)
    data = ndr.encode(T, cls(1, b"OBJ"))
    assert data == h("01000000 00000200 | 03000000 03000000") + b"OBJ"
    assert ndr.decode(T, data) == cls(1, b"OBJ")
    assert ndr.encode(T, cls(1, None)) == h("01000000 00000000")
    try:
        ndr.register_interface_marshaller(lambda T, v: v.encode(), lambda T, d: d.decode())
        assert ndr.encode(T, cls(1, "OBJ")) == data
        assert ndr.decode(T, data) == cls(1, "OBJ")
    finally:
        ndr.register_interface_marshaller(None, None)
    assert ndr.decode(T, data) == cls(1, b"OBJ")
