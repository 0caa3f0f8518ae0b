"""A canonical, comparable rendering of interface models (descriptors use identity
equality, so two independently built models need this to be compared)."""

from __future__ import annotations

from typing import Any

from ..ndr import types as t


def structure(x: Any, _seen: frozenset[int] = frozenset()) -> Any:
    """Nested tuples describing ``x`` (an Interface, Operation, Param or NdrType)."""
    if isinstance(x, t.Interface):
        return ("interface", x.name, x.uuid, x.version, x.object, x.pointer_default,
                structure(x.base, _seen) if x.base else None,
                tuple(structure(op, _seen) for op in x.operations))
    if isinstance(x, t.Operation):
        return ("op", x.name, x.opnum, bool(x.attrs.get("async")),
                tuple(structure(p, _seen) for p in x.params),
                structure(x.returns, _seen) if x.returns is not None else None)
    if isinstance(x, t.Param):
        return ("param", x.name, x.in_, x.out, structure(x.type, _seen))
    if isinstance(x, t.Struct | t.Union | t.Enum):
        if id(x) in _seen:
            return ("recursive", type(x).__name__, x.name)
        seen = _seen | {id(x)}
        if isinstance(x, t.Enum):
            return ("enum", tuple(sorted(x.members.items())), x.v1_enum)
        if isinstance(x, t.Struct):
            return ("struct", tuple((f.name, structure(f.type, seen)) for f in x.fields))
        return ("union", structure(x.switch_type, seen), x.encapsulated, x.ms_union,
                tuple((tuple(arm.cases), arm.name,
                       structure(arm.type, seen) if arm.type is not None else None)
                      for arm in x.arms))
    if isinstance(x, t.Pointer):
        return ("ptr", x.kind, structure(x.target, _seen))
    if isinstance(x, t.Array):
        return ("array", structure(x.element, _seen), x.dims, x.string)
    if isinstance(x, t.Range):
        return ("range", structure(x.type, _seen), x.low, x.high)
    if isinstance(x, t.Switch):
        return ("switch", structure(x.union, _seen), x.switch_is)
    if isinstance(x, t.ContextHandle):
        return ("ctx", x.name, x.strict)
    if isinstance(x, t.Pipe):
        return ("pipe", structure(x.element, _seen))
    if isinstance(x, t.InterfacePointer):
        return ("ifptr", x.interface, x.iid, x.iid_is)
    return x  # frozen primitives, Guid, Handle compare by value
