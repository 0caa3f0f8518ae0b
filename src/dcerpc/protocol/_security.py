"""The hook point where per-PDU security plugs into the protocol core.

Authentication itself (NTLM/SPNEGO/Kerberos legs, keys, sequence numbers) belongs to
``dcerpc.auth`` and arrives in a later issue; the core only frames the sec_trailer
([MS-RPCE] 2.2.2.11) and calls these four methods at the right moments:

* sending a request/response fragment at ``auth_level`` ≥ PKT_INTEGRITY: the stub chunk
  is passed through :meth:`seal` (PKT_PRIVACY only), the PDU is encoded with a zeroed
  ``auth_value`` of ``signature_size`` octets, and :meth:`sign` gets the whole encoded
  fragment minus that placeholder and returns the real ``auth_value``
  ([MS-RPCE] 3.3.1.5.2.2: the signature covers header, body, pad and sec_trailer);
* receiving such a fragment: :meth:`verify` gets the fragment minus its ``auth_value``
  (sealed octets as they arrived) and the ``auth_value``; then :meth:`unseal` turns the
  stub plus auth pad back into plain text. Each fragment is protected on its own
  (protocol-digest §3.1).

``verify`` raises :class:`~dcerpc.errors.SecurityError` on a bad signature; the core turns
that into a fault ``rpc_s_access_denied`` (protocol-digest §3.4).
"""

from __future__ import annotations

import dataclasses
from typing import Protocol, runtime_checkable

from .. import status as st
from ..errors import RemoteProtocolError, SecurityError
from ._pdu_base import SEC_TRAILER_SIZE, AuthVerifier
from .constants import AuthnLevel
from .pdu import Request, Response

__all__ = ["SecurityHook", "protect", "sec_trailer_overhead", "unprotect"]

_INTEGRITY = int(AuthnLevel.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)
_PRIVACY = int(AuthnLevel.RPC_C_AUTHN_LEVEL_PKT_PRIVACY)


@runtime_checkable
class SecurityHook(Protocol):
    """What the core needs from an established security context."""

    auth_type: int
    auth_level: int
    auth_context_id: int
    #: Octets of the ``auth_value`` this context produces per PDU (NTLM: 16).
    signature_size: int

    def sign(self, data: bytes) -> bytes:
        """The ``auth_value`` for ``data`` (the fragment up to and including sec_trailer)."""
        ...

    def verify(self, data: bytes, auth_value: bytes) -> None:
        """Raise ``SecurityError`` unless ``auth_value`` authenticates ``data``."""
        ...

    def seal(self, data: bytes) -> bytes:
        """Encrypt stub octets plus auth pad (same length out as in)."""
        ...

    def unseal(self, data: bytes) -> bytes:
        """Decrypt stub octets plus auth pad (same length out as in)."""
        ...


def sec_trailer_overhead(hook: SecurityHook | None) -> int:
    """Worst-case per-fragment octets a hook adds: 15 pad + sec_trailer + signature."""
    return 0 if hook is None else 15 + SEC_TRAILER_SIZE + hook.signature_size


def protect(pdu: Request | Response, hook: SecurityHook | None) -> bytes:
    """Encode one request/response fragment, sealed and signed as ``hook`` demands.

    Below PKT_INTEGRITY nothing is added (connect-level contexts protect no PDU,
    [MS-RPCE] 3.3.1.5.2). Otherwise the stub is padded so the sec_trailer is 16-aligned
    from the start of the stub ([MS-RPCE] 2.2.2.11), stub + pad are sealed at PKT_PRIVACY,
    and the signature is computed over the encoded fragment up to its sec_trailer.
    """
    if hook is None or hook.auth_level < _INTEGRITY:
        return pdu.encode()
    stub = bytes(pdu.stub_data)
    pad = bytes(-len(stub) % 16)
    if hook.auth_level >= _PRIVACY:
        sealed = hook.seal(stub + pad)
        stub, pad = sealed[:len(stub)], sealed[len(stub):]
    verifier = AuthVerifier(auth_type=hook.auth_type, auth_level=hook.auth_level,
                            auth_context_id=hook.auth_context_id,
                            auth_value=bytes(hook.signature_size), auth_pad=pad)
    raw = dataclasses.replace(pdu, stub_data=stub, auth_verifier=verifier).encode()
    unsigned = raw[:len(raw) - hook.signature_size]
    signature = hook.sign(unsigned)
    if len(signature) != hook.signature_size:
        raise ValueError(f"sign() returned {len(signature)} octets, "
                         f"signature_size is {hook.signature_size}")
    return unsigned + signature


def unprotect(pdu: Request | Response, raw: bytes, hook: SecurityHook | None) -> bytes:
    """The plain stub of a received fragment, verified and unsealed per ``hook``.

    A missing or failing verifier raises :class:`RemoteProtocolError` with status
    rpc_s_access_denied (protocol-digest §3.4). Without a hook, or below PKT_INTEGRITY,
    the stub is taken as it is (any verifier was already split off by the codec).
    """
    if hook is None or hook.auth_level < _INTEGRITY:
        return bytes(pdu.stub_data)
    av = pdu.auth_verifier
    if av is None or av.auth_level != hook.auth_level or av.auth_type != hook.auth_type \
            or av.auth_context_id != hook.auth_context_id:
        raise RemoteProtocolError("fragment lacks the negotiated auth verifier",
                                  status=st.RPC_S_ACCESS_DENIED)
    try:
        hook.verify(raw[:len(raw) - av.auth_length], av.auth_value)
    except SecurityError as exc:
        raise RemoteProtocolError(f"verifier check failed: {exc}",
                                  status=st.RPC_S_ACCESS_DENIED) from exc
    stub = bytes(pdu.stub_data)
    if hook.auth_level >= _PRIVACY:
        stub = hook.unseal(stub + (av.auth_pad or b""))[:len(stub)]
    return stub
