"""Interface pointers among an ORPC call's parameters, and result shaping.

The NDR codec carries an interface pointer as its ``MInterfacePointer.abData`` bytes
(an OBJREF, :mod:`.objref`); this module finds those parameters in an operation
(through ``[ref]`` pointers: ``[out, iid_is(riid)] IUnknown **ppv``) and works out the
IID each one is marshaled for: the ``[iid_is]`` argument, else the declared interface's
IID, else IUnknown ([MS-DCOM] 2.2.14, MIDL ``iid_is``).

Interface pointers nested deeper — a struct field, the elements of an array, behind a
unique pointer, in a union arm — are found by walking the value along its type model
(:func:`walk_ifaces`); ``[iid_is]`` there names a sibling field (or a parameter).

HRESULT convention: in an ``[object]`` interface a ``long`` return value is the
HRESULT (the model keeps no typedef names; HRESULT is ``LONG`` in [MS-DTYP]).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import ndr
from ..ndr import types as t
from ..ndr._codegen import cexpr
from .guids import IID_IUnknown

__all__ = ["IfaceParam", "OpShape", "fix_longs", "has_iface", "iid_for", "op_shape",
           "pack_values", "walk_ifaces"]


def _is_long(T: t.NdrType) -> bool:
    while isinstance(T, t.Pointer) and T.kind == "ref":
        T = T.target
    return isinstance(T, t.Primitive) and T.kind == "long"


def fix_longs(values: list[Any], indexes: tuple[int, ...]) -> None:
    """Map unsigned HRESULT spellings (0x80004005) of top-level ``long`` values to the
    signed value the wire carries; values outside both ranges are left for the encoder
    to reject."""
    for i in indexes:
        v = values[i]
        if type(v) is int and 0x80000000 <= v <= 0xFFFFFFFF:
            values[i] = v - 0x1_0000_0000


def _iface_type(T: t.NdrType) -> t.InterfacePointer | None:
    while isinstance(T, t.Pointer) and T.kind == "ref":
        T = T.target
    return T if isinstance(T, t.InterfacePointer) else None


@dataclass(frozen=True)
class IfaceParam:
    index: int  # among the operation codec's in (or out) values
    desc: t.InterfacePointer

    def iid(self, named_ins: dict[str, Any]) -> uuid.UUID:
        e = self.desc.iid_is
        if isinstance(e, t.Ref) and isinstance(named_ins.get(e.name), uuid.UUID):
            return named_ins[e.name]  # type: ignore[no-any-return]
        return self.desc.iid or IID_IUnknown


@dataclass(frozen=True)
class OpShape:
    """What the COM layer needs about one wire (ORPC) operation."""

    op: t.Operation
    in_names: tuple[str, ...]  # the codec's [in] values, ORPCthis first
    out_types: tuple[t.NdrType, ...]  # the [out] values after ORPCthat
    in_ifaces: tuple[IfaceParam, ...]
    out_ifaces: tuple[IfaceParam, ...]  # index among out_types
    hresult: bool
    long_ins: tuple[int, ...] = ()  # top-level long [in] values (HRESULT spellings)
    long_outs: tuple[int, ...] = ()  # same among out_types
    #: (index, type) of values with interface pointers nested inside (not top-level)
    in_nested: tuple[tuple[int, t.NdrType], ...] = ()
    out_nested: tuple[tuple[int, t.NdrType], ...] = ()

    def named(self, ins: list[Any]) -> dict[str, Any]:
        return dict(zip(self.in_names, ins, strict=False))

    def split(self, result: Any) -> tuple[Any, list[Any]]:
        """(return value, [out] values) of what a Python method returned: an HRESULT or
        void method returns its [out] values (one bare, several a tuple, none None; the
        return value is then None — S_OK for HRESULT), another method its return value
        first."""
        n = len(self.out_types)
        if self.hresult or self.op.returns is None:
            return None, [] if n == 0 else [result] if n == 1 else list(result)
        vals = [result] if n == 0 else list(result)
        return vals[0], vals[1:]

    def join(self, ret: Any, outs: list[Any]) -> Any:
        """The inverse of :meth:`split`: what a method call returns to Python."""
        if self.hresult or self.op.returns is None:
            return pack_values(outs)
        return (ret, *outs) if outs else ret

    def failure_outs(self, named_ins: dict[str, Any]) -> list[Any]:
        """[out] values that accompany a failed HRESULT (defaults, NULL pointers).

        An ``[out, size_is(n)]`` array still travels with the element count its ``[in]``
        size names (MIDL server stubs marshal the array they allocated, zeroed), so its
        default is ``n`` default elements rather than an empty list."""
        return [_sized_default(T, named_ins) for T in self.out_types]


def _sized_default(T: t.NdrType, named_ins: dict[str, Any]) -> Any:
    target = T.target if isinstance(T, t.Pointer) and T.kind == "ref" else T
    if not isinstance(target, t.Array) or target.string or len(target.dims) != 1:
        return ndr.default_value(T)
    d = target.dims[0]
    expr = d.size_is or d.max_is
    if d.fixed is not None or expr is None or d.varying:
        return ndr.default_value(T)  # a varying array may travel empty
    src = cexpr(expr, {n: f"_v[{n!r}]" for n in named_ins})
    if src is None:
        return ndr.default_value(T)
    n = int(eval(src, {"__builtins__": {}}, {"_v": named_ins}))  # our own generated source
    if expr is d.max_is:
        n += 1
    n = max(n, 0)
    if isinstance(ndr.default_value(target), bytes):
        return bytes(n)
    return [ndr.default_value(target.element) for _ in range(n)]


_SHAPES: dict[int, tuple[t.Operation, OpShape]] = {}


def op_shape(op: t.Operation) -> OpShape:
    hit = _SHAPES.get(id(op))
    if hit is not None and hit[0] is op:
        return hit[1]
    codec = ndr.operation_codec(op)
    ins = codec.in_params
    outs = [p for p in codec.out_params if p.name != "ORPCthat"]
    shape = OpShape(
        op, tuple(p.name for p in ins), tuple(p.type for p in outs),
        tuple(IfaceParam(i, d) for i, p in enumerate(ins) if (d := _iface_type(p.type))),
        tuple(IfaceParam(i, d) for i, p in enumerate(outs) if (d := _iface_type(p.type))),
        isinstance(op.returns, t.Primitive) and op.returns.kind == "long",
        tuple(i for i, p in enumerate(ins) if _is_long(p.type)),
        tuple(i for i, p in enumerate(outs) if _is_long(p.type)),
        tuple((i, p.type) for i, p in enumerate(ins)
              if _iface_type(p.type) is None and has_iface(p.type)),
        tuple((i, p.type) for i, p in enumerate(outs)
              if _iface_type(p.type) is None and has_iface(p.type)))
    _SHAPES[id(op)] = (op, shape)
    return shape


def pack_values(values: list[Any]) -> Any:
    """The [out] values as a method returns them: one bare, several a tuple, none None."""
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


# --------------------------------------------------------------------------- nested
_HAS: dict[int, tuple[t.NdrType, bool]] = {}


def has_iface(T: t.NdrType, _seen: frozenset[int] = frozenset()) -> bool:
    """Whether a value of ``T`` can hold an interface pointer anywhere inside."""
    hit = _HAS.get(id(T))
    if hit is not None and hit[0] is T:
        return hit[1]
    if id(T) in _seen:  # a recursive struct: the other paths decide
        return False
    seen = _seen | {id(T)}
    found: bool
    if isinstance(T, t.InterfacePointer):
        found = True
    elif isinstance(T, t.Pointer):
        found = has_iface(T.target, seen)
    elif isinstance(T, t.Range):
        found = has_iface(T.type, seen)
    elif isinstance(T, t.Array):
        found = not T.string and has_iface(T.element, seen)
    elif isinstance(T, t.Struct):
        found = any(has_iface(f.type, seen) for f in T.fields)
    elif isinstance(T, t.Switch):
        found = has_iface(T.union, seen)
    elif isinstance(T, t.Union):
        found = any(a.type is not None and has_iface(a.type, seen) for a in T.arms)
    else:
        found = False
    if not _seen:  # only a complete answer is cached
        _HAS[id(T)] = (T, found)
    return found


def iid_for(desc: t.InterfacePointer, scope: dict[str, Any]) -> uuid.UUID:
    """The IID an interface pointer is marshaled for: ``[iid_is]`` resolved in ``scope``
    (the sibling fields, else the parameters), else the declared interface's."""
    e = desc.iid_is
    if isinstance(e, t.Ref) and isinstance(scope.get(e.name), uuid.UUID):
        return scope[e.name]  # type: ignore[no-any-return]
    return desc.iid or IID_IUnknown


IfaceFn = Callable[[t.InterfacePointer, Any, dict[str, Any]], Any]


def walk_ifaces(T: t.NdrType, value: Any, fn: IfaceFn, scope: dict[str, Any]) -> Any:
    """``value`` (of type ``T``) with every non-NULL interface pointer inside replaced by
    ``fn(desc, value, scope)``; structures are copied, never changed in place."""
    if value is None or not has_iface(T):
        return value
    if isinstance(T, t.InterfacePointer):
        return fn(T, value, scope)
    if isinstance(T, t.Pointer):
        return walk_ifaces(T.target, value, fn, scope)
    if isinstance(T, t.Range):
        return walk_ifaces(T.type, value, fn, scope)
    if isinstance(T, t.Array):
        inner: t.NdrType = T.element if len(T.dims) == 1 else t.Array(T.element, T.dims[1:])
        return [walk_ifaces(inner, v, fn, scope) for v in value]
    if isinstance(T, t.Struct):
        fields = {f.name: getattr(value, f.name, None) for f in T.fields}
        inner_scope = {**scope, **fields}
        out = copy.copy(value)
        for f in T.fields:
            if has_iface(f.type):
                setattr(out, f.name, walk_ifaces(f.type, fields[f.name], fn, inner_scope))
        return out
    if isinstance(T, (t.Switch, t.Union)):
        u = T.union if isinstance(T, t.Switch) else T
        arm = next((a for a in u.arms if value.tag in a.cases), None) or next(
            (a for a in u.arms if a.is_default), None)
        if arm is None or arm.type is None:
            return value
        return type(value)(value.tag, walk_ifaces(arm.type, value.value, fn, scope))
    return value
