"""Python classes for named types, and default values (the public Python mapping).

* Struct -> ``@dataclass`` (IDL field names in IDL order; keyword or positional);
* Enum -> ``enum.IntEnum`` subclass;
* Union -> :class:`~dcerpc.ndr.types.UnionValue` subclass ``U(tag, value)``.

Each class carries ``__ndr__`` (its descriptor) and is cached in the descriptor's ``py``.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from typing import Any

from . import types as t
from ._layout import count_fields, pyname, unrange
from ._runtime import NULL_CONTEXT_HANDLE

_NIL = uuid.UUID(int=0)


def python_type(T: Any) -> type:
    """The Python class of a Struct/Union/Enum descriptor (created and cached in ``T.py``)."""
    if isinstance(T, type) and hasattr(T, "__ndr__"):
        return T
    if isinstance(T, t.Switch):
        T = T.union
    if isinstance(T, t.Range):
        T = unrange(T)
    if not isinstance(T, (t.Struct, t.Union, t.Enum)):
        raise TypeError(f"{type(T).__name__} has no generated Python class")
    if T.py is None:
        if isinstance(T, t.Struct):
            T.py = _make_struct(T)
        elif isinstance(T, t.Union):
            T.py = type(T.name, (t.UnionValue,), {"__slots__": (), "__ndr__": T,
                                                  "__module__": __name__})
        else:
            T.py = _make_enum(T)
    return T.py


def _make_enum(T: t.Enum) -> type:
    cls: type = enum.IntEnum(T.name, dict(T.members))  # type: ignore[misc]
    cls.__ndr__ = T  # type: ignore[attr-defined]
    return cls


def _make_struct(S: t.Struct) -> type:
    counts = count_fields([(f.name, f.type) for f in S.fields])
    spec = []
    for f in S.fields:
        if f.name in counts:
            spec.append((pyname(f.name), Any, dataclasses.field(default=None)))
        else:
            spec.append((pyname(f.name), Any, _field_default(f.type)))
    cls = dataclasses.make_dataclass(S.name, spec, eq=True, namespace={"__ndr__": S})
    cls.__module__ = __name__
    return cls


def _field_default(T: t.NdrType) -> Any:
    value = default_value(T)
    if isinstance(value, (int, float, str, bytes, uuid.UUID, type(None))) or \
            value is NULL_CONTEXT_HANDLE or isinstance(value, enum.Enum):
        return dataclasses.field(default=value)
    return dataclasses.field(default_factory=lambda: default_value(T))


def _array_default(A: t.Array) -> Any:
    from ._layout import elem_kind

    kind = elem_kind(A)
    dims = A.dims

    def build(k: int) -> Any:
        d = dims[k]
        fixed = d.fixed if (d.fixed is not None and not d.varying) else None
        if k == len(dims) - 1:
            if kind in ("string", "wstr"):
                return ""
            if kind == "bytes":
                return bytes(fixed) if fixed else b""
            return [default_value(A.element) for _ in range(fixed or 0)]
        return [build(k + 1) for _ in range(fixed or 0)]

    return build(0)


def default_value(T: Any) -> Any:
    """The default Python value of a use of T (docs/ndr.md: Python mapping and defaults)."""
    if isinstance(T, type) and hasattr(T, "__ndr__"):
        T = T.__ndr__
    if isinstance(T, t.Range):
        inner = default_value(T.type)
        return T.low if isinstance(inner, int) and not T.low <= inner <= T.high else inner
    if isinstance(T, t.Primitive):
        if T.kind == "boolean":
            return False
        return 0.0 if T.kind in ("float", "double") else 0
    if isinstance(T, t.Guid):
        return _NIL
    if isinstance(T, t.Enum):
        cls = python_type(T)
        for m in cls:
            if m.value == 0:
                return m
        members = list(cls)
        return members[0] if members else 0
    if isinstance(T, t.Pointer):
        return default_value(T.target) if T.kind == "ref" else None
    if isinstance(T, t.Array):
        return _array_default(T)
    if isinstance(T, t.Struct):
        return python_type(T)()
    if isinstance(T, t.ContextHandle):
        return NULL_CONTEXT_HANDLE
    if isinstance(T, t.Pipe):
        return []
    if isinstance(T, t.TypeSerialized):
        return default_value(T.type)
    # Union, Switch, InterfacePointer, Handle
    return None
