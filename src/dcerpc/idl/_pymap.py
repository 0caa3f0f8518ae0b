"""Python mapping of descriptors: type hints and default values (see ``ndr/types.py``).

Shared by the IDL code generator (which writes them as source) and the Python
declaration API (which evaluates the same source fragments).
"""

from __future__ import annotations

import keyword
from typing import Any

from ..ndr import types as t

PRIM_CONST = {k: k.upper() for k in t.PRIMITIVE_KINDS}
COUNT_ATTRS = ("size_is", "max_is", "min_is", "length_is", "first_is", "last_is")


def py_ident(name: str) -> str:
    """A usable Python identifier for an IDL name (keywords get a trailing underscore)."""
    return name + "_" if keyword.iskeyword(name) or name in ("None", "True", "False") else name


def counted_names(ty: t.NdrType) -> set[str]:
    """Names read by this use's size/length/switch expressions (not inside nested types)."""
    out: set[str] = set()
    stack: list[Any] = [ty]
    while stack:
        x = stack.pop()
        if isinstance(x, t.Pointer):
            stack.append(x.target)
        elif isinstance(x, t.Array):
            for d in x.dims:
                for attr in COUNT_ATTRS:
                    e = getattr(d, attr)
                    if e is not None:
                        out |= e.names()
            stack.append(x.element)
        elif isinstance(x, t.Range):
            stack.append(x.type)
        elif isinstance(x, t.Switch):
            out |= x.switch_is.names()
        elif isinstance(x, t.InterfacePointer) and x.iid_is is not None:
            out |= x.iid_is.names()
    return out


def class_name_of(desc: Any, names: dict[int, str]) -> str | None:
    return names.get(id(desc))


def hint(ty: t.NdrType, names: dict[int, str]) -> str:
    """The type hint (source text) for values of ``ty``."""
    if isinstance(ty, t.Primitive):
        if ty.kind == "boolean":
            return "bool"
        if ty.kind in ("float", "double"):
            return "float"
        return "int"
    if isinstance(ty, t.Guid):
        return "_uuid.UUID"
    if isinstance(ty, t.Enum):
        return names.get(id(ty), "int")
    if isinstance(ty, t.Range):
        return hint(ty.type, names)
    if isinstance(ty, t.Struct):
        return names.get(id(ty), "object")
    if isinstance(ty, t.Union):
        return names.get(id(ty), "_t.UnionValue")
    if isinstance(ty, t.Switch):
        return f"{hint(ty.union, names)} | None"
    if isinstance(ty, t.Array):
        el = ty.element
        if ty.string:
            return "str"
        if isinstance(el, t.Primitive) and el.kind in t.BYTE_KINDS:
            inner = "bytes"
            dims = len(ty.dims) - 1
        else:
            inner = hint(el, names)
            dims = len(ty.dims)
        for _ in range(dims):
            inner = f"list[{inner}]"
        return inner
    if isinstance(ty, t.Pointer):
        inner = hint(ty.target, names)
        return inner if ty.kind == "ref" or inner.endswith("| None") else f"{inner} | None"
    if isinstance(ty, t.InterfacePointer):
        return "bytes | None"
    return "object"


def default(ty: t.NdrType, names: dict[int, str]) -> tuple[str, bool]:
    """(source, is_factory): the default value of a field of type ``ty``."""
    if isinstance(ty, t.Primitive):
        if ty.kind == "boolean":
            return "False", False
        if ty.kind in ("float", "double"):
            return "0.0", False
        return "0", False
    if isinstance(ty, t.Guid):
        return "_uuid.UUID(int=0)", False
    if isinstance(ty, t.Enum):
        cls = names.get(id(ty))
        if not ty.members or cls is None:
            return "0", False
        member = next((k for k, v in ty.members.items() if v == 0), next(iter(ty.members)))
        return f"{cls}.{member}", False
    if isinstance(ty, t.Range):
        src, fac = default(ty.type, names)
        if ty.low > 0 or ty.high < 0:
            return str(ty.low), False
        return src, fac
    if isinstance(ty, t.Struct):
        cls = names.get(id(ty))
        return (f"lambda: {cls}()", True) if cls else ("None", False)
    if isinstance(ty, t.Array):
        el = ty.element
        if ty.string:
            return '""', False
        byte_like = isinstance(el, t.Primitive) and el.kind in t.BYTE_KINDS
        if any(d.fixed is None for d in ty.dims):
            return "list" if not (byte_like and len(ty.dims) == 1) else 'b""', \
                not (byte_like and len(ty.dims) == 1)
        sizes = [d.fixed or 0 for d in ty.dims]
        if byte_like:
            src = f"bytes({sizes[-1]})"
            sizes = sizes[:-1]
            if not sizes:
                return src, False
        else:
            esrc, efac = default(el, names)
            src = factory_call(esrc) if efac else esrc
        for n in reversed(sizes):
            src = f"[{src} for _ in range({n})]"
        return f"lambda: {src}", True
    if isinstance(ty, t.Pointer):
        if ty.kind == "ref":
            return default(ty.target, names)
        return "None", False
    if isinstance(ty, t.ContextHandle):
        return "_support.null_context_handle", True
    return "None", False


def factory_call(src: str) -> str:
    """Source of one call of a default factory (``lambda: X()`` → ``X()``)."""
    if src.startswith("lambda: "):
        return src[len("lambda: "):]
    return "[]" if src == "list" else f"{src}()"
