"""IDL → model: every construct the compiler accepts."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from dcerpc.idl._compile import Compilation
from dcerpc.ndr import types as t

Compile = Callable[..., Compilation]


def struct(comp: Compilation, name: str) -> t.Struct:
    return next(d for d, _ in comp.named if d.name == name)


def test_primitives_and_typedef_chains(compile_text: Compile) -> None:
    comp = compile_text("""
    typedef struct { boolean a; byte b; char c; unsigned char d; small e; short f;
      unsigned short g; long h; unsigned long i; int j; unsigned k; hyper l;
      unsigned hyper m; __int64 n; unsigned __int64 o; __int3264 p; unsigned __int3264 q;
      float r; double s; wchar_t u; error_status_t v; signed char w; } P;
    """)
    kinds = [f.type.kind for f in struct(comp, "P").fields]  # type: ignore[attr-defined]
    assert kinds == ["boolean", "byte", "char", "usmall", "small", "short", "ushort", "long",
                     "ulong", "long", "ulong", "hyper", "uhyper", "hyper", "uhyper", "int3264",
                     "uint3264", "float", "double", "wchar", "error_status_t", "small"]


def test_ms_dtyp_base_types(compile_text: Compile) -> None:
    comp = compile_text('import "ms-dtyp.idl";\ntypedef struct { DWORD a; GUID g; '
                        'RPC_UNICODE_STRING s; LARGE_INTEGER li; FILETIME ft; PRPC_SID sid; } X;')
    f = {x.name: x.type for x in struct(comp, "X").fields}
    assert f["a"] is t.ULONG and f["g"] is t.GUID
    buf = f["s"].fields[2].type  # type: ignore[attr-defined]
    assert buf.kind == "unique"
    assert buf.target.dims[0].size_is == t.BinOp("/", t.Ref("MaximumLength"), t.Const(2))
    assert buf.target.dims[0].length_is == t.BinOp("/", t.Ref("Length"), t.Const(2))
    sid = f["sid"].target  # type: ignore[attr-defined]
    assert sid.fields[3].type.dims[0].size_is == t.Ref("SubAuthorityCount")
    assert comp.typedefs["LPWSTR"].target is t.WCHAR  # type: ignore[attr-defined]
    assert comp.typedefs["HRESULT"] is t.LONG


def test_constants_and_expressions(compile_text: Compile) -> None:
    comp = compile_text("const long A = 4; const unsigned long B = (A << 2) + 1;\n"
                        "const long C = -A; const char *S = \"hi\";\n"
                        "typedef struct { long v[B]; } T;")
    assert comp.consts == {"A": 4, "B": 17, "C": -4, "S": "hi"}
    assert struct(comp, "T").fields[0].type.dims[0].fixed == 17  # type: ignore[attr-defined]


def test_conformant_and_varying_arrays(compile_text: Compile) -> None:
    comp = compile_text("""
    typedef struct { unsigned long n; unsigned long m; [size_is(n)] long a[]; } CS;
    typedef struct { unsigned long n; [length_is(n)] long v[10];
                     [size_is(n), length_is(n)] long *p; [string] char s[16];
                     [max_is(n)] long *q; [first_is(n), last_is(n)] long w[4]; } V;
    """)
    a = struct(comp, "CS").fields[2].type
    assert isinstance(a, t.Array) and a.conformant and a.dims[0].size_is == t.Ref("n")
    v = {f.name: f.type for f in struct(comp, "V").fields}
    assert v["v"].dims[0].fixed == 10 and v["v"].varying  # type: ignore[attr-defined]
    p = v["p"]
    assert isinstance(p, t.Pointer) and p.kind == "unique"
    assert p.target.dims[0].size_is == t.Ref("n")  # type: ignore[attr-defined]
    assert v["s"].string and v["s"].dims[0].fixed == 16  # type: ignore[attr-defined]
    assert v["q"].target.dims[0].max_is == t.Ref("n")  # type: ignore[attr-defined]
    assert v["w"].dims[0].first_is == t.Ref("n")  # type: ignore[attr-defined]


def test_pointer_defaults(compile_text: Compile) -> None:
    comp = compile_text("""
    [uuid(11111111-2222-3333-4444-555555555555), pointer_default(ptr)]
    interface I {
      typedef struct { long *a; [ref] long *b; [unique] long *c; } S;
      void f([in] long *p, [in, unique] long *q, [in] long **pp, [in, ptr] long *r);
    }
    [uuid(11111111-2222-3333-4444-555555555556)] interface J {
      typedef struct { long *a; } S2;
    }
    """)
    s = [f.type.kind for f in struct(comp, "S").fields]  # type: ignore[attr-defined]
    assert s == ["ptr", "ref", "unique"]
    assert struct(comp, "S2").fields[0].type.kind == "unique"  # type: ignore[attr-defined]
    p = comp.interfaces[0].operations[0].params
    assert [x.type.kind for x in p] == ["ref", "unique", "ref", "ptr"]  # type: ignore[attr-defined]
    assert p[2].type.target.kind == "ptr"  # type: ignore[attr-defined]


def test_size_is_per_level(compile_text: Compile) -> None:
    comp = compile_text("[uuid(11111111-2222-3333-4444-555555555555)] interface I {\n"
                        "void f([in] long n, [out, size_is(, n)] long **pp,"
                        " [in, size_is(n)] unsigned char *b, [in, string] char *s); }")
    pp_, b, s = comp.interfaces[0].operations[0].params[1:]
    assert pp_.type.kind == "ref" and pp_.type.target.kind == "unique"  # type: ignore[attr-defined]
    assert pp_.type.target.target.dims[0].size_is == t.Ref("n")  # type: ignore[attr-defined]
    assert b.type.target.element is t.USMALL  # type: ignore[attr-defined]
    assert s.type.target.string and s.type.target.element is t.CHAR  # type: ignore[attr-defined]


def test_unions(compile_text: Compile) -> None:
    comp = compile_text("""
    typedef [switch_type(unsigned short)] union _U { [case(1,2)] long a; [case(3)] ;
        [default] hyper d; } U;
    typedef union switch (long k) body { case 1: short s; case 2: ; default: ; } E;
    typedef struct { unsigned long level; [switch_is(level)] U u;
        [switch_is(level)] union { [case(0)] long x; } DUMMY; } S;
    """)
    u = next(d for d, _ in comp.named if d.name == "U")
    assert isinstance(u, t.Union) and u.switch_type is t.USHORT and not u.encapsulated
    assert [(arm.cases, arm.name) for arm in u.arms] == [([1, 2], "a"), ([3], None), ([], "d")]
    e = next(d for d, _ in comp.named if d.name == "E")
    assert e.encapsulated and e.switch_name == "k" and e.union_name == "body"
    assert e.switch_type is t.LONG
    s = struct(comp, "S")
    sw = s.fields[1].type
    assert isinstance(sw, t.Switch) and sw.union is u and sw.switch_is == t.Ref("level")
    anon = s.fields[2].type
    assert isinstance(anon, t.Switch) and anon.union.switch_type is t.ULONG  # inferred


def test_enums_and_v1_enum(compile_text: Compile) -> None:
    comp = compile_text("typedef enum _E { A, B = 5, C } E;\n"
                        "typedef [v1_enum] enum { X = 0x10 } V;")
    e = next(d for d, _ in comp.named if d.name == "E")
    assert e.members == {"A": 0, "B": 5, "C": 6} and not e.v1_enum
    v = next(d for d, _ in comp.named if d.name == "V")
    assert v.v1_enum and v.members == {"X": 16}


def test_recursive_struct_is_a_cycle(compile_text: Compile) -> None:
    comp = compile_text("typedef struct _N { long v; struct _N *next; } N;")
    n = struct(comp, "N")
    assert n.fields[1].type.target is n  # type: ignore[attr-defined]


def test_pipes_context_handles_ranges(compile_text: Compile) -> None:
    comp = compile_text("""
    typedef pipe char CHAR_PIPE;
    typedef [context_handle] void *H;
    [uuid(11111111-2222-3333-4444-555555555555)] interface I {
      void open([out] H *ph, [in, out] CHAR_PIPE *data, [in, range(1, 10)] long n,
                [in, context_handle] void *raw);
    }""", acf="interface I { typedef [strict_context_handle] H; }")
    ph, data, n, raw = comp.interfaces[0].operations[0].params
    assert isinstance(ph.type.target, t.ContextHandle)  # type: ignore[attr-defined]
    assert ph.type.target.name == "H" and ph.type.target.strict  # type: ignore[attr-defined]
    assert isinstance(data.type.target, t.Pipe)  # type: ignore[attr-defined]
    assert data.type.target.element is t.CHAR  # type: ignore[attr-defined]
    assert isinstance(n.type, t.Range) and (n.type.low, n.type.high) == (1, 10)
    assert isinstance(raw.type, t.ContextHandle) and raw.type.name is None


def test_object_interfaces_opnums_and_async_uuid(compile_text: Compile) -> None:
    comp = compile_text("""
    import "unknwn.idl";
    interface IFoo;
    [object, uuid(11111111-2222-3333-4444-555555555555),
     async_uuid(11111111-2222-3333-4444-666666666666)]
    interface IFoo : IUnknown {
      HRESULT A([in] long x);
      [local] HRESULT L([in] void *p);
      [call_as(L)] HRESULT RemoteL([in] long y);
      HRESULT B([out, iid_is(riid)] IUnknown **pp, [in] REFIID riid, [out] IFoo **self);
    }
    [object, uuid(11111111-2222-3333-4444-777777777777)]
    interface IBar : IFoo { HRESULT C(void); }
    """)
    foo, bar = comp.interfaces
    assert foo.base is not None and foo.base.name == "IUnknown" and foo.object
    assert [(o.name, o.opnum) for o in foo.operations] == [("A", 3), ("RemoteL", 4), ("B", 5)]
    assert foo.operations[1].attrs["call_as"] == "L"
    assert [(o.name, o.opnum) for o in bar.operations] == [("C", 6)]
    assert foo.async_uuid == uuid.UUID("11111111-2222-3333-4444-666666666666")
    pp_, _, me = foo.operations[2].params
    assert isinstance(pp_.type.target, t.InterfacePointer)  # type: ignore[attr-defined]
    assert pp_.type.target.iid_is == t.Ref("riid")  # type: ignore[attr-defined]
    assert me.type.target.iid == uuid.UUID(  # type: ignore[attr-defined]
        "11111111-2222-3333-4444-555555555555")
    assert comp.all_interfaces["IUnknown"].operations[0].name == "QueryInterface"


def test_handles_and_attrs(compile_text: Compile) -> None:
    comp = compile_text("""
    typedef [handle] wchar_t *SRV_HANDLE;
    [uuid(11111111-2222-3333-4444-555555555555), version(2.3), helpstring("x")]
    interface I {
      [idempotent] long f([in] handle_t h, [in, string, unique] SRV_HANDLE s,
                          [out, retval] long *r, [in, annotation("a")] long z);
    }""")
    (iface,) = comp.interfaces
    assert iface.version == (2, 3) and iface.attrs == {"helpstring": "x"}
    op = iface.operations[0]
    assert op.attrs == {"idempotent": True}
    h, s, r, z = op.params
    assert h.type is t.HANDLE_T
    assert s.attrs == {"handle": True} and s.type.kind == "unique"  # type: ignore[attr-defined]
    assert r.attrs == {"retval": True} and not r.in_ and r.out
    assert z.attrs == {"annotation": "a"}


def test_acf_attributes(compile_text: Compile) -> None:
    comp = compile_text(
        "[uuid(11111111-2222-3333-4444-555555555555)] interface I { void a(); void b(); }",
        acf="[implicit_handle(handle_t hI), strict_context_handle] interface I "
            "{ [async] a; [comm_status] b; }")
    iface = comp.interfaces[0]
    assert iface.attrs["implicit_handle"] == "hI" and iface.attrs["strict_context_handle"]
    a, b = iface.operations
    assert a.is_async and a.attrs["async"] is True and not b.is_async
    assert b.attrs["comm_status"] is True


def test_unknown_and_unsupported_attributes_warn(compile_text: Compile) -> None:
    comp = compile_text("typedef [transmit_as(long), frobnicate] short T;")
    joined = "\n".join(comp.warnings)
    assert "unknown attribute [frobnicate]" in joined
    assert "[transmit_as]" in joined


def test_imports_are_visible_but_not_ours(compile_text: Compile, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "base.idl").write_text(
        "const long K = 3; typedef struct { long v[K]; } B;\n"
        "[uuid(11111111-2222-3333-4444-555555555555)] interface Base { void x(); }")
    comp = compile_text('import "base.idl";\n[uuid(11111111-2222-3333-4444-555555555556)]\n'
                        "interface Mine { void y([in] B *b); }")
    assert [i.name for i in comp.interfaces] == ["Mine"]
    assert "K" not in comp.consts
    assert "Base" in comp.all_interfaces


def test_sizeof_scalar_types(compile_text: Compile) -> None:
    comp = compile_text("const long A = sizeof(wchar_t) + sizeof(unsigned long);\n"
                        "typedef short S; const long B = sizeof(S);")
    assert comp.consts == {"A": 6, "B": 2}
