"""Events the protocol core hands to the call engine.

Naming rule (style-anchors §11.3): "…Received / …Requested / …Accepted / …Rejected" means
it happened on the wire; every event is a frozen, slotted dataclass. ``NEED_DATA`` is the
sentinel :meth:`next_event` returns when the buffered octets hold no complete event.

Client side: BindAccepted, BindRejected, AlterContextAccepted, ResponseReceived,
FaultReceived, ShutdownRequested, CancelTimedOut, ConnectionClosed.
Server side: BindReceived, AlterContextReceived, RequestReceived, CancelRequested,
CallOrphaned, ConnectionClosed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from .constants import SyntaxId
from .pdu import ContextResult

__all__ = [
    "NEED_DATA",
    "AlterContextAccepted",
    "AlterContextReceived",
    "AuthFailed",
    "BindAccepted",
    "BindReceived",
    "BindRejected",
    "CallOrphaned",
    "CancelRequested",
    "CancelTimedOut",
    "ConnectionClosed",
    "Event",
    "FaultReceived",
    "NeedData",
    "PresentationContext",
    "RequestReceived",
    "ResponseReceived",
    "ShutdownRequested",
]


class NeedData:
    """Sentinel type: no complete event yet, feed more octets (h11's NEED_DATA)."""

    _instance: NeedData | None = None

    def __new__(cls) -> NeedData:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every protocol event."""


@dataclass(frozen=True, slots=True)
class PresentationContext:
    """A negotiated presentation context (C706 §12.6.3.1; [MS-RPCE] 3.3.1.5.6).

    ``interface`` is whatever the server policy registered for ``abstract_syntax``
    (the runtime's interface model), ``None`` on the client.
    """

    p_cont_id: int
    abstract_syntax: SyntaxId
    transfer_syntax: SyntaxId
    interface: Any = None


# --------------------------------------------------------------------------- client
@dataclass(frozen=True, slots=True)
class BindAccepted(Event):
    """bind_ack arrived (client). Rejected contexts are in ``results``, not an error.

    ``contexts`` maps every accepted ``p_cont_id`` to its negotiated context;
    ``features`` is the [MS-RPCE] 3.3.1.5.3 bitmask the server acknowledged (None if it
    did not answer a feature-negotiation element).
    """

    call_id: int
    assoc_group_id: int
    max_xmit_frag: int
    max_recv_frag: int
    results: tuple[ContextResult, ...]
    contexts: dict[int, PresentationContext]
    conc_mpx: bool
    features: int | None = None
    sec_addr: str = ""


@dataclass(frozen=True, slots=True)
class BindRejected(Event):
    """bind_nak (or a fault answering the bind) arrived; the connection is now closed.

    ``reason`` is the ``provider_reject_reason`` (C706 §12.6.3.1), ``status`` the fault
    status when the server faulted instead.
    """

    call_id: int
    reason: int | None
    status: int | None = None


@dataclass(frozen=True, slots=True)
class AlterContextAccepted(Event):
    """alter_context_resp arrived (client); per-context results as in BindAccepted."""

    call_id: int
    results: tuple[ContextResult, ...]
    contexts: dict[int, PresentationContext]


@dataclass(frozen=True, slots=True)
class ResponseReceived(Event):
    """The last fragment of a response arrived; ``stub`` is the reassembled stub data."""

    call_id: int
    p_cont_id: int
    stub: bytes
    cancel_count: int = 0


@dataclass(frozen=True, slots=True)
class FaultReceived(Event):
    """A fault PDU arrived (C706 §12.6.4.7).

    ``association`` is True when the fault names no call in progress (call_id 0, or a
    call that already ended): it ends no call and usually comes right before the server
    closes the connection (a protocol error, protocol-digest §3.5). Otherwise it ends
    call ``call_id``.
    """

    call_id: int
    status: int
    did_not_execute: bool = False
    p_cont_id: int = 0
    cancel_count: int = 0
    stub: bytes = b""
    association: bool = False


@dataclass(frozen=True, slots=True)
class ShutdownRequested(Event):
    """The server sent shutdown (C706 §12.6.4.11): close once no call is outstanding."""


@dataclass(frozen=True, slots=True)
class CancelTimedOut(Event):
    """No answer within ``cancel_timeout`` after cancel(): the core sent ``orphaned`` and
    forgot the call (C706 §9.4 cancel time-out; [MS-RPCE] 3.3.1.5.10). The call engine
    completes it with RPC_S_CALL_CANCELLED."""

    call_id: int


# --------------------------------------------------------------------------- server
@dataclass(frozen=True, slots=True)
class BindReceived(Event):
    """A bind was answered (server). ``accepted`` is False when the core sent bind_nak."""

    call_id: int
    accepted: bool
    assoc_group_id: int = 0
    results: tuple[ContextResult, ...] = ()
    contexts: dict[int, PresentationContext] | None = None


@dataclass(frozen=True, slots=True)
class AuthFailed(Event):
    """A bind's security token was refused (server); a BindReceived(accepted=False)
    follows. Failures after the bind raise ``VerifierError`` instead."""

    reason: str


@dataclass(frozen=True, slots=True)
class AlterContextReceived(Event):
    """An alter_context was answered with alter_context_resp (server)."""

    call_id: int
    results: tuple[ContextResult, ...]
    contexts: dict[int, PresentationContext]


@dataclass(frozen=True, slots=True)
class RequestReceived(Event):
    """A complete request (all fragments) for an accepted context (server).

    The core has checked the context; the opnum range is the call engine's to check
    (nca_s_op_rng_error). Answer with ``send_response`` or ``send_fault``.
    """

    call_id: int
    p_cont_id: int
    opnum: int
    stub: bytes
    object: uuid.UUID | None = None
    interface: Any = None
    maybe: bool = False
    #: The stub's integer byte order (the request's packed_drep, C706 §14.1).
    little_endian: bool = True
    #: The security context the request was authenticated with (a
    #: ``dcerpc.auth.SecurityContext``; None when unauthenticated).
    security: Any = None


@dataclass(frozen=True, slots=True)
class CancelRequested(Event):
    """co_cancel or PFC_PENDING_CANCEL for a call in progress (C706 §12.6.4.6)."""

    call_id: int


@dataclass(frozen=True, slots=True)
class CallOrphaned(Event):
    """The client abandoned the call (orphaned PDU, C706 §12.6.4.8); send no reply."""

    call_id: int


@dataclass(frozen=True, slots=True)
class ConnectionClosed(Event):
    """The connection ended: EOF, bind_nak, a timer, or a local close.

    ``pending_calls`` are the call ids that were still in progress — the call engine
    fails each of them exactly once (DESIGN.md §6).
    """

    reason: str = "eof"
    pending_calls: tuple[int, ...] = ()
