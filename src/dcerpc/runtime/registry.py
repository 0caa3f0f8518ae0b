"""Server interface registry: interface spec → implementation object.

Dispatch key (C706 §12.6.4.9; [MS-RPCE] 3.3.3.4.1): the request's ``p_cont_id`` names a
presentation context, which the bind negotiated against an abstract syntax registered
here; the opnum picks the operation; the optional object UUID picks the manager when
several implementations of one interface are registered for different object UUIDs
(RpcServerRegisterIf's manager type, simplified to one manager per object UUID, with the
nil UUID as the default manager).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from ..ndr.types import Interface, Operation
from ..protocol.connection import InterfacePolicy
from ..protocol.constants import SyntaxId

__all__ = ["InterfaceRegistry", "RegisteredInterface", "syntax_of"]

NIL_UUID = uuid.UUID(int=0)


def syntax_of(spec: Interface) -> SyntaxId:
    """The abstract syntax (if_uuid + version) of an interface model."""
    if spec.uuid is None:
        raise ValueError(f"interface {spec.name} has no [uuid]; it cannot be registered")
    major, minor = spec.version
    return SyntaxId.make(spec.uuid, major, minor)


@dataclass(eq=False)
class RegisteredInterface:
    """One registered interface: its model and its managers by object UUID."""

    spec: Interface
    managers: dict[uuid.UUID, Any] = field(default_factory=dict)
    by_opnum: dict[int, Operation] = field(default_factory=dict)

    def manager(self, object_uuid: uuid.UUID | None) -> Any:
        """The manager for ``object_uuid``: its own, else the default (nil) one, else None."""
        if object_uuid is not None and object_uuid in self.managers:
            return self.managers[object_uuid]
        return self.managers.get(NIL_UUID)


class InterfaceRegistry:
    """What a server exports; also the :class:`InterfacePolicy` its connections negotiate
    against (the policy hands the :class:`RegisteredInterface` back in every request)."""

    def __init__(self) -> None:
        self.policy = InterfacePolicy()
        self._entries: dict[SyntaxId, RegisteredInterface] = {}

    def register(self, spec: Interface, impl: Any, object_uuid: uuid.UUID | None = None
                 ) -> RegisteredInterface:
        syntax = syntax_of(spec)
        entry = self._entries.get(syntax)
        if entry is None:
            entry = RegisteredInterface(spec, by_opnum={op.opnum: op for op in spec.operations})
            self._entries[syntax] = entry
            self.policy.register(syntax, entry)
        elif entry.spec is not spec and entry.spec.name != spec.name:
            raise ValueError(f"{syntax} is already registered as {entry.spec.name}")
        entry.managers[object_uuid or NIL_UUID] = impl
        return entry

    @property
    def interfaces(self) -> list[Interface]:
        """The registered interface models (for the endpoint mapper)."""
        return [e.spec for e in self._entries.values()]

    def entries(self) -> list[RegisteredInterface]:
        return list(self._entries.values())
