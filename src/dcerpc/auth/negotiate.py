"""SPNEGO (``RPC_C_AUTHN_GSS_NEGOTIATE``, auth_type 9) wrapping NTLM.

Client side: pyspnego's own SPNEGO initiator (``NegotiateOptions.use_negotiate``) with
NTLM inside. Server side: :class:`NegotiateAcceptor` unwraps the RFC 4178 tokens and
runs :class:`~dcerpc.auth.ntlm.NtlmServerContext` inside, including the mechListMIC
exchange ([MS-SPNG] 3.3.5.1: each side MICs the mechTypes list with NTLM, then restarts
that direction's RC4 stream).

Over DCE/RPC the legs after the bind go by alter_context ([MS-RPCE] 3.3.1.5.6):
bind (NegTokenInit + NEGOTIATE) → bind_ack (NegTokenResp + CHALLENGE) → alter_context
(NegTokenResp + AUTHENTICATE + mechListMIC) → alter_context_resp (accept-completed +
mechListMIC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spnego._spnego import NegState, NegTokenInit, NegTokenResp, pack_mech_type_list, unpack_token

from ..errors import SecurityError
from .base import Acceptor, AuthType, ClientIdentity, Credentials, SecurityContext
from .ntlm import MALFORMED, NTLMAcceptor, NtlmServerContext, SpnegoClientContext

__all__ = ["NTLM_OID", "Negotiate", "NegotiateAcceptor"]

NTLM_OID = "1.3.6.1.4.1.311.2.2.10"


@dataclass(frozen=True)
class Negotiate(Credentials):
    """SPNEGO client credentials (NTLM inside): ``dcerpc.auth.Negotiate(user, password,
    domain="")``."""

    user: str
    password: str = field(repr=False, default="")
    domain: str = ""
    auth_type: int = field(default=int(AuthType.GSS_NEGOTIATE), init=False)

    def client_context(self, level: int, context_id: int, target: str | None
                       ) -> SecurityContext:
        principal = self.user if "\\" in self.user or not self.domain \
            else f"{self.domain}\\{self.user}"
        return SpnegoClientContext(self.auth_type, "negotiate", principal, self.password,
                                   level, context_id, target)


class NegotiateAcceptor(Acceptor):
    """Server-side SPNEGO offering NTLM (from ``ntlm``, an :class:`NTLMAcceptor`)."""

    auth_type = int(AuthType.GSS_NEGOTIATE)

    def __init__(self, ntlm: NTLMAcceptor) -> None:
        self.ntlm = ntlm

    def server_context(self, level: int, context_id: int) -> NegotiateServerContext:
        return NegotiateServerContext(self, level, context_id)


class NegotiateServerContext(SecurityContext):
    def __init__(self, acceptor: NegotiateAcceptor, level: int, context_id: int) -> None:
        self.auth_type = acceptor.auth_type
        self.auth_level = level
        self.auth_context_id = context_id
        self.complete = False
        self._inner = NtlmServerContext(acceptor.ntlm, level, context_id,
                                        auth_type=acceptor.auth_type)
        self._mech_list: list[str] | None = None
        self._mic_required = False
        self._challenged = False

    def step(self, in_token: bytes | None) -> bytes | None:
        if self.complete:
            raise SecurityError("SPNEGO context is already complete")
        try:
            token: Any = unpack_token(in_token or b"")
        except MALFORMED as exc:
            raise SecurityError(f"malformed SPNEGO token: {exc}") from exc
        if self._mech_list is None:
            return self._on_init(token)
        if not isinstance(token, NegTokenResp):
            raise SecurityError("SPNEGO: expected a NegTokenResp")
        return self._on_resp(token)

    def _on_init(self, token: Any) -> bytes:
        if not isinstance(token, NegTokenInit) or not token.mech_types:
            raise SecurityError("SPNEGO: expected a NegTokenInit")
        self._mech_list = list(token.mech_types)
        if NTLM_OID not in self._mech_list:
            raise SecurityError("SPNEGO: the client offers no mechanism we support (NTLM)")
        if self._mech_list[0] == NTLM_OID and token.mech_token:
            self._challenged = True
            out = self._inner.step(token.mech_token)
            return NegTokenResp(NegState.accept_incomplete, NTLM_OID, out).pack()
        # Not the client's first choice: its optimistic token (if any) is for another
        # mechanism; ask for NTLM and for a mechListMIC (RFC 4178 §5).
        self._mic_required = True
        return NegTokenResp(NegState.request_mic, NTLM_OID).pack()

    def _on_resp(self, token: NegTokenResp) -> bytes | None:
        if not token.response_token:
            raise SecurityError("SPNEGO: NegTokenResp without a mechanism token")
        if not self._challenged:
            self._challenged = True
            out = self._inner.step(token.response_token)
            return NegTokenResp(NegState.accept_incomplete, response_token=out).pack()
        self._inner.step(token.response_token)
        session = self._inner.session
        assert session is not None and self._mech_list is not None
        packed = pack_mech_type_list(self._mech_list)
        if token.mech_list_mic:
            session.verify(packed, token.mech_list_mic)
            session.reset_rc4(outgoing=False)
            self._mic_required = True
        elif self._mic_required:
            raise SecurityError("SPNEGO: mechListMIC missing")
        mic = None
        if self._mic_required:
            mic = session.sign(packed)
            session.reset_rc4(outgoing=True)
        self.complete = True
        return NegTokenResp(NegState.accept_complete, mech_list_mic=mic).pack()

    def signature_size(self) -> int:
        return 16

    def wrap(self, header: bytes, body: bytes, trailer: bytes, seal: bool
             ) -> tuple[bytes, bytes]:
        return self._inner.wrap(header, body, trailer, seal)

    def unwrap(self, header: bytes, body: bytes, trailer: bytes, auth_value: bytes,
               seal: bool) -> bytes:
        return self._inner.unwrap(header, body, trailer, auth_value, seal)

    def identity(self) -> ClientIdentity:
        return self._inner.identity()
