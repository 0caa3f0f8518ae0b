"""Oracle corpus, part 2: pointers, strings, arrays, unions and operations.

See ``_oracle_cases`` for the case record and the list of impacket limits honoured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _oracle_cases import (
    CH,
    E16,
    G,
    R,
    S,
    case,
    conf,
    conf_array,
    cstring,
    fill,
    iE16,
    imp_union,
    items,
    one,
    ref,
    unique,
    wstr,
    wstring,
)
from _oracle_types import call_class, pointer_class, struct_class
from impacket.dcerpc.v5 import dtypes as imp
from impacket.dcerpc.v5 import ndr as impndr
from impacket.dcerpc.v5.epm import ept_lookup_handle_t

from dcerpc.ndr import ContextHandleValue
from dcerpc.ndr import types as t

NULL = impndr.NULL

# --------------------------------------------------------------------------- pointers
# Top-level [unique]: referent id, then the referent in place; top-level [ref]: the
# referent only (C706 §14.3.10, protocol-digest §5.5).
case("top_unique_ulong", unique(t.ULONG), 7, lambda: one(imp.PULONG, 7), "00000200 07000000")
case("top_unique_null", unique(t.ULONG), None, lambda: one(imp.PULONG, NULL), "00000000")
case("top_ref_ulong", ref(t.ULONG), 7, lambda: one(imp.ULONG, 7), "07000000")
case("top_full_ulong", t.Pointer("ptr", t.ULONG), 9, lambda: one(imp.PULONG, 9),
     "00000200 09000000")
case("top_unique_hyper", unique(t.HYPER), -2, lambda: one(imp.PLONGLONG, -2),
     "00000200 00000000 feffffff ffffffff")
iPPULONG = pointer_class("iPPULONG", imp.PULONG)
case("top_unique_to_unique", unique(unique(t.ULONG)), 5, lambda: one(iPPULONG, 5),
     "00000200 04000200 05000000")

SP = S("SP", ("a", t.ULONG), ("p", unique(t.ULONG)), ("b", t.USHORT), ("q", unique(t.USHORT)))
iSP = struct_class("iSP", ("a", imp.ULONG), ("p", imp.PULONG), ("b", imp.USHORT),
                   ("q", imp.PUSHORT))
# Embedded pointers: ids in place, referents deferred after the struct (C706 §14.3.12.3).
case("struct_embedded_unique", SP, lambda P: P(SP)(a=1, p=10, b=2, q=3),
     lambda: one(iSP, {"a": 1, "p": 10, "b": 2, "q": 3}),
     "01000000 00000200 02000000 04000200 0a000000 0300")
case("struct_embedded_unique_null", SP, lambda P: P(SP)(a=1, p=None, b=2, q=3),
     lambda: one(iSP, {"a": 1, "p": NULL, "b": 2, "q": 3}),
     "01000000 00000000 02000000 00000200 0300")

PH = S("PH", ("x", t.USHORT), ("y", t.HYPER))
SPH = S("SPH", ("a", t.USMALL), ("p", unique(PH)))
iPH = struct_class("iPH", ("x", imp.USHORT), ("y", imp.LONGLONG))
iSPH = struct_class("iSPH", ("a", imp.UCHAR), ("p", pointer_class("iPPH", iPH)))
case("struct_pointer_to_8_aligned_struct", SPH, lambda P: P(SPH)(a=1, p=P(PH)(x=2, y=3)),
     lambda: one(iSPH, {"a": 1, "p": {"x": 2, "y": 3}}),
     "01000000 00000200 02000000 00000000 03000000 00000000")

DA = S("DA", ("v", t.ULONG), ("q", unique(t.ULONG)))
DF = S("DF", ("p1", unique(DA)), ("p2", unique(DA)))
iDA = struct_class("iDA", ("v", imp.ULONG), ("q", imp.PULONG))
iPDA = pointer_class("iPDA", iDA)
iDF = struct_class("iDF", ("p1", iPDA), ("p2", iPDA))
# Nested referents are depth-first: p1's pointee, then *its* referents, then p2's.
case("struct_depth_first_referents", DF,
     lambda P: P(DF)(p1=P(DA)(v=1, q=11), p2=P(DA)(v=2, q=22)),
     lambda: one(iDF, {"p1": {"v": 1, "q": 11}, "p2": {"v": 2, "q": 22}}),
     "00000200 04000200 01000000 08000200 0b000000 02000000 0c000200 16000000")

FP = S("FP", ("a", t.Pointer("ptr", t.ULONG)), ("b", t.Pointer("ptr", t.ULONG)))
iFP = struct_class("iFP", ("a", imp.PULONG), ("b", imp.PULONG))
# Full pointers without aliasing marshal exactly like unique ones (C706 §14.3.10.3).
case("struct_full_pointers_distinct", FP, lambda P: P(FP)(a=1, b=2),
     lambda: one(iFP, {"a": 1, "b": 2}), "00000200 04000200 01000000 02000000")
case("top_ref_struct_with_pointers", ref(SP), lambda P: P(SP)(a=4, p=5, b=6, q=None),
     lambda: one(iSP, {"a": 4, "p": 5, "b": 6, "q": NULL}),
     "04000000 00000200 06000000 00000000 05000000")

# --------------------------------------------------------------------------- strings
case("wstring_ref", ref(wstring()), "hi", lambda: one(imp.WSTR, wstr("hi")),
     "03000000 00000000 03000000 68006900 0000")
case("wstring_empty", ref(wstring()), "", lambda: one(imp.WSTR, wstr("")),
     "01000000 00000000 01000000 0000")
case("wstring_unique", unique(wstring()), "xyz", lambda: one(imp.LPWSTR, wstr("xyz")),
     "00000200 04000000 00000000 04000000 78007900 7a000000")
case("wstring_unique_null", unique(wstring()), None, lambda: one(imp.LPWSTR, NULL), "00000000")
# Counts are in UTF-16 code units: U+1F600 is a surrogate pair (2 units).
case("wstring_non_bmp", ref(wstring()), "é\U0001f600", lambda: one(imp.WSTR, wstr("é\U0001f600")),
     "04000000 00000000 04000000 e9003dd8 00de0000")
case("cstring_ref", ref(cstring()), "hello", lambda: one(imp.STR, wstr("hello")),
     "06000000 00000000 06000000 68656c6c 6f00")
case("cstring_unique", unique(cstring()), "abc", lambda: one(imp.LPSTR, wstr("abc")),
     "00000200 04000000 00000000 04000000 61626300")

SS = S("SS", ("a", t.USHORT), ("s", unique(wstring())), ("b", t.USMALL),
       ("c", unique(cstring())), ("n", unique(wstring())))
iSS = struct_class("iSS", ("a", imp.USHORT), ("s", imp.LPWSTR), ("b", imp.UCHAR),
                   ("c", imp.LPSTR), ("n", imp.LPWSTR))
case("struct_strings", SS, lambda P: P(SS)(a=1, s="ab", b=2, c="xy", n=None),
     lambda: one(iSS, {"a": 1, "s": wstr("ab"), "b": 2, "c": wstr("xy"), "n": NULL}),
     "01000000 00000200 02000000 04000200 00000000"
     " 03000000 00000000 03000000 61006200 0000"
     " 0000 03000000 00000000 03000000 787900")

# [MS-DTYP] 2.3.10 RPC_UNICODE_STRING: byte lengths; the pointee is a conformant-varying
# wchar_t array (no terminator) with size_is(MaximumLength/2), length_is(Length/2).
_half = t.Const(2)
RUS = S("RPC_UNICODE_STRING", ("Length", t.USHORT), ("MaximumLength", t.USHORT),
        ("Buffer", unique(t.Array(t.WCHAR, (t.Dim(
            size_is=t.BinOp("/", R("MaximumLength"), _half),
            length_is=t.BinOp("/", R("Length"), _half)),)))))


def _rus(text: str | None, maximum: int | None = None) -> Callable[[], impndr.NDR]:
    def build() -> impndr.NDR:
        call = call_class(("v", imp.RPC_UNICODE_STRING))()
        s = call.fields["v"]
        s["Data"] = NULL if text is None else text
        if maximum is not None:  # MaximumLength > Length: a partly filled buffer
            s.fields["MaximumLength"] = maximum
            s.fields["Data"].fields["Data"].fields["MaximumCount"] = maximum // 2
        return call
    return build


def _rus_value(text: str | None, maximum: int | None = None) -> Callable[[Any], Any]:
    def build(P: Any) -> Any:
        if text is None:
            return P(RUS)(Length=0, MaximumLength=0, Buffer=None)
        n = 2 * len(text)
        # a wchar_t array without [string] maps to str (dcerpc.ndr's documented mapping;
        # types.py's module doc still says "other arrays -> list")
        return P(RUS)(Length=n, MaximumLength=maximum or n, Buffer=text)
    return build


case("rpc_unicode_string", RUS, _rus_value("Hello"), _rus("Hello"),
     "0a000a00 00000200 05000000 00000000 05000000 48006500 6c006c00 6f00")
case("rpc_unicode_string_null", RUS, _rus_value(None), _rus(None), "00000000 00000000")
case("rpc_unicode_string_partial", RUS, _rus_value("abc", 10), _rus("abc", 10),
     "06000a00 00000200 05000000 00000000 03000000 61006200 6300")

CW = S("CW", ("n", t.ULONG), ("s", t.Array(t.WCHAR, (t.Dim(),), string=True)))
iCW = struct_class("iCW", ("n", imp.ULONG), ("s", type(
    "iCWS", (impndr.NDRUniConformantVaryingArray,), {"item": "<H"})))
# A [string] array as last member makes a conformant struct: max_count hoisted to the
# front, offset/actual_count stay in place (C706 §14.3.7.2).
case("struct_conformant_string_last", CW, lambda P: P(CW)(n=1, s="hey"),
     lambda: one(iCW, {"n": 1, "s": [ord(c) for c in "hey\x00"]}),
     "04000000 01000000 00000000 04000000 68006500 79000000")

VS = S("VS", ("a", t.USMALL), ("s", t.Array(t.CHAR, (t.Dim(fixed=16),), string=True)))
iVS = struct_class("iVS", ("a", imp.UCHAR), ("s", impndr.NDRVaryingString))
# [string] on a fixed array is a varying string: offset, actual_count, chars (the EPM
# annotation form). NDRVaryingString adds the terminator itself.
case("struct_varying_string_fixed", VS, lambda P: P(VS)(a=1, s="hello"),
     lambda: one(iVS, {"a": 1, "s": b"hello"}), "01000000 00000000 06000000 68656c6c 6f00")

# --------------------------------------------------------------------------- arrays
iUA = conf_array("iUA", "<L")
iHA = conf_array("iHA", "<H")
iQA = conf_array("iQA", "<q")
iBA = conf_array("iBA", "B")
case("conformant_ulong", conf(t.ULONG), [1, 2, 3], lambda: one(iUA, [1, 2, 3]),
     "03000000 01000000 02000000 03000000")
case("conformant_ushort_odd", conf(t.USHORT), [1, 2, 3], lambda: one(iHA, [1, 2, 3]),
     "03000000 01000200 0300")
case("conformant_hyper", conf(t.HYPER), [-1, 2], lambda: one(iQA, [-1, 2]),
     "02000000 00000000 ffffffff ffffffff 02000000 00000000",
     quirk="NDRCALL aligns a top-level conformant array's elements as if the max_count "
           "were not there, so hyper elements lose their 4-byte gap (C706 §14.3.3.2 "
           "aligns every element); embedded forms below are right")
case("conformant_bytes", conf(t.BYTE), b"\x01\x02\x03\x04\x05",
     lambda: one(iBA, [1, 2, 3, 4, 5]), "05000000 01020304 05")
case("conformant_empty", conf(t.ULONG), [], lambda: one(iUA, []), "00000000")

CS = S("CS", ("n", t.USHORT), ("a", conf(t.ULONG, size_is=R("n"))))
iCS = struct_class("iCS", ("n", imp.USHORT), ("a", iUA))
case("struct_conformant", CS, lambda P: P(CS)(n=2, a=[7, 8]),
     lambda: one(iCS, {"n": 2, "a": [7, 8]}), "02000000 02000000 07000000 08000000")

NCS = S("NCS", ("c", t.USMALL), ("inner", CS))
iNCS = struct_class("iNCS", ("c", imp.UCHAR), ("inner", iCS))
case("struct_nested_conformant", NCS, lambda P: P(NCS)(c=1, inner=P(CS)(n=2, a=[7, 8])),
     lambda: one(iNCS, {"c": 1, "inner": {"n": 2, "a": [7, 8]}}),
     "02000000 01000000 02000000 07000000 08000000",
     quirk="impacket hoists max_count only to the struct whose direct last member is the "
           "array, so it lands after 'c'; C706 §14.3.7.1 moves it to the front of the "
           "outermost struct, before its alignment gap")

CH8 = S("CH8", ("c", t.USMALL), ("h", conf(t.HYPER, size_is=R("c"))))
iCH8 = struct_class("iCH8", ("c", imp.UCHAR), ("h", iQA))
# max_count is aligned to 4 *before* the struct's own 8-alignment gap (C706 §14.3.7.1).
case("struct_conformant_hyper", CH8, lambda P: P(CH8)(c=2, h=[1, -1]),
     lambda: one(iCH8, {"c": 2, "h": [1, -1]}),
     "02000000 00000000 02000000 00000000 01000000 00000000 ffffffff ffffffff")

CVS = S("CVS", ("max", t.ULONG), ("len", t.ULONG),
        ("a", conf(t.ULONG, size_is=R("max"), length_is=R("len"))))
iCVA = type("iCVA", (impndr.NDRUniConformantVaryingArray,), {"item": "<L"})
iCVS = struct_class("iCVS", ("max", imp.ULONG), ("len", imp.ULONG), ("a", iCVA))


def _cvs() -> impndr.NDR:
    call = one(iCVS, {"max": 5, "len": 2, "a": [7, 8]})
    call.fields["v"].fields["a"].fields["MaximumCount"] = 5
    return call


case("struct_conformant_varying", CVS, lambda P: P(CVS)(max=5, len=2, a=[7, 8]), _cvs,
     "05000000 05000000 02000000 00000000 02000000 07000000 08000000")

VF = S("VF", ("n", t.ULONG), ("a", t.Array(t.ULONG, (t.Dim(fixed=5, length_is=R("n")),))))
iVF = struct_class("iVF", ("n", imp.ULONG), ("a", type(
    "iVA", (impndr.NDRUniVaryingArray,), {"item": "<L"})))
case("struct_varying_fixed", VF, lambda P: P(VF)(n=2, a=[7, 8]),
     lambda: one(iVF, {"n": 2, "a": [7, 8]}), "02000000 00000000 02000000 07000000 08000000")

AS = S("AS", ("a", t.USHORT), ("b", t.USMALL))
iAS = struct_class("iAS", ("a", imp.USHORT), ("b", imp.UCHAR))
case("conformant_array_of_structs", conf(AS),
     lambda P: [P(AS)(a=1, b=2), P(AS)(a=3, b=4), P(AS)(a=5, b=6)],
     lambda: one(conf_array("iASA", iAS), items(iAS, [{"a": 1, "b": 2}, {"a": 3, "b": 4},
                                                     {"a": 5, "b": 6}])),
     "03000000 01000200 03000400 050006")

AP = S("AP", ("a", t.ULONG), ("p", unique(t.ULONG)))
iAP = struct_class("iAP", ("a", imp.ULONG), ("p", imp.PULONG))
# Arrays of structs with pointers: every element's inline part first, then the
# referents of element 0, 1, … (C706 §14.3.12.3, protocol-digest §5.3).
case("conformant_array_of_structs_with_pointers", conf(AP),
     lambda P: [P(AP)(a=1, p=10), P(AP)(a=2, p=None), P(AP)(a=3, p=30)],
     lambda: one(conf_array("iAPA", iAP), items(iAP, [{"a": 1, "p": 10}, {"a": 2, "p": NULL},
                                                     {"a": 3, "p": 30}])),
     "03000000 01000000 00000200 02000000 00000000 03000000 04000200 0a000000 1e000000")


def _ptr_items(values: list[int | None]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v is None:
            out.append(NULL)
        else:
            p = imp.PULONG()
            p["Data"] = v
            out.append(p)
    return out


case("conformant_array_of_pointers", conf(unique(t.ULONG)), [5, None, 7],
     lambda: one(conf_array("iPUA", imp.PULONG), _ptr_items([5, None, 7])),
     "03000000 00000200 00000000 04000200 05000000 07000000")

ITEM = S("ITEM", ("a", t.ULONG), ("b", t.USHORT), ("s", unique(wstring())))
iITEM = struct_class("iITEM", ("a", imp.ULONG), ("b", imp.USHORT), ("s", imp.LPWSTR))
_item_rows = [(1, 2, "a"), (3, 4, None), (5, 6, "bc")]


def _imp_items(rows: list[tuple[int, int, str | None]]) -> list[Any]:
    return items(iITEM, [{"a": a, "b": b, "s": NULL if s is None else wstr(s)}
                         for a, b, s in rows])


case("conformant_array_of_structs_with_strings", conf(ITEM),
     lambda P: [P(ITEM)(a=a, b=b, s=s) for a, b, s in _item_rows],
     lambda: one(conf_array("iITEMA", iITEM), _imp_items(_item_rows)),
     "03000000 01000000 02000000 00000200 03000000 04000000 00000000 05000000 06000000"
     " 04000200 02000000 00000000 02000000 61000000 03000000 00000000 03000000 62006300 0000")

PCA = S("PCA", ("n", t.ULONG), ("p", unique(conf(t.ULONG, size_is=R("n")))))
iPCA = struct_class("iPCA", ("n", imp.ULONG), ("p", pointer_class("iPUA2", iUA)))
case("struct_pointer_to_conformant_array", PCA, lambda P: P(PCA)(n=3, p=[1, 2, 3]),
     lambda: one(iPCA, {"n": 3, "p": [1, 2, 3]}),
     "03000000 00000200 03000000 01000000 02000000 03000000")
PCH = S("PCH", ("n", t.USMALL), ("p", unique(conf(t.HYPER, size_is=R("n")))))
iPCH = struct_class("iPCH", ("n", imp.UCHAR), ("p", pointer_class("iPQA", iQA)))
case("struct_pointer_to_conformant_hyper_array", PCH, lambda P: P(PCH)(n=2, p=[1, 2]),
     lambda: one(iPCH, {"n": 2, "p": [1, 2]}),
     "02000000 00000200 02000000 00000000 01000000 00000000 02000000 00000000")
LPB = S("LPB", ("cb", t.ULONG), ("pb", unique(conf(t.BYTE, size_is=R("cb")))))
iLPB = struct_class("iLPB", ("cb", imp.ULONG), ("pb", imp.LPBYTE))
case("struct_lpbyte", LPB, lambda P: P(LPB)(cb=3, pb=b"\x01\x02\x03"),
     lambda: one(iLPB, {"cb": 3, "pb": b"\x01\x02\x03"}), "03000000 00000200 03000000 010203")
PCS = S("PCS", ("a", t.USMALL), ("p", unique(CS)))
iPCS = struct_class("iPCS", ("a", imp.UCHAR), ("p", pointer_class("iPCS_", iCS)))
case("struct_pointer_to_conformant_struct", PCS,
     lambda P: P(PCS)(a=1, p=P(CS)(n=2, a=[7, 8])),
     lambda: one(iPCS, {"a": 1, "p": {"n": 2, "a": [7, 8]}}),
     "01000000 00000200 02000000 02000000 07000000 08000000")

# The bench record (bench/ndr_bench.py) at a small size.
RECORD = S("RECORD", ("id", t.ULONG), ("name", unique(wstring())), ("count", t.ULONG),
           ("items", unique(conf(ITEM, size_is=R("count")))))
iRECORD = struct_class("iRECORD", ("id", imp.ULONG), ("name", imp.LPWSTR), ("count", imp.ULONG),
                       ("items", pointer_class("iPITEMA", conf_array("iITEMA2", iITEM))))
case("record_with_item_array", RECORD,
     lambda P: P(RECORD)(id=9, name="rec", count=3,
                         items=[P(ITEM)(a=a, b=b, s=s) for a, b, s in _item_rows]),
     lambda: one(iRECORD, {"id": 9, "name": wstr("rec"), "count": 3,
                           "items": _imp_items(_item_rows)}))

# --------------------------------------------------------------------------- unions
# Non-encapsulated unions: the discriminant is marshalled before the arm, in addition to
# the [switch_is] field (C706 §14.3.8). ulong tags keep clear of NDRUNION's tag quirk.
USS = S("USS", ("x", t.ULONG), ("y", t.USHORT))
iUSS = struct_class("iUSS", ("x", imp.ULONG), ("y", imp.USHORT))
U1 = t.Union("U1", t.ULONG, [t.Arm([1], "a", t.ULONG), t.Arm([2], "p", unique(t.ULONG)),
                             t.Arm([3], "s", USS)])
iU1 = imp_union("iU1", {1: ("a", imp.ULONG), 2: ("p", imp.PULONG), 3: ("s", iUSS)})
SU = S("SU", ("level", t.ULONG), ("u", t.Switch(U1, R("level"))))
iSU = struct_class("iSU", ("level", imp.ULONG), ("u", iU1))
case("union_ulong_arm", SU, lambda P: P(SU)(level=1, u=P(U1)(1, 5)),
     lambda: one(iSU, {"level": 1, "u": {"tag": 1, "a": 5}}), "01000000 01000000 05000000")
case("union_pointer_arm", SU, lambda P: P(SU)(level=2, u=P(U1)(2, 6)),
     lambda: one(iSU, {"level": 2, "u": {"tag": 2, "p": 6}}),
     "02000000 02000000 00000200 06000000")
case("union_struct_arm", SU, lambda P: P(SU)(level=3, u=P(U1)(3, P(USS)(x=7, y=8))),
     lambda: one(iSU, {"level": 3, "u": {"tag": 3, "s": {"x": 7, "y": 8}}}),
     "03000000 03000000 07000000 0800")

U16 = t.Union("U16", t.USHORT, [t.Arm([1], "a", t.ULONG), t.Arm([2], "b", t.LONG)])
iU16 = imp_union("iU16", {1: ("a", imp.ULONG), 2: ("b", imp.LONG)}, tag=imp.USHORT)
SU16 = S("SU16", ("level", t.USHORT), ("u", t.Switch(U16, R("level"))))
iSU16 = struct_class("iSU16", ("level", imp.USHORT), ("u", iU16))
# ushort tag: only a 4-aligned arm, where NDRUNION's pad-to-4 after the tag is also C706's.
case("union_ushort_tag", SU16, lambda P: P(SU16)(level=1, u=P(U16)(1, 9)),
     lambda: one(iSU16, {"level": 1, "u": {"tag": 1, "a": 9}}), "01000100 09000000")

UD = t.Union("UD", t.ULONG, [t.Arm([1], "a", t.ULONG), t.Arm([], "d", t.SHORT)])
iUD = imp_union("iUD", {1: ("a", imp.ULONG), "default": ("d", imp.SHORT)})
UE = t.Union("UE", t.ULONG, [t.Arm([1], "a", t.ULONG), t.Arm([], None, None)])
iUE = imp_union("iUE", {1: ("a", imp.ULONG), "default": None})
SUD = S("SUD", ("level", t.ULONG), ("u", t.Switch(UD, R("level"))), ("after", t.USHORT))
iSUD = struct_class("iSUD", ("level", imp.ULONG), ("u", iUD), ("after", imp.USHORT))
SUE = S("SUE", ("level", t.ULONG), ("u", t.Switch(UE, R("level"))), ("after", t.USHORT))
iSUE = struct_class("iSUE", ("level", imp.ULONG), ("u", iUE), ("after", imp.USHORT))


def _default_arm(cls: type, tag: int, arm: dict[str, Any]) -> Callable[[], impndr.NDR]:
    def build() -> impndr.NDR:
        call = one(cls, {"level": tag, "u": {"tag": tag, **arm}, "after": 9})
        # NDRUNION writes 0xFFFF as the tag of its default arm; the wire carries the
        # actual discriminant (C706 §14.3.8), so put it back.
        call.fields["v"].fields["u"].fields["tag"]["Data"] = tag
        return call
    return build


case("union_default_arm", SUD, lambda P: P(SUD)(level=7, u=P(UD)(7, -5), after=9),
     _default_arm(iSUD, 7, {"d": -5}), "07000000 07000000 fbff0900")
case("union_empty_default_arm", SUE, lambda P: P(SUE)(level=4, u=P(UE)(4, None), after=9),
     _default_arm(iSUE, 4, {}), "04000000 04000000 0900")

UEN = t.Union("UEN", t.ULONG, [t.Arm([1], "a", t.ULONG), t.Arm([2], "s", USS),
                               t.Arm([3], "p", unique(t.ULONG))],
              encapsulated=True, switch_name="d", union_name="u")
iUEN = imp_union("iUEN", {1: ("a", imp.ULONG), 2: ("s", iUSS), 3: ("p", imp.PULONG)})
# An encapsulated union is {discriminant; union}: with 4-aligned arms NDRUNION's layout.
case("union_encapsulated", UEN, lambda P: P(UEN)(2, P(USS)(x=1, y=2)),
     lambda: one(iUEN, {"tag": 2, "s": {"x": 1, "y": 2}}), "02000000 01000000 0200")
case("union_encapsulated_pointer_arm", UEN, lambda P: P(UEN)(3, 6),
     lambda: one(iUEN, {"tag": 3, "p": 6}), "03000000 00000200 06000000")

UQ = t.Union("UQ", t.USHORT, [t.Arm([1], "s", t.SHORT)], encapsulated=True,
             switch_name="d", union_name="u")
iUQ = imp_union("iUQ", {1: ("s", imp.SHORT)}, tag=imp.USHORT)
case("union_ushort_tag_short_arm", UQ, lambda P: P(UQ)(1, 5),
     lambda: one(iUQ, {"tag": 1, "s": 5}), "01000500",
     quirk="NDRUNION always pads to 4 after the tag (it writes 0100 bdbd 0500); C706 "
           "§14.3.8 aligns the union part to its largest arm, here 2")

UEV = t.Union("UEV", E16, [t.Arm([0], "a", t.ULONG), t.Arm([1], "b", t.LONG)])
iUEV = imp_union("iUEV", {0: ("a", imp.ULONG), 1: ("b", imp.LONG)}, tag=iE16)
SUEV = S("SUEV", ("level", E16), ("u", t.Switch(UEV, R("level"))))
iSUEV = struct_class("iSUEV", ("level", iE16), ("u", iUEV))
case("union_enum_switch", SUEV, lambda P: P(SUEV)(level=P(E16)(1), u=P(UEV)(1, -1)),
     lambda: one(iSUEV, {"level": 1, "u": {"tag": 1, "b": -1}}), "01000100 ffffffff")


# --------------------------------------------------------------------------- operations
@dataclass
class OpCase:
    id: str
    op: t.Operation
    args: Callable[[Any], dict[str, Any]]
    impacket: Callable[[], impndr.NDR]
    hex: str | None = None
    side: str = "request"  # or "response": [out] params then the return value


OP_CASES: list[OpCase] = []


def op_case(id_: str, params: list[tuple[str, t.NdrType]], args: Callable[[Any], dict[str, Any]],
            imp_fields: list[tuple[str, Any]], imp_values: dict[str, Any] | Callable[[Any], None],
            hex_: str | None = None, *, returns: t.NdrType | None = None,
            side: str = "request", in_params: list[tuple[str, t.NdrType]] = ()) -> None:
    """``params`` are [in] params of a request case, or [out] params of a response case
    (then ``in_params`` are [in]-only params that are not on the response wire)."""
    if side == "request":
        plist = [t.Param(n, ty) for n, ty in params]
    else:
        plist = [t.Param(n, ty) for n, ty in in_params] + \
            [t.Param(n, ty, in_=False, out=True) for n, ty in params]
    op = t.Operation(id_, 0, plist, returns=returns)

    def build() -> impndr.NDR:
        call = call_class(*imp_fields, name=id_)()
        if callable(imp_values):
            imp_values(call)
        else:
            fill(call, imp_values)
        return call
    OP_CASES.append(OpCase(id_, op, args, build, hex_, side))


op_case("op_strings", [("a", t.ULONG), ("s", ref(wstring())), ("p", unique(wstring()))],
        lambda P: {"a": 1, "s": "hi", "p": "xyz"},
        [("a", imp.ULONG), ("s", imp.WSTR), ("p", imp.LPWSTR)],
        {"a": 1, "s": wstr("hi"), "p": wstr("xyz")},
        "01000000 03000000 00000000 03000000 68006900 00000000"
        " 00000200 04000000 00000000 04000000 78007900 7a000000")
op_case("op_alignment", [("c", t.USMALL), ("h", t.HYPER), ("p", unique(t.ULONG)),
                         ("u", t.USHORT), ("q", unique(t.HYPER))],
        lambda P: {"c": 1, "h": 2, "p": 3, "u": 4, "q": 5},
        [("c", imp.UCHAR), ("h", imp.LONGLONG), ("p", imp.PULONG), ("u", imp.USHORT),
         ("q", imp.PLONGLONG)],
        {"c": 1, "h": 2, "p": 3, "u": 4, "q": 5},
        "01000000 00000000 02000000 00000000 00000200 03000000 04000000 04000200"
        " 05000000 00000000")
op_case("op_handle_union_struct",
        [("h", CH), ("level", t.ULONG), ("u", t.Switch(U1, R("level"))), ("ps", unique(USS))],
        lambda P: {"h": ContextHandleValue(attributes=0, uuid=G), "level": 2,
                   "u": P(U1)(2, 6), "ps": P(USS)(x=1, y=2)},
        [("h", ept_lookup_handle_t), ("level", imp.ULONG), ("u", iU1),
         ("ps", pointer_class("iPUSS", iUSS))],
        {"h": {"context_handle_attributes": 0, "context_handle_uuid": G.bytes_le},
         "level": 2, "u": {"tag": 2, "p": 6}, "ps": {"x": 1, "y": 2}},
        "00000000 67452301 ab89efcd 00112233 44556677 02000000 02000000 00000200 06000000"
        " 04000200 01000000 0200")
op_case("op_conformant_arrays",
        [("n", t.ULONG), ("arr", ref(conf(t.ULONG, size_is=R("n")))),
         ("opt", unique(conf(t.USHORT, size_is=R("n"))))],
        lambda P: {"n": 3, "arr": [1, 2, 3], "opt": [4, 5, 6]},
        [("n", imp.ULONG), ("arr", iUA), ("opt", pointer_class("iPHA", iHA))],
        {"n": 3, "arr": [1, 2, 3], "opt": [4, 5, 6]},
        "03000000 03000000 01000000 02000000 03000000 00000200 03000000 04000500 0600")
DPS = S("DPS", ("a", t.USHORT), ("b", t.USMALL))
DT = S("DT", ("p1", unique(DPS)), ("w", unique(wstring())), ("k", t.ULONG))
iDPS = struct_class("iDPS", ("a", imp.USHORT), ("b", imp.UCHAR))
iDT = struct_class("iDT", ("p1", pointer_class("iPDPS", iDPS)), ("w", imp.LPWSTR),
                   ("k", imp.ULONG))
# A parameter's deferred referents end before the next parameter starts (C706 §14.3.12.3).
op_case("op_deferral_per_parameter", [("t", ref(DT)), ("after", t.ULONG)],
        lambda P: {"t": P(DT)(p1=P(DPS)(a=1, b=9), w="ab", k=5), "after": 0xFFFFFFFF},
        [("t", iDT), ("after", imp.ULONG)],
        {"t": {"p1": {"a": 1, "b": 9}, "w": wstr("ab"), "k": 5}, "after": 0xFFFFFFFF},
        "00000200 04000200 05000000 01000900 03000000 00000000 03000000 61006200"
        " 00000000 ffffffff")
op_case("op_guid_enum_unicode_string",
        [("g", t.GUID), ("e", E16), ("name", ref(RUS)), ("flags", t.ULONG)],
        lambda P: {"g": G, "e": P(E16)(1), "name": _rus_value("ab")(P), "flags": 3},
        [("g", imp.GUID), ("e", iE16), ("name", imp.RPC_UNICODE_STRING), ("flags", imp.ULONG)],
        lambda call: (fill(call, {"g": G.bytes_le, "e": 1, "flags": 3}),
                      call.fields["name"].__setitem__("Data", "ab")),
        "67452301 ab89efcd 00112233 44556677 01000000 04000400 00000200 02000000"
        " 00000000 02000000 61006200 03000000")
# protocol-digest §5.2's verified vector: max_count aligned to 4 before the struct.
op_case("op_conformant_struct_after_small", [("c", t.USMALL), ("s", CS)],
        lambda P: {"c": 0xCC, "s": P(CS)(n=2, a=[7, 8])},
        [("c", imp.UCHAR), ("s", iCS)], {"c": 0xCC, "s": {"n": 2, "a": [7, 8]}},
        "cc000000 02000000 02000000 07000000 08000000")

# Responses: the [out] params in order, then the return value (C706 §12.6.4.10); impacket
# spells the return value as a trailing ErrorCode field of the ...Response NDRCALL.
op_case("response_out_params", [("count", t.ULONG), ("name", unique(wstring()))],
        lambda P: {"return_value": 0, "count": 3, "name": "abc"},
        [("count", imp.ULONG), ("name", imp.LPWSTR), ("ErrorCode", imp.ULONG)],
        {"count": 3, "name": wstr("abc"), "ErrorCode": 0},
        "03000000 00000200 04000000 00000000 04000000 61006200 63000000 00000000",
        returns=t.ULONG, side="response", in_params=[("h", CH)])
op_case("response_out_array_and_struct",
        [("n", t.ULONG), ("arr", ref(conf(t.ULONG, size_is=R("n")))), ("s", ref(SP))],
        lambda P: {"return_value": -1, "n": 2, "arr": [5, 6],
                   "s": P(SP)(a=1, p=2, b=3, q=None)},
        [("n", imp.ULONG), ("arr", iUA), ("s", iSP), ("ErrorCode", imp.LONG)],
        {"n": 2, "arr": [5, 6], "s": {"a": 1, "p": 2, "b": 3, "q": NULL}, "ErrorCode": -1},
        "02000000 02000000 05000000 06000000 01000000 00000200 03000000 00000000 02000000"
        " ffffffff", returns=t.LONG, side="response")
op_case("response_return_only", [], lambda P: {"return_value": 0x80070005},
        [("ErrorCode", imp.ULONG)], {"ErrorCode": 0x80070005}, "05000780",
        returns=t.ULONG, side="response", in_params=[("x", t.ULONG)])
