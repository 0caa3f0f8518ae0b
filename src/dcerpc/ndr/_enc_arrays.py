"""Array and string encoding for :class:`._enc.Enc` (C706 §14.3.3-4)."""

from __future__ import annotations

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
    has_full,
    has_ptr,
    is_string_dim,
    prim_fmt,
    unrange,
)


class EncArrays:
    """Mixin: relies on the plumbing of :class:`Enc` (w, u, env, run state)."""

    # attributes provided by the concrete emitter
    u: Any
    w: Any
    env: dict[str, str]
    M: int
    r: int

    # ------------------------------------------------------------------ arrays
    def array_counts(self, A: t.Array, x: str, where: str) -> dict:
        """Emit the data preparation and count computations of an array use."""
        kind, nd = elem_kind(A), len(A.dims)
        info: dict = {"kind": kind}
        if nd > 1:
            if kind in ("string", "wstr"):
                raise NdrError(f"{where}: multidimensional character arrays are not supported")
            shp = self.w.tmp("shp")
            self.w(f"{shp} = _dims_of({x}, {nd})")
            exts = [f"{shp}[{k}]" for k in range(nd)]
        else:
            n = self.w.tmp("n")
            if kind in ("string", "wstr"):
                data = self.w.tmp("b")
                if char_unit(A) == 2:
                    self.w(f"{data} = {x}.encode({self.utf16!r}, 'surrogatepass') "
                           f"if {x}.__class__ is str else _wenc({x}, {self.u.le})")
                    self.w(f"{n} = (len({data}) >> 1)" + (" + 1" if kind == "string" else ""))
                else:
                    self.w(f"{data} = _cenc({x})")
                    self.w(f"{n} = len({data})" + (" + 1" if kind == "string" else ""))
                info["data"] = data
            elif kind == "bytes":
                self.w(f"if {x}.__class__ is not bytes: {x} = _as_bytes({x}, {where!r})")
                self.w(f"{n} = len({x})")
                info["data"] = x
            else:
                self.w(f"{n} = len({x})")
            exts = [n]
        mcs: list[str | None] = []
        offs: list[str] = []
        acs: list[str] = []
        for k, d in enumerate(A.dims):
            ext = exts[k]
            varying = dim_varying(A, k)
            off, ac = "0", ext
            if varying:
                if d.first_is is not None and (fe := cexpr(d.first_is, self.env)) is not None:
                    off = self.bind(fe, "off")
                if not is_string_dim(A, k):
                    le = cexpr(d.length_is, self.env) if d.length_is is not None else None
                    la = cexpr(d.last_is, self.env) if d.last_is is not None else None
                    label = None
                    if le is not None:
                        ac, label = self.bind(le, "ac"), f"length_is({expr_text(d.length_is)})"
                    elif la is not None:
                        ac = self.bind(f"({la}) - {off} + 1", "ac")
                        label = f"last_is({expr_text(d.last_is)})"
                    if label is not None:
                        self.w(f"if {ac} != {ext}: raise _count_err({where!r}, "
                               f"'{label}', {ac}, {ext})")
            if d.fixed is None:
                mc = None
                if d.size_is is not None and (se := cexpr(d.size_is, self.env)) is not None:
                    mc, label = self.bind(se, "mc"), f"size_is({expr_text(d.size_is)})"
                elif d.max_is is not None and (me := cexpr(d.max_is, self.env)) is not None:
                    mc, label = self.bind(f"({me}) + 1", "mc"), f"max_is({expr_text(d.max_is)})"
                if mc is None:
                    mc = ac
                elif varying:
                    self.w(f"if {off} < 0 or {off} + {ac} > {mc}: "
                           f"raise _bounds_err({where!r}, {mc}, {off}, {ac})")
                else:
                    self.w(f"if {mc} != {ext}: raise _count_err({where!r}, '{label}', "
                           f"{mc}, {ext})")
                mcs.append(mc)
            else:
                mcs.append(None)
                if varying:
                    self.w(f"if {off} < 0 or {off} + {ac} > {d.fixed}: "
                           f"raise _bounds_err({where!r}, {d.fixed}, {off}, {ac})")
                elif kind == "wstr" and nd == 1:
                    self.w(f"if {ext} > {d.fixed}: raise _count_err({where!r}, "
                           f"'the array size', {d.fixed}, {ext})")
                    pad = 2 * d.fixed
                    self.w(f"{info['data']} = {info['data']} + _bytes({pad} - len({info['data']}))")
                    ac = str(d.fixed)
                else:
                    self.w(f"if {ext} != {d.fixed}: raise _count_err({where!r}, "
                           f"'the array size', {d.fixed}, {ext})")
            offs.append(off)
            acs.append(ac if varying else (mcs[-1] or str(d.fixed)))
        info.update(mc=mcs, off=offs, ac=acs, exts=exts)
        if nd > 1:
            total = "(" + " * ".join(f"{e}" for e in exts) + ")"
            els = self.w.tmp("els")
            self.w(f"{els} = _flatten({x}, tuple({exts[0][:-3]}))")
            if kind == "bytes":
                info["data"] = f"_bytes({els})"
            info["elems"], info["total"] = els, total
        else:
            info["elems"], info["total"] = x, exts[0]
        return info

    def array(self, A: t.Array, ve: str, mode: str, where: str) -> None:
        if A.conformant and mode in (FIELD, ELEM, ARM):
            raise NdrError(f"{where}: a conformant array must be the last struct member "
                           "or a pointer's referent")
        x = self.bind(ve, "a")
        info = self.array_counts(A, x, where)
        hdr: list[str] = []
        if mode in (TOP, PTEE):
            hdr += [m for m in info["mc"] if m is not None]
        if A.varying:
            for k in range(len(A.dims)):
                hdr += [info["off"][k], info["ac"][k]]
        if hdr:
            self.pad_to(4)
            self.run_fmt.append("I" * len(hdr))
            self.run_vals += hdr
            self.advance(4 * len(hdr))
        self.elements(A, info, where)

    def elements(self, A: t.Array, info: dict, where: str) -> None:
        kind, el = info["kind"], A.element
        ea = align_of(el)
        if kind in ("string", "wstr", "bytes"):
            self.pad_to(ea)
            self.flush()
            self.w(f"o += {info['data']}")
            if kind == "string":
                self.w(f"o += {self.u.const(bytes(char_unit(A)), 'nul')}")
            self.M, self.r = 1, 0
            return
        U = unrange(el)
        elems, total = info["elems"], info["total"]
        if kind == "prim" or isinstance(U, t.Enum):
            if isinstance(el, t.Range) or (isinstance(U, t.Enum) and not U.v1_enum):
                with self.w.block(f"for z in {elems}:"):
                    self.flat_vals(el, "z", where)
            c = enum_fmt(U) if isinstance(U, t.Enum) else prim_fmt(U)
            self.pad_to(ea)
            self.raw(f"o += _pack('{self.u.bo}%d{c}' % {total}, *{elems})")
            return
        fl = flat(el)
        self.pad_to(ea)
        self.flush()
        if fl is not None:
            stride = -(-fl.size // fl.align) * fl.align
            cache = has_ptr(el) and not has_full(el)
            if cache:
                self.w("nid = st.n")
                saved, self.idvar = self.idvar, "nid"
            e = self.w.tmp("e")
            with self.w.block(f"for {e} in {elems}:"):
                self.M, self.r = fl.align, 0
                self.add_flat(el, e, where)
                if stride > fl.size:
                    self.run_fmt.append("x" * (stride - fl.size))
                self.flush()
            if cache:
                self.idvar = saved
                self.w("st.n = nid")
            if stride > fl.size:
                self.w(f"if {elems}: del o[-{stride - fl.size}:]")
        else:
            e = self.w.tmp("e")
            with self.w.block(f"for {e} in {elems}:"):
                self.M, self.r = 1, 0
                self.inline(el, e, ELEM, where)
                self.flush()
        self.M, self.r = 1, 0

