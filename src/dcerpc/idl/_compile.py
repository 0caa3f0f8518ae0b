"""Files, imports, interfaces, operations and the ACF: the driver of one compilation.

``import "x.idl"`` (C706 §4.2.1) makes x's types and constants visible; x's interfaces
are known (for ``[object]`` inheritance and interface pointers) but not generated as
ours. Opnums: each non-[local] operation takes the next number in declaration order,
continuing after the base interface's operations ([MS-RPCE] 3.1.1.5.4 / MIDL).
"""

from __future__ import annotations

import dataclasses
import os
import uuid as _uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import IdlError
from ..ndr import types as t
from . import _ast as a
from ._forward import (
    Postponed,
    contains_itself,
    declared_names,
    find_cycle,
    item_declares,
    used_names,
    uses_own_names,
)
from ._parser import parse_acf, parse_idl
from ._preprocess import Preprocessor, find_file
from ._resolve import (
    BUILTIN_NAMES,
    STRUCTURAL,
    Chain,
    Ctx,
    TypedefInfo,
    TypeResolver,
    _prim,
    err,
    from_base_idl,
)

__all__ = ["Compilation", "compile_idl"]


@dataclass
class Compilation:
    """The result of compiling one IDL file (plus its imports and ACF)."""

    source_path: str
    interfaces: list[t.Interface] = field(default_factory=list)  # ours, in order
    all_interfaces: dict[str, t.Interface] = field(default_factory=dict)
    consts: dict[str, Any] = field(default_factory=dict)  # ours
    enum_members: dict[str, t.Enum] = field(default_factory=dict)
    named: list[tuple[Any, bool]] = field(default_factory=list)  # (Struct/Union/Enum, own)
    typedefs: dict[str, t.NdrType] = field(default_factory=dict)  # name -> descriptor
    own_typedefs: list[str] = field(default_factory=list)
    used_typedefs: set[str] = field(default_factory=set)
    tags: dict[tuple[str, str], Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _attr_value(arg: Any) -> Any:
    """A plain-Python rendering of an attribute argument, for ``attrs`` dicts."""
    if arg is None:
        return None
    if isinstance(arg, str):
        return arg
    if isinstance(arg, a.Num):
        return arg.value
    if isinstance(arg, a.Str):
        return arg.value
    if isinstance(arg, t.Const):
        return arg.value
    if isinstance(arg, t.Ref):
        return arg.name
    if isinstance(arg, a.NameDecl):
        return arg.name
    if isinstance(arg, a.TypeArg):
        return " ".join(arg.words) if arg.words else arg.name
    return repr(arg)


def attrs_dict(attrs: list[a.Attribute], skip: frozenset[str] = STRUCTURAL) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for at in attrs:
        if at.name in skip:
            continue
        if at.args is None:
            out[at.name] = True
        else:
            vals = [_attr_value(x) for x in at.args]
            out[at.name] = vals[0] if len(vals) == 1 else tuple(vals)
    return out


def _parse_uuid(at: a.Attribute) -> _uuid.UUID:
    raw = at.args[0] if at.args else None
    text = raw.value if isinstance(raw, a.Str) else raw
    try:
        return _uuid.UUID(str(text))
    except ValueError:
        raise err(f"malformed UUID in [{at.name}]: {text!r}", at.loc) from None


def _parse_version(at: a.Attribute) -> tuple[int, int]:
    raw = at.args[0] if at.args else None
    text = raw.text if isinstance(raw, a.Num) else str(_attr_value(raw))
    major, _, minor = text.partition(".")
    try:
        v = (int(major), int(minor or 0))
    except ValueError:
        raise err(f"malformed version {text!r}", at.loc) from None
    if not all(0 <= x <= 0xFFFF for x in v):
        raise err(f"version {text} out of range (0..65535)", at.loc)
    return v


class Compiler(TypeResolver):
    def __init__(self, include_dirs: Sequence[str], defines: Mapping[str, str | None] | None,
                 read: Callable[[str], str] | None = None) -> None:
        super().__init__()
        self.include_dirs = list(include_dirs)
        self.defines = dict(defines or {})
        self.read = read
        self.seen_files: set[str] = set()
        self.interfaces: dict[str, t.Interface] = {}
        self.iface_defined_at: dict[str, a.Loc] = {}
        self.own_interfaces: list[t.Interface] = []
        self.acf: dict[str, a.AcfInterface] = {}
        self.acf_used_ops: set[tuple[str, str]] = set()
        self.declared: set[str] = set()  # every type name the files read so far define
        self.postponed: list[Postponed] = []  # items waiting for a later definition
        self.next_opnums: dict[str, int] = {}  # interface -> opnums taken incl. inherited

    # ------------------------------------------------------------------ files
    def compile_file(self, path: str, acf_path: str | None) -> Compilation:
        path = os.path.abspath(path)
        if acf_path is not None:
            self.load_acf(acf_path)
        self.process_file(path, own=True)
        self.finish_postponed()
        ring = contains_itself(self.named)
        if ring is not None:
            where = next((v for (k, n), v in self.tag_locs.items() if n == ring[0] or
                          getattr(self.tags.get((k, n)), "name", None) == ring[0]), None)
            raise err(f"{ring[0]} contains itself by value ({' -> '.join(ring)}); "
                      "only a pointer can refer back", where)
        for (iname, opname), acf_op in self._acf_ops().items():
            if (iname, opname) not in self.acf_used_ops and \
                    iname in {i.name for i in self.own_interfaces}:
                raise err(f"ACF names operation '{opname}', which interface {iname} "
                          "does not declare", acf_op.loc)
        for name, acf_iface in self.acf.items():
            if name not in {i.name for i in self.own_interfaces}:
                raise err(f"ACF describes interface '{name}', which the IDL does not define",
                          acf_iface.loc)
        for ip in self.iface_pointers:
            iface = self.interfaces.get(ip.interface or "")
            if iface is not None and ip.iid is None:
                ip.iid = iface.uuid
        comp = Compilation(path)
        comp.interfaces = self.own_interfaces
        comp.all_interfaces = self.interfaces
        comp.consts = {k: self.consts[k] for k in self.own_consts}
        comp.enum_members = self.enum_members
        comp.named = self.named
        comp.own_typedefs = self.own_typedefs
        comp.used_typedefs = self.used_typedefs
        comp.warnings = self.warnings
        comp.tags = self.tags
        for name, td in self.typedefs.items():
            if td.chain is None:
                continue
            try:
                ctx = Ctx(pointer_default=td.pointer_default)
                comp.typedefs[name] = self.build(td.chain.copy(), ctx, False, td.loc)
            except IdlError:
                continue  # e.g. ``typedef void *PVOID``: fine to declare, not to marshal
        return comp

    def _acf_ops(self) -> dict[tuple[str, str], a.AcfOperation]:
        return {(i.name, op.name): op for i in self.acf.values() for op in i.operations}

    def load_acf(self, path: str) -> None:
        pp = Preprocessor(self.include_dirs, self.defines, self.read).run_file(path)
        for item in parse_acf(pp):
            if isinstance(item, a.AcfInterface):
                if item.name in self.acf:
                    raise err(f"duplicate ACF interface '{item.name}'", item.loc)
                self.acf[item.name] = item
                for td in item.typedefs:
                    for name, _ in td.names:
                        self.acf_typedef_attrs.setdefault(name, []).extend(td.attrs)

    def process_file(self, path: str, own: bool) -> None:
        if path in self.seen_files:
            return
        self.seen_files.add(path)
        pp = Preprocessor(self.include_dirs, self.defines, self.read).run_file(path)
        items = parse_idl(pp)
        self.declared |= declared_names(items)
        saved = self.own
        self.own = own
        try:
            self.items(items, os.path.dirname(path), None)
        finally:
            self.own = saved

    def do_import(self, imp: a.Import, cur_dir: str) -> None:
        for name in imp.paths:
            found = find_file(name, cur_dir, self.include_dirs)
            if found is None:
                raise err(f"cannot find imported file '{name}' (searched the importing "
                          "file's directory, -I directories and the shipped base IDL)", imp.loc)
            self.process_file(found, own=False)

    # ------------------------------------------------------------------ items
    def items(self, items: list[Any], cur_dir: str, iface: _IfaceState | None) -> None:
        for it in items:
            if isinstance(it, a.Import):
                self.do_import(it, cur_dir)
            elif isinstance(it, a.Ignored):
                continue
            elif isinstance(it, a.InterfaceFwd):
                self.iface_names.setdefault(it.name, None)
            elif isinstance(it, a.InterfaceDef):
                self.interface(it, cur_dir)
            elif isinstance(it, a.Library):
                self.check_attrs(it.attrs)
                self.items(it.items, cur_dir, iface)
            elif isinstance(it, a.Typedef | a.Declaration):
                self.run_or_postpone(it, iface)

    # ------------------------------------------------------------------ forward references
    def run_or_postpone(self, it: a.Typedef | a.Declaration, iface: _IfaceState | None) -> None:
        """Process ``it`` now, or postpone it while it uses names defined later (MIDL
        accepts such forward references; see :mod:`._forward`)."""
        needs = self._pending(used_names(it))
        own = self.own
        forward = None
        reserved: list[int] | None = None
        if isinstance(it, a.Typedef):
            ts = it.spec.type
            if isinstance(ts, a.StructSpec) and ts.tag and ts.members is not None:
                fwd = a.Typedef(it.attrs, a.DeclSpec(a.StructSpec(ts.tag, None, ts.loc),
                                                     it.spec.const), it.declarators, it.loc)
                forward = self._with_own(own, lambda: self._run(fwd, iface, None))
        self_forward = forward if uses_own_names(it) else None

        def run() -> None:
            if self_forward is not None:
                self_forward()  # the body uses the typedef's own names: declare them first
            self._run(it, iface, reserved)

        if not needs:
            run()
            self.retry_postponed()
            return
        if isinstance(it, a.Declaration) and iface is not None:
            # keep the opnums of postponed operations in declaration order
            reserved = [iface.reserve() for d in it.declarators if iface.takes_opnum(it, d)]
        self.postponed.append(Postponed(self._with_own(own, run), needs, item_declares(it),
                                        it.loc, forward))

    def _with_own(self, own: bool, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            saved = self.own
            self.own = own
            try:
                fn()
            finally:
                self.own = saved
        return run

    def _run(self, it: a.Typedef | a.Declaration, iface: _IfaceState | None,
             reserved: list[int] | None) -> None:
        if isinstance(it, a.Typedef):
            self.typedef(it, iface.ctx if iface else Ctx())
        else:
            self.declaration(it, iface, reserved)

    def _pending(self, names: set[str]) -> set[str]:
        return {n for n in names if n in self.declared and not self._defined(n)}

    def _defined(self, name: str) -> bool:
        kind, _, tag = name.partition(" ")
        if tag:
            return (kind, tag) in self.tags
        return name in self.typedefs or name in self.iface_names or name in BUILTIN_NAMES

    def retry_postponed(self) -> None:
        """Run every postponed item whose names are all defined now, until none is."""
        progress = True
        while progress and self.postponed:
            progress = False
            for p in self.postponed:
                p.needs = self._pending(p.needs)
                if not p.needs:
                    self.postponed.remove(p)
                    p.run()
                    progress = True
                    break

    def finish_postponed(self) -> None:
        """End of the compilation: break cycles through struct tags, else diagnose."""
        while self.postponed:
            self.retry_postponed()
            if not self.postponed:
                return
            cand = next((p for p in self.postponed if p.forward and not p.tried_forward), None)
            if cand is not None and cand.forward is not None:
                # ``typedef struct A {PB b;} A, *PA; typedef struct B {PA a;} B, *PB;``:
                # declare A/PA over the (still empty) struct A first, as C's ``struct A;``
                cand.tried_forward = True
                cand.forward()
                continue
            found = find_cycle(self.postponed)
            if found is not None:
                cycle, where = found
                raise err("circular type definition: " + " -> ".join(
                    f"'{n}'" for n in cycle) + " (each is defined in terms of the next; "
                    "only a pointer to a struct tag can refer back)", where)
            self.postponed.pop(0).run()  # raises its own diagnostic

    def typedef(self, td: a.Typedef, ctx: Ctx) -> None:
        self.check_attrs(td.attrs)
        plain = next((d.name for d in td.declarators if not d.levels and d.params is None
                      and not d.func_ptr), None)
        attrs = list(td.attrs)
        if plain and plain in self.acf_typedef_attrs:
            attrs += self.acf_typedef_attrs[plain]
        deps = _type_names(td.spec)
        sub = dataclasses.replace(ctx, owner=plain or ctx.owner,
                                  ms_union=ctx.ms_union or any(x.name == "ms_union"
                                                               for x in attrs))
        base = self.spec_chain(td.spec, sub, attrs, plain)
        wire = next((x for x in attrs if x.name in ("transmit_as", "wire_marshal")), None)
        if wire is not None and wire.args:
            arg = wire.args[0]
            if isinstance(arg, a.TypeArg) and arg.words:
                base = Chain(_prim(arg.words, wire.loc))
            elif isinstance(arg, t.Ref) or (isinstance(arg, a.TypeArg) and arg.name):
                base = self.named_chain(arg.name, wire.loc)
            self.warn(f"[{wire.name}]: values of {plain} are sent as the transmitted type; "
                      "conversion routines are the application's", wire.loc)
        for d in td.declarators:
            name = d.name
            assert name is not None
            if name in ("wchar_t", "handle_t", "error_status_t"):
                continue  # ms-dtyp.idl redeclares the builtins; keep their NDR meaning
            prev = self.typedefs.get(name)
            if d.params is not None or d.func_ptr:
                info = TypedefInfo(name, None, d.loc, ctx.pointer_default, self.own)
            else:
                chain = self.declare(d, base)
                acf_attrs = self.acf_typedef_attrs.get(name, []) if name != plain else []
                self.apply_attrs(chain, attrs + acf_attrs, None, d.loc, f"typedef {name}")
                if chain.base.__class__.__name__ == "CtxMark" and chain.base.name is None:
                    strict = chain.base.strict or any(
                        x.name == "strict_context_handle" for x in attrs + acf_attrs)
                    chain.base = type(chain.base)(name, strict)
                info = TypedefInfo(name, chain, d.loc, ctx.pointer_default, self.own,
                                   deps=deps, attrs=attrs_dict(attrs))
            if prev is not None and prev.loc != d.loc:
                if _same_chain(prev.chain, info.chain):
                    continue  # an identical redefinition (two imports of one header)
                if from_base_idl(prev.loc) and from_base_idl(d.loc):
                    # The shipped oaidl.idl is [MS-OAUT]'s published text: its BSTR is a
                    # FLAGGED_WORD_BLOB pointer (2.2.23), not [MS-DTYP]'s WCHAR*, and it
                    # repeats a few [MS-DTYP] names; for its importers (and when it is
                    # loaded itself) [MS-OAUT] wins.
                    self.typedefs[name] = info
                    if self.own:
                        self.own_typedefs.append(name)
                    continue
                if from_base_idl(prev.loc) and not from_base_idl(d.loc):
                    self.warn(f"'{name}' redefines the base IDL type of {prev.loc}", d.loc)
                    self.typedefs[name] = info
                    if self.own:
                        self.own_typedefs.append(name)
                    continue
                raise err(f"duplicate definition of type '{name}' (first defined at "
                          f"{prev.loc})", d.loc)
            self.typedefs[name] = info
            if self.own and prev is None:  # prev at d.loc: the forward declaration of this
                self.own_typedefs.append(name)  # typedef (finish_postponed), now complete

    def declaration(self, decl: a.Declaration, iface: _IfaceState | None,
                    reserved: list[int] | None = None) -> None:
        self.check_attrs(decl.attrs)
        if not decl.declarators:  # ``struct X {...};`` / ``enum E {...};``
            self.spec_chain(decl.spec, iface.ctx if iface else Ctx(), decl.attrs, None)
            return
        for d in decl.declarators:
            if d.params is not None and not d.func_ptr:
                if iface is None:
                    self.warn(f"operation {d.name} outside an interface ignored", d.loc)
                    continue
                iface.operation(decl, d, reserved.pop(0) if reserved else None)
            elif d.init is not None:
                value = self.const_value(d.init, d.loc)
                assert d.name is not None
                self.define_const(d.name, value, d.loc)
            elif d.func_ptr:
                continue
            else:
                raise err(f"'{d.name}': only constants, types and operations can be declared",
                          d.loc)

    # ------------------------------------------------------------------ interfaces
    def interface(self, node: a.InterfaceDef, cur_dir: str) -> None:
        self.check_attrs(node.attrs)
        if node.name in self.interfaces:
            raise err(f"duplicate definition of interface '{node.name}' (first defined at "
                      f"{self.iface_defined_at[node.name]})", node.loc)
        acf = self.acf.get(node.name) if self.own else None
        all_attrs = list(node.attrs) + (acf.attrs if acf else [])
        iface = t.Interface(node.name, None)
        for at in all_attrs:
            if at.name == "uuid":
                iface.uuid = _parse_uuid(at)
            elif at.name == "async_uuid":
                iface.async_uuid = _parse_uuid(at)
            elif at.name == "version":
                iface.version = _parse_version(at)
            elif at.name == "pointer_default":
                kind = str(_attr_value(at.args[0])) if at.args else ""
                if kind not in ("ref", "unique", "ptr"):
                    raise err(f"pointer_default must be ref, unique or ptr, not {kind!r}",
                              at.loc)
                iface.pointer_default = kind  # type: ignore[assignment]
            elif at.name == "object":
                iface.object = True
            elif at.name == "local":
                iface.local = True
        iface.attrs = attrs_dict(all_attrs, STRUCTURAL | {
            "uuid", "async_uuid", "version", "pointer_default", "object", "local"})
        if "ms_union" in {x.name for x in all_attrs}:
            iface.attrs["ms_union"] = True
        if node.base:
            base = self.interfaces.get(node.base)
            if base is None:
                what = "declared but not defined" if node.base in self.iface_names else "unknown"
                raise err(f"base interface '{node.base}' of {node.name} is {what}", node.loc)
            iface.base = base
        if iface.async_uuid is not None:
            _check_async_capable(iface, {x.name for x in all_attrs}, node.loc)
        self.iface_names[node.name] = iface.uuid
        self.interfaces[node.name] = iface
        self.iface_defined_at[node.name] = node.loc
        state = _IfaceState(self, iface, acf)
        self.items(node.items, cur_dir, state)
        self.next_opnums[node.name] = state.next_opnum
        if self.own:
            self.own_interfaces.append(iface)


#: IID_IDispatch ([MS-OAUT] 3.1.4): COM has no asynchronous form of it (seed F42).
_IID_IDispatch = _uuid.UUID("00020400-0000-0000-c000-000000000046")


def _check_async_capable(iface: t.Interface, attr_names: set[str], loc: Any) -> None:
    """MIDL refuses ``[async_uuid]`` with ``[dual]``/``dispinterface`` and on anything
    derived from IDispatch: COM has no async support for IDispatch (seed F42)."""
    if "dual" in attr_names:
        raise err(f"interface {iface.name}: [async_uuid] cannot be combined with [dual] "
                  "(COM has no asynchronous IDispatch)", loc)
    b = iface.base
    while b is not None:
        if b.name == "IDispatch" or b.uuid == _IID_IDispatch:
            raise err(f"interface {iface.name}: [async_uuid] on an interface derived from "
                      "IDispatch (COM has no asynchronous IDispatch)", loc)
        b = b.base


class _IfaceState:
    """Per-interface resolution: context for types, next opnum, operations."""

    def __init__(self, comp: Compiler, iface: t.Interface, acf: a.AcfInterface | None) -> None:
        self.comp = comp
        self.iface = iface
        self.acf_ops = {op.name: op for op in acf.operations} if acf else {}
        self.ctx = Ctx(pointer_default=iface.pointer_default,
                       ms_union=bool(iface.attrs.get("ms_union")),
                       strict_context_handle=bool(iface.attrs.get("strict_context_handle")),
                       owner=iface.name)
        base_count = 0
        b = iface.base
        while b is not None:
            base_count += sum(1 for _ in b.operations)
            b = b.base
        if iface.base is not None:  # counts operations of the base still postponed too
            base_count = comp.next_opnums.get(iface.base.name, base_count)
        self.next_opnum = base_count

    def takes_opnum(self, decl: a.Declaration, d: a.Declarator) -> bool:
        return d.params is not None and not d.func_ptr and not self.iface.local and \
            not any(x.name == "local" for x in decl.attrs)

    def reserve(self) -> int:
        self.next_opnum += 1
        return self.next_opnum - 1

    def operation(self, decl: a.Declaration, d: a.Declarator, opnum: int | None = None) -> None:
        comp = self.comp
        name = d.name or "?"
        attrs = list(decl.attrs)
        if any(x.name == "local" for x in attrs) or self.iface.local:
            return  # [local] operations take no opnum ([MS-RPCE] 3.1.1.5.4, MIDL)
        if any(op.name == name for op in self.iface.operations):
            raise err(f"duplicate operation '{name}' in interface {self.iface.name}", d.loc)
        acf = self.acf_ops.get(name)
        if acf is not None:
            comp.check_attrs(acf.attrs)
            attrs += acf.attrs
            comp.acf_used_ops.add((self.iface.name, name))
        ctx = dataclasses.replace(self.ctx, owner=f"{self.iface.name}_{name}")
        ret_decl = a.Declarator(None, d.levels, d.loc)
        ret_chain = comp.declare(ret_decl, comp.spec_chain(decl.spec, ctx, [], None))
        returns: t.NdrType | None
        if ret_chain.base == "void" and not ret_chain.levels:
            returns = None
        else:
            for lv in ret_chain.levels:
                lv.kind = lv.kind or "unique"
            returns = comp.build(ret_chain, ctx, False, d.loc)
        params_ast = d.params or []
        if len(params_ast) == 1 and params_ast[0].spec is not None and \
                isinstance(params_ast[0].spec.type, a.BaseType) and \
                params_ast[0].spec.type.words == ("void",) and \
                not params_ast[0].declarators[0].levels and not params_ast[0].declarators[0].name:
            params_ast = []
        pnames: list[str] = []
        for i, p in enumerate(params_ast):
            pname = p.declarators[0].name or f"arg{i}"
            if pname in pnames:
                raise err(f"duplicate parameter '{pname}' in {name}", p.loc)
            pnames.append(pname)
        known = set(pnames)
        params: list[t.Param] = []
        for pname, p in zip(pnames, params_ast, strict=True):
            comp.check_attrs(p.attrs)
            assert p.spec is not None
            pattrs = list(p.attrs)
            if acf is not None and acf.params:
                for acf_name, acf_attrs, _ in acf.params:
                    if acf_name == pname:
                        pattrs += acf_attrs
            chain = comp.declare(p.declarators[0], comp.spec_chain(p.spec, ctx, pattrs, None))
            comp.apply_attrs(chain, pattrs, known, p.loc, f"parameter {pname} of {name}")
            names = {x.name for x in pattrs}
            is_in = "in" in names or "out" not in names
            is_out = "out" in names
            ptype = comp.build(chain, ctx, True, p.loc)
            pa = attrs_dict(pattrs)
            if chain.handle or (chain.typedef and comp.typedefs.get(chain.typedef) and
                                comp.typedefs[chain.typedef].chain is not None and
                                comp.typedefs[chain.typedef].chain.handle):  # type: ignore[union-attr]
                pa["handle"] = True
            if is_out and not isinstance(ptype, t.Pointer | t.Array | t.ContextHandle) and \
                    not isinstance(ptype, t.Pipe):
                raise err(f"[out] parameter {pname} of {name} must be a pointer or an array",
                          p.loc)
            params.append(t.Param(pname, ptype, in_=is_in, out=is_out, attrs=pa))
        comp.infer_switch_types([(p.name, p.type) for p in params], d.loc)
        opattrs = attrs_dict(attrs)
        if acf is not None and acf.params:
            extra = {n: attrs_dict(x) for n, x, _ in acf.params if n not in known}
            if extra:
                opattrs["acf_params"] = extra
        if opnum is None:
            opnum = self.reserve()
        op = t.Operation(name, opnum, params, returns, opattrs)
        ops = self.iface.operations
        at = len(ops)
        while at and ops[at - 1].opnum > opnum:  # a postponed operation keeps its place
            at -= 1
        ops.insert(at, op)


def _type_names(spec: a.DeclSpec) -> set[str]:
    ts = spec.type
    if isinstance(ts, a.NamedType):
        return {ts.name}
    if isinstance(ts, a.PipeSpec):
        return _type_names(ts.element)
    out: set[str] = set()
    members = getattr(ts, "members", None) or []
    for m in members:
        if m.spec is not None:
            out |= _type_names(m.spec)
    sw = getattr(ts, "switch", None)
    if sw is not None and sw.spec is not None:
        out |= _type_names(sw.spec)
    return out


def _same_chain(x: Chain | None, y: Chain | None) -> bool:
    if x is None or y is None:
        return x is y
    return x.base is y.base and x.levels == y.levels and x.range == y.range


def compile_idl(path: str, acf: str | None = None, include_dirs: Sequence[str] = (),
                defines: Mapping[str, str | None] | None = None,
                read: Callable[[str], str] | None = None) -> Compilation:
    """Compile ``path`` (and ``acf``) into a :class:`Compilation`; raises IdlError."""
    dirs = [os.path.abspath(d) for d in include_dirs]
    return Compiler(dirs, defines, read).compile_file(path, acf)
