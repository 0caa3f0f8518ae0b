"""Encoder source generation (see :mod:`._codegen` for the theory of operation).

Generated encoders append to a ``bytearray`` ``o`` whose offset 0 is the stub's offset 0,
so ``len(o)`` is the stream position alignment is computed from (C706 §14.2.2).
"""

from __future__ import annotations

from ..errors import NdrError
from . import types as t
from ._codegen import ARM, ELEM, FIELD, LAST, PTEE, TOP, Aligner, Unit, Writer, cexpr, invert
from ._enc_arrays import EncArrays
from ._layout import (
    align_of,
    arm_align,
    char_unit,
    conf_dims,
    count_fields,
    elem_kind,
    flat,
    has_ptr,
    pyname,
    unrange,
)

_IDENT_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _is_name(s: str) -> bool:
    return bool(s) and set(s) <= _IDENT_OK and not s[0].isdigit()


def derivations(members: list[tuple[str, t.NdrType]], env: dict[str, str]
                ) -> dict[str, list[tuple[str, str, t.NdrType, int, object]]]:
    """count name -> [(member, attr, member type, dim, inverse)] usable to derive it."""
    out: dict[str, list] = {}
    for mname, T in members:
        U = unrange(T)
        while isinstance(U, t.Pointer):
            U = unrange(U.target)
        if isinstance(U, t.Switch):
            inv = invert(U.switch_is)
            if inv is not None:
                out.setdefault(inv[0], []).append((mname, "switch_is", U, 0, inv[1]))
        elif isinstance(U, t.Array):
            for k, d in enumerate(U.dims):
                for attr in ("size_is", "max_is", "length_is", "last_is", "first_is"):
                    e = getattr(d, attr)
                    inv = invert(e) if e is not None else None
                    if inv is not None:
                        out.setdefault(inv[0], []).append((mname, attr, U, k, inv[1]))
    return out


class Enc(EncArrays, Aligner):
    """Emits encoder statements into a :class:`Writer`; tracks static alignment."""

    def __init__(self, unit: Unit, w: Writer, env: dict[str, str], align: int = 1) -> None:
        self.u, self.w, self.env = unit, w, env
        self.M, self.r = align, 0
        self.run_fmt: list[str] = []
        self.run_vals: list[str] = []
        self.idvar = "st.n"
        self.inlining: set[int] = set()
        self.bl = "bytes_le" if unit.le else "bytes"
        self.utf16 = "utf-16-le" if unit.le else "utf-16-be"

    # ------------------------------------------------------------------ plumbing
    def bind(self, ve: str, hint: str = "x") -> str:
        if _is_name(ve):
            return ve
        x = self.w.tmp(hint)
        self.w(f"{x} = {ve}")
        return x

    def flush(self) -> None:
        if not self.run_fmt:
            return
        fmt = "".join(self.run_fmt)
        if self.run_vals:
            self.w(f"o += {self.u.spack(fmt)}({', '.join(self.run_vals)})")
        else:
            self.w(f"o += {self.u.const(bytes(self.u.ssize(fmt)), 'z')}")
        self.run_fmt, self.run_vals = [], []

    def dynamic_pad(self, a: int) -> None:
        self.w(f"o += _PAD[-len(o) & {a - 1}]")

    def raw(self, line: str) -> None:
        """A write whose size is not static."""
        self.flush()
        self.w(line)
        self.M, self.r = 1, 0

    # ------------------------------------------------------------------ struct helpers
    def member_env(self, members: list[tuple[str, t.NdrType]], base: dict[str, str],
                   where: str) -> dict[str, str]:
        """Bind count members (deriving None ones from the data) and return the env."""
        env = dict(base)
        counts = count_fields(members)
        if not counts:
            return env
        der = derivations(members, env)
        for name, _T in members:
            if name not in counts:
                continue
            c = self.w.tmp("c")
            self.w(f"{c} = {env[name]}")
            with self.w.block(f"if {c} is None:"):
                srcs = der.get(name)
                if not srcs:
                    self.w(f"raise _underivable({where!r}, {name!r})")
                else:
                    self.derive(c, srcs[0], env, where)
            env[name] = c
        return env

    def derive(self, c: str, src: tuple, env: dict[str, str], where: str) -> None:
        mname, attr, U, k, inv = src
        val = self.bind(env[mname], "d")
        if attr == "switch_is":
            self.w(f"if {val} is None: raise _err({where + '.' + mname + ': union is None'!r})")
            self.w(f"{c} = {inv(f'{val}.tag')}")
            return
        if attr == "first_is":
            self.w(f"{c} = {inv('0')}")
            return
        ext = self.extent_expr(U, val, k)
        if attr in ("max_is", "last_is"):
            ext = f"({ext} - 1)"
        self.w(f"{c} = {inv(f'(0 if {val} is None else {ext})')}")

    def extent_expr(self, A: t.Array, val: str, k: int) -> str:
        kind = elem_kind(A)
        nd = len(A.dims)
        if nd > 1:
            return f"_dims_of({val}, {nd})[{k}]"
        if kind == "string":
            return f"(_wlen({val}) + 1)" if char_unit(A) == 2 else f"(len({val}) + 1)"
        if kind == "wstr":
            return f"_wlen({val})"
        return f"len({val})"

    # ------------------------------------------------------------------ flat values
    def flat_vals(self, T: t.NdrType, ve: str, where: str) -> list[str]:
        if isinstance(T, t.Range):
            x = self.bind(ve)
            self.w(f"if not {T.low} <= {x} <= {T.high}: "
                   f"raise _range_err({where!r}, {x}, {T.low}, {T.high})")
            return self.flat_vals(T.type, x, where)
        if isinstance(T, t.Primitive):
            return [ve]
        if isinstance(T, t.Enum):
            if T.v1_enum:
                return [ve]
            x = self.bind(ve)
            self.w(f"if not 0 <= {x} <= 32767: raise _enum_range({where!r}, {x})")
            return [x]
        if isinstance(T, t.Guid):
            return [f"{ve}.{self.bl}"]
        if isinstance(T, t.ContextHandle):
            x = self.bind(ve)
            self.w(f"if {x} is None: {x} = _NULLCH")
            return [f"{x}.attributes", f"{x}.uuid.{self.bl}"]
        if isinstance(T, (t.Pointer, t.InterfacePointer)):
            return [self.ptr_id(T, ve, where)]
        if isinstance(T, t.Array):
            return [self.fixed_array(T, ve, where)]
        if isinstance(T, t.Struct):
            x = self.bind(ve, "s")
            base = {f.name: f"{x}.{pyname(f.name)}" for f in T.fields}
            env = self.member_env([(f.name, f.type) for f in T.fields], base, T.name)
            vals: list[str] = []
            for f in T.fields:
                vals += self.flat_vals(f.type, env[f.name], f"{T.name}.{f.name}")
            return vals
        raise NdrError(f"{where}: {type(T).__name__} has no fixed layout")

    def ptr_id(self, T: t.NdrType, ve: str, where: str) -> str:
        x = self.bind(ve, "p")
        r = self.w.tmp("r")
        kind = T.kind if isinstance(T, t.Pointer) else "unique"
        if kind == "ptr":
            if self.idvar != "st.n":
                self.w(f"st.n = {self.idvar}")
            self.w(f"{r} = _full_id(st, {x}, {self.u.const(T.target, 'tg')})")
            if self.idvar != "st.n":
                self.w(f"{self.idvar} = st.n")
            return r
        if kind == "ref":
            if not _nullable_target(T):
                self.w(f"if {x} is None: raise _null_ref({where!r})")
            self.w(f"{r} = {self.idvar}")
            self.w(f"{self.idvar} = {r} + 4")
            return r
        with self.w.block(f"if {x} is None:"):
            self.w(f"{r} = 0")
        with self.w.block("else:"):
            self.w(f"{r} = {self.idvar}")
            self.w(f"{self.idvar} = {r} + 4")
        return r

    def fixed_array(self, A: t.Array, ve: str, where: str) -> str:
        """Source of the bytes of a flat fixed array (a single 'Ns' slot)."""
        kind = elem_kind(A)
        n = 1
        for d in A.dims:
            n *= d.fixed or 0
        x = self.bind(ve, "a")
        if kind == "bytes" and len(A.dims) == 1:
            self.w(f"if len({x}) != {n}: raise _count_err({where!r}, 'the array size', {n}, "
                   f"len({x}))")
            return x
        if kind == "wstr" and len(A.dims) == 1:
            b = self.w.tmp("b")
            self.w(f"{b} = _wenc({x}, {self.u.le})")
            self.w(f"if len({b}) > {2 * n}: raise _count_err({where!r}, 'the array size', "
                   f"{n}, len({b}) >> 1)")
            return f"{b} + _bytes({2 * n} - len({b}))"
        fn = self.u.fn("efa", A, lambda name: _fixed_array_fn(self.u, A, name))
        return f"{fn}({x})"

    # ------------------------------------------------------------------ inline part
    def add_flat(self, T: t.NdrType, ve: str, where: str) -> None:
        fl = flat(T)
        assert fl is not None
        self.pad_to(fl.align)
        vals = self.flat_vals(T, ve, where)
        self.run_fmt.append(fl.fmt)
        self.run_vals += vals
        self.advance(fl.size)

    def inline(self, T: t.NdrType, ve: str, mode: str, where: str) -> None:
        U = unrange(T)
        top_ptr = mode == TOP and isinstance(U, (t.Pointer, t.InterfacePointer))
        if not top_ptr and flat(T) is not None:
            self.add_flat(T, ve, where)
            return
        if isinstance(T, t.Range):
            self.range_count(T, ve, where)
            self.inline(T.type, ve, mode, where)
        elif isinstance(U, t.Pointer):  # top-level pointer (C706 §14.3.10)
            x = self.bind(ve, "p")
            if U.kind == "ref":
                if not _nullable_target(U):
                    self.w(f"if {x} is None: raise _null_ref({where!r})")
                self.referent(U.target, x, where)
            else:
                self.add_flat(U, x, where)
                cond = f"{x} is not None" + (
                    f" and _full_first(st, {x}, {self.u.const(U.target, 'tg')})"
                    if U.kind == "ptr" else "")
                self.flush()
                with self.w.block(f"if {cond}:"):
                    self.referent(U.target, x, where)
                self.unknown()
        elif isinstance(U, t.InterfacePointer):
            x = self.bind(ve, "p")
            self.add_flat(U, x, where)
            self.flush()
            with self.w.block(f"if {x} is not None:"):
                self.iface_referent(U, x)
            self.unknown()
        elif isinstance(U, t.Struct):
            self.struct_inline(U, ve, mode, where)
        elif isinstance(U, (t.Union, t.Switch)):
            x = self.bind(ve, "u")
            self.w(f"if {x} is None: raise _err({where + ': union value is None'!r})")
            un = U.union if isinstance(U, t.Switch) else U
            sw = "None"
            if isinstance(U, t.Switch):
                sw = cexpr(U.switch_is, self.env) or "None"
            self.flush()
            fn = self.u.fn("eu", un, lambda name: union_fns(self.u, un, name))
            self.raw(f"{fn}(o, {x}, st, {sw})")
        elif isinstance(U, t.Array):
            self.array(U, ve, mode, where)
        elif isinstance(U, t.Handle):
            return
        else:
            raise NdrError(f"{where}: {type(U).__name__} cannot be marshalled here")

    def referent(self, T: t.NdrType, x: str, where: str) -> None:
        self.unknown()
        self.inline(T, x, PTEE, where)
        self.deferred(T, x, where)
        self.unknown()

    def iface_referent(self, T: t.InterfacePointer, x: str) -> None:
        # MInterfacePointer {ulong ulCntData; [size_is(ulCntData)] byte abData[]}:
        # a conformant struct, max_count first ([MS-DCOM] 2.2.14).
        d = self.w.tmp("d")
        self.w(f"{d} = _bytes(_IFACE.encode({self.u.const(T, 'ip')}, {x}))")
        self.w("o += _PAD[-len(o) & 3]")
        self.w(f"o += {self.u.spack('II')}(len({d}), len({d}))")
        self.w(f"o += {d}")

    def range_count(self, T: t.Range, ve: str, where: str) -> None:
        """[range] on a string/array: the element count (with the NUL) must be in range."""
        inner = unrange(T)
        while isinstance(inner, t.Pointer):
            inner = unrange(inner.target)
        x = self.bind(ve)
        if isinstance(inner, t.Array):
            ext = self.extent_expr(inner, x, 0)
            self.w(f"if {x} is not None and not {T.low} <= {ext} <= {T.high}: "
                   f"raise _range_err({where!r}, {ext}, {T.low}, {T.high})")

    def struct_inline(self, S: t.Struct, ve: str, mode: str, where: str) -> None:
        fn = self.u.fn("es", S, lambda name: struct_fns(self.u, S, name))
        nconf = conf_dims(S)
        x = self.bind(ve, "s")
        if nconf and mode == FIELD:
            raise NdrError(f"{where}: a conformant struct must be the last member")
        if nconf and mode != LAST:
            # C706 §14.3.7.1: the max_counts precede the struct and its alignment gap.
            ec = self.u.fnames[("ec", id(S))]
            mc = self.w.tmp("mc")
            self.w(f"{mc} = {ec}({x})")
            self.pad_to(4)
            self.run_fmt.append("I" * nconf)
            self.run_vals += [f"{mc}[{i}]" for i in range(nconf)]
            self.advance(4 * nconf)
        self.pad_to(align_of(S))
        self.raw(f"{fn}(o, {x}, st)")

    # ------------------------------------------------------------------ deferred part
    def deferred(self, T: t.NdrType, ve: str, where: str) -> None:
        if not has_ptr(T):
            return
        U = unrange(T)
        if isinstance(U, t.Pointer):
            x = self.bind(ve, "p")
            cond = f"{x} is not None"
            if U.kind == "ptr":
                cond += f" and _full_first(st, {x}, {self.u.const(U.target, 'tg')})"
            self.flush()
            if U.kind == "ref":
                self.referent(U.target, x, where)
            else:
                with self.w.block(f"if {cond}:"):
                    self.referent(U.target, x, where)
            self.unknown()
        elif isinstance(U, t.InterfacePointer):
            x = self.bind(ve, "p")
            self.flush()
            with self.w.block(f"if {x} is not None:"):
                self.iface_referent(U, x)
            self.unknown()
        elif isinstance(U, t.Struct):
            x = self.bind(ve, "s")
            if flat(U) is not None and id(U) not in self.inlining:
                # inline the deferred part of small fixed structs (hot in arrays)
                self.inlining.add(id(U))
                base = {f.name: f"{x}.{pyname(f.name)}" for f in U.fields}
                env, self.env = self.env, self.member_env(
                    [(f.name, f.type) for f in U.fields], base, U.name)
                for f in U.fields:
                    self.deferred(f.type, self.env[f.name], f"{U.name}.{f.name}")
                self.env = env
                self.inlining.discard(id(U))
            else:
                self.u.fn("es", U, lambda name: struct_fns(self.u, U, name))
                self.raw(f"{self.u.fnames[('eb', id(U))]}(o, {x}, st)")
        elif isinstance(U, (t.Union, t.Switch)):
            un = U.union if isinstance(U, t.Switch) else U
            self.u.fn("eu", un, lambda name: union_fns(self.u, un, name))
            self.raw(f"{self.u.fnames[('bu', id(un))]}(o, {ve}, st)")
        elif isinstance(U, t.Array):
            x = self.bind(ve, "a")
            nd = len(U.dims)
            elems = x if nd == 1 else f"_flatten({x}, tuple(_dims_of({x}, {nd})))"
            self.flush()
            e = self.w.tmp("e")
            with self.w.block(f"for {e} in {elems}:"):
                self.deferred(U.element, e, where)
            self.unknown()


def _nullable_target(P: t.NdrType) -> bool:
    """A [ref] pointer to a unique/full pointer: None means the inner pointer is NULL."""
    if not isinstance(P, t.Pointer):
        return False
    T = unrange(P.target)
    return isinstance(T, t.InterfacePointer) or (isinstance(T, t.Pointer) and T.kind != "ref")


# ---------------------------------------------------------------------- named functions
def _src(name: str, args: str, w: Writer, ret: str | None = None) -> str:
    body = w.lines or ["    pass"]
    tail = [f"    return {ret}"] if ret else []
    return "\n".join([f"def {name}({args}):", *body, *tail]) + "\n"


def struct_fns(u: Unit, S: t.Struct, es_name: str) -> str:
    """Source of es_S, plus ec_S (conformant S) and eb_S (S with pointers), all registered
    before any body is generated (recursive types refer to them)."""
    members = [(f.name, f.type) for f in S.fields]
    base = {f.name: f"v.{pyname(f.name)}" for f in S.fields}
    ec_name = eb_name = None
    if conf_dims(S):
        ec_name = u.fnames[("ec", id(S))] = u.uniq(f"ec_{S.name}")
    if has_ptr(S):
        eb_name = u.fnames[("eb", id(S))] = u.uniq(f"eb_{S.name}")
    srcs = []
    # inline part
    w = Writer()
    e = Enc(u, w, {}, align_of(S))
    e.env = e.member_env(members, base, S.name)
    for i, f in enumerate(S.fields):
        mode = LAST if i == len(S.fields) - 1 else FIELD
        e.inline(f.type, e.env[f.name], mode, f"{S.name}.{f.name}")
    e.flush()
    srcs.append(_src(es_name, "o, v, st", w))
    if ec_name is not None:
        # the max_counts a conformant struct hoists to the front (C706 §14.3.7.1)
        w = Writer()
        e = Enc(u, w, {})
        e.env = e.member_env(members, base, S.name)
        last = S.fields[-1]
        L = unrange(last.type)
        if isinstance(L, t.Array):
            info = e.array_counts(L, e.bind(e.env[last.name], "a"), f"{S.name}.{last.name}")
            ret = "(" + "".join(f"{m}, " for m in info["mc"] if m is not None) + ")"
        else:
            assert isinstance(L, t.Struct)
            u.fn("es", L, lambda nm: struct_fns(u, L, nm))
            ret = f"{u.fnames[('ec', id(L))]}({e.env[last.name]})"
        srcs.append(_src(ec_name, "v", w, ret))
    if eb_name is not None:
        w = Writer()
        e = Enc(u, w, {})
        e.env = e.member_env(members, base, S.name)
        for f in S.fields:
            e.deferred(f.type, e.env[f.name], f"{S.name}.{f.name}")
        e.flush()
        srcs.append(_src(eb_name, "o, v, st", w))
    return "\n".join(srcs)


def union_fns(u: Unit, U: t.Union, name: str) -> str:
    """Source of eu_U(o, v, st, sw) and bu_U(o, v, st) (C706 §14.3.8, [MS-RPCE] 2.2.4.5)."""
    bu = u.fnames[("bu", id(U))] = u.uniq(f"bu_{U.name}")
    w = Writer()
    e = Enc(u, w, {})
    w("tag = v.tag")
    w(f"if sw is not None and sw != tag: raise _err('{U.name}: switch_is value %r does not "
      "match the union tag %r' % (sw, tag))")
    e.add_flat(U.switch_type, "tag", f"{U.name}.{U.switch_name or 'tag'}")
    if U.encapsulated:
        e.pad_to(arm_align(U))
    e.flush()
    state = (e.M, e.r)
    _arms(e, U, "v.value", lambda arm: _arm_inline(e, U, arm, state))
    src = _src(name, "o, v, st, sw", w)
    w2 = Writer()
    e2 = Enc(u, w2, {})
    w2("tag = v.tag")
    _arms(e2, U, "v.value", lambda arm: e2.deferred(arm.type, "v.value", U.name)
          if arm.type is not None else None, raise_default=False)
    return src + "\n" + _src(bu, "o, v, st", w2)


def _arm_inline(e: Enc, U: t.Union, arm: t.Arm, state: tuple[int, int]) -> None:
    e.M, e.r = state
    if arm.type is None:
        return
    if U.ms_union and not U.encapsulated:
        e.pad_to(arm_align(U))
    e.inline(arm.type, "v.value", ARM, f"{U.name}.{arm.name}")
    e.flush()


def _arms(e: Enc, U: t.Union, ve: str, body: object, raise_default: bool = True) -> None:
    first = True
    default = None
    for arm in U.arms:
        if arm.is_default:
            default = arm
            continue
        cases = ", ".join(str(c) for c in arm.cases)
        with e.w.block(f"{'if' if first else 'elif'} tag in ({cases},):"):
            body(arm)  # type: ignore[operator]
        first = False
    if default is not None:
        with e.w.block("else:" if not first else "if True:"):
            body(default)  # type: ignore[operator]
    elif raise_default:
        with e.w.block("else:" if not first else "if True:"):
            e.w(f"raise _bad_tag({U.name!r}, tag)")


def _fixed_array_fn(u: Unit, A: t.Array, name: str) -> str:
    w = Writer()
    e = Enc(u, w, {}, 8)
    w("o = bytearray()")
    e.array(A, "v", ELEM, "array")
    e.flush()
    return _src(name, "v", w, "o")


def root_encoder(u: Unit, T: t.NdrType, name: str) -> str:
    w = Writer()
    w("o = bytearray()")
    w("st = _EncState()")
    e = Enc(u, w, {}, 8)
    top_item(e, T, "v", _label(T))
    return _src(name, "v", w, "o")


def top_item(e: Enc, T: t.NdrType, ve: str, where: str) -> None:
    """A top-level item: its inline part, then its deferred referents (C706 §14.3.12.1).
    A top-level pointer's referent is already complete after its inline part."""
    e.inline(T, ve, TOP, where)
    if not isinstance(unrange(T), (t.Pointer, t.InterfacePointer)):
        e.deferred(T, ve, where)
    e.flush()


def _label(T: t.NdrType) -> str:
    return getattr(unrange(T), "name", None) or type(unrange(T)).__name__
