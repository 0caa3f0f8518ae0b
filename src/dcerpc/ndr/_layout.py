"""Static analysis of descriptors: NDR alignment, fixed layouts, conformance, count fields.

All results are memoised by descriptor identity (named types are shared by identity and
may form cycles through pointers; cycles never go through inline members).
"""

from __future__ import annotations

import keyword
from collections.abc import Iterator

from . import types as t

_ALIGN: dict[int, tuple[t.NdrType, int]] = {}


def unrange(T: t.NdrType) -> t.NdrType:
    while isinstance(T, t.Range):
        T = T.type
    return T


def pyname(name: str) -> str:
    """The Python attribute name of an IDL field or parameter (keywords get a ``_`` suffix)."""
    return name + "_" if keyword.iskeyword(name) else name


def align_of(T: t.NdrType) -> int:
    """NDR 2.0 alignment of a type's inline part (C706 §14.2.2, protocol-digest §5.2).

    Arrays align as their elements (their u32 counts align themselves to 4); structs as
    their largest member; unions as max(discriminant, arms).
    """
    T = unrange(T)
    if isinstance(T, t.Primitive):
        return t.PRIMITIVE_KINDS[T.kind][0]
    if isinstance(T, (t.Guid, t.ContextHandle, t.Pointer, t.InterfacePointer, t.Pipe)):
        return 4
    if isinstance(T, t.Enum):
        return 4 if T.v1_enum else 2
    if isinstance(T, t.Array):
        return align_of(T.element)
    if isinstance(T, t.Switch):
        return align_of(T.union)
    if isinstance(T, (t.Struct, t.Union)):
        hit = _ALIGN.get(id(T))
        if hit is not None and hit[0] is T:
            return hit[1]
        _ALIGN[id(T)] = (T, 1)  # provisional (guards malformed inline self-containment)
        if isinstance(T, t.Struct):
            a = max((align_of(f.type) for f in T.fields), default=1)
        else:
            a = max([align_of(T.switch_type)] + [align_of(arm.type) for arm in T.arms
                                                  if arm.type is not None])
        _ALIGN[id(T)] = (T, a)
        return a
    if isinstance(T, t.TypeSerialized):
        return align_of(T.type)
    return 1


def arm_align(U: t.Union) -> int:
    return max([align_of(a.type) for a in U.arms if a.type is not None], default=1)


def has_ptr(T: t.NdrType, _seen: set[int] | None = None) -> bool:
    """Whether the inline part of T holds embedded pointers (so T has a deferred part)."""
    T = unrange(T)
    if isinstance(T, (t.Pointer, t.InterfacePointer)):
        return True
    if isinstance(T, t.Array):
        return has_ptr(T.element, _seen)
    if isinstance(T, t.Switch):
        return has_ptr(T.union, _seen)
    if isinstance(T, (t.Struct, t.Union)):
        seen = _seen if _seen is not None else set()
        if id(T) in seen:
            return False
        seen.add(id(T))
        if isinstance(T, t.Struct):
            return any(has_ptr(f.type, seen) for f in T.fields)
        return any(a.type is not None and has_ptr(a.type, seen) for a in T.arms)
    return False


def is_string_dim(A: t.Array, k: int) -> bool:
    return A.string and k == len(A.dims) - 1


def dim_varying(A: t.Array, k: int) -> bool:
    return A.dims[k].varying or is_string_dim(A, k)


def conf_dims(T: t.NdrType) -> int:
    """How many max_counts a struct/array hoists (C706 §14.3.7.1); 0 if not conformant."""
    T = unrange(T)
    if isinstance(T, t.Array):
        return sum(1 for d in T.dims if d.fixed is None)
    if isinstance(T, t.Struct) and T.fields:
        return conf_dims(T.fields[-1].type) if isinstance(
            unrange(T.fields[-1].type), (t.Array, t.Struct)) else 0
    return 0


def elem_kind(A: t.Array) -> str:
    """How the innermost dimension maps to Python: string, wstr, bytes, prim, or other."""
    el = unrange(A.element)
    if A.string:
        return "string"
    if isinstance(el, t.Primitive):
        if el.kind in t.BYTE_KINDS:
            return "bytes"
        if el.kind == "wchar":
            return "wstr"
        return "prim"
    return "other"


def char_unit(A: t.Array) -> int:
    el = unrange(A.element)
    return 2 if isinstance(el, t.Primitive) and el.kind == "wchar" else 1


# --------------------------------------------------------------------------- flat layouts
class Flat:
    """A fixed-size inline layout usable inside a merged ``struct.Struct`` run.

    ``fmt`` is relative to a start aligned to ``align`` (no byte-order prefix, pads as 'x').
    """

    __slots__ = ("align", "fmt", "nslots", "size")

    def __init__(self, fmt: str, size: int, align: int, nslots: int) -> None:
        self.fmt, self.size, self.align, self.nslots = fmt, size, align, nslots


_FLAT: dict[int, tuple[t.NdrType, Flat | None]] = {}


def prim_fmt(T: t.Primitive) -> str:
    return "?" if T.kind == "boolean" else t.PRIMITIVE_KINDS[T.kind][1]


def enum_fmt(T: t.Enum) -> str:
    if not T.v1_enum:
        return "H"
    return "i" if any(v < 0 for v in T.members.values()) else "I"


def flat(T: t.NdrType) -> Flat | None:
    """The flat layout of T, or None when T's inline size is not fixed or T has embedded
    pointers in a fixed array (those are encoded element by element)."""
    key = id(T)
    hit = _FLAT.get(key)
    if hit is not None and hit[0] is T:
        return hit[1]
    res = _flat(T)
    _FLAT[key] = (T, res)
    return res


def _flat(T: t.NdrType) -> Flat | None:
    U = unrange(T)
    if isinstance(U, t.Primitive):
        size = t.PRIMITIVE_KINDS[U.kind][0]
        return Flat(prim_fmt(U), size, size, 1)
    if isinstance(U, t.Enum):
        size = 4 if U.v1_enum else 2
        return Flat(enum_fmt(U), size, size, 1)
    if isinstance(U, t.Guid):
        return Flat("16s", 16, 4, 1)
    if isinstance(U, t.ContextHandle):
        return Flat("I16s", 20, 4, 2)
    if isinstance(U, (t.Pointer, t.InterfacePointer)):
        return Flat("I", 4, 4, 1)
    if isinstance(U, t.Array):
        if U.conformant or U.varying:
            return None
        ef = flat(U.element)
        if ef is None or has_ptr(U.element):
            return None
        n = 1
        for d in U.dims:
            n *= d.fixed or 0
        stride = -(-ef.size // ef.align) * ef.align
        size = (n - 1) * stride + ef.size if n else 0
        return Flat(f"{size}s", size, ef.align, 1)
    if isinstance(U, t.Struct):
        if conf_dims(U):
            return None
        a = align_of(U)
        fmt, off, nslots = [], 0, 0
        for f in U.fields:
            ff = flat(f.type)
            if ff is None:
                return None
            pad = -off % ff.align
            if pad:
                fmt.append("x" * pad)
            fmt.append(ff.fmt)
            off += pad + ff.size
            nslots += ff.nslots
        return Flat("".join(fmt), off, a, nslots)
    return None


# --------------------------------------------------------------------------- expressions
def use_exprs(T: t.NdrType) -> Iterator[tuple[str, t.Expr]]:
    """(attribute, expression) pairs attached to this use of T (not inside named types)."""
    T2 = unrange(T)
    if isinstance(T2, t.Pointer):
        yield from use_exprs(T2.target)
    elif isinstance(T2, t.Array):
        for d in T2.dims:
            for attr in ("size_is", "max_is", "min_is", "length_is", "first_is", "last_is"):
                e = getattr(d, attr)
                if e is not None:
                    yield attr, e
        if isinstance(unrange(T2.element), (t.Array, t.Pointer)):
            yield from use_exprs(T2.element)
    elif isinstance(T2, t.Switch):
        yield "switch_is", T2.switch_is


def is_scalar(T: t.NdrType) -> bool:
    T = unrange(T)
    if isinstance(T, t.Pointer):
        return T.kind == "ref" and is_scalar(T.target)
    return isinstance(T, (t.Primitive, t.Enum))


def count_fields(members: list[tuple[str, t.NdrType]]) -> set[str]:
    """Names of scalar members referenced by another member's size/length/switch expression:
    they default to None and are derived from the data at encode time."""
    names = {n for n, _ in members}
    scalar = {n for n, T in members if is_scalar(T)}
    out: set[str] = set()
    for n, T in members:
        for _attr, e in use_exprs(T):
            for ref in e.names():
                if ref != n and ref in names and ref in scalar:
                    out.add(ref)
    return out


def has_full(T: t.NdrType, seen: set[int] | None = None) -> bool:
    """Whether T's inline part may hold full pointers (their ids need the shared table)."""
    U = unrange(T)
    if isinstance(U, t.Pointer):
        return U.kind == "ptr"
    if isinstance(U, t.Array):
        return has_full(U.element, seen)
    if isinstance(U, t.Struct):
        seen = seen or set()
        if id(U) in seen:
            return False
        seen.add(id(U))
        return any(has_full(f.type, seen) for f in U.fields)
    return isinstance(U, (t.Union, t.Switch))


def min_size(T: t.NdrType) -> int:
    """A lower bound of the inline size of T (>= 1: guards count-driven loops)."""
    fl = flat(T)
    return max(fl.size, 1) if fl is not None else 1
