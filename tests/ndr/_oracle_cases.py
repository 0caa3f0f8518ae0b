"""The oracle corpus: each case is one NDR type written twice, as a dcerpc model
descriptor and as impacket NDR classes, plus the same logical value built in both.

A case's ``value(P)`` builds our Python value (``P`` is ``ndr.python_type``, needed for
struct dataclasses, enums and unions); ``impacket()`` builds a populated impacket
``NDRCALL`` whose single parameter ``v`` is the same value, so the bytes are those of a
top-level ``[in]`` parameter of the type (what ``ndr.encode`` produces). ``hex``, where
given, is a hand-computed expectation (zero gaps, Windows referent ids) that pins the
impacket side independently of our codec.

impacket limits honoured here (each also noted at the case that meets it). Where a case
exists to show one, it carries ``quirk``: it is checked against hand-computed C706 bytes
and impacket is asserted to still deviate.

* NDRUNION puts a ushort tag by default and always pads to 4 after the tag (C706 §14.3.8
  aligns the arm to its own alignment): unions use a ulong tag, or only 4-aligned arms
  (quirk case ``union_ushort_tag_short_arm``). It also computes the union's alignment
  from the tag only, so no arm is 8-aligned.
* NDRUNION writes 0xFFFF as the tag of a ``default`` arm: the tag is re-set afterwards.
* WSTR/STR do not add the NUL terminator ([string] counts include it, C706 §14.3.4):
  the impacket values carry an explicit ``'\\x00'``.
* NDRUniFixedArray is an opaque blob that never aligns itself: fixed arrays of
  multi-byte elements only appear at naturally aligned offsets.
* NDRCALL aligns a top-level conformant array's elements as if its max_count were not
  there (quirk case ``conformant_hyper``); embedded conformant arrays are right.
* impacket hoists a conformant array's max_count only to the struct whose *direct*
  last member it is; C706 §14.3.7.1 hoists it to the outermost struct (quirk case
  ``struct_nested_conformant``).
* Embedded [ref] pointers, multidimensional arrays, pipes and big-endian are not
  implemented by impacket; they are covered by the codec's own tests, not here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _oracle_types import call_class, struct_class
from impacket.dcerpc.v5 import dtypes as imp
from impacket.dcerpc.v5 import ndr as impndr
from impacket.dcerpc.v5.enum import Enum as ImpEnum
from impacket.dcerpc.v5.epm import ept_lookup_handle_t

from dcerpc.ndr import ContextHandleValue
from dcerpc.ndr import types as t

# --------------------------------------------------------------------------- model shorthands


def S(name: str, *fields: tuple[str, t.NdrType]) -> t.Struct:
    return t.Struct(name, [t.Field(n, ty) for n, ty in fields])


def unique(x: t.NdrType) -> t.Pointer:
    return t.Pointer("unique", x)


def ref(x: t.NdrType) -> t.Pointer:
    return t.Pointer("ref", x)


def conf(elem: t.NdrType, **dim: Any) -> t.Array:
    return t.Array(elem, (t.Dim(**dim),))


def wstring() -> t.Array:  # [string] wchar_t *: conformant-varying, C706 §14.3.4
    return t.Array(t.WCHAR, (t.Dim(),), string=True)


def cstring() -> t.Array:
    return t.Array(t.CHAR, (t.Dim(),), string=True)


R = t.Ref

# --------------------------------------------------------------------------- impacket shorthands


def fill(obj: Any, values: dict[str, Any]) -> Any:
    """Assign ``values`` into an impacket object; nested dicts fill nested structs."""
    for key, val in values.items():
        if isinstance(val, dict):
            # .fields first: obj[key] would return a member named "Data" instead of
            # the struct itself (impacket's __getitem__ unwraps "Data").
            fill(obj.fields[key] if key in obj.fields else obj[key], val)
        else:
            obj[key] = val
    return obj


def one(imp_type: Any, value: Any) -> impndr.NDRCALL:
    """An NDRCALL with the single parameter ``v`` of ``imp_type`` set to ``value``."""
    call = call_class(("v", imp_type))()
    if isinstance(value, dict):
        fill(call, {"v": value})
    else:
        call["v"] = value
    return call


def items(cls: type, rows: list[dict[str, Any]]) -> list[Any]:
    return [fill(cls(), row) for row in rows]


def conf_array(name: str, item: Any) -> type:
    return type(name, (impndr.NDRUniConformantArray,), {"item": item})


def wstr(s: str) -> str:  # impacket WSTR/STR: the terminator is the caller's job
    return s + "\x00"


def fixed_blob(name: str, size: int) -> type:
    return type(name, (impndr.NDRUniFixedArray,),
                {"align": 1, "getDataLen": lambda self, data, offset=0: size})


def imp_enum(name: str, members: dict[str, int], v1: bool = False) -> type:
    items_ = type("enumItems", (ImpEnum,), dict(members))
    attrs: dict[str, Any] = {"enumItems": items_}
    if v1:  # [v1_enum]: 32-bit on the wire
        attrs |= {"align": 4, "structure": (("Data", "<L"),)}
    return type(name, (impndr.NDRENUM,), attrs)


def imp_union(name: str, arms: dict[Any, Any], tag: Any = imp.ULONG) -> type:
    return type(name, (impndr.NDRUNION,), {"commonHdr": (("tag", tag),), "union": arms})


# --------------------------------------------------------------------------- the case record
@dataclass
class Case:
    id: str
    model: t.NdrType
    value: Callable[[Callable[[Any], Any]], Any]
    impacket: Callable[[], impndr.NDR]
    hex: str | None = None
    #: why impacket's bytes are wrong here; the case is then checked against ``hex``
    #: (hand-computed from C706), and impacket is asserted to still deviate.
    quirk: str | None = None


CASES: list[Case] = []


def case(id_: str, model: t.NdrType, value: Any, impacket: Callable[[], impndr.NDR],
         hex_: str | None = None, quirk: str | None = None) -> None:
    fn = value if callable(value) and not isinstance(value, type) else (lambda P, v=value: v)
    CASES.append(Case(id_, model, fn, impacket, hex_, quirk))


# --------------------------------------------------------------------------- primitives
PRIMS: list[tuple[str, t.Primitive, Any, Any, Any, str]] = [
    # id, model, our value, impacket class, impacket value, expected hex
    ("small", t.SMALL, -5, impndr.NDRSMALL, -5, "fb"),
    ("usmall", t.USMALL, 0xF0, impndr.NDRUSMALL, 0xF0, "f0"),
    ("byte", t.BYTE, 0x7F, imp.BYTE, 0x7F, "7f"),
    ("char", t.CHAR, 0x41, impndr.NDRCHAR, b"A", "41"),
    ("boolean", t.BOOLEAN, True, impndr.NDRBOOLEAN, 1, "01"),
    ("short", t.SHORT, -2, impndr.NDRSHORT, -2, "feff"),
    ("ushort", t.USHORT, 0xBEEF, impndr.NDRUSHORT, 0xBEEF, "efbe"),
    ("long", t.LONG, -123456, impndr.NDRLONG, -123456, "c01dfeff"),
    ("ulong", t.ULONG, 0xDEADBEEF, impndr.NDRULONG, 0xDEADBEEF, "efbeadde"),
    ("error_status_t", t.ERROR_STATUS_T, 5, impndr.NDRULONG, 5, "05000000"),
    ("int3264", t.INT3264, -1, impndr.NDRLONG, -1, "ffffffff"),  # 32-bit in NDR20
    ("hyper", t.HYPER, -(2**40) - 3, impndr.NDRHYPER, -(2**40) - 3, "fdffffff fffeffff"),
    ("uhyper", t.UHYPER, 2**64 - 2, impndr.NDRUHYPER, 2**64 - 2, "feffffffffffffff"),
    ("float", t.FLOAT, -2.25, impndr.NDRFLOAT, -2.25, "000010c0"),
    ("double", t.DOUBLE, 0.1, impndr.NDRDOUBLEFLOAT, 0.1, "9a9999999999b93f"),
]
for _id, _m, _v, _ic, _iv, _hex in PRIMS:
    case(_id, _m, _v, lambda ic=_ic, iv=_iv: one(ic, iv), _hex)

# --------------------------------------------------------------------------- structs & alignment
ST1 = S("ST1", ("a", t.USMALL), ("b", t.ULONG))
iST1 = struct_class("iST1", ("a", imp.UCHAR), ("b", imp.ULONG))
case("struct_usmall_ulong", ST1, lambda P: P(ST1)(a=1, b=2),
     lambda: one(iST1, {"a": 1, "b": 2}), "01000000 02000000")

ST2 = S("ST2", ("a", t.USHORT), ("b", t.HYPER), ("c", t.USMALL))
iST2 = struct_class("iST2", ("a", imp.USHORT), ("b", imp.LONGLONG), ("c", imp.UCHAR))
# hyper is 8-aligned in NDR20 too; NDR20 structs have no trailing pad (C706 §14.3.6).
case("struct_ushort_hyper_usmall", ST2, lambda P: P(ST2)(a=3, b=-4, c=5),
     lambda: one(iST2, {"a": 3, "b": -4, "c": 5}),
     "03000000 00000000 fcffffff ffffffff 05")

ALLP = S("ALLP", ("a", t.SMALL), ("b", t.HYPER), ("c", t.CHAR), ("d", t.SHORT),
         ("e", t.USMALL), ("f", t.LONG), ("g", t.USHORT), ("h", t.UHYPER), ("i", t.BOOLEAN),
         ("j", t.FLOAT), ("k", t.BYTE), ("l", t.DOUBLE), ("m", t.ULONG))
iALLP = struct_class("iALLP", ("a", impndr.NDRSMALL), ("b", impndr.NDRHYPER),
                     ("c", impndr.NDRCHAR), ("d", impndr.NDRSHORT), ("e", impndr.NDRUSMALL),
                     ("f", impndr.NDRLONG), ("g", impndr.NDRUSHORT), ("h", impndr.NDRUHYPER),
                     ("i", impndr.NDRBOOLEAN), ("j", impndr.NDRFLOAT), ("k", imp.BYTE),
                     ("l", impndr.NDRDOUBLEFLOAT), ("m", impndr.NDRULONG))
_allp = dict(a=-1, b=2**62 + 1, c=0x7A, d=-300, e=200, f=-70000, g=65000, h=2**63 + 5,
             i=True, j=0.5, k=9, l=-1e300, m=123456789)
case("struct_every_primitive", ALLP, lambda P: P(ALLP)(**_allp),
     lambda: one(iALLP, _allp | {"c": b"z", "i": 1}))

ST3 = S("ST3", ("a", t.USMALL), ("d", t.DOUBLE), ("f", t.FLOAT), ("s", t.SHORT))
iST3 = struct_class("iST3", ("a", imp.UCHAR), ("d", imp.DOUBLE), ("f", imp.FLOAT),
                    ("s", imp.SHORT))
case("struct_float_double", ST3, lambda P: P(ST3)(a=1, d=2.5, f=-0.75, s=-9),
     lambda: one(iST3, {"a": 1, "d": 2.5, "f": -0.75, "s": -9}))

INNER = S("INNER", ("x", t.USMALL), ("y", t.ULONG))
NEST = S("NEST", ("a", t.USHORT), ("inner", INNER), ("z", t.USMALL))
iINNER = struct_class("iINNER", ("x", imp.UCHAR), ("y", imp.ULONG))
iNEST = struct_class("iNEST", ("a", imp.USHORT), ("inner", iINNER), ("z", imp.UCHAR))
case("struct_nested", NEST, lambda P: P(NEST)(a=1, inner=P(INNER)(x=2, y=3), z=4),
     lambda: one(iNEST, {"a": 1, "inner": {"x": 2, "y": 3}, "z": 4}),
     "0100 0000 02000000 03000000 04")

HIN = S("HIN", ("h", t.HYPER))
HOUT = S("HOUT", ("a", t.USMALL), ("inner", HIN))
iHIN = struct_class("iHIN", ("h", imp.LONGLONG))
iHOUT = struct_class("iHOUT", ("a", imp.UCHAR), ("inner", iHIN))
case("struct_nested_hyper", HOUT, lambda P: P(HOUT)(a=7, inner=P(HIN)(h=-1)),
     lambda: one(iHOUT, {"a": 7, "inner": {"h": -1}}), "07000000 00000000 ffffffff ffffffff")

L3C = S("L3C", ("c", t.USMALL), ("d", t.HYPER))
L3B = S("L3B", ("b", t.USHORT), ("m", L3C))
L3A = S("L3A", ("a", t.USMALL), ("m", L3B), ("e", t.USMALL))
iL3C = struct_class("iL3C", ("c", imp.UCHAR), ("d", imp.LONGLONG))
iL3B = struct_class("iL3B", ("b", imp.USHORT), ("m", iL3C))
iL3A = struct_class("iL3A", ("a", imp.UCHAR), ("m", iL3B), ("e", imp.UCHAR))
case("struct_nested_three_levels", L3A,
     lambda P: P(L3A)(a=1, m=P(L3B)(b=2, m=P(L3C)(c=3, d=4)), e=5),
     lambda: one(iL3A, {"a": 1, "m": {"b": 2, "m": {"c": 3, "d": 4}}, "e": 5}))

FXU = S("FXU", ("a", t.ULONG), ("arr", t.Array(t.ULONG, (t.Dim(fixed=3),))), ("b", t.USMALL))
iFXU = struct_class("iFXU", ("a", imp.ULONG), ("arr", fixed_blob("iU3", 12)), ("b", imp.UCHAR))
# impacket's fixed array is an opaque blob: packed by hand, placed where it is aligned anyway.
case("struct_fixed_ulong_array", FXU, lambda P: P(FXU)(a=1, arr=[2, 3, 4], b=5),
     lambda: one(iFXU, {"a": 1, "arr": bytes.fromhex("020000000300000004000000"), "b": 5}),
     "01000000 02000000 03000000 04000000 05")

FXB = S("FXB", ("a", t.USMALL), ("b", t.Array(t.BYTE, (t.Dim(fixed=6),))), ("c", t.USHORT))
iFXB = struct_class("iFXB", ("a", imp.UCHAR), ("b", fixed_blob("iB6", 6)), ("c", imp.USHORT))
case("struct_fixed_byte_array", FXB, lambda P: P(FXB)(a=1, b=b"\x00\x00\x00\x00\x00\x05", c=7),
     lambda: one(iFXB, {"a": 1, "b": b"\x00\x00\x00\x00\x00\x05", "c": 7}),
     "01000000 00000500 0700")

# --------------------------------------------------------------------------- GUID, enum, handle
G = uuid.UUID("01234567-89ab-cdef-0011-223344556677")
case("guid", t.GUID, G, lambda: one(imp.GUID, G.bytes_le),
     "67452301 ab89efcd 00112233 44556677")
SG = S("SG", ("a", t.USMALL), ("g", t.GUID), ("b", t.USHORT))
iSG = struct_class("iSG", ("a", imp.UCHAR), ("g", imp.GUID), ("b", imp.USHORT))
case("struct_guid", SG, lambda P: P(SG)(a=1, g=G, b=2),
     lambda: one(iSG, {"a": 1, "g": G.bytes_le, "b": 2}),
     "01000000 67452301 ab89efcd 00112233 44556677 0200")

E16 = t.Enum("E16", {"ZERO": 0, "ONE": 1, "BIG": 32767})
iE16 = imp_enum("iE16", {"ZERO": 0, "ONE": 1, "BIG": 32767})
case("enum16", E16, lambda P: P(E16)(32767), lambda: one(iE16, 32767), "ff7f")
SE = S("SE", ("a", t.USMALL), ("e", E16), ("b", t.USMALL), ("c", t.ULONG))
iSE = struct_class("iSE", ("a", imp.UCHAR), ("e", iE16), ("b", imp.UCHAR), ("c", imp.ULONG))
case("struct_enum16", SE, lambda P: P(SE)(a=1, e=P(E16)(1), b=2, c=3),
     lambda: one(iSE, {"a": 1, "e": 1, "b": 2, "c": 3}), "01000100 02000000 03000000")
E32 = t.Enum("E32", {"A": 1, "B": 0x10000}, v1_enum=True)
iE32 = imp_enum("iE32", {"A": 1, "B": 0x10000}, v1=True)
SE32 = S("SE32", ("a", t.USMALL), ("e", E32))
iSE32 = struct_class("iSE32", ("a", imp.UCHAR), ("e", iE32))
case("struct_v1_enum", SE32, lambda P: P(SE32)(a=1, e=P(E32)(0x10000)),
     lambda: one(iSE32, {"a": 1, "e": 0x10000}), "01000000 00000100")


def _ctx(attributes: int, u: uuid.UUID) -> Callable[[], impndr.NDR]:
    return lambda: one(ept_lookup_handle_t, {"context_handle_attributes": attributes,
                                             "context_handle_uuid": u.bytes_le})


def _ctx_value(attributes: int, u: uuid.UUID) -> Callable[[Any], Any]:
    return lambda P: ContextHandleValue(attributes=attributes, uuid=u)


CH = t.ContextHandle("ept_lookup_handle_t")
case("context_handle", CH, _ctx_value(0, G), _ctx(0, G),
     "00000000 67452301 ab89efcd 00112233 44556677")
case("context_handle_null", CH, _ctx_value(0, uuid.UUID(int=0)), _ctx(0, uuid.UUID(int=0)),
     "00" * 20)
