"""Name resolution and type building: syntax tree → :mod:`dcerpc.ndr.types` descriptors.

Theory of operation
-------------------
A use of a type is a *chain*: a base (a primitive, a named struct/union/enum, or a
marker for ``void``, a context handle or an interface) plus pointer/array *levels*
outermost first. Typedefs store their chain; a use site prepends its own declarator
levels to the typedef's, then applies the use-site attributes to the whole chain, which
is how MIDL lets ``[size_is(n)] PBYTE p`` or ``[unique, string] LPWSTR s`` reach through
a typedef'd pointer. Only then is the chain folded into nested descriptors.

Attribute rules (C706 §4.2.20-24, [MS-RPCE] 2.2.4):

* ``[ref]/[unique]/[ptr]`` set the kind of the outermost pointer. A pointer left without
  a kind is ``[ref]`` when it is the outermost level of an operation parameter (C706
  §4.2.20.1 "top-level pointers"), else it takes the interface's ``pointer_default``
  (``unique`` when absent, [MS-RPCE] 2.2.4.9);
* ``size_is``/``length_is``/``first_is``/``last_is``/``max_is``/``min_is`` take one argument
  per level, outermost first; an empty argument (``size_is(,n)``) skips a level;
* ``[string]`` marks the innermost level, whose element must be a character type;
* ``[range]`` wraps the base scalar; ``[switch_is]`` turns a non-encapsulated union into a
  :class:`~dcerpc.ndr.types.Switch`; ``[context_handle] void *`` and ``[iid_is] void *``
  consume the pointer level they sit on.
"""

from __future__ import annotations

import dataclasses
import uuid as _uuid
from typing import Any

from ..ndr import types as t
from . import _ast as a
from ._chains import (
    ANY_NAME,
    BASE_IDL_DIR,
    BUILTIN_NAMES,
    CHAR_KINDS,
    KNOWN,
    STRUCTURAL,
    UNSUPPORTED,
    VOID,
    Chain,
    Ctx,
    CtxMark,
    IfaceMark,
    Level,
    TypedefInfo,
    _prim,
    err,
    from_base_idl,
)
from ._fold import ExprFolder

__all__ = [
    "ANY_NAME",
    "BASE_IDL_DIR",
    "BUILTIN_NAMES",
    "CHAR_KINDS",
    "KNOWN",
    "STRUCTURAL",
    "UNSUPPORTED",
    "VOID",
    "Chain",
    "Ctx",
    "CtxMark",
    "IfaceMark",
    "Level",
    "TypeResolver",
    "TypedefInfo",
    "_prim",
    "err",
    "from_base_idl",
]


class TypeResolver(ExprFolder):
    """The global (C-like) scope and the type-building half of the compiler."""

    def __init__(self) -> None:
        self.typedefs: dict[str, TypedefInfo] = {}
        self.tags: dict[tuple[str, str], Any] = {}
        self.tag_locs: dict[tuple[str, str], a.Loc] = {}
        self.consts: dict[str, Any] = {}
        self.const_locs: dict[str, a.Loc] = {}
        self.own_consts: list[str] = []
        self.enum_members: dict[str, t.Enum] = {}
        self.named: list[tuple[Any, bool]] = []  # (Struct/Union/Enum, own) in order
        self.own_typedefs: list[str] = []
        self.used_typedefs: set[str] = set()
        self.warnings: list[str] = []
        self.iface_names: dict[str, _uuid.UUID | None] = {}
        self.iface_pointers: list[t.InterfacePointer] = []
        self.acf_typedef_attrs: dict[str, list[a.Attribute]] = {}
        self.own = True
        self._anon = 0

    # ------------------------------------------------------------------ diagnostics
    def warn(self, msg: str, loc: a.Loc | None) -> None:
        self.warnings.append(f"{loc}: warning: {msg}" if loc else f"warning: {msg}")

    def check_attrs(self, attrs: list[a.Attribute]) -> None:
        for at in attrs:
            if at.name not in KNOWN:
                self.warn(f"unknown attribute [{at.name}] ignored", at.loc)

    # ------------------------------------------------------------------ specifiers
    def spec_chain(self, spec: a.DeclSpec, ctx: Ctx, attrs: list[a.Attribute],
                   name_hint: str | None) -> Chain:
        ts = spec.type
        if isinstance(ts, a.BaseType):
            return Chain(_prim(ts.words, ts.loc))
        if isinstance(ts, a.NamedType):
            return self.named_chain(ts.name, ts.loc)
        if isinstance(ts, a.StructSpec):
            desc = self.struct(ts, ctx, name_hint)
            if ts.members is not None and _is_guid(desc, ts.tag, name_hint):
                # [MS-DTYP] 2.3.4.2 GUID: the model's Guid (Python uuid.UUID), not a struct
                self.named = [(d, o) for d, o in self.named if d is not desc]
                if ts.tag:
                    self.tags[("struct", ts.tag)] = t.GUID
                return Chain(t.GUID)
            return Chain(desc)
        if isinstance(ts, a.UnionSpec):
            return Chain(self.union(ts, ctx, attrs, name_hint))
        if isinstance(ts, a.EnumSpec):
            return Chain(self.enum(ts, attrs, name_hint))
        if isinstance(ts, a.PipeSpec):
            inner = self.build(self.spec_chain(ts.element, ctx, [], None), ctx, False, ts.loc)
            return Chain(t.Pipe(inner, name_hint))
        raise err("unsupported type", getattr(ts, "loc", None))

    def named_chain(self, name: str, loc: a.Loc) -> Chain:
        td = self.typedefs.get(name)
        if td is not None:
            if self.own:
                self._mark_used(name)
            if td.chain is None:
                raise err(f"'{name}' is a function pointer type and cannot be marshalled", loc)
            c = td.chain.copy()
            c.typedef = name
            return c
        if name in BUILTIN_NAMES:
            return Chain(BUILTIN_NAMES[name])
        if name in self.iface_names:
            return Chain(IfaceMark(name))
        raise err(f"unknown type name '{name}'", loc)

    def _mark_used(self, name: str) -> None:
        stack = [name]
        while stack:
            n = stack.pop()
            if n in self.used_typedefs:
                continue
            self.used_typedefs.add(n)
            td = self.typedefs.get(n)
            if td:
                stack.extend(td.deps)

    def _anon_name(self, kind: str, ctx: Ctx, hint: str | None) -> str:
        if hint:
            return hint
        self._anon += 1
        return f"{ctx.owner or 'anonymous'}_{kind}{self._anon}"

    def _register(self, key: tuple[str, str], desc: Any, loc: a.Loc) -> None:
        prev = self.tags.get(key)
        if prev is not None and prev is not desc and getattr(prev, "_defined", True) and \
                not from_base_idl(self.tag_locs.get(key)):
            raise err(f"duplicate definition of {key[0]} {key[1]}", loc)
        self.tags[key] = desc
        self.tag_locs[key] = loc

    def struct(self, ts: a.StructSpec, ctx: Ctx, hint: str | None) -> Any:
        if ts.members is None:
            found = self.tags.get(("struct", ts.tag or ""))
            if found is None:  # a forward reference: define it empty now, fill it later
                found = t.Struct(ts.tag or "?")
                found._defined = False  # type: ignore[attr-defined]
                self.tags[("struct", ts.tag or "")] = found
            return found  # type: ignore[no-any-return]
        key = ("struct", ts.tag) if ts.tag else None
        desc = self.tags.get(key) if key else None
        if desc is not None and getattr(desc, "_defined", True):
            if not from_base_idl(self.tag_locs.get(key)):  # type: ignore[arg-type]
                raise err(f"duplicate definition of struct {ts.tag}", ts.loc)
            desc = None
        if key:
            self.tag_locs[key] = ts.loc
        if desc is None:
            desc = t.Struct(self._anon_name("struct", ctx, hint or ts.tag))
            if key:
                self.tags[key] = desc
        elif hint:
            desc.name = hint
        desc._defined = True  # type: ignore[attr-defined]
        self.named.append((desc, self.own))
        sub = dataclasses.replace(ctx, owner=desc.name)
        desc.fields = self.members(ts.members, sub, desc.name)
        return desc

    def union(self, ts: a.UnionSpec, ctx: Ctx, attrs: list[a.Attribute],
              hint: str | None) -> t.Union:
        if ts.members is None:
            found = self.tags.get(("union", ts.tag or ""))
            if found is None:
                raise err(f"unknown union '{ts.tag}'", ts.loc)
            return found  # type: ignore[no-any-return]
        name = self._anon_name("union", ctx, hint or ts.tag)
        switch_type: Any = None
        for at in attrs:
            if at.name == "switch_type" and at.args:
                switch_type = self.type_arg(at.args[0], at.loc)
        desc = t.Union(name, switch_type)
        desc.ms_union = ctx.ms_union or any(x.name == "ms_union" for x in attrs)
        if ts.tag:
            self._register(("union", ts.tag), desc, ts.loc)
        self.named.append((desc, self.own))
        sub = dataclasses.replace(ctx, owner=name)
        if ts.switch is not None:
            assert ts.switch.spec is not None
            sw = self.build(self.spec_chain(ts.switch.spec, sub, [], None), sub, False, ts.loc)
            desc.switch_type = sw
            desc.encapsulated = True
            desc.switch_name = ts.switch.declarators[0].name
            desc.union_name = ts.union_name or "tagged_union"  # C706 §4.2.18.3 default name
        desc.arms = self.arms(ts.members, sub, desc)
        return desc

    def type_arg(self, arg: Any, loc: a.Loc) -> Any:
        if isinstance(arg, a.TypeArg):
            if arg.words:
                return _prim(arg.words, loc)
            if arg.tag:
                found = self.tags.get((arg.tag, arg.name or ""))
                if found is None:
                    raise err(f"unknown {arg.tag} '{arg.name}'", loc)
                return found
            return self.build(self.named_chain(arg.name or "", loc), Ctx(), False, loc)
        if isinstance(arg, t.Ref):
            return self.build(self.named_chain(arg.name, loc), Ctx(), False, loc)
        raise err("expected a type", loc)

    def enum(self, ts: a.EnumSpec, attrs: list[a.Attribute], hint: str | None) -> t.Enum:
        if ts.enumerators is None:
            found = self.tags.get(("enum", ts.tag or ""))
            if found is None:
                raise err(f"unknown enum '{ts.tag}'", ts.loc)
            return found  # type: ignore[no-any-return]
        name = hint or ts.tag or self._anon_name("enum", Ctx(), None)
        members: dict[str, int] = {}
        nxt = 0
        for ename, expr, eloc in ts.enumerators:
            value = nxt if expr is None else self.const_int(expr, eloc)
            if ename in members:
                raise err(f"duplicate enumerator '{ename}'", eloc)
            members[ename] = value
            self.define_const(ename, value, eloc)
            nxt = value + 1
        desc = t.Enum(name, members, v1_enum=any(x.name == "v1_enum" for x in attrs))
        for ename in members:
            self.enum_members[ename] = desc
        if ts.tag:
            self._register(("enum", ts.tag), desc, ts.loc)
        self.named.append((desc, self.own))
        return desc

    # ------------------------------------------------------------------ members / arms
    def members(self, members: list[a.Member], ctx: Ctx, owner: str) -> list[t.Field]:
        fields: list[t.Field] = []
        pending: list[tuple[Chain, list[a.Attribute], str, a.Loc]] = []
        names: list[str] = []
        anon = 0
        for m in members:
            self.check_attrs(m.attrs)
            if m.spec is None:
                raise err("empty member declaration", m.loc)
            decls = m.declarators
            if not decls:
                if not isinstance(m.spec.type, a.UnionSpec | a.StructSpec):
                    raise err("member declaration without a name", m.loc)
                anon += 1
                kind = "UNION" if isinstance(m.spec.type, a.UnionSpec) else "STRUCT"
                # Windows SDK headers name anonymous members DUMMYUNIONNAME, DUMMYSTRUCTNAME...
                fname = f"DUMMY{kind}NAME" + (str(anon) if anon > 1 else "")
                decls = [a.Declarator(fname, [], m.loc)]
            for d in decls:
                assert d.name is not None
                if d.name in names:
                    raise err(f"duplicate field '{d.name}' in {owner}", d.loc)
                names.append(d.name)
                hint = f"{owner}_{d.name}" if isinstance(
                    m.spec.type, a.StructSpec | a.UnionSpec | a.EnumSpec) and \
                    getattr(m.spec.type, "members", getattr(m.spec.type, "enumerators", None)) \
                    is not None and not getattr(m.spec.type, "tag", None) else None
                base = self.spec_chain(m.spec, ctx, m.attrs, hint)
                chain = self.declare(d, base)
                pending.append((chain, m.attrs, d.name, d.loc))
        known = set(names)
        for chain, attrs, fname, loc in pending:
            self.apply_attrs(chain, attrs, known, loc, f"field {fname} of {owner}")
            fields.append(t.Field(fname, self.build(chain, ctx, False, loc)))
        self.infer_switch_types([(f.name, f.type) for f in fields], members[0].loc
                                if members else None)
        return fields

    def arms(self, members: list[a.Member], ctx: Ctx, union: t.Union) -> list[t.Arm]:
        arms: list[t.Arm] = []
        seen: set[int] = set()
        has_default = False
        for m in members:
            self.check_attrs(m.attrs)
            cases: list[int] = []
            is_default = False
            if m.cases is not None:
                for c in m.cases:
                    if c is None:
                        is_default = True
                    else:
                        cases.append(self.const_int(c, m.loc))
            for at in m.attrs:
                if at.name == "case":
                    for arg in at.args or []:
                        cases.append(self.const_int(arg, at.loc))
                elif at.name == "default":
                    is_default = True
            if not cases and not is_default:
                raise err(f"union {union.name}: arm without [case] or [default]", m.loc)
            for c in cases:
                if c in seen:
                    raise err(f"union {union.name}: duplicate case {c}", m.loc)
                seen.add(c)
            if is_default:
                if has_default:
                    raise err(f"union {union.name}: more than one [default]", m.loc)
                has_default = True
            if m.spec is None or (not m.declarators and isinstance(m.spec.type, a.BaseType) \
                    and m.spec.type.words == ("void",)):
                arm_t: t.NdrType | None = None
                aname = None
            else:
                decls = m.declarators or [a.Declarator(f"DUMMYNAME{len(arms)}", [], m.loc)]
                if len(decls) != 1:
                    raise err("a union arm declares one member", m.loc)
                d = decls[0]
                hint = f"{union.name}_{d.name}" if getattr(m.spec.type, "tag", 1) is None else None
                chain = self.declare(d, self.spec_chain(m.spec, ctx, m.attrs, hint))
                self.apply_attrs(chain, m.attrs, None, d.loc, f"arm {d.name} of {union.name}",
                                 free_names=True)
                arm_t = self.build(chain, ctx, False, d.loc)
                aname = d.name
            arms.append(t.Arm(cases if not is_default else [], aname, arm_t))
            if is_default and cases:  # ``case 1: default:`` — keep both meanings
                arms[-1].cases = []
        return arms

    def infer_switch_types(self, named: list[tuple[str, t.NdrType]], loc: a.Loc | None) -> None:
        """MIDL takes a union's discriminant type from its ``switch_is`` field when the
        union has no ``[switch_type]``."""
        types_by_name = dict(named)
        for _, ty in named:
            sw = _find_switch(ty)
            if sw is None or sw.union.switch_type is not None:
                continue
            ref = _root_ref(sw.switch_is)
            src = types_by_name.get(ref) if ref else None
            while isinstance(src, t.Pointer | t.Range):
                src = src.target if isinstance(src, t.Pointer) else src.type
            if isinstance(src, t.Primitive | t.Enum):
                sw.union.switch_type = src
            else:
                self.warn(f"union {sw.union.name} has no [switch_type]; assuming long", loc)
                sw.union.switch_type = t.LONG

    # ------------------------------------------------------------------ chains
    def declare(self, d: a.Declarator, base: Chain) -> Chain:
        """Prepend a declarator's levels to a base chain (arrays fold their bounds)."""
        c = base.copy()
        new: list[Level] = []
        for lv in d.levels:
            if isinstance(lv, a.PtrLevel):
                new.append(Level(ptr=True))
            else:
                if lv.bound is None:
                    new.append(Level(ptr=False, dim=t.Dim()))
                else:
                    n = self.const_int(lv.bound, d.loc)
                    if n < 0:
                        raise err(f"negative array size {n}", d.loc)
                    new.append(Level(ptr=False, dim=t.Dim(fixed=n)))
        c.levels = new + c.levels
        if d.func_ptr or d.params is not None:
            raise err(f"'{d.name}' is a function and cannot be marshalled here", d.loc)
        return c

    def apply_attrs(self, c: Chain, attrs: list[a.Attribute], names: set[str] | None,
                    loc: a.Loc, what: str, free_names: bool = False) -> None:
        """Fold use-site attributes into the chain (see the module docstring)."""
        for at in attrs:
            n = at.name
            if n in ("ref", "unique", "ptr"):
                target = next((lv for lv in c.levels if lv.ptr), None)
                if target is None and c.levels:
                    # An array parameter is passed as a pointer in C: [ref] changes nothing,
                    # [unique]/[ptr] make it a pointer to the (conformant) array.
                    if n != "ref":
                        c.levels[0] = Level(ptr=True, kind=n, dim=c.levels[0].dim,
                                            string=c.levels[0].string)
                    continue
                if target is None:
                    if c.base == VOID or isinstance(c.base, CtxMark | IfaceMark):
                        continue
                    raise err(f"[{n}] on {what}, which is not a pointer", at.loc)
                target.kind = n
            elif n in ("size_is", "length_is", "first_is", "last_is", "max_is", "min_is"):
                args = at.args or []
                levels = c.levels
                if len(args) > len(levels):
                    raise err(f"[{n}] on {what} has {len(args)} argument(s) but the type has "
                              f"{len(levels)} pointer/array level(s)", at.loc)
                for lv, arg in zip(levels, args, strict=False):
                    if arg is None:
                        continue
                    e = self.fold(arg, ANY_NAME if free_names else names, at.loc,
                                  f"[{n}] of {what}")
                    lv.dim = dataclasses.replace(lv.dim or t.Dim(), **{n: e})
            elif n == "string":
                if not c.levels:
                    raise err(f"[string] on {what}, which is not an array or pointer", at.loc)
                inner = c.base
                if isinstance(inner, t.Range):
                    inner = inner.type
                if not (isinstance(inner, t.Primitive) and inner.kind in CHAR_KINDS) and not \
                        isinstance(inner, t.Struct):
                    raise err(f"[string] on {what}: element type is not a character type",
                              at.loc)
                c.levels[-1].string = True
            elif n == "range":
                args = at.args or []
                if len(args) != 2 or args[0] is None or args[1] is None:
                    raise err("[range] takes two constant arguments", at.loc)
                c.range = (self.const_int(args[0], at.loc), self.const_int(args[1], at.loc))
            elif n == "switch_is":
                if not at.args or at.args[0] is None:
                    raise err("[switch_is] needs an expression", at.loc)
                c.switch_is = self.fold(at.args[0], ANY_NAME if free_names else names, at.loc,
                                        f"[switch_is] of {what}")
            elif n == "iid_is":
                if not at.args or at.args[0] is None:
                    raise err("[iid_is] needs an expression", at.loc)
                c.iid_is = self.fold(at.args[0], ANY_NAME if free_names else names, at.loc,
                                     f"[iid_is] of {what}")
            elif n == "context_handle":
                c.context_handle = True
            elif n == "handle":
                c.handle = True
            elif n == "switch_type":
                if isinstance(c.base, t.Union) and c.base.switch_type is None and at.args:
                    c.base.switch_type = self.type_arg(at.args[0], at.loc)
            elif n in UNSUPPORTED:
                self.warn(f"[{n}] is not supported: {what} is marshalled as declared", at.loc)
        self.normalize(c, None, bool(any(x.name == "strict_context_handle" for x in attrs)))

    def normalize(self, c: Chain, name: str | None, strict: bool = False) -> None:
        """``[context_handle] void *`` → a context handle base (the pointer IS the handle)."""
        if c.context_handle and c.base == VOID and c.levels and c.levels[-1].ptr:
            c.levels.pop()
            c.base = CtxMark(name, strict)
        elif c.context_handle and c.base == VOID and not c.levels:
            c.base = CtxMark(name, strict)
        c.context_handle = False

    def build(self, c: Chain, ctx: Ctx, top_level: bool, loc: a.Loc) -> t.NdrType:
        """Fold a chain into descriptors, innermost first."""
        base = c.base
        if isinstance(base, CtxMark):
            node: Any = t.ContextHandle(base.name, base.strict or ctx.strict_context_handle)
        elif isinstance(base, IfaceMark):
            node = base
        elif base == VOID:
            node = VOID
        else:
            node = base
        if c.range is not None and isinstance(node, t.Primitive | t.Enum):
            node = t.Range(node, c.range[0], c.range[1])
        if c.switch_is is not None:
            if not isinstance(node, t.Union) or node.encapsulated:
                raise err("[switch_is] on a type that is not a non-encapsulated union", loc)
            node = t.Switch(node, c.switch_is)
        levels = c.levels
        i = len(levels) - 1
        while i >= 0:
            lv = levels[i]
            if lv.ptr:
                if node == VOID or isinstance(node, IfaceMark):
                    if isinstance(node, IfaceMark) or c.iid_is is not None:
                        ip = t.InterfacePointer(
                            interface=node.name if isinstance(node, IfaceMark) else None,
                            iid_is=c.iid_is)
                        self.iface_pointers.append(ip)
                        node = ip
                        i -= 1
                        continue
                    raise err("a void pointer cannot be marshalled (use [context_handle] or "
                              "[iid_is], or mark the operation [local])", loc)
                target = node
                if lv.dim is not None or lv.string:
                    target = t.Array(node, (lv.dim or t.Dim(),), string=lv.string)
                kind = lv.kind or ("ref" if top_level and i == 0 else ctx.pointer_default)
                node = t.Pointer(kind, target)  # type: ignore[arg-type]
                i -= 1
            else:
                j = i
                while j - 1 >= 0 and not levels[j - 1].ptr:
                    j -= 1
                dims = tuple(levels[k].dim or t.Dim() for k in range(j, i + 1))
                if node == VOID or isinstance(node, IfaceMark):
                    raise err("an array of void cannot be marshalled", loc)
                node = t.Array(node, dims, string=levels[i].string)
                i = j - 1
        if node == VOID:
            raise err("'void' is not a marshallable type here", loc)
        if isinstance(node, IfaceMark):
            raise err(f"interface {node.name} can only be used through a pointer", loc)
        return node  # type: ignore[no-any-return]


def _is_guid(desc: Any, tag: str | None, hint: str | None) -> bool:
    return (tag in ("_GUID", "GUID", "_UUID") or hint in ("GUID", "UUID")) and \
        isinstance(desc, t.Struct) and \
        [f.name for f in desc.fields] == ["Data1", "Data2", "Data3", "Data4"]


def _find_switch(ty: t.NdrType) -> t.Switch | None:
    while True:
        if isinstance(ty, t.Switch):
            return ty
        if isinstance(ty, t.Pointer):
            ty = ty.target
        elif isinstance(ty, t.Array):
            ty = ty.element
        else:
            return None


def _root_ref(e: t.Expr) -> str | None:
    while isinstance(e, t.Deref | t.Attr | t.Unary):
        e = e.operand
    return e.name if isinstance(e, t.Ref) else None
