"""The client side of a connection-oriented association.

Theory of operation
-------------------
States (C706 §12.4 client association machine, collapsed)::

    IDLE --bind()--> BINDING --bind_ack--> BOUND --EOF / close() / idle timer--> CLOSED
                        |--bind_nak / fault / bind timer--> CLOSED
    any violation by the server --> ERROR

``bind(contexts)`` proposes presentation contexts (optionally a bind-time feature
negotiation element, [MS-RPCE] 3.3.1.5.3) and an association group; the bind_ack settles
the fragment sizes (``min`` of both sides, never below 1432, protocol-digest §2.3),
PFC_CONC_MPX, and one result per proposed element, reported in ``BindAccepted``. Rejected
contexts are not an error — the call engine decides. ``alter_context`` adds contexts on
the bound connection, one at a time.

``send_request`` fragments the stub to the negotiated ``max_xmit_frag``; calls are keyed by
call_id, and with PFC_CONC_MPX any number may be in flight (``max_concurrent_calls``).
Response fragments are reassembled per call (interleaving across calls is accepted) with
the same limits as the server applies; ``ResponseReceived`` / ``FaultReceived`` end the
call. A response or fault for a call that was never sent is a protocol error; for a call
we orphaned it is dropped silently.

``cancel(call_id)`` sends co_cancel (C706 §12.6.4.6) and, with a ``cancel_timeout``,
arms a timer: when it fires the core sends orphaned, forgets the call and emits
``CancelTimedOut`` ([MS-RPCE] 3.3.1.5.10). ``orphan(call_id)`` sends orphaned at once.
A shutdown PDU from the server becomes ``ShutdownRequested``.

Authentication ([MS-RPCE] 3.3.1.5.2 / 2.2.2.10; protocol-digest §4.3): with an ``auth``
security context that is not complete yet, the bind carries its first token; each token
the server returns (bind_ack, then alter_context_resp) is fed to ``step``. A token to
send back goes in rpc_auth_3 when the context is then complete (NTLM's third leg: no
reply) and in an alter_context re-proposing the first context otherwise (SPNEGO legs).
``BindAccepted`` is emitted only once the context is complete; a security failure ends
the bind with ``BindRejected`` (status rpc_s_access_denied). A context that is already
complete when passed in is used as it is, without legs. Requests and responses are
then protected per fragment by :mod:`._security`.
"""

from __future__ import annotations

import struct
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .. import status as st
from ..errors import LocalProtocolError, RemoteProtocolError, SecurityError
from ._config import ConnectionConfig, negotiate_frag
from ._connection_base import ConnectionBase, ConnectionState
from ._fragments import (
    REQUEST_HEADER,
    RESPONSE_HEADER,
    FragmentLimitError,
    StubAssembler,
    append_request,
    iter_fragments,
    payload_size,
    request_parts,
)
from ._pdu_base import AuthVerifier
from ._security import (
    HEADER_SIGN_AUTH_TYPES,
    SecurityHook,
    protect,
    sec_trailer_overhead,
    set_header_signing,
    unprotect,
)
from .constants import (
    PFC_CONC_MPX,
    PFC_FIRST_FRAG,
    PFC_LAST_FRAG,
    PFC_MAYBE,
    PFC_SUPPORT_HEADER_SIGN,
    PTYPE,
    ContDefResult,
    bind_time_feature_syntax,
)
from .events import (
    AlterContextAccepted,
    BindAccepted,
    BindRejected,
    CancelTimedOut,
    FaultReceived,
    PresentationContext,
    ResponseReceived,
    ShutdownRequested,
)
from .pdu import (
    AlterContext,
    AlterContextResp,
    Auth3,
    Bind,
    BindAck,
    BindNak,
    CoCancel,
    ContextElement,
    ContextResult,
    Fault,
    Orphaned,
    Pdu,
    Request,
    Response,
    Shutdown,
)

__all__ = ["ClientConnection"]

_FIRST, _LAST = int(PFC_FIRST_FRAG), int(PFC_LAST_FRAG)
_REQUEST = int(PTYPE.request)
_DREP_LE = b"\x10\x00\x00\x00"  # little-endian, ASCII, IEEE (C706 §14.1)
_S = ConnectionState
#: How many orphaned call ids we remember, to drop their late replies quietly.
_ORPHAN_MEMORY = 4096


class _AuthFailed(Exception):
    """Internal: the security context failed during the bind legs."""


@dataclass(slots=True)
class _Call:
    p_cont_id: int
    stub: StubAssembler | None = None
    cancel_deadline: float | None = None


class ClientConnection(ConnectionBase):
    """Sans-IO client association: see the module docstring."""

    _fast_ptypes = frozenset({int(PTYPE.response)})
    #: A :class:`~._streaming.ClientStreams` when the driver streams pipe calls.
    _streaming: Any = None

    def __init__(self, config: ConnectionConfig | None = None, *,
                 auth: SecurityHook | None = None) -> None:
        super().__init__(config, auth, None)
        self.assoc_group_id = 0
        self.contexts: dict[int, PresentationContext] = {}
        self.features: int | None = None
        self.shutdown_requested = False
        self._next_call_id = 1
        self._calls: dict[int, _Call] = {}
        self._orphaned: OrderedDict[int, None] = OrderedDict()
        self._negotiating: tuple[int, tuple[ContextElement, ...]] | None = None
        self._bind_deadline: float | None = None
        self._cancel_armed = False
        #: bind_ack being held back while the auth legs run (SPNEGO over alter_context).
        self._held_ack: BindAck | None = None

    # -- intents -------------------------------------------------------------------
    def bind(self, contexts: Iterable[ContextElement], *, assoc_group_id: int = 0,
             features: int | None = None, now: float | None = None) -> int:
        """Queue a bind proposing ``contexts``; returns its call_id.

        ``features`` adds a bind-time feature negotiation element ([MS-RPCE] 3.3.1.5.3)
        with the next free ``p_cont_id``. ``assoc_group_id`` joins an existing group.
        """
        self._require(_S.IDLE, action="bind")
        elems = self._elements(contexts, features)
        call_id = self._new_call_id()
        flags = _FIRST | _LAST | (int(PFC_CONC_MPX) if self.config.conc_mpx else 0)
        if self._offers_header_sign():
            flags |= int(PFC_SUPPORT_HEADER_SIGN)
        verifier = None
        if self.auth is not None and not self.auth.complete:
            try:
                verifier = self._verifier(self._step(None))
            except _AuthFailed as exc:  # e.g. no credentials to start with
                raise SecurityError(str(exc)) from None
        self._send(Bind(call_id=call_id, pfc_flags=flags,
                        max_xmit_frag=self.config.max_xmit_frag,
                        max_recv_frag=self.config.max_recv_frag,
                        assoc_group_id=assoc_group_id, p_context_elem=elems,
                        auth_verifier=verifier))
        self._negotiating = (call_id, elems)
        self.state = _S.BINDING
        if now is not None and self.config.bind_timeout is not None:
            self._bind_deadline = now + self.config.bind_timeout
        return call_id

    def alter_context(self, contexts: Iterable[ContextElement]) -> int:
        """Queue an alter_context proposing more ``contexts``; returns its call_id."""
        self._require(_S.BOUND, action="alter_context")
        if self._negotiating is not None:
            raise LocalProtocolError("an alter_context is already outstanding")
        elems = self._elements(contexts, None)
        call_id = self._new_call_id()
        self._send(AlterContext(call_id=call_id, max_xmit_frag=self.config.max_xmit_frag,
                                max_recv_frag=self.config.max_recv_frag,
                                assoc_group_id=self.assoc_group_id, p_context_elem=elems))
        self._negotiating = (call_id, elems)
        return call_id

    def send_request(self, p_cont_id: int, opnum: int,
                     stub: bytes | bytearray | memoryview, *,
                     object: uuid.UUID | None = None, call_id: int | None = None,
                     maybe: bool = False, check_context: bool = True,
                     now: float | None = None) -> int:
        """Queue a request, fragmented to ``max_xmit_frag``; returns its call_id.

        ``check_context=False`` lets tests send on a context the server never accepted.
        A ``maybe`` call expects no reply and is not tracked (PFC_MAYBE).
        """
        calls = self._calls
        if (self.auth is None and object is None and call_id is None and not maybe
                and self.state is _S.BOUND and p_cont_id in self.contexts
                and len(stub) <= (self.max_xmit_frag - 24) & ~15
                and (self.conc_mpx or not calls)
                and len(calls) < self.config.max_concurrent_calls):
            # The small unauthenticated call, all checks above passed: one fragment
            # (FIRST|LAST, C706 §12.6.4.9), header packed straight into the output.
            call_id = self._next_call_id  # _new_call_id()'s usual case inline
            if call_id in calls:
                call_id = self._new_call_id()
            else:
                self._next_call_id = (call_id % 0xFFFFFFFF) + 1  # never 0
            total = len(stub)
            try:
                header = REQUEST_HEADER.pack(5, 0, _REQUEST, _FIRST | _LAST, _DREP_LE,
                                             24 + total, 0, call_id, total, p_cont_id, opnum)
            except (OverflowError, struct.error) as exc:
                raise LocalProtocolError(f"cannot encode request PDU: {exc}") from exc
            out = self._out
            out += header
            out += stub
            calls[call_id] = _Call(p_cont_id)
            if now is not None:
                self._last_activity = now
            return call_id
        self._require(_S.BOUND, action="send a request")
        if check_context and p_cont_id not in self.contexts:
            raise LocalProtocolError(f"p_cont_id {p_cont_id} is not an accepted context")
        if call_id is None:
            call_id = self._new_call_id()
        elif call_id in self._calls:
            raise LocalProtocolError(f"call_id {call_id} is already in progress")
        if self._calls and not self.conc_mpx:
            raise LocalProtocolError("another call is in progress and PFC_CONC_MPX is off")
        if len(self._calls) >= self.config.max_concurrent_calls:
            raise LocalProtocolError("max_concurrent_calls reached")
        header = 24 if object is None else 40
        payload = payload_size(self.max_xmit_frag, header, sec_trailer_overhead(self.auth))
        extra = int(PFC_MAYBE) if maybe else 0
        if self.auth is None and object is None:
            if len(stub) <= payload:
                self._out = append_request(self._out, call_id, p_cont_id, opnum, stub,
                                           payload, extra)
            else:
                # Fragments that point into the stub: it must not change under us. Bytes
                # and read-only views (the runtime's own encoded buffer) are kept as they
                # are; anything mutable is copied first.
                if type(stub) is not bytes and not (type(stub) is memoryview
                                                    and stub.readonly):
                    stub = bytes(stub)
                self._queue_parts(request_parts(call_id, p_cont_id, opnum, stub,
                                                payload, extra))
        else:
            self._send_protected(call_id, p_cont_id, opnum, stub, object, payload, extra)
        if not maybe:
            self._calls[call_id] = _Call(p_cont_id)
        if now is not None:
            self._last_activity = now
        return call_id

    def _send_protected(self, call_id: int, p_cont_id: int, opnum: int,
                        stub: bytes | bytearray | memoryview,
                        object: uuid.UUID | None, payload: int, extra: int) -> None:
        for flags, alloc_hint, chunk in iter_fragments(bytes(stub), payload):
            self._out += protect(Request(
                call_id=call_id, pfc_flags=flags | extra, alloc_hint=alloc_hint,
                p_cont_id=p_cont_id, opnum=opnum, object=object, stub_data=chunk), self.auth)

    def cancel(self, call_id: int, *, now: float | None = None) -> bool:
        """Send co_cancel for a call in flight; False if it is not (any more)."""
        call = self._calls.get(call_id)
        if call is None or self.state is not _S.BOUND:
            return False
        self._send(CoCancel(call_id=call_id))
        if now is not None and self.config.cancel_timeout is not None \
                and call.cancel_deadline is None:
            call.cancel_deadline = now + self.config.cancel_timeout
            self._cancel_armed = True
        return True

    def orphan(self, call_id: int) -> bool:
        """Abandon a call: send orphaned and drop its reply when it comes."""
        if self.state is not _S.BOUND or self._calls.pop(call_id, None) is None:
            return False
        self._send(Orphaned(call_id=call_id))
        self._remember_orphan(call_id)
        return True

    @property
    def calls_in_progress(self) -> int:
        return len(self._calls)

    def _new_call_id(self) -> int:
        while True:
            call_id = self._next_call_id
            self._next_call_id = (call_id % 0xFFFFFFFF) + 1  # never 0
            if call_id not in self._calls:
                return call_id

    def _elements(self, contexts: Iterable[ContextElement], features: int | None
                  ) -> tuple[ContextElement, ...]:
        elems = tuple(contexts)
        if features is not None:
            used = [e.p_cont_id for e in elems] + list(self.contexts)
            elems += (ContextElement(p_cont_id=max(used, default=-1) + 1,
                                     abstract_syntax=elems[0].abstract_syntax if elems else
                                     bind_time_feature_syntax(0),
                                     transfer_syntaxes=(bind_time_feature_syntax(features),)),)
        if not 0 < len(elems) <= 0xFF:
            raise LocalProtocolError(f"between 1 and 255 contexts needed, got {len(elems)}")
        return elems

    def _remember_orphan(self, call_id: int) -> None:
        self._orphaned[call_id] = None
        while len(self._orphaned) > _ORPHAN_MEMORY:
            self._orphaned.popitem(last=False)

    # -- inbound -------------------------------------------------------------------
    def _handle_pdu(self, pdu: Pdu, raw: bytes) -> None:
        if isinstance(pdu, Response):
            self._on_response(pdu, raw)
        elif isinstance(pdu, Fault):
            self._on_fault(pdu)
        elif isinstance(pdu, BindAck) and self.state is _S.BINDING:
            self._on_bind_ack(pdu)
        elif isinstance(pdu, BindNak) and self.state is _S.BINDING:
            self._emit(BindRejected(pdu.call_id, int(pdu.provider_reject_reason)))
            self._close("bind rejected")
        elif isinstance(pdu, AlterContextResp) and self._negotiating is not None \
                and self.state is _S.BOUND:
            self._on_alter_resp(pdu)
        elif isinstance(pdu, AlterContextResp) and self._held_ack is not None \
                and self.state is _S.BINDING:
            self._on_auth_alter_resp(pdu)
        elif isinstance(pdu, Shutdown) and self.state is _S.BOUND:
            self.shutdown_requested = True
            self._emit(ShutdownRequested())
        else:
            raise RemoteProtocolError(
                f"{pdu.PTYPE.name} PDU is not allowed at a client in state {self.state.value}")

    def _results(self, elems: tuple[ContextElement, ...], results: tuple[ContextResult, ...]
                 ) -> dict[int, PresentationContext]:
        if len(results) != len(elems):
            raise RemoteProtocolError(
                f"{len(results)} results answer {len(elems)} proposed contexts")
        accepted = {}
        for elem, res in zip(elems, results, strict=True):
            if res.result == ContDefResult.acceptance:
                if res.transfer_syntax not in elem.transfer_syntaxes:
                    raise RemoteProtocolError(
                        f"context {elem.p_cont_id} accepted with a transfer syntax never "
                        f"proposed: {res.transfer_syntax}")
                accepted[elem.p_cont_id] = PresentationContext(
                    elem.p_cont_id, elem.abstract_syntax, res.transfer_syntax)
            elif res.result == ContDefResult.negotiate_ack:
                self.features = int(res.reason)
        return accepted

    # -- authentication legs -----------------------------------------------------------
    def _step(self, token: bytes | None) -> bytes | None:
        assert self.auth is not None
        try:
            return self.auth.step(token)
        except SecurityError as exc:
            raise _AuthFailed(str(exc)) from exc

    def _verifier(self, token: bytes | None) -> AuthVerifier:
        assert self.auth is not None
        if not token:
            raise _AuthFailed("the security provider produced no token to send")
        return AuthVerifier(auth_type=self.auth.auth_type, auth_level=self.auth.auth_level,
                            auth_context_id=self.auth.auth_context_id, auth_value=token)

    def _auth_leg(self, call_id: int, av: AuthVerifier | None, ack: BindAck) -> bool:
        """Feed the server's token; True when the bind is complete (context done)."""
        auth = self.auth
        assert auth is not None and self._negotiating is not None
        if av is not None and (av.auth_type != auth.auth_type
                               or av.auth_context_id != auth.auth_context_id):
            raise RemoteProtocolError("the server answered for another security context",
                                      status=st.RPC_S_SEC_PKG_ERROR)
        if auth.complete:
            # Our last token completed the context (Kerberos DCE style: the client's
            # AP-REP); whatever the server answers with carries nothing left to check.
            return True
        if av is None:
            raise _AuthFailed("the server sent no security token")
        out = self._step(av.auth_value)
        if out is None:
            if not auth.complete:
                raise _AuthFailed("the security context stalled")
            return True
        if auth.complete and auth.auth_type == 10:
            # NTLM's AUTHENTICATE travels in rpc_auth_3, same call_id as the bind, and is
            # never answered ([MS-RPCE] 2.2.2.10; protocol-digest §4.3).
            self._send(Auth3(call_id=call_id, auth_verifier=self._verifier(out)))
            return True
        # More legs: alter_context re-proposing the bind's first context ([MS-RPCE]
        # 3.3.1.5.6), keeping the bind's call_id as Windows does.
        elems = self._negotiating[1][:1]
        self._send(AlterContext(call_id=call_id, max_xmit_frag=self.config.max_xmit_frag,
                                max_recv_frag=self.config.max_recv_frag,
                                assoc_group_id=ack.assoc_group_id, p_context_elem=elems,
                                auth_verifier=self._verifier(out)))
        self._held_ack = ack
        return False

    def _auth_failed(self, call_id: int, exc: _AuthFailed) -> None:
        self._emit(BindRejected(call_id, None, st.RPC_S_ACCESS_DENIED))
        self._close(f"authentication failed: {exc}")

    def _offers_header_sign(self) -> bool:
        return (self.config.header_signing and self.auth is not None
                and self.auth.auth_type in HEADER_SIGN_AUTH_TYPES)

    def _on_bind_ack(self, pdu: BindAck) -> None:
        assert self._negotiating is not None
        call_id, elems = self._negotiating
        accepted = self._results(elems, pdu.p_result_list)
        if self.auth is not None and self.auth.auth_type in HEADER_SIGN_AUTH_TYPES:
            # The server echoes the flag when it signs headers too ([MS-RPCE] 3.3.1.5.2.2);
            # not offered or not echoed: the stub only is signed, on both sides.
            set_header_signing(self.auth, self._offers_header_sign()
                               and bool(pdu.pfc_flags & PFC_SUPPORT_HEADER_SIGN))
        if self.auth is not None and not self.auth.complete:
            try:
                done = self._auth_leg(call_id, pdu.auth_verifier, pdu)
            except _AuthFailed as exc:
                self._auth_failed(call_id, exc)
                return
            if not done:
                return
        self._bound(pdu, accepted)

    def _bound(self, pdu: BindAck, accepted: dict[int, PresentationContext]) -> None:
        assert self._negotiating is not None
        call_id, _elems = self._negotiating
        self._negotiating = None
        self._bind_deadline = None
        self.contexts.update(accepted)
        self.assoc_group_id = pdu.assoc_group_id
        # Our transmit limit is what the server can receive, and vice versa (§2.3).
        self.max_xmit_frag = negotiate_frag(self.config.max_xmit_frag, pdu.max_recv_frag)
        self.max_recv_frag = negotiate_frag(self.config.max_recv_frag, pdu.max_xmit_frag)
        self.conc_mpx = self.config.conc_mpx and bool(pdu.pfc_flags & PFC_CONC_MPX)
        self.state = _S.BOUND
        self._emit(BindAccepted(call_id, pdu.assoc_group_id, self.max_xmit_frag,
                                self.max_recv_frag, pdu.p_result_list, accepted,
                                self.conc_mpx, self.features, pdu.sec_addr))

    def _on_auth_alter_resp(self, pdu: AlterContextResp) -> None:
        assert self._negotiating is not None and self._held_ack is not None
        call_id, elems = self._negotiating
        ack, self._held_ack = self._held_ack, None
        try:
            done = self._auth_leg(call_id, pdu.auth_verifier, ack)
        except _AuthFailed as exc:
            self._auth_failed(call_id, exc)
            return
        if done:
            self._bound(ack, self._results(elems, ack.p_result_list))

    def _on_alter_resp(self, pdu: AlterContextResp) -> None:
        assert self._negotiating is not None
        call_id, elems = self._negotiating
        accepted = self._results(elems, pdu.p_result_list)
        self._negotiating = None
        self.contexts.update(accepted)
        self._emit(AlterContextAccepted(call_id, pdu.p_result_list, accepted))

    def batch_ready(self) -> bool:
        """May a driver take whole one-fragment responses straight from the octets it
        received (a batch path) instead of feeding them to :meth:`receive_data`? Only
        while bound, unauthenticated, with no pipe stream, no queued event and nothing
        buffered in the framer; such a driver removes each answered call from
        ``_calls`` as :meth:`_handle_fast` does."""
        return (self.state is _S.BOUND and self.auth is None and self._streaming is None
                and not self._events and not self._eof and not self._reader.buffered)

    def _on_response(self, pdu: Response, raw: bytes) -> None:
        self._on_response_fields(pdu.call_id, int(pdu.pfc_flags), pdu.alloc_hint,
                                 pdu.p_cont_id, pdu.cancel_count, raw, pdu)

    def _handle_fast(self, raw: bytes) -> bool:
        if self.auth is not None:
            return False
        (_v, _m, _t, flags, _drep, _f, _a, call_id, alloc_hint, p_cont_id, cancel_count,
         _reserved) = RESPONSE_HEADER.unpack_from(raw)
        if flags & _FIRST and flags & _LAST and self.state is _S.BOUND \
                and self._streaming is None:
            # A whole reply in one fragment: when every check of _on_response_fields
            # passes, emit it here (the small call's path); anything else, errors
            # included, takes the general way below.
            call = self._calls.get(call_id)
            limit = self.config.max_stub_size
            if call is not None and call.stub is None and alloc_hint <= limit \
                    and len(raw) - 24 <= limit:
                del self._calls[call_id]
                self._events.append(ResponseReceived(call_id, p_cont_id, raw[24:],
                                                     cancel_count))
                return True
        self._on_response_fields(call_id, flags, alloc_hint, p_cont_id, cancel_count, raw,
                                 None)
        return True

    def _on_response_fields(self, call_id: int, flags: int, alloc_hint: int, p_cont_id: int,
                            cancel_count: int, raw: bytes, pdu: Response | None) -> None:
        """One response fragment; ``pdu`` is None when it came by the unauthenticated fast
        path (the stub is then the octets after the 24-octet header)."""
        if self.state is not _S.BOUND:
            raise RemoteProtocolError(f"response in state {self.state.value}")
        call = self._calls.get(call_id)
        if call is None:
            if call_id in self._orphaned:
                if flags & _LAST:
                    del self._orphaned[call_id]
                return
            raise RemoteProtocolError(f"response for call {call_id}, which is not in flight")
        if self._streaming is not None and call_id in self._streaming.rx:
            self._streaming.on_response(call_id, flags, cancel_count, raw, pdu)
            return
        if pdu is None and flags & _FIRST and flags & _LAST and call.stub is None:
            # A whole reply in one fragment: no reassembly state at all.
            stub = raw[24:]
            limit = self.config.max_stub_size
            if alloc_hint > limit:
                raise FragmentLimitError(
                    f"alloc_hint {alloc_hint} exceeds the limit of {limit} octets")
            if len(stub) > limit:
                raise FragmentLimitError(
                    f"reassembled stub exceeds the limit of {limit} octets")
            del self._calls[call_id]
            self._events.append(ResponseReceived(call_id, p_cont_id, stub, cancel_count))
            return
        if flags & _FIRST:
            if call.stub is not None:
                raise RemoteProtocolError(f"response of call {call_id} restarted")
            call.stub = StubAssembler(self.config.max_stub_size, self.config.max_fragments,
                                      alloc_hint)
        elif call.stub is None:
            raise RemoteProtocolError(
                f"response fragment of call {call_id} without a first fragment")
        if pdu is not None:
            call.stub.append(unprotect(pdu, raw, self.auth))
        elif flags & _FIRST and flags & _LAST:
            call.stub.append(raw[24:])
        else:  # one fragment of many: reassembly copies it once, at the join
            call.stub.append(memoryview(raw)[24:])
        if flags & _LAST:
            del self._calls[call_id]
            self._emit(ResponseReceived(call_id, p_cont_id,
                                        call.stub.take(self.stub_buffer if self.auth is None
                                                       else None), cancel_count))

    def _on_fault(self, pdu: Fault) -> None:
        if self.state is _S.BINDING:
            self._emit(BindRejected(pdu.call_id, None, pdu.status))
            self._close("bind faulted")
            return
        if self.state is not _S.BOUND:
            raise RemoteProtocolError(f"fault in state {self.state.value}")
        association = False
        if self._calls.pop(pdu.call_id, None) is None:
            if self._orphaned.pop(pdu.call_id, 0) is None:
                return  # the fault of a call we orphaned
            association = True
            if self._negotiating is not None and self._negotiating[0] == pdu.call_id:
                self._negotiating = None  # the alter_context failed
        self._emit(FaultReceived(pdu.call_id, pdu.status, pdu.did_not_execute, pdu.p_cont_id,
                                 pdu.cancel_count, pdu.stub_data, association))

    # -- timers, teardown ------------------------------------------------------------
    def _pending_calls(self) -> tuple[int, ...]:
        return tuple(self._calls)

    def _deadlines(self) -> list[tuple[float, str, Any]]:
        out = self._idle_deadline(bool(self._calls) or self._negotiating is not None)
        if self._bind_deadline is not None and self.state is _S.BINDING:
            out.append((self._bind_deadline, "bind", None))
        if self._cancel_armed:  # skip the scan of every call unless a cancel timer was set
            cancels = [(c.cancel_deadline, "cancel", cid) for cid, c in self._calls.items()
                       if c.cancel_deadline is not None]
            self._cancel_armed = bool(cancels)
            out += cancels
        return out

    def _on_timer(self, kind: str, key: Any, now: float) -> None:
        if kind == "bind":
            self._close("bind timeout")
        elif kind == "idle":
            self._close("idle timeout")
        elif kind == "cancel" and self._calls.pop(key, None) is not None:
            self._send(Orphaned(call_id=key))
            self._remember_orphan(key)
            self._emit(CancelTimedOut(key))
