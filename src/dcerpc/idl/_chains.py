"""The building blocks of type resolution: chains, levels, scopes, attribute tables.

See :mod:`._resolve` for the theory of operation.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import IdlError
from ..ndr import types as t
from . import _ast as a

# --------------------------------------------------------------------------- markers
VOID = "void"


class _AnyName(set):  # type: ignore[type-arg]
    """Names for expressions whose scope MIDL does not check (union arms)."""

    def __contains__(self, name: object) -> bool:
        return True


ANY_NAME: set[str] = _AnyName()


@dataclass(frozen=True, slots=True)
class CtxMark:
    name: str | None
    strict: bool = False


@dataclass(frozen=True, slots=True)
class IfaceMark:
    name: str


@dataclass(slots=True)
class Level:
    ptr: bool
    kind: str | None = None  # pointers: ref/unique/ptr or None (decided at the use site)
    dim: t.Dim | None = None  # arrays: always set; pointers: set when pointing to an array
    string: bool = False


@dataclass(slots=True)
class Chain:
    base: Any  # NdrType | VOID | CtxMark | IfaceMark
    levels: list[Level] = field(default_factory=list)
    range: tuple[int, int] | None = None
    switch_is: t.Expr | None = None
    iid_is: t.Expr | None = None
    context_handle: bool = False
    handle: bool = False  # [handle]: a customized binding handle type
    typedef: str | None = None  # the typedef name the chain came through, if any

    def copy(self) -> Chain:
        return dataclasses.replace(self, levels=[dataclasses.replace(lv) for lv in self.levels])


@dataclass
class TypedefInfo:
    name: str
    chain: Chain | None  # None: a function-pointer typedef ([local] code only)
    loc: a.Loc
    pointer_default: str
    own: bool
    deps: set[str] = field(default_factory=set)
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Ctx:
    """Where a type is being used."""

    pointer_default: str = "unique"
    ms_union: bool = False
    strict_context_handle: bool = False
    owner: str = ""  # name used to synthesise names of anonymous nested types


BUILTIN_NAMES: dict[str, Any] = {
    "GUID": t.GUID,
    "UUID": t.GUID,
    "uuid_t": t.GUID,
    "wchar_t": t.WCHAR,
    "handle_t": t.HANDLE_T,
    "error_status_t": t.ERROR_STATUS_T,
}
_BASE_WORDS = frozenset({
    "unsigned", "signed", "int", "long", "short", "char", "small", "hyper", "byte", "boolean",
    "float", "double"})
CHAR_KINDS = frozenset({"char", "wchar", "byte", "usmall", "small"})

#: Attributes folded into descriptors (they never reach ``attrs`` dicts).
STRUCTURAL = frozenset({
    "in", "out", "ref", "unique", "ptr", "string", "size_is", "length_is", "first_is",
    "last_is", "max_is", "min_is", "switch_is", "switch_type", "range", "iid_is",
    "context_handle", "case", "default", "v1_enum", "ms_union", "handle",
})
#: Every attribute MIDL documents that we accept without a wire effect of our own.
KNOWN = STRUCTURAL | frozenset({
    "uuid", "version", "pointer_default", "object", "local", "async_uuid", "helpstring",
    "helpcontext", "helpfile", "helpstringdll", "helpstringcontext", "endpoint",
    "context_handle_noserialize", "context_handle_serialize", "strict_context_handle",
    "retval", "ignore", "annotation", "call_as", "callback", "idempotent", "broadcast",
    "maybe", "disable_consistency_check", "custom", "wire_marshal", "user_marshal",
    "transmit_as", "represent_as", "public", "restricted", "hidden", "propget", "propput",
    "propputref", "id", "lcid", "optional", "defaultvalue", "dual", "oleautomation",
    "nonextensible", "source", "vararg", "bindable", "requestedit", "displaybind",
    "defaultbind", "immediatebind", "readonly", "message", "partial_ignore",
    "force_allocate", "notify", "notify_flag", "async", "comm_status", "fault_status",
    "code", "nocode", "enable_allocate", "explicit_handle", "implicit_handle",
    "auto_handle", "encode", "decode", "allocate", "byte_count", "optimize", "cs_char",
    "cs_drtag", "cs_rtag", "cs_stag", "cs_tag_rtn", "heap", "in_line", "out_of_line",
    "usesgetlasterror", "appobject", "licensed", "control", "aggregatable",
    "noncreatable", "predeclid", "replaceable", "defaultcollelem", "uidefault",
    "nonbrowsable", "entry", "string_annotation", "unique_ptr", "represent", "iid",
    "ms_pointer_default", "range_check", "pointer_type", "size_of",
})
UNSUPPORTED = frozenset({"transmit_as", "wire_marshal", "user_marshal", "represent_as"})


def _prim(words: tuple[str, ...], loc: a.Loc) -> Any:
    ws = list(words)
    unsigned = "unsigned" in ws
    signed = "signed" in ws
    rest = [w for w in ws if w not in ("unsigned", "signed", "int")]
    has_int = "int" in ws
    if rest == ["void"]:
        return VOID
    if not rest and (has_int or unsigned or signed):
        return t.ULONG if unsigned else t.LONG
    single = {
        ("boolean",): t.BOOLEAN, ("byte",): t.BYTE, ("float",): t.FLOAT,
        ("double",): t.DOUBLE, ("long", "double"): t.DOUBLE,
    }
    if tuple(rest) in single and not unsigned and not signed:
        return single[tuple(rest)]
    table: dict[tuple[str, ...], tuple[t.Primitive, t.Primitive]] = {
        ("char",): (t.SMALL if signed else t.CHAR, t.USMALL),
        ("small",): (t.SMALL, t.USMALL),
        ("__int8",): (t.SMALL, t.USMALL),
        ("short",): (t.SHORT, t.USHORT),
        ("__int16",): (t.SHORT, t.USHORT),
        ("long",): (t.LONG, t.ULONG),
        ("__int32",): (t.LONG, t.ULONG),
        ("long", "long"): (t.HYPER, t.UHYPER),
        ("hyper",): (t.HYPER, t.UHYPER),
        ("__int64",): (t.HYPER, t.UHYPER),
        ("__int3264",): (t.INT3264, t.UINT3264),
    }
    pair = table.get(tuple(rest))
    if pair is None:
        raise IdlError(f"invalid type '{' '.join(words)}'", loc.file, loc.line, loc.column)
    return pair[1] if unsigned else pair[0]


BASE_IDL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")


def from_base_idl(loc: a.Loc | None) -> bool:
    """True for definitions of the IDL shipped with the package (which published IDL may
    legitimately redefine, e.g. [MS-LSAD]'s ``STRING``)."""
    return loc is not None and os.path.dirname(os.path.abspath(loc.file)) == BASE_IDL_DIR


def err(msg: str, loc: a.Loc | None) -> IdlError:
    if loc is None:
        return IdlError(msg)
    return IdlError(msg, loc.file, loc.line, loc.column)
