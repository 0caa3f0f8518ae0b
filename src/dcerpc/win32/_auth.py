"""``RpcBindingSetAuthInfo(Ex)`` / ``RpcBindingInqAuthInfo`` on :class:`dcerpc.Binding`.

The Win32 names and argument order ([MS-RPCE] / MSDN rpcdce.h), returning an RPC_STATUS.
Deviations from Win32:

* ``AuthIdentity`` is a :class:`SEC_WINNT_AUTH_IDENTITY` (User, Domain, Password) or
  None; None works for Kerberos (the default credential cache) and is refused for NTLM
  and Negotiate with RPC_S_INVALID_AUTH_IDENTITY (there are no logon-session credentials
  to fall back on).
* ``RPC_C_AUTHN_DEFAULT`` means NTLM, ``RPC_C_AUTHN_LEVEL_DEFAULT`` means CONNECT (the
  Windows defaults for these services).
* Changing the authentication of a binding closes the connections it holds: set it
  before making calls, as MSDN advises. ``SecurityQos.ImpersonationType`` reaches the
  server (NTLM: IDENTIFY as NTLMSSP_NEGOTIATE_IDENTIFY; Kerberos: DELEGATE as a
  delegated ticket); its other members are kept only.  ``ServerPrincName`` is the
  Kerberos target and NTLM's MsvAvTargetName.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import status as st

__all__ = [
    "RPC_C_AUTHN_DEFAULT",
    "RPC_C_AUTHN_GSS_KERBEROS",
    "RPC_C_AUTHN_GSS_NEGOTIATE",
    "RPC_C_AUTHN_LEVEL_CALL",
    "RPC_C_AUTHN_LEVEL_CONNECT",
    "RPC_C_AUTHN_LEVEL_DEFAULT",
    "RPC_C_AUTHN_LEVEL_NONE",
    "RPC_C_AUTHN_LEVEL_PKT",
    "RPC_C_AUTHN_LEVEL_PKT_INTEGRITY",
    "RPC_C_AUTHN_LEVEL_PKT_PRIVACY",
    "RPC_C_AUTHN_NONE",
    "RPC_C_AUTHN_WINNT",
    "RPC_C_AUTHZ_NONE",
    "RPC_SECURITY_QOS",
    "SEC_WINNT_AUTH_IDENTITY",
    "SEC_WINNT_AUTH_IDENTITY_UNICODE",
    "SEC_WINNT_AUTH_IDENTITY_W",
    "RpcBindingInqAuthInfo",
    "RpcBindingSetAuthInfo",
    "RpcBindingSetAuthInfoEx",
]

RPC_C_AUTHN_NONE = 0
RPC_C_AUTHN_GSS_NEGOTIATE = 9
RPC_C_AUTHN_WINNT = 10
RPC_C_AUTHN_GSS_KERBEROS = 16
RPC_C_AUTHN_DEFAULT = 0xFFFFFFFF
RPC_C_AUTHN_LEVEL_DEFAULT = 0
RPC_C_AUTHN_LEVEL_NONE = 1
RPC_C_AUTHN_LEVEL_CONNECT = 2
RPC_C_AUTHN_LEVEL_CALL = 3
RPC_C_AUTHN_LEVEL_PKT = 4
RPC_C_AUTHN_LEVEL_PKT_INTEGRITY = 5
RPC_C_AUTHN_LEVEL_PKT_PRIVACY = 6
RPC_C_AUTHZ_NONE = 0
SEC_WINNT_AUTH_IDENTITY_UNICODE = 2


@dataclass
class SEC_WINNT_AUTH_IDENTITY:
    """Explicit credentials (``SEC_WINNT_AUTH_IDENTITY_W``; lengths are implied)."""

    User: str = ""
    Domain: str = ""
    Password: str = ""
    Flags: int = SEC_WINNT_AUTH_IDENTITY_UNICODE


SEC_WINNT_AUTH_IDENTITY_W = SEC_WINNT_AUTH_IDENTITY


@dataclass
class RPC_SECURITY_QOS:
    Version: int = 1
    Capabilities: int = 0
    IdentityTracking: int = 0
    ImpersonationType: int = 3  # RPC_C_IMP_LEVEL_IMPERSONATE


def RpcBindingSetAuthInfo(Binding: Any, ServerPrincName: str | None, AuthnLevel: int,
                          AuthnSvc: int, AuthIdentity: SEC_WINNT_AUTH_IDENTITY | None = None,
                          AuthzSvc: int = RPC_C_AUTHZ_NONE) -> int:
    """Set the authentication of ``Binding`` (a :class:`dcerpc.Binding`)."""
    return RpcBindingSetAuthInfoEx(Binding, ServerPrincName, AuthnLevel, AuthnSvc,
                                   AuthIdentity, AuthzSvc, None)


def RpcBindingSetAuthInfoEx(Binding: Any, ServerPrincName: str | None, AuthnLevel: int,
                            AuthnSvc: int,
                            AuthIdentity: SEC_WINNT_AUTH_IDENTITY | None = None,
                            AuthzSvc: int = RPC_C_AUTHZ_NONE,
                            SecurityQos: RPC_SECURITY_QOS | None = None) -> int:
    from .._sync import Binding as _Binding

    if not isinstance(Binding, _Binding):
        return st.RPC_S_INVALID_BINDING
    level = RPC_C_AUTHN_LEVEL_CONNECT if AuthnLevel == RPC_C_AUTHN_LEVEL_DEFAULT \
        else AuthnLevel
    if not RPC_C_AUTHN_LEVEL_NONE <= level <= RPC_C_AUTHN_LEVEL_PKT_PRIVACY:
        return st.RPC_S_UNKNOWN_AUTHN_LEVEL
    service = RPC_C_AUTHN_WINNT if AuthnSvc == RPC_C_AUTHN_DEFAULT else AuthnSvc
    if service == RPC_C_AUTHN_NONE or level == RPC_C_AUTHN_LEVEL_NONE:
        creds = None
    else:
        made = _credentials(service, ServerPrincName, AuthIdentity)
        if isinstance(made, int):
            return made
        from ..auth._qos import with_qos

        # The QOS's impersonation level and the principal name travel in the package's
        # tokens (NTLMSSP_NEGOTIATE_IDENTIFY / MsvAvTargetName, Kerberos delegation).
        imp_level = SecurityQos.ImpersonationType if SecurityQos is not None else 3
        creds = with_qos(made, imp_level, ServerPrincName)
    Binding.close()  # connections authenticate at bind: drop the ones made so far
    options = {k: v for k, v in Binding.options.items() if k not in ("auth", "level")}
    if creds is not None:
        options.update(auth=creds, level=level)
    Binding.options = options
    Binding._auth_info = (ServerPrincName, level if creds is not None else
                          RPC_C_AUTHN_LEVEL_NONE, service if creds is not None
                          else RPC_C_AUTHN_NONE, AuthIdentity, AuthzSvc, SecurityQos)
    return st.RPC_S_OK


def _credentials(service: int, principal: str | None,
                 identity: SEC_WINNT_AUTH_IDENTITY | None) -> Any:
    if service in (RPC_C_AUTHN_WINNT, RPC_C_AUTHN_GSS_NEGOTIATE):
        if identity is None:
            return st.RPC_S_INVALID_AUTH_IDENTITY
        if service == RPC_C_AUTHN_WINNT:
            from ..auth.ntlm import NTLM

            return NTLM(identity.User, identity.Password, identity.Domain)
        from ..auth.negotiate import Negotiate

        return Negotiate(identity.User, identity.Password, identity.Domain)
    if service == RPC_C_AUTHN_GSS_KERBEROS:
        try:
            from ..auth.kerberos import Kerberos
        except ImportError:  # python-gssapi is not installed
            return st.RPC_S_UNKNOWN_AUTHN_SERVICE
        where = {"target": principal} if principal else {}
        if identity is None:
            return Kerberos(**where)
        return Kerberos(identity.User, identity.Password, realm=identity.Domain or None,
                        **where)
    return st.RPC_S_UNKNOWN_AUTHN_SERVICE


def RpcBindingInqAuthInfo(Binding: Any) -> tuple[int, str | None, int, int, Any, int]:
    """``(status, ServerPrincName, AuthnLevel, AuthnSvc, AuthIdentity, AuthzSvc)``;
    status RPC_S_BINDING_HAS_NO_AUTH when none was set."""
    info = getattr(Binding, "_auth_info", None)
    if info is None or info[2] == RPC_C_AUTHN_NONE:
        return st.RPC_S_BINDING_HAS_NO_AUTH, None, RPC_C_AUTHN_LEVEL_NONE, \
            RPC_C_AUTHN_NONE, None, RPC_C_AUTHZ_NONE
    principal, level, service, identity, authz, _qos = info
    return st.RPC_S_OK, principal, level, service, identity, authz
