"""Constant folding of IDL expressions into :class:`dcerpc.ndr.types.Expr` trees.

Constants fold to ``Const``; names of fields/parameters stay symbolic (``Ref``) so that
``size_is(Length/2)`` reaches the codec as an expression (C706 §4.2.20, MIDL's rules for
attribute expressions).
"""

from __future__ import annotations

from typing import Any

from ..ndr import types as t
from . import _ast as a
from ._chains import _BASE_WORDS, ANY_NAME, Chain, Ctx, _prim, err
from ._preprocess import apply_binop


class ExprFolder:
    """Mixin of :class:`._resolve.TypeResolver`: the expression and constant half."""

    consts: dict[str, Any]
    const_locs: dict[str, a.Loc]
    own_consts: list[str]
    own: bool

    # Provided by TypeResolver (sizeof() of a named type needs the type builder).
    def build(self, c: Chain, ctx: Ctx, top_level: bool, loc: a.Loc) -> t.NdrType:
        raise NotImplementedError

    def named_chain(self, name: str, loc: a.Loc) -> Chain:
        raise NotImplementedError

    def fold(self, e: Any, names: set[str] | None, loc: a.Loc, what: str = "") -> t.Expr:
        """Constant-fold ``e``; ``names`` are the fields/params it may read (None: none)."""
        if isinstance(e, a.Num):
            if isinstance(e.value, float):
                raise err(f"expected an integer, got {e.text}", loc)
            return t.Const(e.value)
        if isinstance(e, t.Const):
            return e
        if isinstance(e, a.Str):
            raise err("a string is not allowed here", loc)
        if isinstance(e, t.Ref):
            if names is not None and e.name in names and not (
                    names is ANY_NAME and e.name in self.consts):
                return e
            if e.name in self.consts:
                v = self.consts[e.name]
                if isinstance(v, bool | int):
                    return t.Const(int(v))
                raise err(f"constant {e.name} is not an integer", loc)
            if e.name in ("TRUE", "FALSE"):
                return t.Const(int(e.name == "TRUE"))
            if names is None:
                raise err(f"unknown constant '{e.name}'", loc)
            raise err(f"{what or 'expression'} names '{e.name}', which is not "
                      f"{'a field or constant' if names is not None else 'a constant'}"
                      f"{' (known: ' + ', '.join(sorted(names)) + ')' if names else ''}", loc)
        if isinstance(e, a.SizeOf):
            if len(e.words) == 1 and e.words[0] not in ("void",) and not \
                    e.words[0].startswith("__") and e.words[0] not in _BASE_WORDS:
                ty: Any = self.build(self.named_chain(e.words[0], loc), Ctx(), False, loc)
            else:
                ty = _prim(e.words, loc)
            while isinstance(ty, t.Range):
                ty = ty.type
            if isinstance(ty, t.Primitive):
                return t.Const(t.PRIMITIVE_KINDS[ty.kind][0])
            if isinstance(ty, t.Guid):
                return t.Const(16)
            raise err("sizeof() is supported only for scalar types", loc)
        if isinstance(e, a.Cast):
            inner = self.fold(e.operand, names, loc, what)
            if isinstance(inner, t.Const):
                kind = _prim(e.words, loc)
                if isinstance(kind, t.Primitive):
                    size = t.PRIMITIVE_KINDS[kind.kind][0] * 8
                    v = inner.value & ((1 << size) - 1)
                    if kind.kind in ("small", "short", "long", "hyper", "int3264") and \
                            v >= 1 << (size - 1):
                        v -= 1 << size
                    return t.Const(v)
            return inner
        if isinstance(e, t.Deref):
            return t.Deref(self.fold(e.operand, names, loc, what))
        if isinstance(e, t.Attr):
            return t.Attr(self.fold(e.operand, names, loc, what), e.member)
        if isinstance(e, t.Unary):
            x = self.fold(e.operand, names, loc, what)
            if isinstance(x, t.Const):
                v = x.value
                return t.Const({"-": -v, "+": v, "~": ~v, "!": int(not v)}[e.op])
            return t.Unary(e.op, x)
        if isinstance(e, t.BinOp):
            left = self.fold(e.left, names, loc, what)
            right = self.fold(e.right, names, loc, what)
            if isinstance(left, t.Const) and isinstance(right, t.Const) and e.op != "[]":
                try:
                    return t.Const(apply_binop(e.op, left.value, right.value))
                except ValueError as exc:
                    raise err(str(exc), loc) from None
            return t.BinOp(e.op, left, right)
        if isinstance(e, t.Cond):
            test = self.fold(e.test, names, loc, what)
            a1 = self.fold(e.then, names, loc, what)
            a2 = self.fold(e.otherwise, names, loc, what)
            if isinstance(test, t.Const):
                return a1 if test.value else a2
            return t.Cond(test, a1, a2)
        raise err(f"unsupported expression {e!r}", loc)

    def const_int(self, e: Any, loc: a.Loc) -> int:
        v = self.fold(e, None, loc)
        if not isinstance(v, t.Const):
            raise err("expected a constant expression", loc)
        return v.value

    def const_value(self, e: Any, loc: a.Loc) -> Any:
        if isinstance(e, a.Str):
            return e.value
        if isinstance(e, a.Num) and isinstance(e.value, float):
            return e.value
        return self.const_int(e, loc)

    def define_const(self, name: str, value: Any, loc: a.Loc) -> None:
        if name in self.consts and self.consts[name] != value:
            prev = self.const_locs.get(name)
            raise err(f"duplicate definition of constant '{name}'"
                      f"{f' (first defined at {prev})' if prev else ''}", loc)
        self.consts[name] = value
        self.const_locs[name] = loc
        if self.own and name not in self.own_consts:
            self.own_consts.append(name)
