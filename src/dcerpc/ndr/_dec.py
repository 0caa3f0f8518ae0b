"""Decoder source generation (see :mod:`._codegen` for the theory of operation).

Generated decoders read ``b`` (bytes) at ``pos``; alignment is relative to offset 0 of
``b`` (the stub).  Every count read from the wire is checked against the bytes actually
present before anything is allocated, and against the other counts (C706 §14.3.3,
[MS-RPCE] 3.1.1.5.3.2.1.7 strict validation): malformed data raises NdrError.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import NdrError
from . import types as t
from ._codegen import ARM, ELEM, FIELD, LAST, PTEE, TOP, Aligner, Unit, Writer, cexpr
from ._dec_arrays import DecArrays
from ._layout import (
    align_of,
    arm_align,
    char_unit,
    conf_dims,
    elem_kind,
    flat,
    has_ptr,
    pyname,
    unrange,
)
from ._pyclasses import python_type


class Dec(DecArrays, Aligner):
    """Emits decoder statements into a :class:`Writer`; tracks static alignment."""

    def __init__(self, unit: Unit, w: Writer, env: dict[str, str], align: int = 1) -> None:
        self.u, self.w, self.env = unit, w, env
        self.M, self.r = align, 0
        self.run_fmt: list[str] = []
        self.run_slots: list[str] = []
        self.run_post: list = []
        self.inlining: set[int] = set()
        self.bl = "bytes_le" if unit.le else "bytes"
        self.utf16 = "utf-16-le" if unit.le else "utf-16-be"

    # ------------------------------------------------------------------ plumbing
    def flush(self) -> None:
        if not self.run_fmt:
            return
        fmt = "".join(self.run_fmt)
        size = self.u.ssize(fmt)
        if self.run_slots:
            self.w(f"{', '.join(self.run_slots)}, = {self.u.sunpack(fmt)}(b, pos)")
        self.w(f"pos += {size}")
        posts = self.run_post
        self.run_fmt, self.run_slots, self.run_post = [], [], []
        for post in posts:
            post()

    def dynamic_pad(self, a: int) -> None:
        self.w(f"pos += -pos & {a - 1}")

    def raw_slots(self, fmt: str, n: int) -> list[str]:
        slots = [self.w.tmp("k") for _ in range(n)]
        self.run_fmt.append(fmt)
        self.run_slots += slots
        self.advance(self.u.ssize(fmt))
        return slots

    def add_flat(self, T: t.NdrType, target: str, where: str) -> None:
        fl = flat(T)
        assert fl is not None
        self.pad_to(fl.align)
        slots = [self.w.tmp("s") for _ in range(fl.nslots)]
        self.run_fmt.append(fl.fmt)
        self.run_slots += slots
        self.advance(fl.size)

        def post() -> None:
            expr = self.build(T, iter(slots), where)
            if expr != target:
                self.w(f"{target} = {expr}")
        self.run_post.append(post)

    # ------------------------------------------------------------------ flat values
    def build(self, T: t.NdrType, it: Iterator[str], where: str) -> str:
        """Source of the Python value of flat T from its unpacked slots (may emit checks).
        Embedded pointers become their referent id (or None): placeholders."""
        if isinstance(T, t.Range):
            x = self.build(T.type, it, where)
            self.w(f"if not {T.low} <= {x} <= {T.high}: "
                   f"raise _range_err({where!r}, {x}, {T.low}, {T.high}, pos)")
            return x
        if isinstance(T, t.Primitive):
            return next(it)
        if isinstance(T, t.Enum):
            s = next(it)
            if not T.v1_enum:
                self.w(f"if {s} > 32767: raise _enum_range({where!r}, {s}, pos)")
            return f"{self.enum_map(T)}.get({s}, {s})"
        if isinstance(T, t.Guid):
            return f"_UUID({self.bl}={next(it)})"
        if isinstance(T, t.ContextHandle):
            a, g = next(it), next(it)
            return f"_CH({a}, _UUID({self.bl}={g}))"
        if isinstance(T, (t.Pointer, t.InterfacePointer)):
            s = next(it)
            if isinstance(T, t.Pointer) and T.kind == "ref":
                self.w(f"if not {s}: raise _null_ref({where!r}, pos)")
                return s
            return f"({s} or None)"
        if isinstance(T, t.Array):
            return self.fixed_array(T, next(it), where)
        if isinstance(T, t.Struct):
            cls = self.u.const(python_type(T), T.name)
            args = [self.build(f.type, it, f"{T.name}.{f.name}") for f in T.fields]
            return f"{cls}({', '.join(args)})"
        raise NdrError(f"{where}: {type(T).__name__} has no fixed layout")

    def enum_map(self, T: t.Enum) -> str:
        cls = python_type(T)
        return self.u.const(dict(getattr(cls, "_value2member_map_", {})), T.name + "_map")

    def fixed_array(self, A: t.Array, s: str, where: str) -> str:
        kind = elem_kind(A)
        if kind == "bytes" and len(A.dims) == 1:
            return s
        if kind == "wstr" and len(A.dims) == 1:
            return f"{s}.decode({self.utf16!r}, 'surrogatepass').rstrip('\\x00')"
        fn = self.u.fn("dfa", A, lambda name: _fixed_array_fn(self.u, A, name))
        return f"{fn}({s})"

    # ------------------------------------------------------------------ inline part
    def inline(self, T: t.NdrType, target: str, mode: str, where: str) -> bool:
        """Decode T's inline part into ``target``. True if the deferred part was consumed
        too (arrays of small structs read their referents element by element)."""
        U = unrange(T)
        top_ptr = mode == TOP and isinstance(U, (t.Pointer, t.InterfacePointer))
        if not top_ptr and flat(T) is not None:
            self.add_flat(T, target, where)
            return False
        if isinstance(T, t.Range):
            done = self.inline(T.type, target, mode, where)
            self.range_count(T, target, where)
            return done
        if isinstance(U, (t.Pointer, t.InterfacePointer)):  # top-level (C706 §14.3.10)
            if isinstance(U, t.Pointer) and U.kind == "ref":
                self.referent(U, None, target, where)
                return True
            r = self.w.tmp("r")
            self.add_flat(U, r, where)
            self.flush()
            with self.w.block(f"if {r} is None:"):
                self.w(f"{target} = None")
            with self.w.block("else:"):
                self.referent(U, r, target, where)
            self.unknown()
            return True
        if isinstance(U, t.Struct):
            self.struct_inline(U, target, mode, where)
        elif isinstance(U, (t.Union, t.Switch)):
            un = U.union if isinstance(U, t.Switch) else U
            sw = "None"
            if isinstance(U, t.Switch):
                sw = cexpr(U.switch_is, self.env) or "None"
            fn = self.u.fn("du", un, lambda name: union_fns(self.u, un, name))
            self.flush()
            self.w(f"{target}, pos = {fn}(b, pos, st, {sw})")
            self.M, self.r = 1, 0
        elif isinstance(U, t.Array):
            return self.array(U, target, mode, where)
        elif isinstance(U, t.Handle):
            self.w(f"{target} = None")
        else:
            raise NdrError(f"{where}: {type(U).__name__} cannot be unmarshalled here")
        return False

    def referent(self, P: t.NdrType, r: str | None, target: str, where: str) -> None:
        """Decode a pointee into ``target``; ``r`` is the referent id (None: top-level ref)."""
        self.unknown()
        if isinstance(P, t.InterfacePointer):
            self.iface_referent(P, target)
            return
        assert isinstance(P, t.Pointer)
        T = P.target
        if P.kind == "ptr" and r is not None:
            x = self.w.tmp("fx")
            rid = self.w.tmp("rid")
            self.w(f"{rid} = {r}")
            r = rid
            self.w(f"{x} = _full_lookup(st, {r}, pos)")
            with self.w.block(f"if {x} is not None:"):
                self.w(f"{target} = {x}")
            with self.w.block("else:"):
                self.w(f"st.full[{r}] = _INPROG")
                done = self.inline(T, target, PTEE, where)
                self.flush()
                is_struct = isinstance(unrange(T), t.Struct)
                if is_struct:
                    # registered before its referents, so that cycles alias correctly
                    self.w(f"st.full[{r}] = {target}")
                if not done:
                    self.deferred(T, target, where)
                self.flush()
                if not is_struct:
                    self.w(f"st.full[{r}] = {target}")
            self.unknown()
            return
        if not self.inline(T, target, PTEE, where):
            self.deferred(T, target, where)
        self.unknown()

    def iface_referent(self, T: t.InterfacePointer, target: str) -> None:
        self.w("pos += -pos & 3")
        mx, cnt = self.w.tmp("k"), self.w.tmp("k")
        self.w(f"{mx}, {cnt} = {self.u.sunpack('II')}(b, pos)")
        self.w("pos += 8")
        self.w(f"if {mx} != {cnt}: raise _bounds_err('MInterfacePointer', {mx}, 0, {cnt}, pos)")
        self.w(f"if pos + {cnt} > len(b): raise _trunc('MInterfacePointer', {cnt}, pos, len(b))")
        self.w(f"{target} = _IFACE.decode({self.u.const(T, 'ip')}, _bytes(b[pos:pos + {cnt}]))")
        self.w(f"pos += {cnt}")

    def range_count(self, T: t.Range, x: str, where: str) -> None:
        inner = unrange(T)
        while isinstance(inner, t.Pointer):
            inner = unrange(inner.target)
        if isinstance(inner, t.Array) and len(inner.dims) == 1:
            if inner.string:
                ext = f"(_wlen({x}) + 1)" if char_unit(inner) == 2 else f"(len({x}) + 1)"
            else:
                ext = f"_wlen({x})" if elem_kind(inner) == "wstr" else f"len({x})"
            self.flush()
            self.w(f"if {x} is not None and not {T.low} <= {ext} <= {T.high}: "
                   f"raise _range_err({where!r}, {ext}, {T.low}, {T.high}, pos)")

    def struct_inline(self, S: t.Struct, target: str, mode: str, where: str) -> None:
        fn = self.u.fn("ds", S, lambda name: struct_fns(self.u, S, name))
        nconf = conf_dims(S)
        if nconf and mode == FIELD:
            raise NdrError(f"{where}: a conformant struct must be the last member")
        extra = ""
        if nconf:
            if mode == LAST:
                extra = ", mc"
            else:
                self.pad_to(4)
                slots = self.raw_slots("I" * nconf, nconf)
                extra = f", ({''.join(s + ', ' for s in slots)})"
        self.pad_to(align_of(S))
        self.flush()
        self.w(f"{target}, pos = {fn}(b, pos, st{extra})")
        self.M, self.r = 1, 0

    # ------------------------------------------------------------------ deferred part
    def deferred(self, T: t.NdrType, var: str, where: str) -> None:
        """Read the referents of ``var``'s embedded pointers; ``var`` is reassigned when T
        itself is a pointer (the caller stores it back)."""
        if not has_ptr(T):
            return
        U = unrange(T)
        self.flush()
        if isinstance(U, (t.Pointer, t.InterfacePointer)):
            if isinstance(U, t.Pointer) and U.kind == "ref":
                self.referent(U, var, var, where)
            else:
                with self.w.block(f"if {var} is not None:"):
                    self.referent(U, var, var, where)
        elif isinstance(U, t.Struct):
            if flat(U) is not None and id(U) not in self.inlining:
                self.inlining.add(id(U))
                env, self.env = self.env, {f.name: f"{var}.{pyname(f.name)}" for f in U.fields}
                for f in U.fields:
                    if has_ptr(f.type):
                        x = self.w.tmp("y")
                        self.w(f"{x} = {var}.{pyname(f.name)}")
                        self.deferred(f.type, x, f"{U.name}.{f.name}")
                        if isinstance(unrange(f.type), (t.Pointer, t.InterfacePointer)):
                            self.w(f"{var}.{pyname(f.name)} = {x}")
                self.env = env
                self.inlining.discard(id(U))
            else:
                self.u.fn("ds", U, lambda name: struct_fns(self.u, U, name))
                self.w(f"pos = {self.u.fnames[('db', id(U))]}(b, pos, {var}, st)")
        elif isinstance(U, (t.Union, t.Switch)):
            un = U.union if isinstance(U, t.Switch) else U
            self.u.fn("du", un, lambda name: union_fns(self.u, un, name))
            self.w(f"pos = {self.u.fnames[('dbu', id(un))]}(b, pos, {var}, st)")
        elif isinstance(U, t.Array):
            if len(U.dims) > 1:
                raise NdrError(f"{where}: multidimensional arrays of pointers are not supported")
            e, i = self.w.tmp("e"), self.w.tmp("i")
            with self.w.block(f"for {i}, {e} in enumerate({var}):"):
                self.deferred(U.element, e, where)
                if isinstance(unrange(U.element), (t.Pointer, t.InterfacePointer)):
                    self.w(f"{var}[{i}] = {e}")
        self.M, self.r = 1, 0


# ---------------------------------------------------------------------- named functions
def _src(name: str, args: str, w: Writer, ret: str) -> str:
    return "\n".join([f"def {name}({args}):", *w.lines, f"    return {ret}"]) + "\n"


def struct_fns(u: Unit, S: t.Struct, ds_name: str) -> str:
    """Source of ds_S (inline part -> value with referent ids) and db_S (referents)."""
    db_name = None
    if has_ptr(S):
        db_name = u.fnames[("db", id(S))] = u.uniq(f"db_{S.name}")
    w = Writer()
    d = Dec(u, w, {}, align_of(S))
    names = []
    for i, f in enumerate(S.fields):
        x = f"f_{i}"
        mode = LAST if i == len(S.fields) - 1 else FIELD
        d.inline(f.type, x, mode, f"{S.name}.{f.name}")
        d.env[f.name] = x
        names.append(x)
    d.flush()
    cls = u.const(python_type(S), S.name)
    args = "b, pos, st, mc" if conf_dims(S) else "b, pos, st"
    src = _src(ds_name, args, w, f"{cls}({', '.join(names)}), pos")
    if db_name is not None:
        w = Writer()
        d = Dec(u, w, {f.name: f"v.{pyname(f.name)}" for f in S.fields})
        for f in S.fields:
            if has_ptr(f.type):
                x = w.tmp("y")
                w(f"{x} = v.{pyname(f.name)}")
                d.deferred(f.type, x, f"{S.name}.{f.name}")
                if isinstance(unrange(f.type), (t.Pointer, t.InterfacePointer)):
                    w(f"v.{pyname(f.name)} = {x}")
        src += "\n" + _src(db_name, "b, pos, v, st", w, "pos")
    return src


def union_fns(u: Unit, U: t.Union, name: str) -> str:
    """Source of du_U(b, pos, st, sw) -> (value, pos) and dbu_U(b, pos, v, st) -> pos."""
    dbu = u.fnames[("dbu", id(U))] = u.uniq(f"dbu_{U.name}")
    cls = u.const(python_type(U), U.name)
    w = Writer()
    d = Dec(u, w, {})
    d.add_flat(U.switch_type, "tag", f"{U.name}.{U.switch_name or 'tag'}")
    d.flush()
    w(f"if sw is not None and sw != tag: raise _err('{U.name}: discriminant %r does not "
      "match switch_is value %r' % (tag, sw), pos)")
    if U.encapsulated:
        d.pad_to(arm_align(U))
        d.flush()
    state = (d.M, d.r)
    w("val = None")
    first = True
    default = None
    for arm in U.arms:
        if arm.is_default:
            default = arm
            continue
        cases = ", ".join(str(c) for c in arm.cases)
        with w.block(f"{'if' if first else 'elif'} tag in ({cases},):"):
            _arm(d, U, arm, state)
        first = False
    with w.block("else:" if not first else "if True:"):
        if default is not None:
            _arm(d, U, default, state)
        else:
            w(f"raise _bad_tag({U.name!r}, tag, pos)")
    src = _src(name, "b, pos, st, sw", w, f"{cls}(tag, val), pos")
    w2 = Writer()
    d2 = Dec(u, w2, {})
    w2("tag = v.tag")
    w2("val = v.value")
    first = True
    for arm in U.arms:
        if arm.type is None or not has_ptr(arm.type):
            continue
        cond = "True" if arm.is_default else \
            f"tag in ({', '.join(str(c) for c in arm.cases)},)"
        if arm.is_default:
            others = [c for a in U.arms for c in a.cases]
            cond = f"tag not in ({', '.join(str(c) for c in others)},)" if others else "True"
        with w2.block(f"{'if' if first else 'elif'} {cond}:"):
            d2.deferred(arm.type, "val", f"{U.name}.{arm.name}")
            w2("v.value = val")
        first = False
    return src + "\n" + _src(dbu, "b, pos, v, st", w2, "pos")


def _arm(d: Dec, U: t.Union, arm: t.Arm, state: tuple[int, int]) -> None:
    d.M, d.r = state
    if arm.type is None:
        return
    if U.ms_union and not U.encapsulated:
        d.pad_to(arm_align(U))
    d.inline(arm.type, "val", ARM, f"{U.name}.{arm.name}")
    d.flush()


def _fixed_array_fn(u: Unit, A: t.Array, name: str) -> str:
    w = Writer()
    w("pos = 0")
    d = Dec(u, w, {}, 8)
    d.array(A, "v", ELEM, "array")
    d.flush()
    return _src(name, "b", w, "v")


def top_item(d: Dec, T: t.NdrType, target: str, where: str) -> None:
    if not d.inline(T, target, TOP, where):
        d.deferred(T, target, where)
    d.flush()


def root_decoder(u: Unit, T: t.NdrType, name: str) -> str:
    w = Writer()
    w("st = _DecState()")
    d = Dec(u, w, {}, 1)  # callers may start at any offset (pipe chunks)
    top_item(d, T, "v", getattr(unrange(T), "name", None) or type(unrange(T)).__name__)
    return _src(name, "b, pos", w, "v, pos")

