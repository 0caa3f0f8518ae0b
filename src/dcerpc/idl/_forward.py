"""Forward references to type names: which names an item declares and which it uses.

MIDL resolves a typedef name used before its definition when the definition comes later in
the same compilation; the published [MS-OAUT] Appendix A IDL relies on it
(``typedef [unique] SAFEARRAY * PSAFEARRAY;`` precedes ``struct _wireSAFEARRAY {...}
*SAFEARRAY;``, and ``struct _wireVARIANT`` uses ``PSAFEARRAY`` in between).

The compiler pre-scans every file it reads for the names it declares (typedef declarators,
interfaces, union and enum tags). An item that uses a declared but not yet defined name is
postponed, and postponed items are retried after each definition. Struct tags need none of
this: ``struct X`` before its definition is an (identity-shared) forward declaration already.
Names are strings; tags are spelled ``"union X"`` / ``"enum X"`` so that they cannot clash
with typedef names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..ndr import types as t
from . import _ast as a


def declared_names(items: Iterable[Any]) -> set[str]:
    """Every type name that ``items`` (recursively through interfaces and libraries) define."""
    out: set[str] = set()
    for it in items:
        if isinstance(it, a.InterfaceDef):
            out.add(it.name)
            out |= declared_names(it.items)
        elif isinstance(it, a.Library):
            out |= declared_names(it.items)
        elif isinstance(it, a.Typedef):
            out |= {d.name for d in it.declarators if d.name}
            out |= _spec_tags(it.spec)
        elif isinstance(it, a.Declaration):
            out |= _spec_tags(it.spec)
    return out


def item_declares(item: a.Typedef | a.Declaration) -> set[str]:
    """The names one typedef or declaration defines (what others may be waiting for)."""
    out = _spec_tags(item.spec)
    if isinstance(item, a.Typedef):
        out |= {d.name for d in item.declarators if d.name}
    return out


def _spec_tags(spec: a.DeclSpec | None) -> set[str]:
    if spec is None:
        return set()
    ts = spec.type
    out: set[str] = set()
    if isinstance(ts, a.UnionSpec) and ts.members is not None and ts.tag:
        out.add(f"union {ts.tag}")
    elif isinstance(ts, a.EnumSpec) and ts.enumerators is not None and ts.tag:
        out.add(f"enum {ts.tag}")
    for m in getattr(ts, "members", None) or []:
        out |= _spec_tags(m.spec)
    return out


def used_names(item: a.Typedef | a.Declaration) -> set[str]:
    """Every type name ``item`` uses: its specifier (with nested members), the parameters of
    operation declarators, and type arguments of attributes (``switch_type``,
    ``transmit_as``...). Names it defines itself are left out."""
    out = _attr_names(item.attrs) | _spec_names(item.spec)
    for d in item.declarators:
        for p in d.params or []:
            out |= _attr_names(p.attrs) | _spec_names(p.spec)
    return out - item_declares(item)


def uses_own_names(item: a.Typedef | a.Declaration) -> bool:
    """``typedef struct _N { PN next; } N, *PN;``: the body uses a name it defines."""
    own = {d.name for d in item.declarators if d.name} if isinstance(item, a.Typedef) else set()
    return bool(own & _spec_names(item.spec))


def _attr_names(attrs: list[a.Attribute]) -> set[str]:
    out: set[str] = set()
    for at in attrs:
        for arg in at.args or []:
            if isinstance(arg, a.TypeArg) and arg.name:
                out.add(f"{arg.tag} {arg.name}" if arg.tag in ("union", "enum") else arg.name)
    return out


def _spec_names(spec: a.DeclSpec | None) -> set[str]:
    if spec is None:
        return set()
    ts = spec.type
    if isinstance(ts, a.NamedType):
        return {ts.name}
    if isinstance(ts, a.PipeSpec):
        return _spec_names(ts.element)
    if isinstance(ts, a.UnionSpec | a.EnumSpec) and ts.tag and \
            getattr(ts, "members", getattr(ts, "enumerators", None)) is None:
        return {f"{'union' if isinstance(ts, a.UnionSpec) else 'enum'} {ts.tag}"}
    out: set[str] = set()
    for m in getattr(ts, "members", None) or []:
        out |= _attr_names(m.attrs) | _spec_names(m.spec)
    sw = getattr(ts, "switch", None)
    if sw is not None:
        out |= _spec_names(sw.spec)
    return out


@dataclass
class Postponed:
    """An item waiting for names defined later; ``run`` processes it in its own context."""

    run: Callable[[], None]
    needs: set[str]
    declares: set[str]
    loc: a.Loc
    #: For a typedef of a tagged struct: declares its names as pointers/aliases of the
    #: (still empty) struct, which breaks a cycle of typedef names through pointers.
    forward: Callable[[], None] | None = None
    tried_forward: bool = field(default=False)


def find_cycle(waiting: list[Postponed]) -> tuple[list[str], a.Loc] | None:
    """A cycle of names among postponed items, written from the item that comes first
    (``['B', 'A', 'B']`` for ``typedef A B; typedef B A;``), and that item's location."""
    by_name = {n: p for p in waiting for n in p.declares}
    order = {id(p): i for i, p in enumerate(waiting)}
    for start in waiting:
        names: list[str] = []  # names[i] is declared by entries[i]
        entries: list[Postponed] = []
        cur = start
        while id(cur) not in {id(e) for e in entries}:
            nxt = next((n for n in sorted(cur.needs) if n in by_name), None)
            if nxt is None:
                break
            entries.append(cur)
            names.append(nxt)
            cur = by_name[nxt]
        else:
            k = next(i for i, e in enumerate(entries) if e is cur)
            # entries[i] needs names[i], declared by entries[i + 1] (wrapping)
            ring_e, ring_n = entries[k:], names[k:]
            j = min(range(len(ring_e)), key=lambda i: order[id(ring_e[i])])
            first = ring_e[j]
            # the name ``first`` declares is the one its predecessor in the ring needs
            seq = [ring_n[(j - 1 + i) % len(ring_n)] for i in range(len(ring_n) + 1)]
            return seq, first.loc
    return None


def contains_itself(named: list[tuple[Any, bool]]) -> list[str] | None:
    """A struct or union that contains itself by value (no pointer in between), as names
    ``[X, Y, X]``, or None. Its NDR size would be infinite; C forbids it too. Forward
    declarations make it expressible (``struct _A { SB b; }`` / ``struct _B { SA a; }``),
    so the compiler checks once everything is defined."""
    state: dict[int, int] = {}  # id -> 1 on the current path, 2 done

    def inner(ty: Any) -> list[Any]:
        if isinstance(ty, t.Struct):
            return [f.type for f in ty.fields]
        if isinstance(ty, t.Union):
            return [arm.type for arm in ty.arms if arm.type is not None]
        if isinstance(ty, t.Array):
            return [ty.element]
        if isinstance(ty, t.Switch):
            return [ty.union]
        if isinstance(ty, t.Range):
            return [ty.type]
        return []  # pointers end containment; scalars, pipes, handles have no members

    for root, _ in named:
        if id(root) in state:
            continue
        path: list[Any] = [root]
        stack: list[list[Any]] = [inner(root)]
        state[id(root)] = 1
        while stack:
            if not stack[-1]:
                state[id(path.pop())] = 2
                stack.pop()
                continue
            nxt = stack[-1].pop()
            if not isinstance(nxt, t.Struct | t.Union):
                stack[-1].extend(inner(nxt))
                continue
            if state.get(id(nxt)) == 1:
                ring = [x for x in path if isinstance(x, t.Struct | t.Union)]
                ring = ring[next(i for i, x in enumerate(ring) if x is nxt):]
                return [x.name for x in ring] + [nxt.name]
            if id(nxt) not in state:
                state[id(nxt)] = 1
                path.append(nxt)
                stack.append(inner(nxt))
    return None
