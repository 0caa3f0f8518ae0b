"""Kerberos (``RPC_C_AUTHN_GSS_KERBEROS``, 16) and Kerberos inside SPNEGO (9), over GSS-API.

Both sides run the MIT GSS-API through python-gssapi with ``GSS_C_DCE_STYLE``
([MS-KILE] 3.2.5.2 / 3.4.5.1, [MS-RPCE] 3.3.1.5.2):

* raw Kerberos is a three-leg exchange: the client's AP-REQ (bare, without the RFC 2743
  token framing) rides in bind, the server's AP-REP in bind_ack, and the client answers
  with its own AP-REP in rpc_auth_3 (or alter_context); the server's last step yields no
  token. Only then are both contexts complete.
* via SPNEGO the same Kerberos legs travel in NegTokenInit/NegTokenResp (RFC 4178), and a
  fourth token (the acceptor's ``accept-completed``) goes back in alter_context_resp.

Per-PDU protection is ``gss_wrap_iov`` ([MS-RPCE] 3.3.1.5.2.2, [MS-KILE] 3.4.5.4.1 / RFC 4121
§4.2.4): the PDU header and the sec_trailer are SIGN_ONLY buffers, the stub plus auth pad is
the DATA buffer (encrypted in place at PKT_PRIVACY), and the GSS token header -- with the
checksum, and in DCE style also what RFC 4121 would put in a trailer -- is ``auth_value``.
Sequence numbers and replay detection come from the GSS context (one per direction).
"""

from __future__ import annotations

from typing import Any

import gssapi
import gssapi.raw as gss_raw
from gssapi.raw import IOV, IOVBufferType
from gssapi.raw.misc import GSSError
from spnego._spnego import unpack_token

from ..errors import SecurityError
from ..status import RPC_S_ACCESS_DENIED, RPC_S_SEC_PKG_ERROR
from .base import Acceptor, AuthLevel, AuthType, ClientIdentity, Credentials, SecurityContext

__all__ = ["Kerberos", "KerberosAcceptor", "KerberosContext"]

KRB5_MECH = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2")  # RFC 1964
SPNEGO_MECH = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")  # RFC 4178

_F = gssapi.RequirementFlag
# What a Windows RPC client asks of its package (ISC_REQ_MUTUAL_AUTH | USE_DCE_STYLE |
# CONFIDENTIALITY | INTEGRITY | REPLAY_DETECT | SEQUENCE_DETECT); DCE style needs mutual auth.
_CLIENT_FLAGS = (_F.mutual_authentication | _F.dce_style | _F.integrity | _F.confidentiality
                 | _F.replay_detection | _F.out_of_sequence_detection)

def _security_error(what: str, exc: GSSError) -> SecurityError:
    """A GSS failure as the runtime's error, keeping the GSS/krb5 text for the log.

    A refusal (wrong password, unknown principal, bad or replayed token) is access denied;
    a package that cannot run at all (no KDC, unreadable keytab, no credentials) is
    RPC_S_SEC_PKG_ERROR ([MS-RPCE] 3.3.1.5.2: the package's failure is reported as such).
    """
    try:
        text = exc.gen_message()
    except Exception:  # the message is a courtesy; never mask the failure
        text = str(exc)
    low = text.lower()
    refused = any(s in low for s in (
        "password incorrect", "preauthentication failed", "not found in kerberos database",
        "integrity", "duplicate", "invalid token", "bad mic", "malformed", "modified"))
    infra = any(s in low for s in ("cannot contact", "keytab", "no credentials", "cannot find"))
    status = RPC_S_SEC_PKG_ERROR if infra and not refused else RPC_S_ACCESS_DENIED
    return SecurityError(f"Kerberos: {what}: {text}", status)


def _target_name(target: str, realm: str | None) -> gssapi.Name:
    """The GSS name of the server principal ([MS-RPCE] 3.3.1.5.2.1 ServerPrincName).

    ``service/host[@REALM]`` and ``name@REALM`` (upper-case realm) are Kerberos principal
    names (the realm defaults to ``realm``); ``service@host`` is an RFC 2743 host-based name.
    """
    _name, at, suffix = target.rpartition("@")
    if "/" in target or (at and suffix == suffix.upper()):
        if not at and realm:
            target = f"{target}@{realm}"
        return gssapi.Name(target, gssapi.NameType.kerberos_principal)
    return gssapi.Name(target, gssapi.NameType.hostbased_service)


def _seal_level(level: int) -> bool:
    return level >= AuthLevel.PKT_PRIVACY


class KerberosContext(SecurityContext):
    """One GSS-API Kerberos (or SPNEGO/Kerberos) context, initiator or acceptor side."""

    def __init__(self, *, usage: str, creds: gssapi.Credentials | None, mech: gssapi.OID,
                 auth_type: int, level: int, context_id: int,
                 target: gssapi.Name | None = None, delegate: bool = False) -> None:
        self.auth_type = auth_type
        self.auth_level = level
        self.auth_context_id = context_id
        self.complete = False
        self._usage = usage
        self._mech = mech
        kwargs: dict[str, Any] = {"creds": creds, "usage": usage}
        if usage == "initiate":
            # RPC_C_IMP_LEVEL_DELEGATE: ask for a forwardable ticket for the server
            # (GSS_C_DELEG_FLAG, ISC_REQ_DELEGATE) so that it may act for us elsewhere.
            flags = _CLIENT_FLAGS | _F.delegate_to_peer if delegate else _CLIENT_FLAGS
            kwargs.update(name=target, mech=mech, flags=flags)
        self._ctx = gssapi.SecurityContext(**kwargs)
        self._sig_size: int | None = None
        #: Whether the PDU header and sec_trailer are covered (SIGN_ONLY buffers). Windows
        #: and Samba cover them only when PFC_SUPPORT_HEADER_SIGN was negotiated at bind
        #: ([MS-RPCE] 2.2.2.3 / 3.3.1.5.2.2); otherwise only the stub + pad is protected.
        #: The protocol core sets this from the bind_ack; our own peers both keep True.
        self.header_signing = True

    # -- establishment ---------------------------------------------------------------------
    def step(self, in_token: bytes | None) -> bytes | None:
        if self.complete:
            if in_token:
                raise SecurityError("Kerberos: token received after the context completed",
                                    RPC_S_ACCESS_DENIED)
            return None
        if self._usage == "accept" and not in_token:
            raise SecurityError("Kerberos: the client sent no token", RPC_S_ACCESS_DENIED)
        try:
            out = self._ctx.step(in_token or None)
            # python-gssapi hands back an error token (a KRB-ERROR) instead of raising
            # and re-raises on the next attribute access: read ``complete`` in here.
            done = self._ctx.complete
        except GSSError as exc:
            raise _security_error("establishing the context", exc) from exc
        if done:
            self._finish()
        return out or None

    def _finish(self) -> None:
        """Check what the peer granted before anything is protected with this context."""
        flags = self._ctx.actual_flags
        needed = [_F.dce_style, _F.mutual_authentication]
        if self.auth_level >= AuthLevel.PKT:
            needed += [_F.integrity, _F.replay_detection]
        if _seal_level(self.auth_level):
            needed.append(_F.confidentiality)
        missing = [f.name for f in needed if f not in flags]
        if missing:
            raise SecurityError(f"Kerberos: the peer did not grant {', '.join(missing)}",
                                RPC_S_ACCESS_DENIED)
        self.complete = True

    # -- per-PDU protection ([MS-RPCE] 3.3.1.5.2.2) -----------------------------------------
    def _require_complete(self) -> None:
        if not self.complete:
            raise SecurityError("Kerberos: the security context is not established",
                                RPC_S_ACCESS_DENIED)

    def signature_size(self) -> int:
        self._require_complete()
        if self._sig_size is None:
            # Asked of the package (gss_wrap_iov_length) because the header that is signed
            # already carries auth_length. With AES and DCE style MIT gives 76 octets sealed
            # (16 header + 16 EC + 16 confounder + 16 E(header) + 12 HMAC), 28 signed only.
            iov = IOV((IOVBufferType.header, True, None), (IOVBufferType.sign_only, False, b""),
                      (IOVBufferType.data, False, b"\0" * 16),
                      (IOVBufferType.sign_only, False, b""), std_layout=False)
            try:
                gss_raw.wrap_iov_length(self._ctx, iov,
                                        confidential=_seal_level(self.auth_level))
            except GSSError as exc:
                raise _security_error("sizing the verifier", exc) from exc
            self._sig_size = len(iov[0].value or b"")
        return self._sig_size

    def wrap(self, header: bytes, body: bytes, trailer: bytes, seal: bool
             ) -> tuple[bytes, bytes]:
        self._require_complete()
        if not self.header_signing:
            header = trailer = b""
        iov = IOV((IOVBufferType.header, True, None),
                  (IOVBufferType.sign_only, False, bytes(header)),
                  (IOVBufferType.data, False, bytes(body)),
                  (IOVBufferType.sign_only, False, bytes(trailer)), std_layout=False)
        try:
            gss_raw.wrap_iov(self._ctx, iov, confidential=seal)
        except GSSError as exc:
            raise _security_error("protecting a PDU", exc) from exc
        auth_value = iov[0].value or b""
        if len(auth_value) != self.signature_size():
            # auth_length is inside the signed header: a size change would make every
            # verifier wrong, so say so here instead of failing at the peer.
            raise SecurityError(f"Kerberos: verifier is {len(auth_value)} octets, expected "
                                f"{self.signature_size()}", RPC_S_SEC_PKG_ERROR)
        return iov[2].value or b"", auth_value

    def unwrap(self, header: bytes, body: bytes, trailer: bytes, auth_value: bytes,
               seal: bool) -> bytes:
        self._require_complete()
        if not auth_value:
            raise SecurityError("Kerberos: protected PDU without a verifier", RPC_S_ACCESS_DENIED)
        if not self.header_signing:
            header = trailer = b""
        iov = IOV((IOVBufferType.header, False, bytes(auth_value)),
                  (IOVBufferType.sign_only, False, bytes(header)),
                  (IOVBufferType.data, False, bytes(body)),
                  (IOVBufferType.sign_only, False, bytes(trailer)), std_layout=False)
        try:
            res = gss_raw.unwrap_iov(self._ctx, iov)
        except GSSError as exc:
            raise _security_error("verifying a PDU", exc) from exc
        if bool(res.encrypted) != bool(seal):
            # A sign-only token at privacy level (or the reverse) is a downgrade or a
            # confused peer; both must be refused ([MS-RPCE] 3.3.1.5.2.2).
            raise SecurityError("Kerberos: PDU protection does not match the auth level",
                                RPC_S_ACCESS_DENIED)
        return iov[2].value or b""

    # -- who ----------------------------------------------------------------------------------
    def identity(self) -> ClientIdentity:
        self._require_complete()
        if self._usage != "accept":
            raise SecurityError("Kerberos: identity() is the server side's view",
                                RPC_S_SEC_PKG_ERROR)
        # python-gssapi may leave the terminating NUL on display names.
        principal = str(self._ctx.initiator_name).rstrip("\x00")
        user, _, realm = principal.rpartition("@")
        if not user:
            user, realm = principal, ""
        # DELEGATE when the client delegated its credentials; Kerberos over GSS has no
        # IDENTIFY signal, so IMPERSONATE otherwise.
        delegated = _F.delegate_to_peer in self._ctx.actual_flags
        try:
            served = str(self._ctx.target_name).rstrip("\x00") or None
        except GSSError:
            served = None
        return ClientIdentity(principal=principal, user=user, domain=realm,
                              auth_type=self.auth_type, auth_level=self.auth_level,
                              impersonation_level=4 if delegated else 3,
                              server_principal=served)

    @property
    def peer_principal(self) -> str:
        """Client side: the service the ticket was for; server side: the caller."""
        name = self._ctx.target_name if self._usage == "initiate" else self._ctx.initiator_name
        return str(name).rstrip("\x00")


class Kerberos(Credentials):
    """Client credentials: ``dcerpc.auth.Kerberos(user, password, realm, target=...)``.

    With ``password`` the initial ticket is obtained directly from the KDC into a private
    in-memory cache (``gss_acquire_cred_with_password``, no kinit); otherwise the tickets
    come from ``ccache`` (``"FILE:/path"``, ``"MEMORY:x"`` ...) or the default cache.
    ``target`` is the server principal, ``"host/server.example"`` (realm appended) or
    ``"host@server.example"`` (host-based). ``spnego=True`` wraps it all in SPNEGO
    (auth_type 9, ``RPC_C_AUTHN_GSS_NEGOTIATE``).
    """

    def __init__(self, user: str | None = None, password: str | None = None,
                 realm: str | None = None, target: str | None = "host/localhost",
                 ccache: str | None = None, *, spnego: bool = False) -> None:
        if password is not None and not user:
            raise ValueError("Kerberos: a password needs a user")
        self.user, self.realm, self.target, self.ccache = user, realm, target, ccache
        self._password = password
        self.spnego = spnego
        self.auth_type = int(AuthType.GSS_NEGOTIATE if spnego else AuthType.GSS_KERBEROS)
        self._mech = SPNEGO_MECH if spnego else KRB5_MECH
        self._creds: gssapi.Credentials | None = None

    def __repr__(self) -> str:  # never the password
        return (f"Kerberos(user={self.principal!r}, target={self.target!r}, "
                f"spnego={self.spnego})")

    @property
    def principal(self) -> str | None:
        if not self.user:
            return None
        if "@" in self.user or not self.realm:
            return self.user
        return f"{self.user}@{self.realm}"

    def server_principal(self, binding_target: str | None) -> str:
        """The principal to get a ticket for.

        A principal name given for the binding (``RpcBindingSetAuthInfo``'s ServerPrincName:
        it has a ``/`` or an ``@``) wins; otherwise our ``target``; a bare host name from the
        binding is the last resort, as ``host/<name>``.
        """
        if binding_target and ("/" in binding_target or "@" in binding_target):
            return binding_target
        if self.target:
            return self.target
        return f"host/{binding_target or 'localhost'}"

    def credentials(self) -> gssapi.Credentials:
        """The GSS initiator credential, acquired once and reused until its TGT expires
        (then, with a password, acquired again). Talks to the KDC: call it ahead of time
        to keep that off an event loop."""
        if self._creds is not None:
            try:
                if self._creds.lifetime:  # raises ExpiredCredentialsError once expired
                    return self._creds
            except GSSError:
                pass
            if self._password is None:  # a ccache someone else renews: let GSS say why
                return self._creds
        name = (gssapi.Name(self.principal, gssapi.NameType.kerberos_principal)
                if self.principal else None)
        try:
            if self._password is not None:
                creds = gss_raw.acquire_cred_with_password(
                    name, self._password.encode("utf-8"), usage="initiate",
                    mechs=[self._mech]).creds
                self._creds = gssapi.Credentials(creds)
            else:
                store = {"ccache": self.ccache} if self.ccache else None
                self._creds = gssapi.Credentials(name=name, usage="initiate",
                                                 mechs=[self._mech], store=store)
        except GSSError as exc:
            raise _security_error(f"getting credentials for {self.principal or 'default'}",
                                  exc) from exc
        return self._creds

    def client_context(self, level: int, context_id: int, target: str | None
                       ) -> SecurityContext:
        return self.client_context_ex(level, context_id, target, 3)

    def client_context_ex(self, level: int, context_id: int, target: str | None,
                          imp_level: int) -> SecurityContext:
        creds = self.credentials()
        realm = self.realm or (self.principal.rpartition("@")[2] if self.principal else None)
        try:
            return KerberosContext(usage="initiate", creds=creds, mech=self._mech,
                                   auth_type=self.auth_type, level=level, context_id=context_id,
                                   target=_target_name(self.server_principal(target),
                                                       realm or None),
                                   delegate=imp_level >= 4)
        except GSSError as exc:
            raise _security_error("starting the context", exc) from exc


class KerberosAcceptor(Acceptor):
    """Server side: keys from ``keytab`` (a path or ``"FILE:..."``), optionally only those
    of ``principal`` (default: any service key in the keytab).

    ``spnego=True`` accepts Kerberos wrapped in SPNEGO (auth_type 9). A client whose
    NegTokenInit does not put Kerberos first (an NTLM-only SPNEGO client) is then handed,
    whole, to ``fallback`` -- typically ``dcerpc.auth.NegotiateAcceptor`` -- so that one
    auth_type 9 acceptor serves both ([MS-SPNG] 3.2.5.2: the acceptor follows the
    initiator's preferred mechanism).
    """

    def __init__(self, keytab: str | None = None, principal: str | None = None, *,
                 spnego: bool = False, fallback: Acceptor | None = None) -> None:
        if fallback is not None and not spnego:
            raise ValueError("KerberosAcceptor: fallback is for spnego=True")
        self.keytab, self.principal, self.spnego = keytab, principal, spnego
        self.fallback = fallback
        self.auth_type = int(AuthType.GSS_NEGOTIATE if spnego else AuthType.GSS_KERBEROS)
        self._mech = SPNEGO_MECH if spnego else KRB5_MECH
        self._creds: gssapi.Credentials | None = None

    def credentials(self) -> gssapi.Credentials:
        if self._creds is None:
            name = (gssapi.Name(self.principal, gssapi.NameType.kerberos_principal)
                    if self.principal else None)
            store = {"keytab": str(self.keytab)} if self.keytab else None
            try:
                self._creds = gssapi.Credentials(name=name, usage="accept",
                                                 mechs=[self._mech], store=store)
            except GSSError as exc:
                raise _security_error(f"reading the keytab {self.keytab or '(default)'}",
                                      exc) from exc
        return self._creds

    def kerberos_context(self, level: int, context_id: int) -> KerberosContext:
        creds = self.credentials()
        try:
            return KerberosContext(usage="accept", creds=creds, mech=self._mech,
                                   auth_type=self.auth_type, level=level, context_id=context_id)
        except GSSError as exc:
            raise _security_error("starting the context", exc) from exc

    def server_context(self, level: int, context_id: int) -> SecurityContext:
        if self.fallback is None:
            return self.kerberos_context(level, context_id)
        return _SpnegoDispatch(self, level, context_id)


#: Kerberos as SPNEGO names it: RFC 4121's OID and Microsoft's legacy one ([MS-SPNG] 2.2).
_KERBEROS_OIDS = frozenset({"1.2.840.113554.1.2.2", "1.2.840.48018.1.2.2"})


def _prefers_kerberos(token: bytes) -> bool:
    """Does this SPNEGO NegTokenInit (RFC 4178 §4.2.1) list Kerberos first?"""
    try:
        init = unpack_token(token)
    except Exception:  # a malformed token is the chosen context's to refuse, not ours
        return False
    mech_types = getattr(init, "mech_types", None) or []
    return bool(mech_types) and str(mech_types[0]) in _KERBEROS_OIDS


class _SpnegoDispatch(SecurityContext):
    """Server context that becomes Kerberos or the fallback's context on the first token."""

    def __init__(self, acceptor: KerberosAcceptor, level: int, context_id: int) -> None:
        self.auth_type = acceptor.auth_type
        self.auth_level = level
        self.auth_context_id = context_id
        self._acceptor = acceptor
        self._inner: SecurityContext | None = None

    @property  # type: ignore[override]
    def complete(self) -> bool:
        return self._inner is not None and self._inner.complete

    def _chosen(self) -> SecurityContext:
        if self._inner is None:
            raise SecurityError("SPNEGO: the security context is not established",
                                RPC_S_ACCESS_DENIED)
        return self._inner

    def step(self, in_token: bytes | None) -> bytes | None:
        if self._inner is None:
            fallback = self._acceptor.fallback
            if fallback is None or _prefers_kerberos(in_token or b""):
                self._inner = self._acceptor.kerberos_context(self.auth_level,
                                                              self.auth_context_id)
            else:
                self._inner = fallback.server_context(self.auth_level, self.auth_context_id)
        return self._inner.step(in_token)

    def signature_size(self) -> int:
        return self._chosen().signature_size()

    def wrap(self, header: bytes, body: bytes, trailer: bytes, seal: bool
             ) -> tuple[bytes, bytes]:
        return self._chosen().wrap(header, body, trailer, seal)

    def unwrap(self, header: bytes, body: bytes, trailer: bytes, auth_value: bytes,
               seal: bool) -> bytes:
        return self._chosen().unwrap(header, body, trailer, auth_value, seal)

    def identity(self) -> ClientIdentity:
        return self._chosen().identity()
