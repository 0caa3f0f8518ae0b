"""The security-provider interface the protocol core drives ([MS-RPCE] 3.3.1.5.2).

A :class:`Credentials` object (client) or an :class:`Acceptor` (server) makes one
:class:`SecurityContext` per connection and ``auth_context_id``. The sans-IO core feeds the
tokens it finds in bind/bind_ack/alter_context/alter_context_resp/rpc_auth_3 verifiers to
:meth:`SecurityContext.step` and, once the context is complete, protects every request and
response fragment with :meth:`SecurityContext.wrap` / :meth:`SecurityContext.unwrap`
(gss_wrap_iov style: the PDU header and the sec_trailer are signed only, the stub plus
auth pad is sealed at PKT_PRIVACY, [MS-RPCE] 2.2.2.11 / 3.3.1.5.2.2).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "Acceptor",
    "AuthLevel",
    "AuthType",
    "ClientIdentity",
    "Credentials",
    "SecurityContext",
    "normalize_level",
]


class AuthType(enum.IntEnum):
    """``auth_type`` values ([MS-RPCE] 2.2.1.1.7)."""

    NONE = 0
    GSS_NEGOTIATE = 9
    WINNT = 10
    GSS_KERBEROS = 16


class AuthLevel(enum.IntEnum):
    """``RPC_C_AUTHN_LEVEL_*`` ([MS-RPCE] 2.2.1.1.8)."""

    DEFAULT = 0
    NONE = 1
    CONNECT = 2
    CALL = 3
    PKT = 4
    PKT_INTEGRITY = 5
    PKT_PRIVACY = 6


_LEVEL_NAMES = {
    "none": AuthLevel.NONE, "connect": AuthLevel.CONNECT, "call": AuthLevel.CALL,
    "pkt": AuthLevel.PKT, "packet": AuthLevel.PKT, "integrity": AuthLevel.PKT_INTEGRITY,
    "pkt_integrity": AuthLevel.PKT_INTEGRITY, "privacy": AuthLevel.PKT_PRIVACY,
    "pkt_privacy": AuthLevel.PKT_PRIVACY,
}


def normalize_level(level: int | str | None) -> int:
    """A level number from a number or a name (``"integrity"``, ``"privacy"`` ...).

    ``None`` and DEFAULT (0) mean PKT_INTEGRITY, what Windows picks for connection-oriented
    protocol sequences when a caller asks for the default.
    """
    if level is None:
        return int(AuthLevel.PKT_INTEGRITY)
    if isinstance(level, str):
        try:
            return int(_LEVEL_NAMES[level.strip().lower().removeprefix("rpc_c_authn_level_")])
        except KeyError:
            raise ValueError(f"unknown authentication level {level!r}") from None
    level = int(level)
    if level == 0:
        return int(AuthLevel.PKT_INTEGRITY)
    if not 1 <= level <= 6:
        raise ValueError(f"authentication level must be 1..6, got {level}")
    return level


@dataclass(frozen=True)
class ClientIdentity:
    """Who the caller authenticated as (what ``RpcBindingInqAuthClient`` reports).

    ``impersonation_level`` is the ``RPC_C_IMP_LEVEL_*`` the caller allows (IMPERSONATE,
    3, unless the client asked for less); it limits what impersonation gives the server
    (:mod:`dcerpc.auth._impersonation`).  ``server_principal`` is the name the client
    addressed the server by, when its security package carries one (NTLM's
    MsvAvTargetName, the Kerberos service principal), else None.
    """

    principal: str
    user: str
    domain: str
    auth_type: int
    auth_level: int
    impersonation_level: int = 3
    server_principal: str | None = None


class SecurityContext:
    """One security context, client or server side (see the module docstring)."""

    auth_type: int = 0
    auth_level: int = 1
    auth_context_id: int = 0
    complete: bool = False

    def step(self, in_token: bytes | None) -> bytes | None:
        """Client: ``step(None)`` gives the bind token, then feed each peer token and get
        the next one to send (or None). Server: ``step(client_token)`` → reply token.

        Raises :class:`dcerpc.errors.SecurityError` on failure.
        """
        raise NotImplementedError

    def signature_size(self) -> int:
        """Octets of ``auth_value`` on protected PDUs."""
        raise NotImplementedError

    def wrap(self, header: bytes, body: bytes, trailer: bytes, seal: bool
             ) -> tuple[bytes, bytes]:
        """Protect one PDU: returns ``(body_out, auth_value)``."""
        raise NotImplementedError

    def unwrap(self, header: bytes, body: bytes, trailer: bytes, auth_value: bytes,
               seal: bool) -> bytes:
        """Verify (raise SecurityError) and return the plain body."""
        raise NotImplementedError

    def identity(self) -> ClientIdentity:
        """Server side, once complete: the authenticated caller."""
        raise NotImplementedError


class Credentials:
    """Client-side credentials for one auth_type (what users pass as ``auth=``)."""

    auth_type: int = 0

    def client_context(self, level: int, context_id: int, target: str | None
                       ) -> SecurityContext:
        raise NotImplementedError

    def client_context_ex(self, level: int, context_id: int, target: str | None,
                          imp_level: int) -> SecurityContext:
        """``client_context`` asking the package to carry the impersonation level the
        client allows (``RPC_C_IMP_LEVEL_*``: IDENTIFY ⇒ NTLMSSP_NEGOTIATE_IDENTIFY,
        DELEGATE ⇒ Kerberos delegation).  Packages that cannot carry it ignore it."""
        return self.client_context(level, context_id, target)


class Acceptor:
    """Server-side credential source for one auth_type."""

    auth_type: int = 0

    def server_context(self, level: int, context_id: int) -> SecurityContext:
        raise NotImplementedError
