"""Server-side context handles, scoped to the association group.

A context handle is 20 octets on the wire: ``ulong attributes`` + a GUID (C706
§14.3.10.2; [MS-RPCE] 2.2.4.1). The manager never sees them: it returns any Python object
for an ``[out]`` handle and receives that object back for an ``[in]`` one. The table
maps the wire GUID (a random UUID, attributes 0 as Windows sends) to the object.

Rules (MIDL server stub semantics; [MS-RPCE] 3.1.1.5.3.2.3):

* handles live in the association group that created them ([MS-RPCE] 3.3.1.3): any
  connection of the group may use them, no other group can;
* ``[in]`` with a GUID the group does not hold → ``nca_s_fault_context_mismatch``;
  a NULL ``[in]``-only handle → ``RPC_X_SS_IN_NULL_CONTEXT``;
* ``[in, out]`` answered with ``None`` closes the handle: 20 zero octets go back;
* when the group's last connection ends, every handle still open is *run down*: the
  driver calls ``impl.<ContextHandleType>_rundown(obj)`` if the manager has it, else
  ``impl.rundown(obj)`` (MIDL's ``<type>_rundown`` routine).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from .. import status as st
from ..errors import RpcError
from ..ndr import ContextHandleValue

__all__ = ["ContextHandleTable", "OpenHandle", "rundown_callable"]


@dataclass(eq=False, slots=True)
class OpenHandle:
    """One open context handle: the manager's object, its IDL type name, its manager."""

    obj: Any
    type_name: str | None
    impl: Any


@dataclass(slots=True)
class _Group:
    connections: int = 0
    handles: dict[uuid.UUID, OpenHandle] = field(default_factory=dict)


class ContextHandleTable:
    """Context handles of every association group of one server."""

    def __init__(self) -> None:
        self._groups: dict[int, _Group] = {}

    # -- group membership ----------------------------------------------------------
    def join(self, group: int) -> None:
        """A connection of ``group`` was bound."""
        self._groups.setdefault(group, _Group()).connections += 1

    def leave(self, group: int) -> list[OpenHandle]:
        """A connection of ``group`` ended; returns the handles to run down when it was
        the group's last connection."""
        g = self._groups.get(group)
        if g is None:
            return []
        g.connections -= 1
        if g.connections > 0:
            return []
        del self._groups[group]
        return list(g.handles.values())

    def count(self, group: int) -> int:
        g = self._groups.get(group)
        return len(g.handles) if g is not None else 0

    # -- handle mapping ------------------------------------------------------------
    def lookup(self, group: int, value: ContextHandleValue, *, allow_null: bool
               ) -> OpenHandle | None:
        """The open handle a wire value names; None for NULL when ``allow_null``."""
        if not value:
            if allow_null:
                return None
            raise RpcError("NULL context handle passed as [in]", st.RPC_X_SS_IN_NULL_CONTEXT)
        g = self._groups.get(group)
        entry = g.handles.get(value.uuid) if g is not None else None
        if entry is None:
            raise RpcError(f"unknown context handle {value.uuid}",
                           st.nca_s_fault_context_mismatch)
        return entry

    def open(self, group: int, obj: Any, type_name: str | None, impl: Any
             ) -> ContextHandleValue:
        """A new handle for ``obj``; returned as the wire value to send."""
        g = self._groups.setdefault(group, _Group())
        key = uuid.uuid4()
        g.handles[key] = OpenHandle(obj, type_name, impl)
        return ContextHandleValue(0, key)

    def close(self, group: int, value: ContextHandleValue) -> None:
        g = self._groups.get(group)
        if g is not None:
            g.handles.pop(value.uuid, None)

    def update(self, group: int, value: ContextHandleValue, obj: Any) -> None:
        g = self._groups.get(group)
        if g is not None and value.uuid in g.handles:
            g.handles[value.uuid].obj = obj


def rundown_callable(handle: OpenHandle) -> Any:
    """The manager's rundown routine for ``handle`` (None when it has none)."""
    if handle.type_name:
        fn = getattr(handle.impl, f"{handle.type_name}_rundown", None)
        if fn is not None:
            return fn
    return getattr(handle.impl, "rundown", None)
