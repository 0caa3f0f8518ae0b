"""Forward references: a type name used before its definition later in the compilation.

MIDL accepts them, and the published [MS-OAUT] Appendix A IDL depends on it
(``typedef [unique] SAFEARRAY * PSAFEARRAY;`` comes ~400 lines before ``SAFEARRAY``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dcerpc.errors import IdlError
from dcerpc.idl._compile import Compilation, compile_idl
from dcerpc.ndr import types as t

Compile = Callable[..., Compilation]
CORPUS = Path(__file__).parent / "corpus"


def _strip(ty: Any) -> Any:
    """The struct/union/primitive under pointers, arrays and switches."""
    while isinstance(ty, t.Pointer | t.Array | t.Switch):
        ty = ty.target if isinstance(ty, t.Pointer) else (
            ty.element if isinstance(ty, t.Array) else ty.union)
    return ty


def _pointer_depth(ty: Any) -> int:
    n = 0
    while isinstance(ty, t.Pointer):
        n += 1
        ty = ty.target
    return n


def test_typedef_used_in_struct_field_before_definition(compile_text: Compile) -> None:
    c = compile_text("""
typedef struct { LATER a; long b; } S;
typedef short LATER;
""")
    s = c.typedefs["S"]
    assert isinstance(s, t.Struct)
    assert [f.name for f in s.fields] == ["a", "b"]
    assert s.fields[0].type == t.SHORT
    assert c.own_typedefs.count("S") == 1 and c.own_typedefs.count("LATER") == 1


def test_typedef_used_in_parameter_keeps_opnums(compile_text: Compile) -> None:
    c = compile_text("""
[uuid(12345678-1234-1234-1234-123456789abc), version(1.0)]
interface I {
    void First([in] long x);
    void Second([in] LATER x, [out] PLATER y);
    void Third([in] long x);
    typedef hyper LATER, *PLATER;
}
[uuid(12345678-1234-1234-1234-123456789abd), version(1.0)]
interface J : I {
    void Fourth([in] long x);
}
""")
    i, j = c.interfaces
    assert [(op.name, op.opnum) for op in i.operations] == [
        ("First", 0), ("Second", 1), ("Third", 2)]
    second = i.operation("Second")
    assert second.params[0].type == t.HYPER
    assert isinstance(second.params[1].type, t.Pointer)
    assert _strip(second.params[1].type) == t.HYPER
    # J's own operations continue after all of I's, the postponed one included
    assert [(op.name, op.opnum) for op in j.operations] == [("Fourth", 3)]


def test_pointer_typedef_to_later_typedef(compile_text: Compile) -> None:
    c = compile_text("""
typedef [unique] THING * PTHING;
typedef [unique] struct _THING { long v; } * THING;
typedef struct { PTHING p; } HOLDER;
""")
    p = c.typedefs["PTHING"]
    # PTHING is a pointer to THING, itself a pointer to struct _THING
    assert _pointer_depth(p) == 2 and p.kind == "unique"
    inner = _strip(p)
    assert isinstance(inner, t.Struct) and [f.name for f in inner.fields] == ["v"]
    holder = c.typedefs["HOLDER"]
    assert isinstance(holder, t.Struct) and _strip(holder.fields[0].type) is inner


def test_chain_of_three(compile_text: Compile) -> None:
    c = compile_text("""
typedef A1 TOP;
typedef A2 A1;
typedef A3 A2;
typedef unsigned short A3;
""")
    for name in ("TOP", "A1", "A2", "A3"):
        assert c.typedefs[name] == t.USHORT, name
    # each is ours once, listed in the order it became complete (dependencies first)
    assert c.own_typedefs == ["A3", "A2", "A1", "TOP"]


def test_union_and_enum_tags_used_before_definition(compile_text: Compile) -> None:
    c = compile_text("""
typedef struct { enum COLOR c; union EU u; } S;
enum COLOR { RED, GREEN };
union EU switch (long k) { case 1: long a; case 2: short b; };
""")
    s = c.typedefs["S"]
    assert isinstance(s, t.Struct)
    assert isinstance(s.fields[0].type, t.Enum) and s.fields[0].type.members == {
        "RED": 0, "GREEN": 1}
    u = s.fields[1].type
    assert isinstance(u, t.Union) and u.encapsulated and [a.name for a in u.arms] == ["a", "b"]


def test_recursive_structs_through_typedef_pointers(compile_text: Compile) -> None:
    # Each struct points at the other through a typedef name declared with it: only
    # resolvable by declaring one struct before its body, as C's ``struct A;`` would.
    c = compile_text("""
typedef struct _A { PB b; long x; } A, *PA;
typedef struct _B { PA a; } B, *PB;
typedef struct _N { struct _N *next; PA a; } N;
""")
    a_t, b_t = c.typedefs["A"], c.typedefs["B"]
    assert isinstance(a_t, t.Struct) and isinstance(b_t, t.Struct)
    assert _strip(a_t.fields[0].type) is b_t
    assert _strip(b_t.fields[0].type) is a_t  # shared by identity, not a copy
    assert [f.name for f in a_t.fields] == ["b", "x"]
    n = c.typedefs["N"]
    assert isinstance(n, t.Struct) and _strip(n.fields[0].type) is n
    assert c.own_typedefs.count("A") == 1 and c.own_typedefs.count("PA") == 1


def test_generated_module_with_forward_refs(load_text: Callable[..., Any]) -> None:
    m = load_text("""
[uuid(12345678-1234-1234-1234-123456789abe), version(1.0)]
interface K {
    typedef struct { PLATER p; } S;
    void Op([in] S *s);
    typedef [unique] LONGV *PLATER;
    typedef long LONGV;
}
""")
    op = m.K.operation("Op")
    s = _strip(op.params[0].type)
    assert isinstance(s, t.Struct)
    assert _strip(s.fields[0].type) == t.LONG and s.fields[0].type.kind == "unique"


def test_never_defined_name_keeps_the_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "d.idl"
    path.write_text("typedef LATER X;\ntypedef struct {\n  long a;\n  NOWHERE b;\n} S;\n"
                    "typedef long LATER;\n")
    with pytest.raises(IdlError) as info:
        compile_idl(str(path))
    e = info.value
    assert (e.filename, e.line, e.column) == (str(path), 4, 3)
    assert "unknown type name 'NOWHERE'" in str(e)


def test_never_defined_name_behind_a_postponed_one(tmp_path: Path) -> None:
    # X waits for LATER, which is declared but itself uses an undefined name.
    path = tmp_path / "d.idl"
    path.write_text("typedef LATER X;\ntypedef NOWHERE LATER;\n")
    with pytest.raises(IdlError) as info:
        compile_idl(str(path))
    assert (info.value.line, info.value.column) == (2, 9)
    assert "unknown type name 'NOWHERE'" in str(info.value)


@pytest.mark.parametrize("text, cycle", [
    ("typedef A B;\ntypedef B A;\n", "'B' -> 'A' -> 'B'"),
    ("typedef C C2;\ntypedef C2 C3;\ntypedef C3 C;\n", "'C2' -> 'C' -> 'C3' -> 'C2'"),
    ("typedef struct { SB b; } SA;\ntypedef struct { SA a; } SB;\n", "'SA' -> 'SB' -> 'SA'"),
])
def test_cycle_is_a_clear_error(tmp_path: Path, text: str, cycle: str) -> None:
    path = tmp_path / "d.idl"
    path.write_text(text)
    with pytest.raises(IdlError) as info:
        compile_idl(str(path))
    msg = str(info.value)
    assert "circular type definition" in msg and cycle in msg
    assert info.value.line == 1 and info.value.filename == str(path)


def test_ms_oaut_variant_reaches_safearray() -> None:
    c = compile_idl(str(CORPUS / "ms-oaut.idl"), include_dirs=[str(CORPUS)])
    wire_variant = c.tags[("struct", "_wireVARIANT")]
    wire_safearray = c.tags[("struct", "_wireSAFEARRAY")]
    # VARIANT (declared at the top as a pointer to the struct tag) is the same struct
    variant = c.typedefs["VARIANT"]
    assert isinstance(variant, t.Pointer) and variant.target is wire_variant
    union = _strip(wire_variant.fields[-1].type)
    assert isinstance(union, t.Union)
    arms = {arm.name: arm for arm in union.arms}
    parray = arms["parray"]
    assert parray.cases == [0x2000]  # VT_ARRAY
    # PSAFEARRAY = [unique] SAFEARRAY *, SAFEARRAY = [unique] struct _wireSAFEARRAY *
    assert _pointer_depth(parray.type) == 2 and _strip(parray.type) is wire_safearray
    assert _strip(arms["pparray"].type) is wire_safearray
    assert _pointer_depth(arms["pparray"].type) == 3
    assert _strip(arms["pvarVal"].type) is wire_variant  # recursive through VARIANT *
    # and the SAFEARRAY's union leads back to VARIANT through SAFEARR_VARIANT
    sa_union = wire_safearray.fields[4].type
    assert isinstance(sa_union, t.Union) and sa_union.encapsulated
    variant_str = next(a for a in sa_union.arms if a.name == "VariantStr").type
    assert isinstance(variant_str, t.Struct)
    assert _strip(variant_str.fields[1].type) is wire_variant


@pytest.mark.parametrize("text, ring", [
    ("typedef struct _SA { SB b; } SA;\ntypedef struct _SB { SA a; } SB;\n", "SB -> SA -> SB"),
    ("typedef struct _N { long x; struct _N n[2]; } N;\n", "N -> N"),
])
def test_struct_containing_itself_by_value_is_an_error(tmp_path: Path, text: str,
                                                       ring: str) -> None:
    # A forward declaration may close a loop only through a pointer: by value the NDR size
    # would be infinite (and encoding would never end).
    path = tmp_path / "d.idl"
    path.write_text(text)
    with pytest.raises(IdlError) as info:
        compile_idl(str(path))
    assert f"contains itself by value ({ring})" in str(info.value)
    assert info.value.filename == str(path)


def test_forward_refs_inside_an_imported_file(tmp_path: Path) -> None:
    (tmp_path / "base.idl").write_text(
        "typedef struct { PITEM first; } LIST;\n"
        "typedef [unique] struct _ITEM { long v; PITEM next; } *PITEM;\n")
    main = tmp_path / "main.idl"
    main.write_text('import "base.idl";\ntypedef struct { LIST l; MINE m; } TOP;\n'
                    "typedef short MINE;\n")
    c = compile_idl(str(main))
    top = c.typedefs["TOP"]
    assert isinstance(top, t.Struct)
    lst = top.fields[0].type
    item = _strip(lst.fields[0].type)
    assert isinstance(item, t.Struct) and [f.name for f in item.fields] == ["v", "next"]
    assert _strip(item.fields[1].type) is item
    assert top.fields[1].type == t.SHORT
    assert sorted(c.own_typedefs) == ["MINE", "TOP"]  # the imported ones are not ours
