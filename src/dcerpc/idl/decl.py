"""Declare interfaces in Python, without IDL: the same model, the same module shape.

Types are ``typing.Annotated`` aliases; attributes are markers inside ``Annotated``::

    from typing import Annotated
    from dcerpc.idl.decl import (interface, struct, enum, union, case, ulong, wstr, unique,
                                 size_is, switch_is, out, in_out, make_module)

    @enum
    class KIND(IntEnum):
        Home = 0
        Work = 1

    @struct
    class ENTRY:                                   # typedef struct { ... } ENTRY;
        kind: KIND
        name: wstr                                 # [string] wchar_t *name;
        count: ulong
        numbers: Annotated[unique[list[ulong]], size_is("count")]  # [size_is(count)] ULONG *

    @interface(uuid="6a2c2d54-0b4e-4a58-9c39-2b2f6cdb7c01", version=(1, 0))
    class PhoneBook:
        def AddEntry(self, entry: ref[ENTRY], index: out[ulong]) -> long: ...

    mod = make_module("phonebook", PhoneBook, KIND, ENTRY)   # mod.PhoneBookClient, mod.AddEntry

Rules, matching IDL:

* primitives: ``boolean byte char small usmall short ushort long ulong hyper uhyper
  float_ double int3264 uint3264 wchar error_status_t handle_t guid`` (``int``/``str``
  alone are ambiguous and rejected); ``wstr``/``cstr`` = ``[string] wchar_t*`` /
  ``[string] char*``; ``bytes`` = ``byte[]``; ``list[T]`` = ``T[]`` (add ``fixed(N)`` for
  ``T[N]``); a decorated class = that struct/union/enum; ``uuid.UUID`` = GUID;
* ``unique[T]``/``ref[T]``/``ptr[T]`` (and ``T | None`` = ``unique``) make ``T *``; on
  ``wstr`` or ``unique[list[T]]`` they set the kind of the pointer already there;
* ``size_is(...)``, ``length_is``, ``max_is``, ``first_is``, ``last_is``, ``switch_is``,
  ``range_(lo, hi)``, ``string``, ``iid_is`` take field/parameter names (``str``) or
  :mod:`dcerpc.ndr.types` expressions, one argument per pointer/array level;
* parameters are ``[in]`` unless ``out[T]`` / ``in_out[T]``, which, like IDL ``[out] T *p``,
  add the top-level (``ref``) pointer; the return annotation is the return type
  (``None`` = void); opnums follow declaration order unless ``@opnum(n)``; ``@async_op``
  marks ``[async]``.
"""

from __future__ import annotations

import dataclasses
import enum as _enum
import inspect
import sys
import types as _pytypes
import typing
import uuid as _uuid
from collections.abc import Callable
from typing import Annotated, Any

from ..errors import IdlError
from ..ndr import types as t
from . import _ast as a
from . import _support
from ._pymap import counted_names, default
from ._resolve import Chain, Ctx, Level, TypeResolver

__all__ = [
    "async_op",
    "boolean",
    "byte",
    "case",
    "char",
    "context_handle",
    "cstr",
    "double",
    "enum",
    "error_status_t",
    "first_is",
    "fixed",
    "float_",
    "guid",
    "handle_t",
    "hyper",
    "iid_is",
    "in_out",
    "int3264",
    "interface",
    "last_is",
    "length_is",
    "long",
    "make_module",
    "max_is",
    "opnum",
    "out",
    "ptr",
    "range_",
    "ref",
    "short",
    "size_is",
    "small",
    "string",
    "struct",
    "switch_is",
    "uhyper",
    "uint3264",
    "ulong",
    "union",
    "unique",
    "ushort",
    "usmall",
    "wchar",
    "wstr",
]

_LOC = a.Loc("<python>", 0, 0)


# --------------------------------------------------------------------------- markers
@dataclasses.dataclass(frozen=True)
class _Base:
    base: Any
    levels: tuple[tuple[bool, bool], ...] = ()  # (is_ptr, string) outermost first


@dataclasses.dataclass(frozen=True)
class _PtrMark:
    kind: str


@dataclasses.dataclass(frozen=True)
class _Dir:
    in_: bool
    out: bool


@dataclasses.dataclass(frozen=True)
class _Attr:
    name: str
    args: tuple[Any, ...] | None = None


def _expr(x: Any) -> Any:
    if x is None or isinstance(x, t.Expr):
        return x
    if isinstance(x, int):
        return t.Const(x)
    if isinstance(x, str):
        return t.Ref(x)
    raise TypeError(f"expected a name, an int or a types.Expr, not {x!r}")


def _attr_maker(name: str) -> Callable[..., _Attr]:
    def make(*args: Any) -> _Attr:
        return _Attr(name, tuple(_expr(x) for x in args))

    make.__name__ = name
    return make


size_is = _attr_maker("size_is")
length_is = _attr_maker("length_is")
max_is = _attr_maker("max_is")
first_is = _attr_maker("first_is")
last_is = _attr_maker("last_is")
switch_is = _attr_maker("switch_is")
iid_is = _attr_maker("iid_is")
string = _Attr("string")
context_handle = _Attr("context_handle")


def range_(low: int, high: int) -> _Attr:
    return _Attr("range", (t.Const(low), t.Const(high)))


def case(*values: int) -> _Attr:
    return _Attr("case", tuple(t.Const(v) for v in values)) if values else _Attr("default")


def fixed(n: int) -> _Attr:
    return _Attr("fixed", (n,))


def _prim(d: t.NdrType, py: type) -> Any:
    return Annotated[py, _Base(d)]


boolean = _prim(t.BOOLEAN, bool)
byte = _prim(t.BYTE, int)
char = _prim(t.CHAR, int)
small = _prim(t.SMALL, int)
usmall = _prim(t.USMALL, int)
short = _prim(t.SHORT, int)
ushort = _prim(t.USHORT, int)
long = _prim(t.LONG, int)
ulong = _prim(t.ULONG, int)
hyper = _prim(t.HYPER, int)
uhyper = _prim(t.UHYPER, int)
float_ = _prim(t.FLOAT, float)
double = _prim(t.DOUBLE, float)
int3264 = _prim(t.INT3264, int)
uint3264 = _prim(t.UINT3264, int)
wchar = _prim(t.WCHAR, int)
error_status_t = _prim(t.ERROR_STATUS_T, int)
handle_t = _prim(t.HANDLE_T, object)
guid = _prim(t.GUID, _uuid.UUID)
wstr = Annotated[str, _Base(t.WCHAR, ((True, True),))]
cstr = Annotated[str, _Base(t.CHAR, ((True, True),))]


class _Wrap:
    def __init__(self, make: Callable[[Any], Any]) -> None:
        self._make = make

    def __getitem__(self, item: Any) -> Any:
        return self._make(item)


unique = _Wrap(lambda x: Annotated[x, _PtrMark("unique")])
ref = _Wrap(lambda x: Annotated[x, _PtrMark("ref")])
ptr = _Wrap(lambda x: Annotated[x, _PtrMark("ptr")])
out = _Wrap(lambda x: Annotated[x, _Dir(False, True)])
in_out = _Wrap(lambda x: Annotated[x, _Dir(True, True)])


# --------------------------------------------------------------------------- annotations
class _Converter(TypeResolver):
    def chain(self, hint: Any, where: str) -> tuple[Chain, list[a.Attribute], _Dir | None]:
        attrs: list[a.Attribute] = []
        direction: _Dir | None = None
        marks: list[Any] = []
        if typing.get_origin(hint) is Annotated:
            marks = list(hint.__metadata__)
            hint = hint.__origin__
        base = next((m for m in marks if isinstance(m, _Base)), None)
        if base is not None:
            c = Chain(base.base, [Level(ptr=p, string=s) for p, s in base.levels])
        else:
            c = self._plain(hint, where)
        for m in marks:
            if isinstance(m, _PtrMark):
                if c.levels and c.levels[0].ptr and c.levels[0].kind is None:
                    c.levels[0].kind = m.kind
                elif c.levels and not c.levels[0].ptr and c.levels[0].dim is not None \
                        and c.levels[0].dim.fixed is None:
                    c.levels[0] = Level(ptr=True, kind=m.kind, dim=c.levels[0].dim,
                                        string=c.levels[0].string)
                else:
                    c.levels.insert(0, Level(ptr=True, kind=m.kind))
            elif isinstance(m, _Dir):
                direction = m
            elif isinstance(m, _Attr):
                if m.name == "fixed":
                    first = next((lv for lv in c.levels if not lv.ptr), None)
                    if first is None:
                        raise IdlError(f"{where}: fixed() needs a list or bytes type")
                    first.dim = t.Dim(fixed=int(m.args[0]))  # type: ignore[index]
                else:
                    attrs.append(a.Attribute(m.name, list(m.args) if m.args is not None
                                             else None, _LOC))
        if direction is not None and direction.out:
            c.levels.insert(0, Level(ptr=True))
        return c, attrs, direction

    def _plain(self, hint: Any, where: str) -> Chain:
        if hint is None or hint is type(None):
            raise IdlError(f"{where}: None is not a type here")
        desc = getattr(hint, "__ndr__", None)
        if desc is not None:
            return Chain(desc)
        if hint is _uuid.UUID:
            return Chain(t.GUID)
        if hint is bool:
            return Chain(t.BOOLEAN)
        if hint is float:
            return Chain(t.DOUBLE)
        if hint is bytes:
            return Chain(t.BYTE, [Level(ptr=False, dim=t.Dim())])
        origin = typing.get_origin(hint)
        if origin is list:
            (inner,) = typing.get_args(hint)
            c, attrs, _ = self.chain(inner, where)
            if attrs:
                raise IdlError(f"{where}: put attributes on the list, not its elements")
            c.levels.insert(0, Level(ptr=False, dim=t.Dim()))
            return c
        if origin in (typing.Union, _pytypes.UnionType):
            args = [x for x in typing.get_args(hint) if x is not type(None)]
            if len(args) == 1 and len(typing.get_args(hint)) == 2:
                c, attrs, _ = self.chain(Annotated[args[0], _PtrMark("unique")], where)
                if attrs:
                    raise IdlError(f"{where}: use Annotated[unique[T], ...] for attributes")
                return c
        raise IdlError(f"{where}: cannot map {hint!r} to an NDR type (use ulong, wstr, ...)")


_CONV = _Converter()


def _hints(obj: Any, localns: dict[str, Any] | None = None) -> dict[str, Any]:
    # localns: the scope the decorator was applied in, so that types declared inside a
    # function resolve under ``from __future__ import annotations``.
    return typing.get_type_hints(obj, localns=localns, include_extras=True)


def _fields(cls: type, localns: dict[str, Any] | None) -> list[tuple[str, Any]]:
    return [(n, h) for n, h in _hints(cls, localns).items() if not n.startswith("__")]


# --------------------------------------------------------------------------- decorators
def enum(cls: type[_enum.IntEnum] | None = None, *, v1_enum: bool = False) -> Any:
    """Attach an :class:`~dcerpc.ndr.types.Enum` to an ``IntEnum`` subclass."""
    def wrap(c: type[_enum.IntEnum]) -> type[_enum.IntEnum]:
        desc = t.Enum(c.__name__, {m.name: int(m.value) for m in c}, v1_enum=v1_enum, py=c)
        c.__ndr__ = desc  # type: ignore[attr-defined]
        return c

    return wrap(cls) if cls is not None else wrap


def _names_for(desc: Any, cls: type, ns: dict[str, Any]) -> dict[int, str]:
    names: dict[int, str] = {}
    stack = [desc]
    seen: set[int] = set()
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, t.Struct | t.Union | t.Enum) and x.py is not None:
            key = f"_C{id(x)}"
            names[id(x)] = key
            ns[key] = x.py
        for attr in ("target", "element", "type", "union"):
            y = getattr(x, attr, None)
            if isinstance(y, t.NdrType):
                stack.append(y)
        if isinstance(x, t.Struct):
            stack.extend(f.type for f in x.fields)
    return names


def struct(cls: type | None = None, *, pointer_default: str = "unique") -> Any:
    """Make an annotated class a dataclass with an NDR :class:`~dcerpc.ndr.types.Struct`."""
    localns = dict(sys._getframe(1).f_locals)

    def wrap(c: type) -> type:
        desc = t.Struct(c.__name__)
        c.__ndr__ = desc  # type: ignore[attr-defined]
        desc.py = c
        ctx = Ctx(pointer_default=pointer_default, owner=c.__name__)
        fields = _fields(c, localns)
        known = {n for n, _ in fields}
        for name, h in fields:
            chain, attrs, _ = _CONV.chain(h, f"{c.__name__}.{name}")
            _CONV.apply_attrs(chain, attrs, known, _LOC, f"field {name} of {c.__name__}")
            desc.fields.append(t.Field(name, _CONV.build(chain, ctx, False, _LOC)))
        _CONV.infer_switch_types([(f.name, f.type) for f in desc.fields], None)
        counted: set[str] = set()
        for f in desc.fields:
            counted |= counted_names(f.type)
        ns: dict[str, Any] = {"_uuid": _uuid, "_support": _support}
        names = _names_for(desc, c, ns)
        for f in desc.fields:
            if f.name in counted:
                setattr(c, f.name, None)
                continue
            src, factory = default(f.type, names)
            value = eval(src, ns)  # source built by _pymap from our own descriptors
            if factory:
                setattr(c, f.name, dataclasses.field(default_factory=value))
            else:
                setattr(c, f.name, value)
        return dataclasses.dataclass(c)

    return wrap(cls) if cls is not None else wrap


def union(cls: type | None = None, *, switch_type: Any = None) -> Any:
    """Make a class whose annotated attributes are arms (``Annotated[T, case(1)]``; an arm
    typed ``None`` is empty) a :class:`~dcerpc.ndr.types.UnionValue` subclass."""
    localns = dict(sys._getframe(1).f_locals)

    def wrap(c: type) -> type:
        sw = _CONV.build(_CONV.chain(switch_type, "switch_type")[0], Ctx(), False, _LOC) \
            if switch_type is not None else None
        desc = t.Union(c.__name__, sw)
        for name, h in _fields(c, localns):
            marks = list(h.__metadata__) if typing.get_origin(h) is Annotated else []
            cases = [m for m in marks if isinstance(m, _Attr) and m.name in ("case", "default")]
            if not cases:
                raise IdlError(f"{c.__name__}.{name}: arm without case(...)")
            values = [int(x.value) for m in cases for x in (m.args or ())]
            inner = h.__origin__ if typing.get_origin(h) is Annotated else h
            if inner is None or inner is type(None):
                desc.arms.append(t.Arm(values, None, None))
                continue
            rest = [m for m in marks if m not in cases]
            chain, attrs, _ = _CONV.chain(Annotated[(inner, *rest)] if rest else inner, name)
            _CONV.apply_attrs(chain, attrs, None, _LOC, f"arm {name}", free_names=True)
            desc.arms.append(t.Arm(values, name, _CONV.build(chain, Ctx(), False, _LOC)))
        ns = {"__slots__": (), "__ndr__": desc, "__doc__": c.__doc__,
              "__module__": c.__module__, "__qualname__": c.__qualname__}
        new = type(c.__name__, (t.UnionValue,), ns)
        desc.py = new
        return new

    return wrap(cls) if cls is not None else wrap


def opnum(n: int) -> Callable[[Any], Any]:
    def wrap(fn: Any) -> Any:
        fn.__opnum__ = n
        return fn

    return wrap


def async_op(fn: Any) -> Any:
    """Mark an operation ``[async]`` (the ACF attribute)."""
    fn.__async__ = True
    return fn


def interface(*, uuid: str | _uuid.UUID, version: tuple[int, int] = (1, 0),
              pointer_default: str = "unique", object: bool = False,
              base: t.Interface | None = None, async_uuid: str | None = None,
              ) -> Callable[[type], t.Interface]:
    """Turn a class whose methods are operations into a :class:`~dcerpc.ndr.types.Interface`."""
    localns = dict(sys._getframe(1).f_locals)

    def wrap(cls: type) -> t.Interface:
        iface = t.Interface(cls.__name__, _uuid.UUID(str(uuid)), version,
                            pointer_default=pointer_default,  # type: ignore[arg-type]
                            object=object, base=base,
                            async_uuid=_uuid.UUID(async_uuid) if async_uuid else None)
        nxt = 0
        b = base
        while b is not None:
            nxt += len(b.operations)
            b = b.base
        ctx = Ctx(pointer_default=pointer_default, owner=cls.__name__)
        for name, fn in cls.__dict__.items():
            if name.startswith("_") or not callable(fn):
                continue
            hints = _hints(fn, localns)
            pnames = [p for p in inspect.signature(fn).parameters if p != "self"]
            params: list[t.Param] = []
            for pname in pnames:
                if pname not in hints:
                    raise IdlError(f"{cls.__name__}.{name}: parameter {pname} needs a type")
                chain, attrs, d = _CONV.chain(hints[pname], f"{name}({pname})")
                _CONV.apply_attrs(chain, attrs, set(pnames), _LOC, f"parameter {pname}")
                ptype = _CONV.build(chain, ctx, True, _LOC)
                params.append(t.Param(pname, ptype, in_=d.in_ if d else True,
                                      out=d.out if d else False))
            _CONV.infer_switch_types([(p.name, p.type) for p in params], None)
            ret = hints.get("return")
            returns = None if ret is None or ret is type(None) else _CONV.build(
                _CONV.chain(ret, f"{name} return")[0], ctx, False, _LOC)
            n = getattr(fn, "__opnum__", nxt)
            attrs_: dict[str, Any] = {"async": True} if getattr(fn, "__async__", False) else {}
            iface.operations.append(t.Operation(name, n, params, returns, attrs_))
            nxt = n + 1
        return iface

    return wrap


# --------------------------------------------------------------------------- module shape
def _in_args(op: t.Operation) -> list[str]:
    return [p.name for p in op.params if p.in_ and not isinstance(p.type, t.Handle)]


def _make_call(iface: t.Interface, op: t.Operation) -> Callable[..., Any]:
    nargs = len(_in_args(op))

    if op.is_async:
        def call_async(pAsync: Any, hBinding: Any, *args: Any) -> Any:
            if len(args) != nargs:
                raise TypeError(f"{op.name}() takes {nargs} in-argument(s), got {len(args)}")
            return _support.invoke_async(pAsync, hBinding, iface, op, args)

        call_async.__name__ = op.name
        return call_async

    def call(hBinding: Any, *args: Any) -> Any:
        if len(args) != nargs:
            raise TypeError(f"{op.name}() takes {nargs} in-argument(s), got {len(args)}")
        return _support.invoke(hBinding, iface, op, args)

    call.__name__ = op.name
    return call


def client_class(iface: t.Interface) -> type:
    """``XClient(binding)`` with one method per operation, as generated modules have."""
    ns: dict[str, Any] = {"__interface__": iface, "__doc__": f"Client proxy for {iface.name}."}

    def __init__(self: Any, binding: Any) -> None:
        self._binding = binding

    ns["__init__"] = __init__
    for op in iface.operations:
        fn = _make_call(iface, op)
        if op.is_async:
            def method(self: Any, pAsync: Any, *args: Any, _fn: Any = fn) -> Any:
                return _fn(pAsync, self._binding, *args)
        else:
            def method(self: Any, *args: Any, _fn: Any = fn) -> Any:
                return _fn(self._binding, *args)
        method.__name__ = op.name
        ns[op.name] = method
    return type(f"{iface.name}Client", (), ns)


def make_module(name: str, *items: Any) -> _pytypes.ModuleType:
    """A module with the shape ``dcerpc idl compile`` produces, from Python declarations."""
    mod = _pytypes.ModuleType(name)
    interfaces = []
    for item in items:
        if isinstance(item, t.Interface):
            interfaces.append(item)
            setattr(mod, item.name, item)
            setattr(mod, f"{item.name}Client", client_class(item))
            for op in item.operations:
                setattr(mod, op.name, _make_call(item, op))
        else:
            setattr(mod, item.__name__, item)
    mod.__interfaces__ = interfaces  # type: ignore[attr-defined]
    mod.__idl_source__ = None  # type: ignore[attr-defined]
    return mod
