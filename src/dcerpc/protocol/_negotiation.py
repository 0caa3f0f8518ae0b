"""Server-side presentation-context negotiation and association groups.

Theory of operation
-------------------
A bind or alter_context proposes a list of presentation contexts; the server answers one
``p_result_t`` per element, in order (C706 §12.6.4.4; protocol-digest §2.1):

* an element whose first transfer syntax is the bind-time feature negotiation syntax
  ``6cb71c2c-9812-4540-…`` is answered ``negotiate_ack`` with the accepted feature bits in
  ``reason`` and a zero syntax ([MS-RPCE] 3.3.1.5.3); more than one such element makes the
  whole bind unacceptable (bind_nak), and the element never becomes a usable context;
* an abstract syntax the :class:`InterfacePolicy` does not know → provider_rejection /
  abstract_syntax_not_supported;
* a known interface without NDR 2.0 among the proposed transfer syntaxes →
  provider_rejection / proposed_transfer_syntaxes_not_supported (NDR64 is refused this way
  until the NDR layer speaks it);
* otherwise acceptance with NDR 2.0.

Version rule: the UUID and major version must match, and the registered minor version
must be at least the requested one (C706 §12.6.3.1 compatibility rule).

Re-proposing an existing ``p_cont_id`` with a different abstract or transfer syntax is a
protocol error (Samba: fault + disconnect); re-proposing the same one is answered again.

Association groups ([MS-RPCE] 3.3.1.3): ``assoc_group_id`` 0 asks for a new group; a
non-zero id joins an existing group of the same :class:`AssociationGroups` registry
(shared by the server's connections), and an unknown id is refused with bind_nak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import RemoteProtocolError
from .constants import (
    NDR_SYNTAX,
    NULL_SYNTAX,
    ContDefResult,
    ProviderReason,
    SyntaxId,
    bind_time_features,
)
from .events import PresentationContext
from .pdu import ContextElement, ContextResult

__all__ = ["AssociationGroups", "BindUnacceptable", "InterfacePolicy", "negotiate_contexts"]


class BindUnacceptable(Exception):
    """The bind as a whole must be answered with bind_nak (reason in ``reason``)."""

    def __init__(self, reason: int, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class InterfacePolicy:
    """Which interfaces a server accepts: abstract syntax UUID + version → interface.

    ``register(syntax, interface)`` stores any object as the interface (the runtime's
    interface model); it is handed back in :class:`RequestReceived`.
    """

    def __init__(self) -> None:
        self._by_uuid: dict[tuple[Any, int], list[tuple[int, Any]]] = {}

    def register(self, abstract_syntax: SyntaxId, interface: Any = None) -> None:
        key = (abstract_syntax.if_uuid, abstract_syntax.major)
        entries = self._by_uuid.setdefault(key, [])
        entries[:] = [e for e in entries if e[0] != abstract_syntax.minor]
        entries.append((abstract_syntax.minor, interface))

    def lookup(self, abstract_syntax: SyntaxId) -> tuple[bool, Any]:
        """``(found, interface)``: the best registered minor version ≥ the requested one."""
        entries = self._by_uuid.get((abstract_syntax.if_uuid, abstract_syntax.major), ())
        usable = [e for e in entries if e[0] >= abstract_syntax.minor]
        if not usable:
            return False, None
        return True, min(usable, key=lambda e: e[0])[1]


@dataclass(slots=True)
class AssociationGroups:
    """Registry of association groups shared by the connections of one server.

    Ids start at 0x1234 + n, like the ids peers are used to seeing (never 0, which
    means "new group" on the wire). ``release`` drops a group with its last connection.
    """

    next_id: int = 0x00001234
    members: dict[int, int] = field(default_factory=dict)

    def create(self) -> int:
        while self.next_id == 0 or self.next_id in self.members:
            self.next_id = (self.next_id + 1) & 0xFFFFFFFF
        group = self.next_id
        self.next_id = (self.next_id + 1) & 0xFFFFFFFF
        self.members[group] = 1
        return group

    def join(self, group: int) -> bool:
        if group not in self.members:
            return False
        self.members[group] += 1
        return True

    def release(self, group: int) -> None:
        count = self.members.get(group, 0) - 1
        if count <= 0:
            self.members.pop(group, None)
        else:
            self.members[group] = count


def negotiate_contexts(
    elements: Sequence[ContextElement], policy: InterfacePolicy,
    existing: dict[int, PresentationContext], supported_features: int,
) -> tuple[tuple[ContextResult, ...], dict[int, PresentationContext], int | None]:
    """Answer each element; returns (results, newly accepted contexts, feature bits or None).

    Raises :class:`BindUnacceptable` for a second feature-negotiation element and
    :class:`RemoteProtocolError` for a ``p_cont_id`` redefined with other syntaxes.
    """
    results: list[ContextResult] = []
    accepted: dict[int, PresentationContext] = {}
    features: int | None = None
    for elem in elements:
        proposed = bind_time_features(elem.transfer_syntaxes[0]) if elem.transfer_syntaxes \
            else None
        if proposed is not None:
            if features is not None:
                raise BindUnacceptable(0, "more than one bind-time feature negotiation element")
            features = int(proposed) & int(supported_features)
            results.append(ContextResult(result=ContDefResult.negotiate_ack, reason=features))
            continue
        result, ctx = _negotiate_one(elem, policy)
        old = existing.get(elem.p_cont_id) or accepted.get(elem.p_cont_id)
        if old is not None and ctx is not None and (
                old.abstract_syntax != ctx.abstract_syntax
                or old.transfer_syntax != ctx.transfer_syntax):
            raise RemoteProtocolError(
                f"p_cont_id {elem.p_cont_id} redefined from {old.abstract_syntax} to "
                f"{ctx.abstract_syntax}")
        if ctx is not None:
            accepted[elem.p_cont_id] = ctx
        results.append(result)
    return tuple(results), accepted, features


def _negotiate_one(elem: ContextElement, policy: InterfacePolicy
                   ) -> tuple[ContextResult, PresentationContext | None]:
    found, interface = policy.lookup(elem.abstract_syntax)
    if not found:
        return ContextResult(result=ContDefResult.provider_rejection,
                             reason=ProviderReason.abstract_syntax_not_supported,
                             transfer_syntax=NULL_SYNTAX), None
    if NDR_SYNTAX not in elem.transfer_syntaxes:
        return ContextResult(result=ContDefResult.provider_rejection,
                             reason=ProviderReason.proposed_transfer_syntaxes_not_supported,
                             transfer_syntax=NULL_SYNTAX), None
    ctx = PresentationContext(elem.p_cont_id, elem.abstract_syntax, NDR_SYNTAX, interface)
    return ContextResult(result=ContDefResult.acceptance,
                         reason=ProviderReason.reason_not_specified,
                         transfer_syntax=NDR_SYNTAX), ctx
