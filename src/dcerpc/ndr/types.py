"""The interface model: NDR type descriptors, operations and interfaces.

This module is the contract between the IDL front end (:mod:`dcerpc.idl`, and the
Python declaration API), the codec generator (:mod:`dcerpc.ndr`) and the runtime.
Descriptors are plain data: nothing here marshals anything.

Theory of operation
-------------------
* A descriptor describes one *use* of a type. Attributes that MIDL writes on a
  field or parameter (``[size_is]``, ``[string]``, ``[unique]``, ``[switch_is]``,
  ``[range]``) are folded into the descriptor tree at that use site: e.g.
  ``[size_is(n), unique] long *p`` becomes
  ``Pointer("unique", Array(LONG, (Dim(size_is=Ref("n")),)))``.
* Named constructed types (``Struct``, ``Union``, ``Enum``) are shared by identity
  between all their uses, so recursive types (linked lists) are graphs with cycles.
  Compare them with ``is``; the dataclasses use ``eq=False`` for that reason.
* Expressions (:class:`Expr`) in array/union attributes name sibling fields of the
  enclosing struct, or other parameters of the enclosing operation (C706 §14.3.3,
  [MS-RPCE] 2.2.4.2).
* Whether a pointer is top-level or embedded is decided by where the descriptor is
  used (an operation parameter vs. a struct field/array element), not stored here
  (C706 §14.3.10: the same ``[unique]`` type has two wire forms).
* Python mapping (a public contract, see ``docs/``): integers → ``int``, boolean →
  ``bool``, float/double → ``float``, GUID → ``uuid.UUID``, enum → ``enum.IntEnum``
  subclass, ``[string]`` char/wchar_t → ``str``, wchar_t arrays without ``[string]`` →
  ``str`` (no terminator; e.g. ``RPC_UNICODE_STRING.Buffer``), arrays of byte/usmall/char
  (without ``[string]``) → ``bytes``, other arrays → ``list``, unique/full pointer →
  value or ``None``, struct → dataclass (IDL field names, IDL order), union → a
  :class:`UnionValue` subclass constructed as ``U(tag, value)``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

__all__ = [
    "BOOLEAN", "BYTE", "CHAR", "DOUBLE", "ERROR_STATUS_T", "FLOAT", "GUID", "HANDLE_T",
    "HYPER", "INT3264", "LONG", "PRIMITIVE_KINDS", "SHORT", "SMALL", "UHYPER", "UINT3264",
    "ULONG", "USHORT", "USMALL", "WCHAR", "Arm", "Array", "Attr", "BinOp", "Cond", "Const",
    "ContextHandle", "Deref", "Dim", "Enum", "Expr", "Field", "Guid", "Handle", "Interface",
    "InterfacePointer", "NdrType", "Operation", "Param", "Pipe", "Pointer", "Primitive",
    "Range", "Ref", "Struct", "Switch", "TypeSerialized", "Unary", "Union", "UnionValue",
]


# --------------------------------------------------------------------------- expressions
class Expr:
    """An attribute expression (``size_is(Length/2)``, ``length_is(*pcount)``)."""

    __slots__ = ()

    def names(self) -> set[str]:
        """The field/parameter names this expression reads."""
        out: set[str] = set()
        _collect_names(self, out)
        return out


@dataclass(frozen=True, slots=True)
class Const(Expr):
    value: int


@dataclass(frozen=True, slots=True)
class Ref(Expr):
    """A sibling field (in a struct) or another parameter (in an operation)."""

    name: str


@dataclass(frozen=True, slots=True)
class Deref(Expr):
    """``*p``: the value a ``[ref]``/``[unique]`` pointer parameter points at."""

    operand: Expr


@dataclass(frozen=True, slots=True)
class Attr(Expr):
    """``a.b`` or ``a->b`` (both mean the member ``b`` of the value of ``a``)."""

    operand: Expr
    member: str


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    op: Literal["-", "~", "!", "+"]
    operand: Expr


@dataclass(frozen=True, slots=True)
class BinOp(Expr):
    """C binary operators: + - * / % << >> & | ^ && || == != < > <= >=."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Cond(Expr):
    test: Expr
    then: Expr
    otherwise: Expr


def _collect_names(e: Expr, out: set[str]) -> None:
    if isinstance(e, Ref):
        out.add(e.name)
    elif isinstance(e, (Deref, Unary, Attr)):
        _collect_names(e.operand, out)
    elif isinstance(e, BinOp):
        _collect_names(e.left, out)
        _collect_names(e.right, out)
    elif isinstance(e, Cond):
        for part in (e.test, e.then, e.otherwise):
            _collect_names(part, out)


# --------------------------------------------------------------------------- types
class NdrType:
    """Base of every descriptor."""

    __slots__ = ()


PrimitiveKind = Literal[
    "boolean", "byte", "char", "small", "usmall", "wchar", "short", "ushort", "long", "ulong",
    "hyper", "uhyper", "float", "double", "int3264", "uint3264", "error_status_t",
]

#: kind -> (NDR 2.0 size = alignment, struct format char little-endian). C706 §14.2,
#: protocol-digest §5.1. ``__int3264`` is 32-bit in NDR 2.0; ``error_status_t`` is ulong.
PRIMITIVE_KINDS: dict[str, tuple[int, str]] = {
    "boolean": (1, "B"),
    "byte": (1, "B"),
    "char": (1, "B"),
    "small": (1, "b"),
    "usmall": (1, "B"),
    "wchar": (2, "H"),
    "short": (2, "h"),
    "ushort": (2, "H"),
    "long": (4, "i"),
    "ulong": (4, "I"),
    "int3264": (4, "i"),
    "uint3264": (4, "I"),
    "error_status_t": (4, "I"),
    "float": (4, "f"),
    "double": (8, "d"),
    "hyper": (8, "q"),
    "uhyper": (8, "Q"),
}

#: Element kinds whose non-``[string]`` arrays map to ``bytes``.
BYTE_KINDS = frozenset({"byte", "usmall", "char"})


@dataclass(frozen=True, slots=True)
class Primitive(NdrType):
    kind: str  # a key of PRIMITIVE_KINDS

    def __post_init__(self) -> None:
        if self.kind not in PRIMITIVE_KINDS:
            raise ValueError(f"unknown primitive kind {self.kind!r}")


BOOLEAN = Primitive("boolean")
BYTE = Primitive("byte")
CHAR = Primitive("char")
SMALL = Primitive("small")
USMALL = Primitive("usmall")
WCHAR = Primitive("wchar")
SHORT = Primitive("short")
USHORT = Primitive("ushort")
LONG = Primitive("long")
ULONG = Primitive("ulong")
INT3264 = Primitive("int3264")
UINT3264 = Primitive("uint3264")
ERROR_STATUS_T = Primitive("error_status_t")
FLOAT = Primitive("float")
DOUBLE = Primitive("double")
HYPER = Primitive("hyper")
UHYPER = Primitive("uhyper")


@dataclass(frozen=True, slots=True)
class Guid(NdrType):
    """GUID/UUID: 16 bytes, alignment 4, Data1..3 in the data representation's byte order."""


GUID = Guid()


@dataclass(frozen=True, slots=True)
class Handle(NdrType):
    """``handle_t`` (a primitive binding handle): not marshalled (C706 §14.3.10.1)."""


HANDLE_T = Handle()


@dataclass(eq=False)
class ContextHandle(NdrType):
    """``[context_handle]``: 20 bytes (ulong attributes + GUID), alignment 4.

    ``name`` is the typedef name when there is one (handles of different types must not
    be mixed, [MS-RPCE] 3.1.1.5.3.2.3.3). Python value: :class:`dcerpc.ndr.ContextHandleValue`.
    """

    name: str | None = None
    strict: bool = False  # [strict_context_handle]


@dataclass(eq=False)
class Enum(NdrType):
    """An enum: 16-bit on the wire ("enum16") unless ``[v1_enum]`` (32-bit). C706 §14.2.3.

    ``py`` is the ``enum.IntEnum`` class values decode to (generated with the model).
    """

    name: str
    members: dict[str, int]
    v1_enum: bool = False
    py: Any = None


@dataclass(eq=False)
class Field:
    name: str
    type: NdrType


@dataclass(eq=False)
class Struct(NdrType):
    """A structure; fields in declaration order. C706 §14.3.6.

    Conformant if its last field is a conformant array or a conformant struct
    (the codec hoists the max_counts to the front, C706 §14.3.7.1).
    ``py`` is the dataclass values decode to.
    """

    name: str
    fields: list[Field] = field(default_factory=list)
    py: Any = None


@dataclass(eq=False)
class Arm:
    """One arm of a union. ``cases`` empty means ``[default]``; ``type`` None is an empty arm."""

    cases: list[int]
    name: str | None
    type: NdrType | None

    @property
    def is_default(self) -> bool:
        return not self.cases


@dataclass(eq=False)
class Union(NdrType):
    """A discriminated union. C706 §14.3.8, [MS-RPCE] 2.2.4.5, protocol-digest §5.6.

    * non-encapsulated (``[switch_type(T)] union``): ``switch_type`` is T; used through a
      :class:`Switch` wrapper that carries the ``[switch_is]`` expression;
    * encapsulated (``union switch (T d) u { … }``): ``encapsulated`` is true,
      ``switch_name`` names the discriminant and ``union_name`` the union part.

    The Python value is always ``py(tag, value)`` (a :class:`UnionValue` subclass).
    ``ms_union`` selects MIDL's ``/ms_union`` arm alignment (largest arm).
    """

    name: str
    switch_type: NdrType  # a Primitive or an Enum
    arms: list[Arm] = field(default_factory=list)
    encapsulated: bool = False
    switch_name: str | None = None
    union_name: str | None = None
    ms_union: bool = False
    py: Any = None


@dataclass(eq=False)
class Switch(NdrType):
    """A use of a non-encapsulated union with its ``[switch_is(expr)]``."""

    union: Union
    switch_is: Expr


@dataclass(frozen=True, slots=True)
class Dim:
    """One dimension of an array. C706 §14.3.3.

    ``fixed`` is the declared size (``T a[N]``); None means conformant (size from
    ``size_is``/``max_is``, or from the value when neither is given, e.g. strings).
    Any of ``length_is``/``first_is``/``last_is`` makes the dimension varying.
    """

    fixed: int | None = None
    size_is: Expr | None = None
    max_is: Expr | None = None
    min_is: Expr | None = None
    length_is: Expr | None = None
    first_is: Expr | None = None
    last_is: Expr | None = None

    @property
    def conformant(self) -> bool:
        return self.fixed is None

    @property
    def varying(self) -> bool:
        return any(e is not None for e in (self.length_is, self.first_is, self.last_is))


@dataclass(eq=False)
class Array(NdrType):
    """An array; ``dims`` outermost first (row-major, C706 §14.3.3.5).

    ``string`` marks ``[string]`` (char, wchar_t, byte elements): varying with the NUL
    terminator counted and transmitted; conformant too unless the dimension is fixed.
    The array's Python value is ``str`` for strings, ``bytes`` for byte-like elements,
    else a (nested) ``list``.
    """

    element: NdrType
    dims: tuple[Dim, ...] = (Dim(),)
    string: bool = False

    @property
    def conformant(self) -> bool:
        return any(d.conformant for d in self.dims)

    @property
    def varying(self) -> bool:
        return self.string or any(d.varying for d in self.dims)


@dataclass(eq=False)
class Pointer(NdrType):
    """``[ref]``, ``[unique]`` or ``[ptr]`` (full) pointer to ``target``. C706 §14.3.10."""

    kind: Literal["ref", "unique", "ptr"]
    target: NdrType


@dataclass(eq=False)
class Range(NdrType):
    """``[range(low, high)]`` on a scalar or a count: no wire effect; checked on decode."""

    type: NdrType
    low: int
    high: int


@dataclass(eq=False)
class Pipe(NdrType):
    """``pipe T``: chunks of (ulong count, elements) ending with an empty chunk. C706 §14.3.11."""

    element: NdrType
    name: str | None = None


@dataclass(eq=False)
class InterfacePointer(NdrType):
    """An interface pointer (``IFoo *`` or ``[iid_is(riid)] IUnknown **``).

    The wire form is supplied by the COM layer; until it registers a marshaller the
    codec treats it as ``MInterfacePointer`` ({ulong ulCntData; [size_is] byte abData[]})
    behind a unique pointer, with a ``bytes`` Python value ([MS-DCOM] 2.2.14).
    """

    interface: str | None = None
    iid: uuid.UUID | None = None
    iid_is: Expr | None = None


@dataclass(eq=False)
class TypeSerialized(NdrType):
    """A value pickled with MS-RPCE 2.2.6 type serialization version 1 (``[encode, decode]``)."""

    type: NdrType


# --------------------------------------------------------------------------- values
class UnionValue:
    """Base of generated union classes: ``U(tag, value)`` with ``.tag`` and ``.value``."""

    __slots__ = ("tag", "value")
    __ndr__: ClassVar[Union]

    def __init__(self, tag: int, value: Any = None) -> None:
        self.tag = tag
        self.value = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UnionValue):
            return NotImplemented
        return type(self) is type(other) and self.tag == other.tag and self.value == other.value

    def __hash__(self) -> int:
        return hash((type(self), self.tag))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.tag!r}, {self.value!r})"


# --------------------------------------------------------------------------- operations
@dataclass(eq=False)
class Param:
    """An operation parameter. ``attrs`` keeps attributes with no wire effect (retval, …)."""

    name: str
    type: NdrType
    in_: bool = True
    out: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Operation:
    """An operation. The request carries the ``in_`` params in order; the response the
    ``out`` params in order, then the return value (C706 §12.6.4.9-10, [MS-RPCE] 2.2.1.1.7).

    ``attrs`` holds ACF/IDL flags: ``async`` ([async], server and client), ``comm_status``,
    ``fault_status``, ``idempotent``, ``broadcast``, ``maybe``, ``callback``, ``call_as`` …
    """

    name: str
    opnum: int
    params: list[Param] = field(default_factory=list)
    returns: NdrType | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def is_async(self) -> bool:
        return bool(self.attrs.get("async"))


@dataclass(eq=False)
class Interface:
    """An interface: ``[uuid, version, pointer_default]`` plus its operations by opnum.

    ``base`` is the parent of an ``[object]`` interface (whose opnums continue the parent's);
    ``async_uuid`` is the IID of the ``AsyncI…`` twin ([MS-DCOM] / MIDL ``[async_uuid]``).
    """

    name: str
    uuid: uuid.UUID | None
    version: tuple[int, int] = (0, 0)
    operations: list[Operation] = field(default_factory=list)
    pointer_default: Literal["ref", "unique", "ptr"] = "unique"
    object: bool = False
    local: bool = False
    base: Interface | None = None
    async_uuid: uuid.UUID | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def operation(self, key: int | str) -> Operation:
        """The operation with this opnum or name (KeyError otherwise)."""
        for op in self.operations:
            if op.opnum == key or op.name == key:
                return op
        raise KeyError(key)

    @property
    def syntax(self) -> tuple[uuid.UUID | None, tuple[int, int]]:
        """The abstract syntax identifier (if_uuid, (major, minor))."""
        return self.uuid, self.version
