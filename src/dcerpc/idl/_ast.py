"""Syntax tree of an IDL/ACF file, as the parser builds it (before name resolution).

The tree keeps source locations (:class:`Loc`) for diagnostics; expressions reuse the
:mod:`dcerpc.ndr.types` expression nodes, plus the few literal kinds that only constant
declarations use (:class:`Num` keeps the spelling so ``version(1.10)`` stays exact).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..ndr.types import Expr


@dataclass(frozen=True, slots=True)
class Loc:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


# --------------------------------------------------------------------------- literals
@dataclass(frozen=True, slots=True)
class Num(Expr):
    """A numeric literal with its spelling (``1.0`` in ``version(1.0)`` must stay "1.0")."""

    text: str
    value: int | float


@dataclass(frozen=True, slots=True)
class Str(Expr):
    value: str


@dataclass(frozen=True, slots=True)
class Cast(Expr):
    """``(unsigned long) x``: the cast is kept only to mask the value when folding."""

    words: tuple[str, ...]
    operand: Expr


@dataclass(frozen=True, slots=True)
class SizeOf(Expr):
    """``sizeof(wchar_t)``: folded to the NDR size of a scalar type ([MS-RPRN] uses it)."""

    words: tuple[str, ...]


# --------------------------------------------------------------------------- attributes
@dataclass(slots=True)
class TypeArg:
    """A type written as an attribute argument (``switch_type(unsigned long)``)."""

    words: tuple[str, ...] = ()
    name: str | None = None  # a typedef name or a struct/enum/union tag
    tag: str | None = None  # "struct" / "union" / "enum" when written with a tag


@dataclass(slots=True)
class NameDecl:
    """``implicit_handle(handle_t h)``: a type name and a declared name."""

    type_name: str
    name: str


AttrArg = Expr | TypeArg | NameDecl | str | None  # str: a UUID


@dataclass(slots=True)
class Attribute:
    name: str
    args: list[AttrArg] | None
    loc: Loc

    @property
    def has_args(self) -> bool:
        return self.args is not None


# --------------------------------------------------------------------------- types
@dataclass(slots=True)
class BaseType:
    words: tuple[str, ...]
    loc: Loc


@dataclass(slots=True)
class NamedType:
    name: str
    loc: Loc


@dataclass(slots=True)
class Member:
    """A struct member, union arm or parameter: attributes, specifier, declarators."""

    attrs: list[Attribute]
    spec: DeclSpec | None
    declarators: list[Declarator]
    loc: Loc
    cases: list[Expr | None] | None = None  # C-style ``case 1:`` / ``default:`` labels


@dataclass(slots=True)
class StructSpec:
    tag: str | None
    members: list[Member] | None  # None: a reference ``struct X``
    loc: Loc


@dataclass(slots=True)
class UnionSpec:
    tag: str | None
    members: list[Member] | None
    loc: Loc
    switch: Member | None = None  # encapsulated: ``switch (long d)``
    union_name: str | None = None


@dataclass(slots=True)
class EnumSpec:
    tag: str | None
    enumerators: list[tuple[str, Expr | None, Loc]] | None
    loc: Loc


@dataclass(slots=True)
class PipeSpec:
    element: DeclSpec
    loc: Loc


TypeSpec = BaseType | NamedType | StructSpec | UnionSpec | EnumSpec | PipeSpec


@dataclass(slots=True)
class DeclSpec:
    type: TypeSpec
    const: bool = False


# --------------------------------------------------------------------------- declarators
@dataclass(slots=True)
class PtrLevel:
    const: bool = False


@dataclass(slots=True)
class ArrLevel:
    bound: Expr | None  # None: ``[]`` or ``[*]``


@dataclass(slots=True)
class Declarator:
    """``**name[4]`` etc.; ``levels`` outermost first, as C reads them.

    ``params`` is set for a function declarator ``name(params)``; ``func_ptr`` for
    ``(*name)(params)`` (function pointer typedefs, only legal in [local] code).
    """

    name: str | None
    levels: list[PtrLevel | ArrLevel]
    loc: Loc
    params: list[Member] | None = None
    func_ptr: bool = False
    init: Expr | None = None


# --------------------------------------------------------------------------- items
@dataclass(slots=True)
class Typedef:
    attrs: list[Attribute]
    spec: DeclSpec
    declarators: list[Declarator]
    loc: Loc


@dataclass(slots=True)
class Declaration:
    """A declaration that is not a typedef: a constant, a type, or an operation."""

    attrs: list[Attribute]
    spec: DeclSpec
    declarators: list[Declarator]
    loc: Loc


@dataclass(slots=True)
class Import:
    paths: list[str]
    loc: Loc


@dataclass(slots=True)
class InterfaceDef:
    attrs: list[Attribute]
    name: str
    base: str | None
    items: list[Any]
    loc: Loc


@dataclass(slots=True)
class InterfaceFwd:
    name: str
    loc: Loc


@dataclass(slots=True)
class Ignored:
    """cpp_quote, midl_pragma, importlib, coclass: accepted and not compiled."""

    what: str
    loc: Loc


@dataclass(slots=True)
class Library:
    attrs: list[Attribute]
    name: str
    items: list[Any]
    loc: Loc


# --------------------------------------------------------------------------- ACF
@dataclass(slots=True)
class AcfOperation:
    name: str
    attrs: list[Attribute]
    params: list[tuple[str, list[Attribute], Loc]] | None
    loc: Loc


@dataclass(slots=True)
class AcfTypedef:
    names: list[tuple[str, Loc]]
    attrs: list[Attribute]
    loc: Loc


@dataclass(slots=True)
class AcfInterface:
    attrs: list[Attribute]
    name: str
    operations: list[AcfOperation] = field(default_factory=list)
    typedefs: list[AcfTypedef] = field(default_factory=list)
    loc: Loc | None = None
