"""Where per-PDU security plugs into the protocol core ([MS-RPCE] 2.2.2.11, 3.3.1.5.2).

Authentication itself (NTLM/SPNEGO/Kerberos legs, keys, sequence numbers) lives in
``dcerpc.auth``; the core only frames the sec_trailer and calls a
:class:`SecurityHook` (the shape of ``dcerpc.auth.base.SecurityContext``) at the right
moments:

* the auth legs: the tokens in bind / bind_ack / alter_context / alter_context_resp /
  rpc_auth_3 verifiers go through ``step`` (see ``_client.py`` / ``_server.py``);
* sending a request/response fragment at a level that protects PDUs (CALL and above:
  connection-oriented RPC upgrades CALL and PKT to packet integrity, protocol-digest
  §4.2): the stub is padded so that the sec_trailer is 16-aligned from the start of the
  stub, the fragment is encoded with a placeholder ``auth_value``, and ``wrap(header,
  body, trailer, seal)`` returns the (sealed at PKT_PRIVACY) body and the real
  ``auth_value``. The signature covers header + plain body + sec_trailer;
* receiving such a fragment: ``unwrap`` verifies and unseals it. Each fragment is
  protected on its own, with its own sequence number (protocol-digest §3.1).

A failed check raises :class:`VerifierError` (a :class:`RemoteProtocolError` with
status rpc_s_access_denied): the server answers with that fault and closes, never
dispatching unverified data (protocol-digest §3.4).
"""

from __future__ import annotations

import dataclasses
import struct
from typing import Protocol, runtime_checkable

from .. import status as st
from ..errors import RemoteProtocolError, SecurityError
from ._pdu_base import SEC_TRAILER_SIZE, AuthVerifier
from .constants import AuthnLevel
from .pdu import Request, Response

__all__ = [
    "SecurityHook",
    "VerifierError",
    "check_verification_trailer",
    "protect",
    "protects_pdus",
    "sec_trailer_overhead",
    "split_verification_trailer",
    "strip_verification_trailer",
    "unprotect",
]

_CALL = int(AuthnLevel.RPC_C_AUTHN_LEVEL_CALL)
_PRIVACY = int(AuthnLevel.RPC_C_AUTHN_LEVEL_PKT_PRIVACY)


class VerifierError(RemoteProtocolError):
    """A PDU's verifier is missing, does not match the context, or fails its check."""

    def __init__(self, message: str, status: int = st.RPC_S_ACCESS_DENIED) -> None:
        super().__init__(message, status=status)


@runtime_checkable
class SecurityHook(Protocol):
    """What the core needs from a security context (``dcerpc.auth.SecurityContext``)."""

    auth_type: int
    auth_level: int
    auth_context_id: int
    complete: bool

    def step(self, in_token: bytes | None) -> bytes | None: ...

    def signature_size(self) -> int: ...

    def wrap(self, header: bytes, body: bytes, trailer: bytes, seal: bool
             ) -> tuple[bytes, bytes]: ...

    def unwrap(self, header: bytes, body: bytes, trailer: bytes, auth_value: bytes,
               seal: bool) -> bytes: ...


def protects_pdus(hook: SecurityHook | None) -> bool:
    """Do request/response PDUs carry verifiers under ``hook``? (CALL and above.)"""
    return hook is not None and hook.auth_level >= _CALL


def sec_trailer_overhead(hook: SecurityHook | None) -> int:
    """Worst-case per-fragment octets a hook adds: 15 pad + sec_trailer + signature."""
    return 15 + SEC_TRAILER_SIZE + hook.signature_size() if protects_pdus(hook) else 0  # type: ignore[union-attr]


def protect(pdu: Request | Response, hook: SecurityHook | None) -> bytes:
    """Encode one request/response fragment, signed (and sealed) as ``hook`` demands.

    Below CALL nothing is added (connect-level contexts protect no PDU,
    [MS-RPCE] 3.3.1.5.2).
    """
    if hook is None or not protects_pdus(hook):
        return pdu.encode()
    stub = bytes(pdu.stub_data)
    pad = bytes(-len(stub) % 16)
    size = hook.signature_size()
    verifier = AuthVerifier(auth_type=hook.auth_type, auth_level=hook.auth_level,
                            auth_context_id=hook.auth_context_id,
                            auth_value=bytes(size), auth_pad=pad)
    raw = dataclasses.replace(pdu, auth_verifier=verifier).encode()
    trailer_off = len(raw) - size - SEC_TRAILER_SIZE
    body_off = trailer_off - len(stub) - len(pad)
    header, trailer = raw[:body_off], raw[trailer_off:trailer_off + SEC_TRAILER_SIZE]
    body, auth_value = hook.wrap(header, raw[body_off:trailer_off], trailer,
                                 hook.auth_level >= _PRIVACY)
    if len(auth_value) != size or len(body) != trailer_off - body_off:
        raise ValueError(f"wrap() returned {len(body)}+{len(auth_value)} octets, expected "
                         f"{trailer_off - body_off}+{size}")
    return header + body + trailer + auth_value


def unprotect(pdu: Request | Response, raw: bytes, hook: SecurityHook | None) -> bytes:
    """The plain stub of a received fragment, verified and unsealed per ``hook``.

    A missing or failing verifier raises :class:`VerifierError`. Without a hook, or below
    CALL, the stub is taken as it is (any verifier was already split off by the codec).
    """
    if hook is None or not protects_pdus(hook):
        return bytes(pdu.stub_data)
    av = pdu.auth_verifier
    if av is None or av.auth_level != hook.auth_level or av.auth_type != hook.auth_type \
            or av.auth_context_id != hook.auth_context_id:
        raise VerifierError("fragment lacks the negotiated auth verifier")
    stub = bytes(pdu.stub_data)
    pad = av.auth_pad or b""
    trailer_off = len(raw) - av.auth_length - SEC_TRAILER_SIZE
    body_off = trailer_off - len(stub) - len(pad)
    try:
        plain = hook.unwrap(raw[:body_off], raw[body_off:trailer_off],
                            raw[trailer_off:trailer_off + SEC_TRAILER_SIZE], av.auth_value,
                            hook.auth_level >= _PRIVACY)
    except SecurityError as exc:
        raise VerifierError(f"verifier check failed: {exc}") from exc
    return plain[:len(stub)]


#: [MS-RPCE] 2.2.2.13 verification trailer: rpc_sec_verification_trailer signature and
#: the command numbers of 2.2.2.13.1-2.2.2.13.4.
_VT_MAGIC = bytes.fromhex("8ae3137102f43671")
SEC_VT_COMMAND_BITMASK_1 = 0x0001
SEC_VT_COMMAND_PCONTEXT = 0x0002
SEC_VT_COMMAND_HEADER2 = 0x0003
_VT_END = 0x4000
_VT_MUST_PROCESS = 0x8000
_VT_COMMAND = struct.Struct("<HH")
_VT_HEADER2 = struct.Struct("<BBH4sIHH")


def split_verification_trailer(stub: bytes) -> tuple[bytes, list[tuple[int, bytes]]]:
    """The stub without a trailing verification trailer, and the trailer's commands
    (``(command, body)``; empty when there is no trailer).

    Windows clients append it after the stub data (4-aligned) at integrity and privacy.
    It is taken only when well formed up to the end of the stub (commands up to one
    flagged SEC_VT_COMMAND_END); anything else is left to the NDR decoder.
    """
    start = stub.rfind(_VT_MAGIC)
    while start >= 0:
        if start % 4 == 0:
            commands = _commands(stub, start + len(_VT_MAGIC))
            if commands is not None:
                return stub[:start], commands
        start = stub.rfind(_VT_MAGIC, 0, start)
    return stub, []


def strip_verification_trailer(stub: bytes) -> bytes:
    """:func:`split_verification_trailer` without the commands."""
    return split_verification_trailer(stub)[0]


def _commands(stub: bytes, pos: int) -> list[tuple[int, bytes]] | None:
    out = []
    while pos + 4 <= len(stub):
        command, length = _VT_COMMAND.unpack_from(stub, pos)
        body = stub[pos + 4:pos + 4 + length]
        pos += 4 + length
        if pos > len(stub):
            return None
        out.append((command, body))
        if command & _VT_END:
            return out if pos == len(stub) else None
    return None


def check_verification_trailer(commands: list[tuple[int, bytes]], *, call_id: int,
                               p_cont_id: int, opnum: int, packed_drep: bytes,
                               abstract: bytes, transfer: bytes) -> None:
    """Raise :class:`VerifierError` unless the trailer's commands describe this call
    ([MS-RPCE] 3.3.1.5.2.1 / 2.2.2.13: pcontext = the context's syntaxes, header2 = the
    request's PTYPE, drep, call_id, p_cont_id and opnum). ``abstract``/``transfer`` are
    the context's p_syntax_id_t octets. Unknown commands flagged MUST_PROCESS fail."""
    for command, body in commands:
        kind = command & 0x3FFF
        if kind == SEC_VT_COMMAND_BITMASK_1:
            continue  # client capabilities (header signing): nothing to verify
        if kind == SEC_VT_COMMAND_PCONTEXT:
            if body != abstract + transfer:
                raise VerifierError("verification trailer names another presentation "
                                    "context")
        elif kind == SEC_VT_COMMAND_HEADER2:
            if len(body) != _VT_HEADER2.size:
                raise VerifierError("malformed verification trailer header2")
            ptype, _r1, _r2, drep, vt_call, vt_cont, vt_op = _VT_HEADER2.unpack(body)
            if (ptype, drep, vt_call, vt_cont, vt_op) != (0, bytes(packed_drep), call_id,
                                                          p_cont_id, opnum):
                raise VerifierError("verification trailer does not match the request "
                                    "header")
        elif command & _VT_MUST_PROCESS:
            raise VerifierError(f"unknown verification trailer command {kind:#x}")
