from __future__ import annotations

from dcerpc.idl import _ast as a
from dcerpc.idl._parser import parse_acf, parse_idl
from dcerpc.idl._preprocess import Preprocessor
from dcerpc.ndr import types as t


def parse(text: str) -> list[object]:
    return parse_idl(Preprocessor().run_text(text, "g.idl"))


def test_interface_header_and_uuid_token() -> None:
    items = parse("[uuid(12345778-1234-ABCD-EF00-0123456789AB), version(1.10),]\n"
                  "interface lsarpc : base {}")
    (iface,) = items
    assert isinstance(iface, a.InterfaceDef)
    assert iface.name == "lsarpc" and iface.base == "base"
    uuid_attr, ver = iface.attrs
    assert uuid_attr.args == ["12345778-1234-ABCD-EF00-0123456789AB"]
    assert isinstance(ver.args[0], a.Num) and ver.args[0].text == "1.10"


def test_declarator_levels_are_outermost_first() -> None:
    (td,) = parse("typedef long *A[2][3];")
    assert isinstance(td, a.Typedef)
    levels = td.declarators[0].levels
    assert [type(x).__name__ for x in levels] == ["ArrLevel", "ArrLevel", "PtrLevel"]


def test_expressions_precedence_and_members() -> None:
    (iface,) = parse("interface i { void f([size_is((n+7)&~7, *p->len)] long **a); }")
    op = iface.items[0].declarators[0]
    size = op.params[0].attrs[0]
    assert size.args[0] == t.BinOp("&", t.BinOp("+", t.Ref("n"), a.Num("7", 7)),
                                   t.Unary("~", a.Num("7", 7)))
    assert size.args[1] == t.Deref(t.Attr(t.Ref("p"), "len"))


def test_empty_attribute_arguments_and_multiple_lists() -> None:
    (iface,) = parse("interface i { typedef union { [case(1)] [string] wchar_t *s; [default] ; }"
                     " U; void f([out, size_is(, *n)] long **p, [in] long *n); }")
    f = iface.items[1].declarators[0]
    assert f.params[0].attrs[1].args[0] is None
    union = iface.items[0].spec.type
    assert [x.name for x in union.members[0].attrs] == ["case", "string"]


def test_misc_syntax_is_accepted() -> None:
    text = """
    import "a.idl", "b.idl";
    cpp_quote("#define X 1")
    midl_pragma warning(disable: 2111)
    interface fwd;
    typedef pipe char CHAR_PIPE;
    typedef [switch_type(unsigned long)] union _U { [case(1)] long a; } U;
    typedef struct _S { union switch (short d) u { case 1: long x; default: ; } v; } S;
    typedef void (*PFN)(long);
    const char *NAME = "x" "y";
    enum E { A = 1, B, };
    library L { coclass C { [default] interface fwd; }; };
    """
    kinds = [type(x).__name__ for x in parse(text)]
    assert kinds == ["Import", "Ignored", "Ignored", "InterfaceFwd", "Typedef", "Typedef",
                     "Typedef", "Typedef", "Declaration", "Declaration", "Library"]


def test_acf_grammar() -> None:
    pp = Preprocessor().run_text(
        "[implicit_handle(handle_t h), explicit_handle] interface X { [async] Op; "
        "[comm_status] Op2([fault_status] st); typedef [context_handle_noserialize] H; }", "x.acf")
    (iface,) = parse_acf(pp)
    assert iface.name == "X"
    assert iface.attrs[0].args[0] == a.NameDecl("handle_t", "h")
    assert [o.name for o in iface.operations] == ["Op", "Op2"]
    assert iface.operations[1].params[0][0] == "st"
    assert iface.typedefs[0].names[0][0] == "H"
