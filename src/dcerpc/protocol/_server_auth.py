"""The server's authentication legs ([MS-RPCE] 3.3.1.5.2), mixed into
:class:`~._server.ServerConnection`.

Authentication ([MS-RPCE] 3.3.1.5.2, protocol-digest §4): ``acceptors`` maps auth_type
→ an acceptor (``dcerpc.auth.Acceptor``). A bind with a verifier gets a security context
from the acceptor of its auth_type (none → bind_nak authentication_type_not_recognized,
a failing first token → bind_nak invalid_checksum) and the reply token rides in the
bind_ack. Later tokens come in rpc_auth_3 (NTLM; never answered) or alter_context
(SPNEGO; answered in alter_context_resp). A failing later token, a request before the
context is complete, or a request fragment whose verifier is missing or wrong is
answered with fault rpc_s_access_denied and the connection closes (the call is never
dispatched); so is a [MS-RPCE] 2.2.2.13 verification trailer that does not describe the
request (pcontext / header2 commands); a well-formed one is removed from the stub.

Several security contexts may share a connection ([MS-RPCE] 3.3.1.5.2; impacket's
``alter_ctx`` opens one per presentation context): an alter_context whose verifier names
a new (auth_type, auth_context_id) starts another context, whose later legs arrive in
rpc_auth_3 or alter_context like the first one's. A request is verified with the context
its first fragment's verifier names (every fragment must name the same one); a request
without a verifier is taken under the bind's context, which must then be below CALL. The
response is protected with the request's context, and ``RequestReceived.security`` says
who called. ``security`` is the bind's context once complete.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import status as st
from ..errors import SecurityError
from ._pdu_base import AuthVerifier
from ._security import SecurityHook, VerifierError, set_header_signing
from .constants import RejectReason
from .events import AuthFailed
from .pdu import Auth3

__all__ = ["ServerAuthLegs"]


class _Nak(Exception):
    """Internal: answer this bind with bind_nak(``reason``) and close."""

    def __init__(self, reason: int) -> None:
        self.reason = reason


class ServerAuthLegs:
    """Starting, continuing and choosing a connection's security contexts."""

    auth: SecurityHook | None
    acceptors: Mapping[int, Any]
    #: every security context of the connection by (auth_type, auth_context_id)
    _sec: dict[tuple[int, int], SecurityHook]
    #: PFC_SUPPORT_HEADER_SIGN agreed at bind
    header_sign: bool

    if TYPE_CHECKING:
        def _emit(self, event: Any) -> None: ...  # ConnectionBase's

    def _accept_security(self, av: AuthVerifier | None) -> AuthVerifier | None:
        """Start the security context a bind asks for; the bind_ack's verifier."""
        if av is None:
            return None
        if self.auth is not None and self.auth.complete:
            return None  # a context established out of band (tests): nothing to do
        acceptor = self.acceptors.get(av.auth_type)
        if acceptor is None or not 2 <= av.auth_level <= 6:
            self._emit(AuthFailed(f"auth_type {av.auth_type} / level {av.auth_level} "
                                  "not offered"))
            raise _Nak(RejectReason.AUTHENTICATION_TYPE_NOT_RECOGNIZED)
        ctx = acceptor.server_context(av.auth_level, av.auth_context_id)
        try:
            out = ctx.step(av.auth_value)
        except SecurityError as exc:
            self._emit(AuthFailed(str(exc)))
            raise _Nak(RejectReason.INVALID_CHECKSUM) from None
        self.auth = ctx
        self._sec[(av.auth_type, av.auth_context_id)] = ctx
        return self._reply_verifier(ctx, out)

    def _reply_verifier(self, auth: SecurityHook, token: bytes | None
                        ) -> AuthVerifier | None:
        if not token:
            return None
        return AuthVerifier(auth_type=auth.auth_type, auth_level=auth.auth_level,
                            auth_context_id=auth.auth_context_id, auth_value=token)

    def _continue_security(self, av: AuthVerifier | None, *, may_start: bool
                           ) -> AuthVerifier | None:
        """A later leg (rpc_auth_3 / alter_context): feed the token to the context the
        verifier names; an alter_context (``may_start``) may start a new context."""
        if av is None:
            return None
        key = (av.auth_type, av.auth_context_id)
        auth = self._sec.get(key)
        if auth is None:
            acceptor = self.acceptors.get(av.auth_type)
            if not may_start or acceptor is None or not 2 <= av.auth_level <= 6:
                raise VerifierError(f"no security context {av.auth_context_id} of "
                                    f"auth_type {av.auth_type}",
                                    status=st.RPC_S_SEC_PKG_ERROR)
            auth = acceptor.server_context(av.auth_level, av.auth_context_id)
            set_header_signing(auth, self.header_sign)
            self._sec[key] = auth
        elif auth.complete:
            return None  # alter_context for another presentation context: no new leg
        try:
            out = auth.step(av.auth_value)
        except SecurityError as exc:
            raise VerifierError(f"authentication failed: {exc}") from exc
        return self._reply_verifier(auth, out)

    def _on_auth3(self, pdu: Auth3) -> None:
        # [MS-RPCE] 2.2.2.10: the third leg is never answered.
        av = pdu.auth_verifier
        self._continue_security(av, may_start=False)
        auth = self._sec.get((av.auth_type, av.auth_context_id)) if av is not None else None
        if auth is not None and not auth.complete:
            raise VerifierError("the security context is incomplete after rpc_auth_3")

    def _select_security(self, av: AuthVerifier | None) -> SecurityHook | None:
        """The context a request's first fragment names (the bind's when it names none)."""
        if av is None:
            auth = self.auth
        else:
            auth = self._sec.get((av.auth_type, av.auth_context_id))
            if auth is None:
                raise VerifierError(f"request for unknown security context "
                                    f"{av.auth_context_id}")
        if auth is not None and not auth.complete:
            raise VerifierError("request before the security context is complete")
        return auth
