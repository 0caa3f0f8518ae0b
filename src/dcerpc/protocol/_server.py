"""The server side of a connection-oriented association.

Theory of operation
-------------------
States (C706 §12.5 server association machine, collapsed to what matters here)::

    IDLE --bind ok--> BOUND --EOF / idle timer--> CLOSED
      |  --bind_nak--> CLOSED            any violation --> ERROR (+ fault / bind_nak)
      +--bind timer--> CLOSED

IDLE accepts only bind. A request, alter_context or anything else first is a protocol
error answered with fault ``nca_s_proto_error`` (protocol-digest §3.4). A bind is answered
by bind_ack or bind_nak — exactly one PDU, in one ``data_to_send()``, because impacket
reads the bind_ack with a single ``recv`` (protocol-digest §8.1). A second bind on a bound
connection gets bind_nak, as Samba does (§2.1).

BOUND accepts alter_context (answered with alter_context_resp, empty sec_addr as Windows
sends), request fragments, co_cancel, orphaned and rpc_auth_3. Requests:

* one request is reassembled at a time: a FIRST fragment while another request is
  incomplete, a continuation without a FIRST, or a continuation whose p_cont_id, opnum or
  drep differ is a protocol error (Samba dcesrv_core.c; protocol-digest §3.1);
* a FIRST fragment already carrying PFC_PENDING_CANCEL is refused with
  rpc_s_no_call_active, as Samba does — a new call cannot start cancelled (§1.3);
* size limits (``max_stub_size``, ``max_fragments``, ``alloc_hint``) → fault
  rpc_s_access_denied and disconnect (Samba; :mod:`._fragments`);
* when LAST arrives: an unknown ``p_cont_id`` is faulted ``nca_s_unk_if`` with
  PFC_DID_NOT_EXECUTE, more than ``max_concurrent_calls`` calls in progress
  ``nca_s_server_too_busy``; the connection carries on in both cases. Otherwise
  ``RequestReceived`` is emitted and the call stays in progress until ``send_response`` or
  ``send_fault`` (the opnum is checked by the call engine);
* without PFC_CONC_MPX a new call while one is in progress is a protocol error
  (protocol-digest §2.4); with it, calls are keyed by call_id and complete in any order.
  A call_id identifies a call only while it is in progress (impacket's first request
  reuses the bind's call_id, §2.4).

co_cancel / PFC_PENDING_CANCEL on a call in progress → ``CancelRequested`` (its count goes
into the response's ``cancel_count``); orphaned → ``CallOrphaned`` and the call is
forgotten: a late ``send_response`` for it sends nothing. Both are ignored for unknown
calls, as Windows does (§3.3).

Authentication legs: :mod:`._server_auth`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import status as st
from ..errors import LocalProtocolError, RemoteProtocolError
from ._config import ConnectionConfig, negotiate_frag
from ._connection_base import ConnectionBase, ConnectionState, wire_status
from ._fragments import (
    REQUEST_HEADER,
    RESPONSE_HEADER,
    FragmentLimitError,
    StubAssembler,
    append_response,
    iter_fragments,
    payload_size,
    response_parts,
)
from ._negotiation import (
    AssociationGroups,
    BindUnacceptable,
    InterfacePolicy,
    negotiate_contexts,
)
from ._security import (
    HEADER_SIGN_AUTH_TYPES,
    SecurityHook,
    check_verification_trailer,
    protect,
    protects_pdus,
    sec_trailer_overhead,
    set_header_signing,
    split_verification_trailer,
    unprotect,
)
from ._server_auth import ServerAuthLegs, _Nak
from .constants import (
    PFC_CONC_MPX,
    PFC_DID_NOT_EXECUTE,
    PFC_FIRST_FRAG,
    PFC_LAST_FRAG,
    PFC_MAYBE,
    PFC_OBJECT_UUID,
    PFC_PENDING_CANCEL,
    PFC_SUPPORT_HEADER_SIGN,
    PTYPE,
    RPC_FAULT_FLAG_EXTENDED_ERROR,
    RejectReason,
    SyntaxId,
)
from .events import (
    AlterContextReceived,
    BindReceived,
    CallOrphaned,
    CancelRequested,
    PresentationContext,
    RequestReceived,
)
from .pdu import (
    AlterContext,
    AlterContextResp,
    Auth3,
    Bind,
    BindAck,
    BindNak,
    CoCancel,
    Fault,
    Orphaned,
    Pdu,
    Request,
    Response,
    Shutdown,
)

__all__ = ["ServerConnection"]

_FIRST, _LAST, _CANCEL = int(PFC_FIRST_FRAG), int(PFC_LAST_FRAG), int(PFC_PENDING_CANCEL)
_OBJECT, _MAYBE = int(PFC_OBJECT_UUID), int(PFC_MAYBE)
_RESPONSE = int(PTYPE.response)
#: pfc_flags of a whole call in one fragment with nothing special about it.
_WHOLE_MASK = _FIRST | _LAST | _CANCEL | _MAYBE
_WHOLE = _FIRST | _LAST
_DREP_LE = b"\x10\x00\x00\x00"  # little-endian, ASCII, IEEE (C706 §14.1)
_S = ConnectionState


@dataclass(slots=True)
class _Incoming:
    """A request being reassembled."""

    call_id: int
    p_cont_id: int
    opnum: int
    object: uuid.UUID | None
    packed_drep: bytes
    maybe: bool
    stub: StubAssembler
    cancel_count: int = 0
    sec: SecurityHook | None = None


@dataclass(slots=True)
class _Call:
    """A call dispatched to the call engine and not yet answered."""

    p_cont_id: int
    cancel_count: int = 0
    sec: SecurityHook | None = None


def _syntax_octets(syntax: SyntaxId) -> bytes:
    """``p_syntax_id_t`` as on the wire (little-endian): UUID + if_version."""
    return syntax.if_uuid.bytes_le + syntax.if_version.to_bytes(4, "little")


class ServerConnection(ServerAuthLegs, ConnectionBase):
    """Sans-IO server association: see the module docstring.

    ``policy`` decides which interfaces are accepted; ``groups`` is the association-group
    registry shared by the server's connections (a private one when omitted); ``now``
    arms the bind timer.
    """

    _fast_ptypes = frozenset({int(PTYPE.request)})
    #: A :class:`~._streaming.ServerStreams` when the driver streams pipe calls.
    _streaming: Any = None

    def __init__(self, policy: InterfacePolicy, config: ConnectionConfig | None = None, *,
                 groups: AssociationGroups | None = None, auth: SecurityHook | None = None,
                 acceptors: Mapping[int, Any] | None = None,
                 now: float | None = None) -> None:
        super().__init__(config, auth, now)
        self.acceptors = acceptors or {}
        #: every security context of the connection by (auth_type, auth_context_id)
        self._sec: dict[tuple[int, int], SecurityHook] = {}
        #: PFC_SUPPORT_HEADER_SIGN agreed at bind (see _negotiate_bind)
        self.header_sign = True
        if auth is not None:
            self._sec[(auth.auth_type, auth.auth_context_id)] = auth
        self.policy = policy
        self.groups = groups if groups is not None else AssociationGroups()
        self.assoc_group_id = 0
        self.contexts: dict[int, PresentationContext] = {}
        self.features: int | None = None
        self._rx: _Incoming | None = None
        self._calls: dict[int, _Call] = {}
        timeout = self.config.bind_timeout
        self._bind_deadline = None if timeout is None or now is None else now + timeout

    # -- intents -------------------------------------------------------------------
    @property
    def calls_in_progress(self) -> int:
        return len(self._calls)

    @property
    def security(self) -> SecurityHook | None:
        """The connection's security context once complete (None when unauthenticated)."""
        auth = self.auth
        return auth if auth is not None and auth.complete else None

    def batch_ready(self) -> bool:
        """May a driver serve whole one-fragment requests straight from the octets it
        received (a batch path), instead of feeding them to :meth:`receive_data`? Only
        while bound, unauthenticated, with no request being reassembled, no pipe
        stream, no queued event and nothing buffered in the framer: then the core's
        state is just its call table and output buffer, which such a driver keeps as
        the core would (``_calls``, ``_out``)."""
        return (self.state is _S.BOUND and self.auth is None and not self._sec
                and self._rx is None and self._streaming is None and not self._events
                and not self._eof and not self._reader.buffered)

    def send_response(self, call_id: int, stub: bytes | bytearray | memoryview) -> bool:
        """Send the reply of ``call_id``, fragmented to the client's ``max_recv_frag``.

        Returns False (and sends nothing) when the call is no longer in progress: it was
        orphaned, or the connection closed.
        """
        total = len(stub)
        if self.auth is None and self.state is _S.BOUND \
                and total <= (self.max_xmit_frag - 24) & ~15:
            # The small unauthenticated reply: one FIRST|LAST fragment (C706 §12.6.4.10),
            # header packed straight into the output.
            call = self._calls.pop(call_id, None)
            if call is None:
                return False
            out = self._out
            out += RESPONSE_HEADER.pack(5, 0, _RESPONSE, _FIRST | _LAST, _DREP_LE,
                                        24 + total, 0, call_id, total, call.p_cont_id,
                                        min(call.cancel_count, 0xFF), 0)
            out += stub
            return True
        call = self._take_call(call_id)
        if call is None:
            return False
        sec = call.sec
        payload = payload_size(self.max_xmit_frag, 24, sec_trailer_overhead(sec))
        cancel_count = min(call.cancel_count, 0xFF)
        if sec is None:
            if len(stub) > payload and (type(stub) is bytes or (type(stub) is memoryview
                                                                and stub.readonly)):
                # Fragments that point into an immutable stub: no copy of it at all.
                self._queue_parts(response_parts(call_id, call.p_cont_id, cancel_count,
                                                 stub, payload))
                return True
            self._out = append_response(self._out, call_id, call.p_cont_id, cancel_count,
                                        stub, payload)
            return True
        for flags, alloc_hint, chunk in iter_fragments(bytes(stub), payload):
            self._out += protect(Response(
                call_id=call_id, pfc_flags=flags, alloc_hint=alloc_hint,
                p_cont_id=call.p_cont_id, cancel_count=cancel_count, stub_data=chunk),
                sec)
        return True

    def send_fault(self, call_id: int, status: int, *, did_not_execute: bool = False,
                   stub: bytes = b"") -> bool:
        """Fail ``call_id`` with a fault PDU carrying ``status`` (C706 §12.6.4.7).

        ``stub`` may carry [MS-EERR] extended error information; the fault's flags octet
        then says so ([MS-RPCE] 2.2.2.8). Returns False when the call is no longer in
        progress.
        """
        call = self._take_call(call_id)
        if call is None:
            return False
        self._send_fault(call_id, status, call.p_cont_id, did_not_execute, call.cancel_count,
                         stub)
        return True

    def send_bad_stub_data(self, call_id: int) -> bool:
        """Fault ``rpc_x_bad_stub_data`` (Samba DCERPC_FAULT_NDR): the stub did not unmarshal."""
        return self.send_fault(call_id, st.RPC_X_BAD_STUB_DATA)

    def shutdown(self) -> None:
        """Ask the client to close the association (shutdown PDU, C706 §12.6.4.11)."""
        self._require(_S.BOUND, action="send shutdown")
        self._send(Shutdown(call_id=0))

    def _take_call(self, call_id: int) -> _Call | None:
        if self.closed:
            return None
        if self.state is not _S.BOUND:
            raise LocalProtocolError(f"no call can be answered in state {self.state.value}")
        return self._calls.pop(call_id, None)

    def _send_fault(self, call_id: int, status: int, p_cont_id: int = 0,
                    did_not_execute: bool = False, cancel_count: int = 0,
                    stub: bytes = b"") -> None:
        flags = _FIRST | _LAST | (int(PFC_DID_NOT_EXECUTE) if did_not_execute else 0)
        self._send(Fault(call_id=call_id, pfc_flags=flags, p_cont_id=p_cont_id,
                         cancel_count=min(cancel_count, 0xFF), status=status,
                         stub_data=stub,
                         reserved=RPC_FAULT_FLAG_EXTENDED_ERROR if stub else 0))

    # -- inbound -------------------------------------------------------------------
    def _handle_pdu(self, pdu: Pdu, raw: bytes) -> None:
        if isinstance(pdu, Request):
            self._on_request(pdu, raw)
        elif isinstance(pdu, Bind):
            self._on_bind(pdu)
        elif isinstance(pdu, AlterContext):
            self._on_alter(pdu)
        elif isinstance(pdu, CoCancel):
            self._on_cancel(pdu.call_id)
        elif isinstance(pdu, Orphaned):
            self._on_orphaned(pdu.call_id)
        elif isinstance(pdu, Auth3) and self.state is _S.BOUND:
            self._on_auth3(pdu)
        else:
            raise RemoteProtocolError(
                f"{pdu.PTYPE.name} PDU is not allowed at a server in state {self.state.value}")

    def _on_bind(self, pdu: Bind) -> None:
        if self.state is not _S.IDLE:
            # protocol-digest §2.1: one bind per connection; Samba answers bind_nak.
            raise RemoteProtocolError("second bind on an already bound connection")
        self._bind_deadline = None
        try:
            ack = self._negotiate_bind(pdu)
        except _Nak as nak:
            self._send(BindNak(call_id=pdu.call_id, provider_reject_reason=nak.reason))
            self._emit(BindReceived(pdu.call_id, accepted=False))
            self._close("bind rejected")
            return
        self._send(ack)
        self.state = _S.BOUND
        self._emit(BindReceived(pdu.call_id, True, self.assoc_group_id, ack.p_result_list,
                                dict(self.contexts)))

    def _negotiate_bind(self, pdu: Bind) -> BindAck:
        reply = self._accept_security(pdu.auth_verifier)
        try:
            results, accepted, features = negotiate_contexts(
                pdu.p_context_elem, self.policy, {}, self.config.bind_time_features)
        except BindUnacceptable as exc:
            raise _Nak(exc.reason) from None
        if pdu.assoc_group_id == 0:
            group = self.groups.create()
        elif self.groups.join(pdu.assoc_group_id):
            group = pdu.assoc_group_id
        else:
            raise _Nak(RejectReason.REASON_NOT_SPECIFIED)  # Samba: unknown group → nak(0)
        self.assoc_group_id = group
        self.contexts.update(accepted)
        self.features = features
        self.max_xmit_frag = negotiate_frag(self.config.max_xmit_frag, pdu.max_recv_frag)
        self.max_recv_frag = negotiate_frag(self.config.max_recv_frag, pdu.max_xmit_frag)
        self.conc_mpx = self.config.conc_mpx and bool(pdu.pfc_flags & PFC_CONC_MPX)
        flags = _FIRST | _LAST | (int(PFC_CONC_MPX) if self.conc_mpx else 0)
        # PFC_SUPPORT_HEADER_SIGN ([MS-RPCE] 2.2.2.3): echoed when the client offered it
        # and we sign headers too; contexts started later (SPNEGO) follow the same answer.
        self.header_sign = bool(self.config.header_signing
                                and pdu.pfc_flags & PFC_SUPPORT_HEADER_SIGN)
        if self.header_sign and pdu.auth_verifier is not None \
                and pdu.auth_verifier.auth_type in HEADER_SIGN_AUTH_TYPES:
            flags |= int(PFC_SUPPORT_HEADER_SIGN)
        set_header_signing(self.auth, self.header_sign)
        return BindAck(call_id=pdu.call_id, pfc_flags=flags, max_xmit_frag=self.max_xmit_frag,
                       max_recv_frag=self.max_recv_frag, assoc_group_id=group,
                       sec_addr=self.config.sec_addr, p_result_list=results,
                       auth_verifier=reply)

    def _on_alter(self, pdu: AlterContext) -> None:
        if self.state is not _S.BOUND:
            raise RemoteProtocolError("alter_context before bind")
        try:
            results, accepted, _features = negotiate_contexts(
                pdu.p_context_elem, self.policy, self.contexts, self.config.bind_time_features)
        except BindUnacceptable as exc:
            raise RemoteProtocolError(str(exc)) from None
        reply = self._continue_security(pdu.auth_verifier, may_start=True)
        self.contexts.update(accepted)
        # Windows/Samba send an empty secondary address in alter_context_resp (§1.6).
        self._send(AlterContextResp(call_id=pdu.call_id, max_xmit_frag=self.max_xmit_frag,
                                    max_recv_frag=self.max_recv_frag,
                                    assoc_group_id=self.assoc_group_id, p_result_list=results,
                                    auth_verifier=reply))
        self._emit(AlterContextReceived(pdu.call_id, results, accepted))

    def _on_request(self, pdu: Request, raw: bytes) -> None:
        self._on_request_fields(pdu.call_id, int(pdu.pfc_flags), pdu.alloc_hint,
                                pdu.p_cont_id, pdu.opnum, pdu.object, pdu.packed_drep, raw,
                                pdu)

    def _handle_fast(self, raw: bytes) -> bool:
        if self._sec:
            return False
        (_v, _m, _t, flags, drep, _f, _a, call_id, alloc_hint, p_cont_id,
         opnum) = REQUEST_HEADER.unpack_from(raw)
        if flags & _OBJECT:
            return False
        if (flags & _WHOLE_MASK == _WHOLE and self.state is _S.BOUND and self._rx is None
                and self._streaming is None):  # a pipe call must reach the stream hook
            # A whole call in one fragment, neither [maybe] nor cancelled: when every
            # check of _on_request_fields / _check_start / _dispatch_call passes, emit
            # the event here (the small call's path, without the general bookkeeping).
            calls, config = self._calls, self.config
            ctx = self.contexts.get(p_cont_id)
            if (ctx is not None and call_id not in calls and (self.conc_mpx or not calls)
                    and len(calls) < config.max_concurrent_calls
                    and alloc_hint <= config.max_stub_size
                    and len(raw) - 24 <= config.max_stub_size):
                calls[call_id] = _Call(p_cont_id)
                self._events.append(RequestReceived(call_id, p_cont_id, opnum, raw[24:],
                                                    None, ctx.interface))
                return True
        self._on_request_fields(call_id, flags, alloc_hint, p_cont_id, opnum, None, drep,
                                raw, None)
        return True

    def _on_request_fields(self, call_id: int, flags: int, alloc_hint: int, p_cont_id: int,
                           opnum: int, obj: uuid.UUID | None, drep: bytes, raw: bytes,
                           pdu: Request | None) -> None:
        """One request fragment; ``pdu`` is None when it came by the unauthenticated fast
        path (the stub is then the octets after the 24-octet header)."""
        if self.state is not _S.BOUND:
            raise RemoteProtocolError("request before bind")
        if self._streaming is not None and self._streaming.on_fragment(
                call_id, flags, alloc_hint, p_cont_id, opnum, obj, drep, raw, pdu):
            return
        rx = self._rx
        if pdu is None and flags & _FIRST and flags & _LAST:
            # A whole call in one fragment: no reassembly state at all.
            self._check_start(call_id, flags)
            stub = raw[24:]
            limit = self.config.max_stub_size
            if alloc_hint > limit:
                raise FragmentLimitError(
                    f"alloc_hint {alloc_hint} exceeds the limit of {limit} octets")
            if len(stub) > limit:
                raise FragmentLimitError(
                    f"reassembled stub exceeds the limit of {limit} octets")
            self._dispatch_call(call_id, p_cont_id, opnum, obj, bool(flags & _MAYBE), stub,
                                0)
            return
        if flags & _FIRST:
            sec = self._select_security(pdu.auth_verifier) if pdu is not None else None
            rx = self._start_request(call_id, flags, alloc_hint, p_cont_id, opnum, obj, drep)
            rx.sec = sec
        elif rx is None or rx.call_id != call_id:
            raise RemoteProtocolError(
                f"request fragment for call {call_id} without a first fragment")
        elif (p_cont_id, opnum, drep) != (rx.p_cont_id, rx.opnum, rx.packed_drep):
            raise RemoteProtocolError(
                f"fragment of call {call_id} changes p_cont_id, opnum or drep")
        elif flags & _CANCEL:
            rx.cancel_count += 1
        if pdu is not None:
            rx.stub.append(unprotect(pdu, raw, rx.sec))
        elif flags & _FIRST and flags & _LAST:
            rx.stub.append(raw[24:])
        else:  # one fragment of many: reassembly copies it once, at the join
            rx.stub.append(memoryview(raw)[24:])
        if flags & _LAST:
            self._rx = None
            self._dispatch(rx)

    def _start_request(self, call_id: int, flags: int, alloc_hint: int, p_cont_id: int,
                       opnum: int, obj: uuid.UUID | None, drep: bytes) -> _Incoming:
        self._check_start(call_id, flags)
        rx = _Incoming(call_id, p_cont_id, opnum, obj, drep, bool(flags & _MAYBE),
                       StubAssembler(self.config.max_stub_size, self.config.max_fragments,
                                     alloc_hint))
        self._rx = rx
        return rx

    def _check_start(self, call_id: int, flags: int) -> None:
        """May a new call start now (first fragment of ``call_id``)?"""
        if self._rx is not None:
            raise RemoteProtocolError(
                f"call {call_id} starts while call {self._rx.call_id} is incomplete")
        if flags & _CANCEL:
            raise RemoteProtocolError("a new call cannot start with PFC_PENDING_CANCEL",
                                      status=st.RPC_S_NO_CALL_ACTIVE)
        if call_id in self._calls:
            raise RemoteProtocolError(f"call_id {call_id} is already in progress")
        if self._calls and not self.conc_mpx:
            raise RemoteProtocolError("a second call is in progress without PFC_CONC_MPX")

    def _dispatch(self, rx: _Incoming) -> None:
        stub = rx.stub.take(self.stub_buffer if rx.sec is None else None)
        if protects_pdus(rx.sec):
            stub, commands = split_verification_trailer(stub)
            if commands:
                self._check_trailer(rx, commands)
        # The stub is in the sender's byte order (C706 §14.1); the engine decodes with it.
        self._dispatch_call(rx.call_id, rx.p_cont_id, rx.opnum, rx.object, rx.maybe,
                            stub, rx.cancel_count, sec=rx.sec,
                            little_endian=bool(rx.packed_drep[0] & 0x10))

    def _check_trailer(self, rx: _Incoming, commands: list[tuple[int, bytes]]) -> None:
        ctx = self.contexts.get(rx.p_cont_id)
        if ctx is None:
            return  # answered nca_s_unk_if by _dispatch_call
        check_verification_trailer(commands, call_id=rx.call_id, p_cont_id=rx.p_cont_id,
                                   opnum=rx.opnum, packed_drep=rx.packed_drep,
                                   abstract=_syntax_octets(ctx.abstract_syntax),
                                   transfer=_syntax_octets(ctx.transfer_syntax))

    def _dispatch_call(self, call_id: int, p_cont_id: int, opnum: int,
                       obj: uuid.UUID | None, maybe: bool, stub: bytes,
                       cancel_count: int, *, little_endian: bool = True,
                       sec: SecurityHook | None = None) -> None:
        ctx = self.contexts.get(p_cont_id)
        if ctx is None:
            self._send_fault(call_id, st.nca_s_unk_if, p_cont_id, did_not_execute=True)
            return
        if len(self._calls) >= self.config.max_concurrent_calls:
            self._send_fault(call_id, st.nca_s_server_too_busy, p_cont_id,
                             did_not_execute=True)
            return
        if not maybe:  # [maybe] calls get no reply (C706 §12.6.3.1 PFC_MAYBE)
            self._calls[call_id] = _Call(p_cont_id, cancel_count, sec)
        self._emit(RequestReceived(call_id, p_cont_id, opnum, stub, obj, ctx.interface,
                                   maybe, little_endian, sec))
        if cancel_count:
            self._emit(CancelRequested(call_id))

    def _on_cancel(self, call_id: int) -> None:
        if self.state is not _S.BOUND:
            raise RemoteProtocolError("co_cancel before bind")
        if self._rx is not None and self._rx.call_id == call_id:
            self._rx.cancel_count += 1
        elif call_id in self._calls:
            self._calls[call_id].cancel_count += 1
            self._emit(CancelRequested(call_id))

    def _on_orphaned(self, call_id: int) -> None:
        if self.state is not _S.BOUND:
            raise RemoteProtocolError("orphaned before bind")
        if self._rx is not None and self._rx.call_id == call_id:
            self._rx = None
            self._emit(CallOrphaned(call_id))
        elif self._calls.pop(call_id, None) is not None:
            self._emit(CallOrphaned(call_id))

    # -- errors, timers, teardown --------------------------------------------------
    def _final_words(self, exc: RemoteProtocolError) -> bytes:
        head = self._current_header
        if len(head) == 4 and head[2] == PTYPE.bind:
            # C706 §12.6.4.5: a bind we cannot take is answered with bind_nak; a version we
            # do not speak gets protocol_version_not_supported.
            reason = (RejectReason.PROTOCOL_VERSION_NOT_SUPPORTED
                      if head[0] != 5 or head[1] > 1 else RejectReason.REASON_NOT_SPECIFIED)
            return BindNak(call_id=self._current_call_id,
                           provider_reject_reason=reason).encode()
        p_cont_id = self._rx.p_cont_id if self._rx is not None else 0
        flags = _FIRST | _LAST | int(PFC_DID_NOT_EXECUTE)
        return Fault(call_id=self._current_call_id, pfc_flags=flags, p_cont_id=p_cont_id,
                     status=wire_status(exc)).encode()

    def _pending_calls(self) -> tuple[int, ...]:
        return tuple(self._calls)

    def _release(self) -> None:
        self.stub_buffer = None
        if self.assoc_group_id:
            self.groups.release(self.assoc_group_id)
            self.assoc_group_id = 0
        self._rx = None

    def _deadlines(self) -> list[tuple[float, str, Any]]:
        out = self._idle_deadline(bool(self._calls) or self._rx is not None)
        if self._bind_deadline is not None and self.state is _S.IDLE:
            out.append((self._bind_deadline, "bind", None))
        return out

    def _on_timer(self, kind: str, key: Any, now: float) -> None:
        if kind == "bind":
            self._close("bind timeout")
        elif kind == "idle":
            self._send(Shutdown(call_id=0))  # C706 §12.6.4.11: ask the client to go away
            self._close("idle timeout")
