"""Generate the Python module for a :class:`~dcerpc.idl._compile.Compilation`.

The module is plain, readable Python that rebuilds the interface model with
:mod:`dcerpc.ndr.types` constructors, binds Python classes to the named types
(dataclasses, ``enum.IntEnum``, :class:`~dcerpc.ndr.types.UnionValue` subclasses), and
defines per interface a client proxy class plus MIDL-style module functions. Its only
imports are the standard library, :mod:`dcerpc.ndr.types` and :mod:`dcerpc.idl._support`.
"""

from __future__ import annotations

import os
from typing import Any

from ..ndr import types as t
from . import _ast as a
from ._compile import Compilation
from ._pymap import PRIM_CONST, counted_names, default, hint, py_ident
from ._writer import Writer


def _pipe_of(T: t.NdrType) -> t.Pipe | None:
    """The pipe a parameter passes (through [ref] pointers and typedef'd ranges)."""
    while isinstance(T, (t.Pointer, t.Range)):
        T = T.target if isinstance(T, t.Pointer) else T.type
    return T if isinstance(T, t.Pipe) else None

__all__ = ["generate"]

_RESERVED = {"_t", "_support", "_uuid", "_enum", "_dc", "annotations", "__interfaces__",
             "__idl_source__"}


class _Names:
    """Module-level name allocation: first come, first served; clashes are reported."""

    def __init__(self, comp: Compilation) -> None:
        self.taken: set[str] = set(_RESERVED)
        self.comp = comp

    def claim(self, name: str, what: str) -> str | None:
        ident = py_ident(name)
        if ident in self.taken:
            self.comp.warnings.append(f"warning: {what} '{name}' is not bound in the generated "
                                      "module: the name is already used")
            return None
        self.taken.add(ident)
        return ident


def _walk_named(roots: list[t.NdrType], found: dict[int, Any]) -> None:
    stack: list[Any] = list(roots)
    while stack:
        x = stack.pop()
        if x is None:
            continue
        if isinstance(x, t.Struct | t.Union | t.Enum):
            if id(x) in found:
                continue
            found[id(x)] = x
            if isinstance(x, t.Struct):
                stack.extend(f.type for f in x.fields)
            elif isinstance(x, t.Union):
                stack.append(x.switch_type)
                stack.extend(arm.type for arm in x.arms)
        elif isinstance(x, t.Pointer):
            stack.append(x.target)
        elif isinstance(x, t.Array):
            stack.append(x.element)
        elif isinstance(x, t.Range):
            stack.append(x.type)
        elif isinstance(x, t.Switch):
            stack.append(x.union)
        elif isinstance(x, t.Pipe):
            stack.append(x.element)


class _Gen:
    def __init__(self, comp: Compilation) -> None:
        self.comp = comp
        self.w = Writer()
        self.names = _Names(comp)
        self.cls: dict[int, str] = {}  # id(descriptor) -> class name
        self.var: dict[int, str] = {}  # id(descriptor) -> descriptor variable
        self.iface_var: dict[int, str] = {}

    # ------------------------------------------------------------------ expressions
    def expr(self, e: t.Expr) -> str:
        if isinstance(e, t.Const):
            return f"_t.Const({e.value!r})"
        if isinstance(e, t.Ref):
            return f"_t.Ref({e.name!r})"
        if isinstance(e, t.Deref):
            return f"_t.Deref({self.expr(e.operand)})"
        if isinstance(e, t.Attr):
            return f"_t.Attr({self.expr(e.operand)}, {e.member!r})"
        if isinstance(e, t.Unary):
            return f"_t.Unary({e.op!r}, {self.expr(e.operand)})"
        if isinstance(e, t.BinOp):
            return f"_t.BinOp({e.op!r}, {self.expr(e.left)}, {self.expr(e.right)})"
        if isinstance(e, t.Cond):
            return f"_t.Cond({self.expr(e.test)}, {self.expr(e.then)}, {self.expr(e.otherwise)})"
        if isinstance(e, a.Num):
            return f"_t.Const({int(e.value)!r})"
        raise TypeError(f"cannot emit expression {e!r}")

    def dim(self, d: t.Dim) -> str:
        parts = []
        if d.fixed is not None:
            parts.append(f"fixed={d.fixed}")
        for attr in ("size_is", "max_is", "min_is", "length_is", "first_is", "last_is"):
            e = getattr(d, attr)
            if e is not None:
                parts.append(f"{attr}={self.expr(e)}")
        return f"_t.Dim({', '.join(parts)})"

    def ty(self, x: t.NdrType) -> str:
        if isinstance(x, t.Primitive):
            return f"_t.{PRIM_CONST[x.kind]}"
        if isinstance(x, t.Guid):
            return "_t.GUID"
        if isinstance(x, t.Handle):
            return "_t.HANDLE_T"
        if isinstance(x, t.Struct | t.Union | t.Enum):
            return self.var[id(x)]
        if isinstance(x, t.Pointer):
            return f"_t.Pointer({x.kind!r}, {self.ty(x.target)})"
        if isinstance(x, t.Array):
            dims = ", ".join(self.dim(d) for d in x.dims)
            s = ", string=True" if x.string else ""
            return f"_t.Array({self.ty(x.element)}, ({dims},){s})"
        if isinstance(x, t.Range):
            return f"_t.Range({self.ty(x.type)}, {x.low}, {x.high})"
        if isinstance(x, t.Switch):
            return f"_t.Switch({self.ty(x.union)}, {self.expr(x.switch_is)})"
        if isinstance(x, t.ContextHandle):
            return f"_t.ContextHandle({x.name!r}{', strict=True' if x.strict else ''})"
        if isinstance(x, t.Pipe):
            return f"_t.Pipe({self.ty(x.element)}, {x.name!r})"
        if isinstance(x, t.InterfacePointer):
            parts = [f"interface={x.interface!r}"]
            if x.iid is not None:
                parts.append(f"iid=_uuid.UUID({str(x.iid)!r})")
            if x.iid_is is not None:
                parts.append(f"iid_is={self.expr(x.iid_is)}")
            return f"_t.InterfacePointer({', '.join(parts)})"
        if isinstance(x, t.TypeSerialized):
            return f"_t.TypeSerialized({self.ty(x.type)})"
        raise TypeError(f"cannot emit descriptor {x!r}")

    # ------------------------------------------------------------------ module
    def run(self) -> str:
        comp, w = self.comp, self.w
        base = os.path.basename(comp.source_path)
        w.line(f"# generated by dcerpc idl from {base} — do not edit")
        w.line(f'"""Interface model and client stubs for {base}.')
        w.blank()
        names = ", ".join(i.name for i in comp.interfaces) or "(none)"
        w.line(f"Interfaces: {names}. Rebuild with ``dcerpc idl compile``.")
        w.line('"""')
        w.blank()
        w.line("from __future__ import annotations")
        w.blank()
        w.line("import dataclasses as _dc")
        w.line("import enum as _enum")
        w.line("import uuid as _uuid")
        w.blank()
        w.line("from dcerpc.idl import _support")
        w.line("from dcerpc.ndr import types as _t")
        w.blank()
        w.line(f"__idl_source__ = {comp.source_path!r}")
        self.constants()
        named = self.collect()
        self.declare_types(named)
        self.classes(named)
        self.fill(named)
        self.typedefs(named)
        self.interfaces()
        w.blank(2)
        w.line(f"__interfaces__ = [{', '.join(self.iface_var[id(i)] for i in comp.interfaces)}]")
        return w.source()

    def constants(self) -> None:
        if not self.comp.consts:
            return
        self.w.blank()
        self.w.line("# ---- constants")
        for name, value in self.comp.consts.items():
            if name in self.comp.enum_members:
                continue
            ident = self.names.claim(name, "constant")
            if ident:
                self.w.line(f"{ident} = {value!r}")

    def collect(self) -> list[Any]:
        comp = self.comp
        roots: list[Any] = [d for d, own in comp.named if own]
        for name in comp.own_typedefs:
            if name in comp.typedefs:
                roots.append(comp.typedefs[name])
        for name in comp.used_typedefs:
            if name in comp.typedefs:
                roots.append(comp.typedefs[name])
        ifaces = self.iface_order()
        for iface in ifaces:
            for op in iface.operations:
                roots.extend(p.type for p in op.params)
                roots.append(op.returns)
        found: dict[int, Any] = {}
        _walk_named(roots, found)
        return [d for d, _ in comp.named if id(d) in found]

    def iface_order(self) -> list[t.Interface]:
        order: list[t.Interface] = []
        for iface in self.comp.interfaces:
            chain = []
            b: t.Interface | None = iface
            while b is not None:
                chain.append(b)
                b = b.base
            for x in reversed(chain):
                if x not in order:
                    order.append(x)
        return order

    def declare_types(self, named: list[Any]) -> None:
        w = self.w
        for d in named:
            ident = self.names.claim(d.name, "type") or self.names.claim(d.name + "_", "type")
            assert ident is not None
            self.cls[id(d)] = ident
            self.var[id(d)] = f"_ndr_{ident}"
            self.names.taken.add(f"_ndr_{ident}")
        if not named:
            return
        w.blank()
        w.line("# ---- type descriptors (fields are filled in below, after the classes)")
        for d in named:
            if isinstance(d, t.Enum):
                members = ", ".join(f"{k!r}: {v!r}" for k, v in d.members.items())
                v1 = ", v1_enum=True" if d.v1_enum else ""
                w.line(f"{self.var[id(d)]} = _t.Enum({d.name!r}, {{{members}}}{v1})")
        for d in named:
            if isinstance(d, t.Struct):
                w.line(f"{self.var[id(d)]} = _t.Struct({d.name!r})")
            elif isinstance(d, t.Union):
                extra = ""
                if d.encapsulated:
                    extra += (f", encapsulated=True, switch_name={d.switch_name!r}, "
                              f"union_name={d.union_name!r}")
                if d.ms_union:
                    extra += ", ms_union=True"
                sw = self.ty(d.switch_type) if d.switch_type is not None else "_t.LONG"
                w.line(f"{self.var[id(d)]} = _t.Union({d.name!r}, {sw}{extra})")

    def classes(self, named: list[Any]) -> None:
        w = self.w
        for d in named:
            cls, var = self.cls[id(d)], self.var[id(d)]
            w.blank(2)
            if isinstance(d, t.Enum):
                w.line(f"class {cls}(_enum.IntEnum):")
                with w.indent():
                    w.line(f'"""enum {d.name}{" [v1_enum]" if d.v1_enum else ""}."""')
                    w.blank()
                    for k, v in d.members.items():
                        w.line(f"{py_ident(k)} = {v!r}")
                w.blank()
                w.blank()
                w.line(f"{cls}.__ndr__ = {var}  # type: ignore[attr-defined]")
            elif isinstance(d, t.Struct):
                w.line("@_dc.dataclass")
                w.line(f"class {cls}:")
                with w.indent():
                    w.line(f'"""struct {d.name}."""')
                    w.blank()
                    w.line(f"__ndr__ = {var}")
                    counted: set[str] = set()
                    for f in d.fields:
                        counted |= counted_names(f.type)
                    if d.fields:
                        w.blank()
                    for f in d.fields:
                        self.field(f, f.name in counted)
            else:
                w.line(f"class {cls}(_t.UnionValue):")
                with w.indent():
                    arms = "; ".join(
                        f"{'default' if arm.is_default else ','.join(map(str, arm.cases))}: "
                        f"{arm.name or '(empty)'}" for arm in d.arms)
                    w.line(f'"""union {d.name} ({arms})."""')
                    w.blank()
                    w.line("__slots__ = ()")
                    w.line(f"__ndr__ = {var}")

    def field(self, f: t.Field, counted: bool) -> None:
        name = py_ident(f.name)
        if name != f.name:
            self.comp.warnings.append(f"warning: field '{f.name}' is spelled '{name}' in Python")
            f.name = name
        if counted:
            self.w.line(f"{name}: int | None = None")
            return
        src, factory = default(f.type, self.cls)
        h = hint(f.type, self.cls)
        if factory:
            self.w.line(f"{name}: {h} = _dc.field(default_factory={src})")
        else:
            self.w.line(f"{name}: {h} = {src}")

    def fill(self, named: list[Any]) -> None:
        w = self.w
        if not named:
            return
        w.blank()
        w.line("# ---- descriptor contents")
        for d in named:
            var, cls = self.var[id(d)], self.cls[id(d)]
            w.line(f"{var}.py = {cls}")
            if isinstance(d, t.Struct):
                if not d.fields:
                    continue
                w.line(f"{var}.fields = [")
                with w.indent():
                    for f in d.fields:
                        w.line(f"_t.Field({f.name!r}, {self.ty(f.type)}),")
                w.line("]")
            elif isinstance(d, t.Union):
                w.line(f"{var}.arms = [")
                with w.indent():
                    for arm in d.arms:
                        ty = self.ty(arm.type) if arm.type is not None else "None"
                        w.line(f"_t.Arm({arm.cases!r}, {arm.name!r}, {ty}),")
                w.line("]")

    def typedefs(self, named: list[Any]) -> None:
        comp, w = self.comp, self.w
        emitted = {id(d) for d in named}
        lines: list[str] = []
        for (_kind, tag), d in comp.tags.items():
            if id(d) in emitted and tag and tag != self.cls[id(d)]:
                ident = self.names.claim(tag, "tag") if py_ident(tag) not in self.names.taken \
                    else None
                if ident:
                    lines.append(f"{ident} = {self.cls[id(d)]}")
        wanted = [n for n in comp.typedefs if n in comp.used_typedefs or n in comp.own_typedefs
                  or id(comp.typedefs[n]) in emitted]
        for name in wanted:
            d = comp.typedefs[name]
            if id(d) in emitted:
                if self.cls[id(d)] == py_ident(name) or py_ident(name) in self.names.taken:
                    continue
                ident = self.names.claim(name, "typedef")
                if ident:
                    lines.append(f"{ident} = {self.cls[id(d)]}")
                continue
            if isinstance(d, t.Struct | t.Union | t.Enum):
                continue  # a named type that no emitted declaration reaches
            try:
                src = self.ty(d)
            except KeyError:
                continue
            if py_ident(name) in self.names.taken:
                continue
            ident = self.names.claim(name, "typedef")
            if ident:
                lines.append(f"{ident} = {src}")
        for ename, enum_d in comp.enum_members.items():
            if id(enum_d) in emitted and py_ident(ename) not in self.names.taken and \
                    ename in comp.consts:
                self.names.taken.add(py_ident(ename))
                lines.append(f"{py_ident(ename)} = {self.cls[id(enum_d)]}.{py_ident(ename)}")
        if lines:
            w.blank()
            w.line("# ---- typedef names and enumerators")
            for ln in lines:
                w.line(ln)

    # ------------------------------------------------------------------ interfaces
    def interfaces(self) -> None:
        for iface in self.iface_order():
            self.interface_model(iface)
        for iface in self.comp.interfaces:
            self.client(iface)
            self.functions(iface)

    def interface_model(self, iface: t.Interface) -> None:
        w = self.w
        ident = self.names.claim(iface.name, "interface") or f"_iface_{iface.name}"
        self.iface_var[id(iface)] = ident
        w.blank(2)
        w.line(f"{ident} = _t.Interface(")
        with w.indent():
            w.line(f"name={iface.name!r},")
            w.line(f"uuid={'_uuid.UUID(' + repr(str(iface.uuid)) + ')' if iface.uuid else None},")
            w.line(f"version={iface.version!r},")
            w.line(f"pointer_default={iface.pointer_default!r},")
            if iface.object:
                w.line("object=True,")
            if iface.local:
                w.line("local=True,")
            if iface.base is not None:
                w.line(f"base={self.iface_var[id(iface.base)]},")
            if iface.async_uuid is not None:
                w.line(f"async_uuid=_uuid.UUID({str(iface.async_uuid)!r}),")
            if iface.attrs:
                w.line(f"attrs={iface.attrs!r},")
            w.line("operations=[")
            with w.indent():
                for op in iface.operations:
                    self.operation(op)
            w.line("],")
        w.line(")")

    def operation(self, op: t.Operation) -> None:
        w = self.w
        w.line(f"_t.Operation({op.name!r}, {op.opnum}, params=[")
        with w.indent():
            for p in op.params:
                extra = ""
                if not p.in_:
                    extra += ", in_=False"
                if p.out:
                    extra += ", out=True"
                if p.attrs:
                    extra += f", attrs={p.attrs!r}"
                w.line(f"_t.Param({p.name!r}, {self.ty(p.type)}{extra}),")
        ret = self.ty(op.returns) if op.returns is not None else "None"
        attrs = f", attrs={op.attrs!r}" if op.attrs else ""
        w.line(f"], returns={ret}{attrs}),")

    def _signature(self, op: t.Operation) -> tuple[str, list[str], list[str]]:
        """(binding arg name, python param names, wire in-arg names)."""
        params = op.params
        binding = None
        if params and isinstance(params[0].type, t.Handle):
            binding = py_ident(params[0].name)
            params = params[1:]
        # F36: an [async] operation takes its [out] pipes too (pipes go by reference).
        pnames = [py_ident(p.name) for p in params
                  if (p.in_ or (op.is_async and _pipe_of(p.type) is not None))
                  and not isinstance(p.type, t.Handle)]
        if binding is None:
            binding = "hBinding"
            while binding in pnames or binding == "pAsync":
                binding += "_"
        return binding, pnames, pnames

    def client(self, iface: t.Interface) -> None:
        w = self.w
        ivar = self.iface_var[id(iface)]
        cls = self.names.claim(f"{iface.name}Client", "client class")
        if cls is None:
            return
        w.blank(2)
        w.line(f"class {cls}:")
        with w.indent():
            w.line(f'"""Client proxy for {iface.name}: ``{cls}(binding).Op(*in_args)``."""')
            w.blank()
            w.line(f"__interface__ = {ivar}")
            w.blank()
            w.line("def __init__(self, binding: object) -> None:")
            with w.indent():
                w.line("self._binding = binding")
            for i, op in enumerate(iface.operations):
                _, pnames, args = self._signature(op)
                opref = f"{ivar}.operations[{i}]"
                argt = f"({', '.join(args)}{',' if len(args) == 1 else ''})"
                w.blank()
                if op.is_async:
                    sig = ", ".join(["self", "pAsync", *pnames])
                    w.line(f"def {py_ident(op.name)}({sig}):  # type: ignore[no-untyped-def]")
                    with w.indent():
                        w.line(f"return _support.invoke_async(pAsync, self._binding, {ivar}, "
                               f"{opref}, {argt})")
                else:
                    sig = ", ".join(["self", *pnames])
                    w.line(f"def {py_ident(op.name)}({sig}):  # type: ignore[no-untyped-def]")
                    with w.indent():
                        w.line(f"return _support.invoke(self._binding, {ivar}, {opref}, {argt})")

    def functions(self, iface: t.Interface) -> None:
        w = self.w
        ivar = self.iface_var[id(iface)]
        for i, op in enumerate(iface.operations):
            fname = self.names.claim(op.name, "operation function")
            if fname is None:
                continue
            binding, pnames, args = self._signature(op)
            opref = f"{ivar}.operations[{i}]"
            argt = f"({', '.join(args)}{',' if len(args) == 1 else ''})"
            lead = ["pAsync", binding] if op.is_async else [binding]
            w.blank(2)
            w.line(f"def {fname}({', '.join(lead + pnames)}):  # type: ignore[no-untyped-def]")
            with w.indent():
                outs = [p.name for p in op.params if p.out]
                ret = "the return value" if op.returns is not None else ""
                result = ", ".join(x for x in ([ret] if ret else []) + outs) or "nothing"
                w.line(f'"""{iface.name} opnum {op.opnum}{" [async]" if op.is_async else ""}'
                       f"; returns {result}.\"\"\"")
                if op.is_async:
                    w.line(f"return _support.invoke_async(pAsync, {binding}, {ivar}, {opref}, "
                           f"{argt})")
                else:
                    w.line(f"return _support.invoke({binding}, {ivar}, {opref}, {argt})")


def generate(comp: Compilation) -> str:
    """The Python source of the module for ``comp``."""
    return _Gen(comp).run()
