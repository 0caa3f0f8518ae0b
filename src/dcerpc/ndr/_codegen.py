"""Source generation infrastructure for NDR 2.0 codecs.

Theory of operation
-------------------
Codecs are Python source generated per type from the interface model and compiled with
``exec`` into one namespace per byte order (a :class:`Unit`).  Named types (structs,
unions) get their own functions, generated on first use and shared by every codec of
that byte order; anonymous uses (arrays, pointers, strings, primitives) are inlined into
the function of their container.  Runs of consecutive fixed-size members become one
precompiled ``struct.Struct`` call with the alignment gaps written as ``x`` pad bytes
(alignment is static inside a struct, relative to the struct's own alignment, C706
§14.2.2 / §14.3.6).

Marshalling follows the two-phase scheme of C706 §14.3.12 (and pidl's
``NDR_SCALARS``/``NDR_BUFFERS``): a type's *inline* part (embedded pointers as referent
ids) and then its *deferred* part (the referents, each followed by its own deferred
part: depth first).  Per named type the generated functions are:

=============================  ==========================================================
``es_S(o, v, st)``             encode the inline part of struct S (no hoisted counts)
``eb_S(o, v, st)``             encode the deferred part (only when S has pointers)
``ec_S(v) -> tuple``           the max_counts a conformant S hoists (C706 §14.3.7.1)
``ds_S(b, pos, st[, mc])``     decode the inline part -> (value, pos); pointers hold ids
``db_S(b, pos, v, st) -> pos`` decode the deferred part, replacing ids with referents
``eu_U/bu_U``, ``du_U/dbu_U``  the same for unions (plus the expected switch value)
=============================  ==========================================================
"""

from __future__ import annotations

import re
import struct
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import NdrError
from . import _runtime as rt
from . import types as t
from ._layout import pyname

# Modes of an inline use (how pointers/arrays/structs are laid out there).
TOP = "top"      # a top-level parameter (C706 §14.3.10: top-level pointer forms)
PTEE = "ptee"    # a pointer's referent
FIELD = "field"  # a struct member that is not the conformant tail
LAST = "last"    # the last struct member: may be conformant (counts hoisted)
ELEM = "elem"    # an array element
ARM = "arm"      # a union arm

_RUNTIME_NS: dict[str, Any] = {
    "_EncState": rt.EncState, "_DecState": rt.DecState, "_PAD": rt.PAD,
    "_full_id": rt.full_id, "_full_first": rt.full_first, "_full_lookup": rt.full_lookup,
    "_INPROG": rt._IN_PROGRESS,
    "_err": rt.err, "_null_ref": rt.null_ref, "_enum_range": rt.enum_range,
    "_range_err": rt.range_err, "_bad_tag": rt.bad_tag, "_trunc": rt.trunc,
    "_count_err": rt.count_err, "_bounds_err": rt.bounds_err, "_no_term": rt.no_term,
    "_string_err": rt.string_err,
    "_underivable": rt.underivable, "_wlen": rt.wlen, "_wenc": rt.wenc, "_cenc": rt.cenc,
    "_as_bytes": rt.as_bytes, "_flatten": rt.flatten, "_unflatten": rt.unflatten,
    "_dims_of": rt.dims_of, "_IFACE": rt.IFACE, "_CH": rt.ContextHandleValue,
    "_NULLCH": rt.NULL_CONTEXT_HANDLE, "_UUID": uuid.UUID, "_pack": struct.pack,
    "_unpack_from": struct.unpack_from, "_iter_unpack": struct.iter_unpack,
    "_bytes": bytes, "_str": str, "_mv": memoryview, "NdrError": NdrError,
}


class Writer:
    """Indent-aware line collector for one generated function."""

    def __init__(self, indent: int = 1) -> None:
        self.lines: list[str] = []
        self.ind = indent
        self._n = 0

    def __call__(self, line: str) -> None:
        self.lines.append("    " * self.ind + line)

    def tmp(self, hint: str = "x") -> str:
        self._n += 1
        return f"{hint}{self._n}"

    @contextmanager
    def block(self, head: str) -> Iterator[None]:
        self(head)
        self.ind += 1
        before = len(self.lines)
        try:
            yield
        finally:
            if len(self.lines) == before:
                self("pass")
            self.ind -= 1


def _ident(name: str) -> str:
    return re.sub(r"\W", "_", name)[:40]


class Unit:
    """The namespace and function registry of all codecs of one byte order."""

    def __init__(self, little_endian: bool) -> None:
        self.le = little_endian
        self.bo = "<" if little_endian else ">"
        self.ns: dict[str, Any] = dict(_RUNTIME_NS)
        self.fnames: dict[tuple[str, int], str] = {}
        self.keep: list[Any] = []
        self._n = 0
        self._structs: dict[str, str] = {}
        self._consts: dict[int, str] = {}
        self.sources: list[str] = []  # kept for debugging (``print(*unit.sources)``)
        # Codecs are generated on first use, possibly by several threads at once (server
        # workers, client threads); generation mutates this unit, so it is serialised.
        self.lock = threading.RLock()

    def uniq(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, obj: Any, hint: str = "k") -> str:
        name = self._consts.get(id(obj))
        if name is not None and self.ns.get(name) is obj:
            return name
        name = self.uniq("_" + _ident(hint))
        self.ns[name] = obj
        self._consts[id(obj)] = name
        self.keep.append(obj)
        return name

    def spack(self, fmt: str) -> str:
        """Name of the bound ``pack`` of a precompiled Struct for ``fmt``."""
        return self._struct(fmt, "pack")

    def sunpack(self, fmt: str) -> str:
        return self._struct(fmt, "unpack_from")

    def ssize(self, fmt: str) -> int:
        return struct.calcsize(self.bo + fmt)

    def _struct(self, fmt: str, meth: str) -> str:
        key = f"{meth}:{fmt}"
        name = self._structs.get(key)
        if name is None:
            name = self.uniq("_S" + ("p" if meth == "pack" else "u"))
            self.ns[name] = getattr(struct.Struct(self.bo + fmt), meth)
            self._structs[key] = name
        return name

    def fn(self, kind: str, T: Any, build: Callable[[str], str]) -> str:
        """The name of generated function ``kind`` for T; ``build(name)`` returns its source."""
        key = (kind, id(T))
        name = self.fnames.get(key)
        if name is not None:
            return name
        name = self.uniq(f"{kind}_{_ident(getattr(T, 'name', None) or type(T).__name__)}")
        self.fnames[key] = name
        self.keep.append(T)
        try:
            src = build(name)
            self.exec(src)
        except BaseException:
            del self.fnames[key]
            raise
        return name

    def exec(self, src: str) -> None:
        self.sources.append(src)
        exec(compile(src, f"<ndr codec {'LE' if self.le else 'BE'}>", "exec"), self.ns)


UNITS = {True: Unit(True), False: Unit(False)}


# --------------------------------------------------------------------------- expressions
_BINOPS = {"+": "+", "-": "-", "*": "*", "/": "//", "%": "%", "<<": "<<", ">>": ">>",
           "&": "&", "|": "|", "^": "^"}
_CMPOPS = {"==", "!=", "<", ">", "<=", ">="}


def cexpr(e: t.Expr, env: dict[str, str]) -> str | None:
    """Python source for an attribute expression, or None if it names something ``env``
    does not provide (then the codec derives the value from the data / skips the check)."""
    if isinstance(e, t.Const):
        return repr(e.value)
    if isinstance(e, t.Ref):
        return env.get(e.name)
    if isinstance(e, t.Deref):
        return cexpr(e.operand, env)  # a ref/unique pointer's value is its pointee
    if isinstance(e, t.Attr):
        inner = cexpr(e.operand, env)
        return None if inner is None else f"({inner}).{pyname(e.member)}"
    if isinstance(e, t.Unary):
        inner = cexpr(e.operand, env)
        if inner is None:
            return None
        return f"(0 if ({inner}) else 1)" if e.op == "!" else f"({e.op}({inner}))"
    if isinstance(e, t.BinOp):
        a, b = cexpr(e.left, env), cexpr(e.right, env)
        if a is None or b is None:
            return None
        if e.op in _BINOPS:
            return f"(({a}) {_BINOPS[e.op]} ({b}))"
        if e.op in _CMPOPS:
            return f"(1 if ({a}) {e.op} ({b}) else 0)"
        if e.op == "&&":
            return f"(1 if ({a}) and ({b}) else 0)"
        if e.op == "||":
            return f"(1 if ({a}) or ({b}) else 0)"
        raise NdrError(f"unsupported operator {e.op!r} in an attribute expression")
    if isinstance(e, t.Cond):
        parts = [cexpr(p, env) for p in (e.test, e.then, e.otherwise)]
        if any(p is None for p in parts):
            return None
        return f"(({parts[1]}) if ({parts[0]}) else ({parts[2]}))"
    raise NdrError(f"unsupported attribute expression {e!r}")


def invert(e: t.Expr) -> tuple[str, Callable[[str], str]] | None:
    """If ``e`` is Ref, or Ref op Const / Const op Ref (+ - * /), return the referenced name
    and a function mapping the value of ``e`` (source) to the name's value (source)."""
    if isinstance(e, t.Ref):
        return e.name, lambda s: s
    if isinstance(e, t.Deref):
        return invert(e.operand)
    if isinstance(e, t.BinOp) and e.op in "+-*/":
        if isinstance(e.right, t.Const):
            inner, k = invert(e.left), e.right.value
            if inner is None:
                return None
            name, f = inner
            ops = {"+": lambda s: f"(({s}) - {k})", "-": lambda s: f"(({s}) + {k})",
                   "*": lambda s: f"(({s}) // {k})", "/": lambda s: f"(({s}) * {k})"}
            g = ops[e.op]
            return name, lambda s: f(g(s))
        if isinstance(e.left, t.Const):
            inner, k = invert(e.right), e.left.value
            if inner is None or e.op == "/":
                return None
            name, f = inner
            ops = {"+": lambda s: f"(({s}) - {k})", "-": lambda s: f"({k} - ({s}))",
                   "*": lambda s: f"(({s}) // {k})"}
            g = ops[e.op]
            return name, lambda s: f(g(s))
    return None


def expr_text(e: t.Expr) -> str:
    """A C-like rendering of an expression, for error messages."""
    if isinstance(e, t.Const):
        return str(e.value)
    if isinstance(e, t.Ref):
        return e.name
    if isinstance(e, t.Deref):
        return "*" + expr_text(e.operand)
    if isinstance(e, t.Attr):
        return f"{expr_text(e.operand)}.{e.member}"
    if isinstance(e, t.Unary):
        return e.op + expr_text(e.operand)
    if isinstance(e, t.BinOp):
        return f"{expr_text(e.left)}{e.op}{expr_text(e.right)}"
    if isinstance(e, t.Cond):
        return f"{expr_text(e.test)}?{expr_text(e.then)}:{expr_text(e.otherwise)}"
    return repr(e)


class Aligner:
    """Static alignment tracking shared by the encoder and decoder generators.

    While the position modulo ``M`` is known to be ``r``, alignment gaps become ``x`` pad
    codes inside the current ``struct`` run; once the position is unknown modulo a larger
    alignment, a dynamic pad line is emitted (NDR aligns relative to the stub start,
    C706 §14.2.2) and tracking restarts from there.
    """

    M: int
    r: int
    run_fmt: list[str]

    def flush(self) -> None:
        raise NotImplementedError

    def dynamic_pad(self, a: int) -> None:
        """Emit code that aligns the position to ``a`` (a power of two)."""
        raise NotImplementedError

    def unknown(self) -> None:
        self.flush()
        self.M, self.r = 1, 0

    def pad_to(self, a: int) -> None:
        if a <= 1:
            return
        if a <= self.M:
            pad = -self.r % a
            if pad:
                self.run_fmt.append("x" * pad)
                self.r = (self.r + pad) % self.M
        else:
            self.flush()
            self.dynamic_pad(a)
            self.M, self.r = a, 0

    def advance(self, n: int) -> None:
        self.r = (self.r + n) % self.M
