"""Array and string decoding for :class:`._dec.Dec` (C706 §14.3.3-4, [MS-RPCE]
3.1.1.5.3.2.1.7 strict validation)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import NdrError
from . import types as t
from ._codegen import ARM, ELEM, FIELD, PTEE, TOP, cexpr, expr_text
from ._layout import (
    align_of,
    char_unit,
    dim_varying,
    elem_kind,
    enum_fmt,
    flat,
    has_ptr,
    is_string_dim,
    min_size,
    prim_fmt,
    unrange,
)
from ._pyclasses import python_type


class DecArrays:
    """Mixin: relies on the plumbing of :class:`Dec` (w, u, env, run state)."""

    # attributes provided by the concrete emitter
    u: Any
    w: Any
    env: dict[str, str]
    M: int
    r: int

    # ------------------------------------------------------------------ arrays
    def array(self, A: t.Array, target: str, mode: str, where: str) -> bool:
        if A.conformant and mode in (FIELD, ELEM, ARM):
            raise NdrError(f"{where}: a conformant array must be the last struct member "
                           "or a pointer's referent")
        nd, kind = len(A.dims), elem_kind(A)
        d0 = A.dims[0]
        if (kind == "string" and nd == 1 and mode in (TOP, PTEE) and d0.fixed is None
                and d0.size_is is None and d0.max_is is None):
            self.plain_string(A, target, where)
            return False
        if nd > 1 and kind in ("string", "wstr"):
            raise NdrError(f"{where}: multidimensional character arrays are not supported")
        # counts: max_counts (unless hoisted), then (offset, actual_count) pairs
        conf = [k for k, d in enumerate(A.dims) if d.fixed is None]
        mcs: list[str | None] = [None] * nd
        if conf:
            if mode in (TOP, PTEE):
                self.pad_to(4)
                for k, s in zip(conf, self.raw_slots("I" * len(conf), len(conf)), strict=True):
                    mcs[k] = s
            else:
                for i, k in enumerate(conf):
                    mcs[k] = f"mc[{i}]"
        offs: list[str] = ["0"] * nd
        acs: list[str] = ["0"] * nd
        if A.varying:
            self.pad_to(4)
            slots = self.raw_slots("II" * nd, 2 * nd)
            offs, acs = slots[0::2], slots[1::2]
        self.flush()
        sizes = []
        for k, d in enumerate(A.dims):
            sizes.append(self.check_dim(A, k, d, mcs[k], offs[k], acs[k], where))
        unit = char_unit(A) if kind in ("string", "wstr") else 1
        ea = align_of(A.element)
        self.pad_to(ea)
        self.flush()
        if nd == 1:
            total = sizes[0]
        else:
            total = self.w.tmp("tot")
            self.w(f"{total} = {' * '.join(sizes)}")
            # a zero extent elsewhere must not let another extent drive allocation
            self.w(f"if max({', '.join(sizes)}) > len(b) - pos: "
                   f"raise _trunc({where!r}, max({', '.join(sizes)}), pos, len(b))")
        minsz = unit if kind in ("string", "wstr") else min_size(A.element)
        self.w(f"if pos + {total} * {minsz} > len(b): "
               f"raise _trunc({where!r}, {total} * {minsz}, pos, len(b))")
        if kind in ("string", "wstr", "bytes"):
            self.chars(A, kind, unit, total, target, where, sizes)
            return False
        shape = "(" + "".join(f"{s}, " for s in sizes) + ")"
        lst = target if nd == 1 else self.w.tmp("els")
        done = self.elements(A, total, lst, mode, where)
        if nd > 1:
            self.w(f"{target} = _unflatten({lst}, {shape})")
        self.M, self.r = 1, 0
        return done

    def plain_string(self, A: t.Array, target: str, where: str) -> None:
        """``[string]`` pointee/parameter without size_is: the hot path of every LPWSTR
        (C706 §14.3.4): max_count, offset 0, actual_count <= max_count, NUL last."""
        unit = char_unit(A)
        self.pad_to(4)
        mx, off, ac = self.raw_slots("III", 3)
        self.flush()
        end = self.w.tmp("e")
        self.w(f"{end} = pos + {ac}" + (f" * {unit}" if unit > 1 else ""))
        self.w(f"if {off} or {ac} > {mx} or not {ac} or {end} > len(b): "
               f"raise _string_err({where!r}, {mx}, {off}, {ac}, {unit}, pos, len(b))")
        if unit == 2:
            self.w(f"if b[{end} - 1] or b[{end} - 2]: raise _no_term({where!r}, pos)")
            self.w(f"{target} = _str(b[pos:{end} - 2], {self.utf16!r}, 'surrogatepass')")
        else:
            self.w(f"if b[{end} - 1]: raise _no_term({where!r}, pos)")
            self.w(f"{target} = _str(b[pos:{end} - 1], 'latin-1')")
        self.w(f"pos = {end}")
        self.M, self.r = 1, 0

    def check_dim(self, A: t.Array, k: int, d: t.Dim, mc: str | None, off: str, ac: str,
                  where: str) -> str:
        """Emit the validation of one dimension's counts; return its element count."""
        env = self.env
        varying = dim_varying(A, k)
        if mc is not None:
            if d.size_is is not None and (se := cexpr(d.size_is, env)) is not None:
                self.w(f"if {mc} != {se}: raise _count_err({where!r}, "
                       f"'size_is({expr_text(d.size_is)})', {se}, {mc}, pos)")
            elif d.max_is is not None and (me := cexpr(d.max_is, env)) is not None:
                self.w(f"if {mc} != ({me}) + 1: raise _count_err({where!r}, "
                       f"'max_is({expr_text(d.max_is)})+1', ({me}) + 1, {mc}, pos)")
        if not varying:
            return mc if mc is not None else str(d.fixed)
        bound = mc if mc is not None else str(d.fixed)
        if d.first_is is None:
            # [MS-RPCE] 3.1.1.5.3.2.1.7: offset must be 0 without first_is
            self.w(f"if {off}: raise _bounds_err({where!r}, {bound}, {off}, {ac}, pos)")
        self.w(f"if {off} + {ac} > {bound}: raise _bounds_err({where!r}, {bound}, {off}, "
               f"{ac}, pos)")
        if is_string_dim(A, k):
            return ac
        for attr, val in (("first_is", off), ("length_is", ac),
                          ("last_is", f"{off} + {ac} - 1")):
            e = getattr(d, attr)
            if e is not None and (ce := cexpr(e, env)) is not None:
                self.w(f"if {val} != {ce}: raise _count_err({where!r}, "
                       f"'{attr}({expr_text(e)})', {ce}, {val}, pos)")
        return ac

    def chars(self, A: t.Array, kind: str, unit: int, n: str, target: str, where: str,
              sizes: list[str]) -> None:
        end = self.w.tmp("e")
        self.w(f"{end} = pos + {n}" + (f" * {unit}" if unit > 1 else ""))
        if kind == "bytes":
            if len(A.dims) == 1:
                self.w(f"{target} = _bytes(b[pos:{end}])")
            else:
                rows, step = self.w.tmp("rw"), sizes[-1]
                outer = "(" + " * ".join(sizes[:-1]) + ")"
                shape = "(" + "".join(f"{s}, " for s in sizes[:-1]) + ")"
                self.w(f"{rows} = [_bytes(b[pos + i * {step}:pos + (i + 1) * {step}]) "
                       f"for i in range({outer})]")
                self.w(f"{target} = _unflatten({rows}, {shape})")
        elif kind == "wstr":
            self.w(f"{target} = _str(b[pos:{end}], {self.utf16!r}, 'surrogatepass')")
            if A.dims[0].fixed is not None and not A.varying:
                self.w(f"{target} = {target}.rstrip('\\x00')")
        else:  # [string]: the NUL terminator is counted and must be there (C706 §14.3.4)
            if unit == 2:
                self.w(f"if not {n} or b[{end} - 1] or b[{end} - 2]: "
                       f"raise _no_term({where!r}, pos)")
                self.w(f"{target} = _str(b[pos:{end} - 2], {self.utf16!r}, 'surrogatepass')")
            else:
                self.w(f"if not {n} or b[{end} - 1]: raise _no_term({where!r}, pos)")
                self.w(f"{target} = _str(b[pos:{end} - 1], 'latin-1')")
        self.w(f"pos = {end}")
        self.M, self.r = 1, 0

    def elements(self, A: t.Array, n: str, lst: str, mode: str, where: str) -> bool:
        el = A.element
        U = unrange(el)
        fl = flat(el)
        if isinstance(U, (t.Primitive, t.Enum)):
            c = enum_fmt(U) if isinstance(U, t.Enum) else prim_fmt(U)
            size = fl.size if fl else 1
            self.w(f"{lst} = list(_unpack_from('{self.u.bo}%d{c}' % ({n}), b, pos))")
            self.w(f"pos += {n} * {size}" if size > 1 else f"pos += {n}")
            if isinstance(el, t.Range) or isinstance(U, t.Enum):
                z, i = self.w.tmp("z"), self.w.tmp("i")
                with self.w.block(f"for {i}, {z} in enumerate({lst}):"):
                    val = self.build(el, iter([z]), where)
                    if val != z:
                        self.w(f"{lst}[{i}] = {val}")
            return False
        if fl is not None:
            stride = -(-fl.size // fl.align) * fl.align
            tail = stride - fl.size
            reg = self.w.tmp("rg")
            self.w(f"{reg} = _bytes(b[pos:pos + {n} * {stride}])")
            if tail:
                self.w(f"if len({reg}) < {n} * {stride}: {reg} += _bytes({tail})")
                self.w(f"if {n}: pos += {n} * {stride} - {tail}")
            else:
                self.w(f"pos += {n} * {stride}")
            fmt = fl.fmt + "x" * tail
            slots = [self.w.tmp("s") for _ in range(fl.nslots)]
            head = f"for {', '.join(slots)}, in _iter_unpack('{self.u.bo}{fmt}', {reg}):"
            resolve = (mode in (TOP, PTEE) and isinstance(U, t.Struct) and has_ptr(U)
                       and all(not has_ptr(f.type) or (isinstance(
                           unrange(f.type), t.Pointer) and unrange(f.type).kind != "ptr")
                               for f in U.fields))
            self.w(f"{lst} = []")
            ap = self.w.tmp("ap")
            self.w(f"{ap} = {lst}.append")
            with self.w.block(head):
                if resolve:
                    assert isinstance(U, t.Struct)
                    self.resolve_struct(U, iter(slots), ap, where)
                else:
                    self.w(f"{ap}({self.build(el, iter(slots), where)})")
            return resolve
        self.w(f"{lst} = []")
        with self.w.block(f"for _ in range({n}):"):
            self.M, self.r = 1, 0
            e = self.w.tmp("e")
            self.inline(el, e, ELEM, where)
            self.flush()
            self.w(f"{lst}.append({e})")
        return False

    def resolve_struct(self, S: t.Struct, it: Iterator[str], ap: str, where: str) -> None:
        """Build one array element of a small struct, reading its referents right away
        (the array is a referent: its deferred part follows its inline part)."""
        vals, env, ptrs = [], {}, []
        for f in S.fields:
            if has_ptr(f.type):
                s = next(it)
                vals.append(s)
                ptrs.append((f, s))
            else:
                x = self.w.tmp("f")
                self.w(f"{x} = {self.build(f.type, it, f'{S.name}.{f.name}')}")
                vals.append(x)
                env[f.name] = x
        saved, self.env = self.env, env
        for f, s in ptrs:
            P = unrange(f.type)
            if P.kind == "ref":
                self.w(f"if not {s}: raise _null_ref({S.name + '.' + f.name!r}, pos)")
                self.referent(P, s, s, f"{S.name}.{f.name}")
            else:
                with self.w.block(f"if {s}:"):
                    self.referent(P, s, s, f"{S.name}.{f.name}")
                with self.w.block("else:"):
                    self.w(f"{s} = None")
        self.env = saved
        self.w(f"{ap}({self.u.const(python_type(S), S.name)}({', '.join(vals)}))")

