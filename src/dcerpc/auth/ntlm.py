"""NTLM (``RPC_C_AUTHN_WINNT``, auth_type 10): client credentials and the acceptor.

Client side: pyspnego's NTLM initiator builds the messages and protects PDUs with its
DCE-style ``wrap_iov``/``sign``/``verify``. Server side: :class:`NTLMAcceptor` answers
NEGOTIATE with a CHALLENGE and checks the NTLMv2 AUTHENTICATE against a pluggable
password source ([MS-NLMP] 3.2.5.1 / 3.3.2) — what pyspnego's acceptor cannot do.

Three legs over DCE/RPC ([MS-RPCE] 2.2.2.10 / protocol-digest §4.3): bind carries
NEGOTIATE, bind_ack CHALLENGE, rpc_auth_3 AUTHENTICATE.
"""

from __future__ import annotations

import os
import platform
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import spnego
import spnego.exceptions
from spnego._ntlm_raw.crypto import hmac_md5
from spnego._ntlm_raw.messages import (
    Authenticate,
    AvFlags,
    AvId,
    Challenge,
    FileTime,
    Negotiate,
    NegotiateFlags,
    NTClientChallengeV2,
    TargetInfo,
    Version,
)
from spnego.iov import BufferType, IOVBuffer

from ..errors import SecurityError
from ._nlmp import NtlmSession, exported_session_key, ntowfv2, verify_ntlmv2
from .base import Acceptor, AuthLevel, AuthType, ClientIdentity, Credentials, SecurityContext

__all__ = ["NTLM", "NTLMAcceptor", "PasswordSource", "UserTable"]

#: A password source: (domain, user) → password, NT hash (16 octets), or None (unknown).
PasswordSource = Callable[[str, str], "str | bytes | None"]

#: What pyspnego's codecs raise on a malformed message (slicing and struct unpacking).
MALFORMED: tuple[type[Exception], ...] = (
    struct.error, ValueError, IndexError, KeyError, TypeError, OverflowError,
    spnego.exceptions.SpnegoError)
_MALFORMED = MALFORMED
_INTEGRITY = int(AuthLevel.PKT_INTEGRITY)
_PRIVACY = int(AuthLevel.PKT_PRIVACY)
_MIC_OFFSET = 72  # AUTHENTICATE: 64-octet fixed part + 8-octet Version, then MIC


def protects(level: int) -> bool:
    """Whether PDUs carry verifiers at ``level``: connection-oriented RPC upgrades CALL
    and PKT to packet integrity ([MS-RPCE] 3.3.1.5.2; protocol-digest §4.2)."""
    return level >= int(AuthLevel.CALL)


class UserTable:
    """A password source backed by a mapping ``{"DOMAIN\\\\user": password, "user": ...}``.

    Lookups ignore case. An entry without a domain matches the user in any domain. A value
    may be a password or a 16-octet NT hash.
    """

    def __init__(self, users: Mapping[str, str | bytes]) -> None:
        self._users: dict[tuple[str | None, str], str | bytes] = {}
        for name, secret in users.items():
            domain, sep, user = name.rpartition("\\")
            self._users[(domain.upper() if sep else None, user.upper())] = secret

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> UserTable:
        """Lines ``DOMAIN\\user:password`` (``#`` comments and blank lines ignored)."""
        users: dict[str, str] = {}
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                line = line.rstrip("\r\n")
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                name, sep, password = line.partition(":")
                if not sep or not name:
                    raise ValueError(f"{path}:{number}: expected DOMAIN\\user:password")
                users[name.strip()] = password
        return cls(users)

    def __call__(self, domain: str, user: str) -> str | bytes | None:
        found = self._users.get((domain.upper(), user.upper()))
        if found is None:
            found = self._users.get((None, user.upper()))
        return found


# -- client ------------------------------------------------------------------------------
@dataclass(frozen=True)
class NTLM(Credentials):
    """NTLM client credentials: ``dcerpc.auth.NTLM(user, password, domain="")``.

    ``user`` may also be written ``"DOMAIN\\\\user"``.
    """

    user: str
    password: str = field(repr=False, default="")
    domain: str = ""
    auth_type: int = field(default=int(AuthType.WINNT), init=False)

    def principal(self) -> str:
        if "\\" in self.user or not self.domain:
            return self.user
        return f"{self.domain}\\{self.user}"

    def client_context(self, level: int, context_id: int, target: str | None
                       ) -> SecurityContext:
        return SpnegoClientContext(self.auth_type, "ntlm", self.principal(), self.password,
                                   level, context_id, target)

    def client_context_ex(self, level: int, context_id: int, target: str | None,
                          imp_level: int) -> SecurityContext:
        return SpnegoClientContext(self.auth_type, "ntlm", self.principal(), self.password,
                                   level, context_id, target, imp_level)


_IMP_LEVEL_IDENTIFY = 2


def _spn_parts(target: str | None) -> tuple[str, str]:
    """``(service, host)`` for pyspnego's SPN (MsvAvTargetName ``service/host``): a
    principal name ``service/host[@REALM]`` as given, else ``host/<host of the binding>``
    (the binding's network address, without a ``:port``)."""
    if target and "/" in target:
        service, _, host = target.partition("/")
        return service or "host", host.partition("@")[0] or "unspecified"
    host = (target or "unspecified").partition(":")[0]
    return "host", host or "unspecified"


def _spnego_error(exc: Exception) -> SecurityError:
    return SecurityError(f"security package error: {exc}")


class SpnegoClientContext(SecurityContext):
    """A client context driven by pyspnego (NTLM, or SPNEGO wrapping NTLM)."""

    def __init__(self, auth_type: int, protocol: str, username: str, password: str,
                 level: int, context_id: int, target: str | None,
                 imp_level: int = 3) -> None:
        self.auth_type = auth_type
        self.auth_level = level
        self.auth_context_id = context_id
        self.complete = False
        service, host = _spn_parts(target)
        options = spnego.NegotiateOptions.use_negotiate if protocol == "negotiate" \
            else spnego.NegotiateOptions.none
        self._ctx: Any = spnego.client(username, password, hostname=host, service=service,
                                       protocol=protocol, options=options)
        # [MS-NLMP] 2.2.2.5 NTLMSSP_NEGOTIATE_IDENTIFY: the server may identify the
        # client but not impersonate it (RPC_C_IMP_LEVEL_IDENTIFY).  pyspnego maps no
        # ContextReq onto it, so the flag is added to the NTLM proxy's own request flags,
        # which it sends in NEGOTIATE and AUTHENTICATE.  Over SPNEGO the NTLM proxy is
        # made later, inside pyspnego: the level is not carried there.
        if (imp_level == _IMP_LEVEL_IDENTIFY and protocol == "ntlm"
                and hasattr(self._ctx, "_context_req")):
            self._ctx._context_req |= NegotiateFlags.identity

    def step(self, in_token: bytes | None) -> bytes | None:
        try:
            out = self._ctx.step(in_token)
        except _MALFORMED as exc:
            raise _spnego_error(exc) from exc
        self.complete = bool(self._ctx.complete)
        return out or None

    def signature_size(self) -> int:
        return 16

    def wrap(self, header: bytes, body: bytes, trailer: bytes, seal: bool
             ) -> tuple[bytes, bytes]:
        try:
            if not seal:
                return body, self._ctx.sign(header + body + trailer)
            res = self._ctx.wrap_iov([IOVBuffer(BufferType.header, None),
                                      IOVBuffer(BufferType.sign_only, header),
                                      IOVBuffer(BufferType.data, body),
                                      IOVBuffer(BufferType.sign_only, trailer)])
        except spnego.exceptions.SpnegoError as exc:
            raise _spnego_error(exc) from exc
        return res.buffers[2].data, res.buffers[0].data

    def unwrap(self, header: bytes, body: bytes, trailer: bytes, auth_value: bytes,
               seal: bool) -> bytes:
        try:
            if not seal:
                self._ctx.verify(header + body + trailer, auth_value)
                return body
            res = self._ctx.unwrap_iov([IOVBuffer(BufferType.header, auth_value),
                                        IOVBuffer(BufferType.sign_only, header),
                                        IOVBuffer(BufferType.data, body),
                                        IOVBuffer(BufferType.sign_only, trailer)])
        except _MALFORMED as exc:
            raise SecurityError(f"verifier check failed: {exc}") from exc
        return bytes(res.buffers[2].data)


# -- server ------------------------------------------------------------------------------
#: What a CHALLENGE grants when the client asks for it ([MS-NLMP] 3.2.5.1.1).
_GRANTABLE = (NegotiateFlags.key_exch | NegotiateFlags.key_56 | NegotiateFlags.key_128
              | NegotiateFlags.version | NegotiateFlags.sign | NegotiateFlags.seal
              | NegotiateFlags.extended_session_security | NegotiateFlags.identity
              | NegotiateFlags.anonymous)


class NTLMAcceptor(Acceptor):
    """Server-side NTLM: ``NTLMAcceptor(UserTable({...}))`` or any ``(domain, user) →
    password | nt_hash | None`` callable.

    Anonymous NTLM (empty user, empty NT response) is refused unless ``allow_anonymous``.
    ``domain``/``computer`` name the server in the CHALLENGE's target information.
    """

    auth_type = int(AuthType.WINNT)

    def __init__(self, source: PasswordSource | Mapping[str, str | bytes], *,
                 allow_anonymous: bool = False, domain: str = "WORKGROUP",
                 computer: str | None = None) -> None:
        self.source: PasswordSource = UserTable(source) if isinstance(source, Mapping) \
            else source
        self.allow_anonymous = allow_anonymous
        self.domain = domain
        self.computer = computer or platform.node().split(".")[0] or "localhost"

    def server_context(self, level: int, context_id: int) -> NtlmServerContext:
        return NtlmServerContext(self, level, context_id)


class NtlmServerContext(SecurityContext):
    """One NTLM acceptor context: NEGOTIATE → CHALLENGE, then AUTHENTICATE."""

    def __init__(self, acceptor: NTLMAcceptor, level: int, context_id: int,
                 auth_type: int = int(AuthType.WINNT)) -> None:
        self.acceptor = acceptor
        self.auth_type = auth_type
        self.auth_level = level
        self.auth_context_id = context_id
        self.complete = False
        self.session: NtlmSession | None = None
        self.session_key = b""
        self._negotiate = b""
        self._challenge: bytes | None = None
        self._server_challenge = b""
        self._identity: ClientIdentity | None = None

    def step(self, in_token: bytes | None) -> bytes | None:
        if self.complete:
            raise SecurityError("NTLM context is already complete")
        if not in_token:
            raise SecurityError("NTLM: no token")
        try:
            if self._challenge is None:
                return self._on_negotiate(in_token)
            self._on_authenticate(in_token)
        except SecurityError:
            raise
        except _MALFORMED as exc:
            # pyspnego's codecs raise whatever struct/slicing raises on garbage.
            raise SecurityError(f"malformed NTLM message: {exc}") from exc
        return None

    def _on_negotiate(self, token: bytes) -> bytes:
        msg = Negotiate.unpack(token)
        if not msg.flags & NegotiateFlags.unicode:
            raise SecurityError("NTLM: only UNICODE clients are served")
        if not msg.flags & NegotiateFlags.extended_session_security:
            # Without ESS, signing is the weak CRC32 scheme: refuse (protocol-digest §4.4).
            raise SecurityError("NTLM: extended session security is required")
        flags = (int(msg.flags) & int(_GRANTABLE)) | int(
            NegotiateFlags.unicode | NegotiateFlags.request_target | NegotiateFlags.ntlm
            | NegotiateFlags.always_sign | NegotiateFlags.target_info
            | NegotiateFlags.target_type_domain)
        acc = self.acceptor
        info = TargetInfo()
        # impacket reads MsvAvDnsComputerName unconditionally (protocol-digest §4.3).
        info[AvId.nb_domain_name] = acc.domain.upper()
        info[AvId.nb_computer_name] = acc.computer.upper()
        info[AvId.dns_domain_name] = acc.domain.lower()
        info[AvId.dns_computer_name] = acc.computer.lower()
        info[AvId.timestamp] = FileTime.now()
        self._server_challenge = os.urandom(8)
        kwargs: dict[str, Any] = {}
        if flags & NegotiateFlags.version:
            kwargs["version"] = Version(10, 0, 17763, 15)
        challenge = Challenge(flags, self._server_challenge, target_name=acc.domain.upper(),
                              target_info=info, **kwargs).pack()
        self._negotiate, self._challenge = bytes(token), challenge
        return challenge

    def _on_authenticate(self, token: bytes) -> None:
        msg = Authenticate.unpack(token)
        flags = int(msg.flags)
        user, domain = msg.user_name or "", msg.domain_name or ""
        nt_response = msg.nt_challenge_response or b""
        if not user and not nt_response and (msg.lm_challenge_response or b"") in (b"", b"\0"):
            self._anonymous(flags, msg)
            return
        if protects(self.auth_level):
            need = NegotiateFlags.sign | (NegotiateFlags.seal if self.auth_level >= _PRIVACY
                                          else 0)
            if flags & need != need:
                raise SecurityError("NTLM: the client refused signing/sealing for this level")
        secret = self.acceptor.source(domain, user)
        if secret is None:
            raise SecurityError(f"NTLM logon failure: unknown user {domain}\\{user}")
        response_key = ntowfv2(user, domain, secret)
        base_key = verify_ntlmv2(response_key, self._server_challenge, nt_response)
        # NTLMv2: KeyExchangeKey = SessionBaseKey ([MS-NLMP] 3.4.5.1).
        key = exported_session_key(flags, base_key, msg.encrypted_random_session_key)
        blob = NTClientChallengeV2.unpack(nt_response[16:])
        if blob.av_pairs.get(AvId.flags, 0) & AvFlags.mic:
            # [MS-NLMP] 3.2.5.1.2: MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE ||
            # CHALLENGE || AUTHENTICATE with the MIC field zeroed).
            raw = bytes(token)
            mic = raw[_MIC_OFFSET:_MIC_OFFSET + 16]
            zeroed = raw[:_MIC_OFFSET] + bytes(16) + raw[_MIC_OFFSET + 16:]
            expected = hmac_md5(key, self._negotiate + (self._challenge or b"") + zeroed)
            if len(mic) != 16 or expected != mic:
                raise SecurityError("NTLM: bad MIC in AUTHENTICATE")
        # [MS-NLMP] 2.2.2.1: MsvAvTargetName is the SPN the client addressed the server
        # by — what RpcServerInqCallAttributes reports as ServerPrincipalName.
        target = blob.av_pairs.get(AvId.target_name)
        self._finish(flags, key, user, domain, str(target) if target else None)

    def _anonymous(self, flags: int, msg: Authenticate) -> None:
        if not self.acceptor.allow_anonymous:
            raise SecurityError("anonymous NTLM logon refused")
        # [MS-NLMP] 3.3.2: anonymous → SessionBaseKey of zeros.
        key = exported_session_key(flags, bytes(16), msg.encrypted_random_session_key)
        self._finish(flags, key, "", "")

    def _finish(self, flags: int, key: bytes, user: str, domain: str,
                target: str | None = None) -> None:
        self.session_key = key
        self.session = NtlmSession(flags, key, initiator=False)
        principal = f"{domain}\\{user}" if domain else user
        # [MS-NLMP] 2.2.2.5 NTLMSSP_NEGOTIATE_IDENTIFY: the client allows the server to
        # identify it only (RPC_C_IMP_LEVEL_IDENTIFY); without it, impersonation.
        level = 2 if flags & NegotiateFlags.identity else 3
        self._identity = ClientIdentity(principal, user, domain, self.auth_type,
                                        self.auth_level, level, target)
        self.complete = True

    def signature_size(self) -> int:
        return 16

    def wrap(self, header: bytes, body: bytes, trailer: bytes, seal: bool
             ) -> tuple[bytes, bytes]:
        if self.session is None:
            raise SecurityError("NTLM context is not complete")
        return self.session.wrap(header, body, trailer, seal)

    def unwrap(self, header: bytes, body: bytes, trailer: bytes, auth_value: bytes,
               seal: bool) -> bytes:
        if self.session is None:
            raise SecurityError("NTLM context is not complete")
        return self.session.unwrap(header, body, trailer, auth_value, seal)

    def identity(self) -> ClientIdentity:
        if self._identity is None:
            raise SecurityError("NTLM context is not complete")
        return self._identity
