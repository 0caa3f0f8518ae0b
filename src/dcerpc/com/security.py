"""COM call security: proxy blankets (IClientSecurity) and server impersonation
(IServerSecurity), seed-semantics F66-F67 and §6.1.

Client: every proxy (:class:`~dcerpc.com.ComPtr`) carries a :class:`Blanket` -- the
authentication service, authorization service, server principal name, authentication
level, impersonation level, credentials (``AuthInfo``) and capabilities of its calls.
``CoCreateInstanceEx(..., auth=, level=)`` sets the first one; ``QueryBlanket()`` /
``SetBlanket(...)`` on the proxy (or :func:`CoSetProxyBlanket`, which is exactly
QueryInterface(IClientSecurity) + SetBlanket + Release) change it.  A change affects
calls made afterwards only (calls in progress keep their connection); a proxy made by
QueryInterface starts with its source's blanket.

Server: inside a COM method, :func:`CoImpersonateClient` / :func:`CoRevertToSelf` and
``CoGetCallContext(IID_IServerSecurity)`` (a :class:`ServerSecurity` with QueryBlanket,
ImpersonateClient, RevertToSelf, IsImpersonating) build on the runtime's impersonation
(:mod:`dcerpc.auth._impersonation`): one revert undoes any number of impersonations, and
the runtime reverts at the end of the call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any

from .. import status as st
from ..auth import _impersonation as _imp
from ..errors import RpcError
from . import hresult as hr
from .guids import GUID
from .hresult import COMError

__all__ = [
    "EOAC_DYNAMIC_CLOAKING",
    "EOAC_NONE",
    "EOAC_STATIC_CLOAKING",
    "RPC_C_AUTHN_DEFAULT",
    "RPC_C_AUTHN_GSS_NEGOTIATE",
    "RPC_C_AUTHN_NONE",
    "RPC_C_AUTHN_WINNT",
    "RPC_C_AUTHZ_NONE",
    "RPC_E_CALL_COMPLETE",
    "RPC_E_NO_CONTEXT",
    "RPC_E_TOO_LATE",
    "SOLE_AUTHENTICATION_INFO",
    "Blanket",
    "CoGetCallContext",
    "CoImpersonateClient",
    "CoInitializeSecurity",
    "CoQueryClientBlanket",
    "CoRevertToSelf",
    "CoSetProxyBlanket",
    "IID_IClientSecurity",
    "IID_IServerSecurity",
    "ServerSecurity",
]

#: [MS-RPCE] 2.2.1.1.7 authentication services.
RPC_C_AUTHN_NONE = 0
RPC_C_AUTHN_GSS_NEGOTIATE = 9
RPC_C_AUTHN_WINNT = 10
RPC_C_AUTHN_GSS_KERBEROS = 16
RPC_C_AUTHN_DEFAULT = 0xFFFFFFFF
RPC_C_AUTHZ_NONE = 0
RPC_C_AUTHZ_DEFAULT = 0xFFFFFFFF
RPC_C_AUTHN_LEVEL_DEFAULT = 0
RPC_C_IMP_LEVEL_DEFAULT = 0
#: COLE_DEFAULT_PRINCIPAL: keep the principal name in force.
COLE_DEFAULT_PRINCIPAL = None
#: EOLE_AUTHENTICATION_CAPABILITIES (objidl.idl).
EOAC_NONE = 0
EOAC_MUTUAL_AUTH = 0x1
EOAC_STATIC_CLOAKING = 0x20
EOAC_DYNAMIC_CLOAKING = 0x40
EOAC_DEFAULT = 0x800

#: winerror.h: the call context cannot be used after the call completed / outside a call.
RPC_E_CALL_COMPLETE = 0x80010117
RPC_E_NO_CONTEXT = 0x8001011E
RPC_E_TOO_LATE = 0x80010119

IID_IClientSecurity = GUID("0000013D-0000-0000-C000-000000000046")
IID_IServerSecurity = GUID("0000013E-0000-0000-C000-000000000046")

_DEFAULT = object()


@dataclass(frozen=True)
class Blanket:
    """One proxy's security settings (IClientSecurity::QueryBlanket's outputs).

    The defaults are what COM uses when CoInitializeSecurity was not called (F66): no
    authentication service, impersonation level IDENTIFY; ``AuthnLevel`` 1 (NONE) here
    because without credentials there is nothing to authenticate with (with credentials
    and no level, :meth:`for_credentials` gives PKT_INTEGRITY, not F66's CONNECT, unless
    CoInitializeSecurity set a level).
    """

    AuthnSvc: int = RPC_C_AUTHN_NONE
    AuthzSvc: int = RPC_C_AUTHZ_NONE
    ServerPrincName: str | None = None
    AuthnLevel: int = 1
    ImpLevel: int = _imp.RPC_C_IMP_LEVEL_IDENTIFY
    AuthInfo: Any = field(default=None, repr=False)
    Capabilities: int = EOAC_NONE

    def as_tuple(self) -> tuple[int, int, str | None, int, int, Any, int]:
        return (self.AuthnSvc, self.AuthzSvc, self.ServerPrincName, self.AuthnLevel,
                self.ImpLevel, self.AuthInfo, self.Capabilities)

    def options(self) -> dict[str, Any]:
        """``auth=``/``level=`` for the connections of calls made under this blanket."""
        if self.AuthInfo is None or self.AuthnLevel <= 1:
            return {}
        from ..auth._qos import with_qos

        # ImpLevel and ServerPrincName travel in the security package's tokens
        # (NTLMSSP_NEGOTIATE_IDENTIFY, Kerberos delegation, the SPN): see auth._qos.
        return {"auth": with_qos(self.AuthInfo, self.ImpLevel, self.ServerPrincName),
                "level": self.AuthnLevel}

    def key(self) -> tuple[int, int]:
        """Identifies the connections this blanket needs (credentials, level)."""
        opts = self.options()
        return (id(opts["auth"]), opts["level"]) if opts else (0, 1)

    @classmethod
    def default(cls) -> Blanket:
        """The blanket of a new proxy: CoInitializeSecurity's, else the F66 defaults."""
        got = _process_blanket
        return got if got is not None else cls()

    @classmethod
    def for_credentials(cls, auth: Any, level: int | str | None) -> Blanket:
        """The blanket of ``CoCreateInstanceEx(auth=, level=)``: the process default
        (:func:`CoInitializeSecurity`) fills in what is not given."""
        base = cls.default()
        if auth is None:
            if level not in (None, 1, "none"):
                raise ValueError("level= needs auth= credentials")
            return base
        from ..auth.base import normalize_level

        if level is None and _process_level is not None:
            n = _process_level
        else:
            # Deviation from F66 (CONNECT): the runtime's default for explicit credentials
            # is PKT_INTEGRITY (auth.normalize_level), so that ``auth=`` alone passes a
            # server whose minimum is integrity, as before CoInitializeSecurity existed.
            n = normalize_level(level)
        return replace(base, AuthnSvc=int(auth.auth_type), AuthnLevel=n, AuthInfo=auth) \
            if n > 1 else replace(base, AuthnSvc=RPC_C_AUTHN_NONE, AuthnLevel=1,
                                  AuthInfo=None)

    def set(self, AuthnSvc: Any = _DEFAULT, AuthzSvc: Any = _DEFAULT,
            ServerPrincName: Any = _DEFAULT, AuthnLevel: Any = _DEFAULT,
            ImpLevel: Any = _DEFAULT, AuthInfo: Any = _DEFAULT,
            Capabilities: Any = _DEFAULT) -> Blanket:
        """The blanket SetBlanket makes from this one; the *_DEFAULT values (and omitted
        arguments) keep the current setting.  COMError E_INVALIDARG for a bad value."""
        b = self
        if AuthInfo is not _DEFAULT and AuthInfo is not None:
            if not hasattr(AuthInfo, "client_context"):
                raise COMError(hr.E_INVALIDARG, "AuthInfo must be client credentials")
            b = replace(b, AuthInfo=AuthInfo, AuthnSvc=int(AuthInfo.auth_type))
        if AuthnSvc not in (_DEFAULT, RPC_C_AUTHN_DEFAULT):
            if AuthnSvc == RPC_C_AUTHN_NONE:
                b = replace(b, AuthnSvc=0, AuthnLevel=1, AuthInfo=None)
            elif b.AuthInfo is not None and int(AuthnSvc) != int(b.AuthInfo.auth_type):
                raise COMError(hr.E_INVALIDARG, f"AuthnSvc {AuthnSvc} does not match the "
                               f"credentials' {b.AuthInfo.auth_type}")
        if AuthzSvc not in (_DEFAULT, RPC_C_AUTHZ_DEFAULT):
            b = replace(b, AuthzSvc=int(AuthzSvc))
        if ServerPrincName is not _DEFAULT and ServerPrincName is not COLE_DEFAULT_PRINCIPAL:
            b = replace(b, ServerPrincName=str(ServerPrincName))
        if AuthnLevel not in (_DEFAULT, RPC_C_AUTHN_LEVEL_DEFAULT):
            if not 1 <= int(AuthnLevel) <= 6:
                raise COMError(hr.E_INVALIDARG, f"AuthnLevel {AuthnLevel} is not 0..6")
            b = replace(b, AuthnLevel=int(AuthnLevel))
        if ImpLevel not in (_DEFAULT, RPC_C_IMP_LEVEL_DEFAULT):
            if not 1 <= int(ImpLevel) <= 4:
                raise COMError(hr.E_INVALIDARG, f"ImpLevel {ImpLevel} is not 0..4")
            b = replace(b, ImpLevel=int(ImpLevel))
        if Capabilities is not _DEFAULT and Capabilities != EOAC_DEFAULT:
            b = replace(b, Capabilities=int(Capabilities))
        # F66: explicit credentials together with cloaking are contradictory.
        if (AuthInfo is not _DEFAULT and AuthInfo is not None
                and b.Capabilities & (EOAC_STATIC_CLOAKING | EOAC_DYNAMIC_CLOAKING)):
            raise COMError(hr.E_INVALIDARG, "AuthInfo cannot be combined with cloaking")
        if b.AuthnLevel > 1 and b.AuthInfo is None:
            raise COMError(hr.E_INVALIDARG, f"AuthnLevel {b.AuthnLevel} needs AuthInfo "
                           "credentials (there is no process identity to use)")
        if b.AuthnLevel <= 1:
            b = replace(b, AuthnSvc=RPC_C_AUTHN_NONE, AuthnLevel=1)
        return b


# ------------------------------------------------------------------ CoInitializeSecurity
#: Set once by CoInitializeSecurity (a single assignment each: atomic under the GIL).
_process_blanket: Blanket | None = None
#: The authentication level CoInitializeSecurity asked for (also when there are no
#: default credentials to apply it with: then it is the level of ``auth=`` activations).
_process_level: int | None = None
_initialized = False
_init_lock = threading.Lock()


@dataclass
class SOLE_AUTHENTICATION_INFO:
    """One entry of CoInitializeSecurity's ``pAuthList`` (objidl.h): the credentials
    (``pAuthInfo``, client credentials such as :class:`dcerpc.auth.NTLM`) to use for
    ``dwAuthnSvc``."""

    dwAuthnSvc: int
    dwAuthzSvc: int = RPC_C_AUTHZ_NONE
    pAuthInfo: Any = None


def CoInitializeSecurity(pSecDesc: Any = None, cAuthSvc: int = -1, asAuthSvc: Any = None,
                         pReserved1: Any = None,
                         dwAuthnLevel: int = RPC_C_AUTHN_LEVEL_DEFAULT,
                         dwImpLevel: int = _imp.RPC_C_IMP_LEVEL_IDENTIFY,
                         pAuthList: Any = None, dwCapabilities: int = EOAC_NONE,
                         pReserved3: Any = None) -> int:
    """Set the process-wide security defaults for proxies made afterwards; S_OK once,
    RPC_E_TOO_LATE (0x80010119) on every later call, as on Windows.

    Client side only: ``dwAuthnLevel`` (DEFAULT = CONNECT), ``dwImpLevel`` (DEFAULT =
    IDENTIFY), ``pAuthList`` (a list of :class:`SOLE_AUTHENTICATION_INFO` or of
    credentials; the first is the default ``AuthInfo``) and ``dwCapabilities`` become the
    blanket of new proxies (activation without ``auth=`` uses the default credentials;
    with ``auth=`` but no ``level=`` the level is ``dwAuthnLevel``).  Without default
    credentials there is no process identity to authenticate with: new proxies stay
    unauthenticated.  ``pSecDesc``, ``cAuthSvc``/``asAuthSvc`` (what a *server* accepts;
    see ``ComServer(auth=, min_level=)``) are accepted and ignored.  Bad values:
    COMError E_INVALIDARG.
    """
    global _process_blanket, _process_level, _initialized
    level = 2 if dwAuthnLevel == RPC_C_AUTHN_LEVEL_DEFAULT else int(dwAuthnLevel)
    imp_level = _imp.RPC_C_IMP_LEVEL_IDENTIFY if dwImpLevel == RPC_C_IMP_LEVEL_DEFAULT \
        else int(dwImpLevel)
    if not 1 <= level <= 6 or not 1 <= imp_level <= 4:
        raise COMError(hr.E_INVALIDARG, "authentication level 0..6, impersonation 0..4")
    creds = None
    for entry in pAuthList or []:
        creds = entry.pAuthInfo if isinstance(entry, SOLE_AUTHENTICATION_INFO) else entry
        if creds is not None:
            break
    if creds is not None and not hasattr(creds, "client_context"):
        raise COMError(hr.E_INVALIDARG, "pAuthList entries must be client credentials")
    if creds is not None and dwCapabilities & (EOAC_STATIC_CLOAKING | EOAC_DYNAMIC_CLOAKING):
        raise COMError(hr.E_INVALIDARG, "pAuthList cannot be combined with cloaking")
    with _init_lock:
        if _initialized:
            return RPC_E_TOO_LATE
        blanket = Blanket(ImpLevel=imp_level, Capabilities=int(dwCapabilities))
        if creds is not None and level > 1:
            blanket = replace(blanket, AuthnSvc=int(creds.auth_type), AuthnLevel=level,
                              AuthInfo=creds)
        _process_blanket, _process_level, _initialized = blanket, level, True
    return hr.S_OK


def _reset_process_security() -> None:
    """Forget CoInitializeSecurity (for tests: a process calls it once)."""
    global _process_blanket, _process_level, _initialized
    with _init_lock:
        _process_blanket, _process_level, _initialized = None, None, False


def CoSetProxyBlanket(proxy: Any, AuthnSvc: Any = _DEFAULT, AuthzSvc: Any = _DEFAULT,
                      ServerPrincName: Any = _DEFAULT, AuthnLevel: Any = _DEFAULT,
                      ImpLevel: Any = _DEFAULT, AuthInfo: Any = _DEFAULT,
                      Capabilities: Any = _DEFAULT) -> int:
    """QueryInterface(IClientSecurity), SetBlanket, Release (F66); returns S_OK."""
    proxy.SetBlanket(AuthnSvc, AuthzSvc, ServerPrincName, AuthnLevel, ImpLevel, AuthInfo,
                     Capabilities)
    return hr.S_OK


# --------------------------------------------------------------------------- server side
class ServerSecurity:
    """IServerSecurity of the call being served (F67)."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def QueryBlanket(self) -> tuple[int, int, str | None, int, int, str | None, int]:
        """(AuthnSvc, AuthzSvc, ServerPrincName, AuthnLevel, ImpLevel, Privs, Capabilities);
        ``Privs`` is the caller's principal name."""
        info = self._call.auth_info
        if info is None:
            return (RPC_C_AUTHN_NONE, RPC_C_AUTHZ_NONE, None, 1,
                    _imp.RPC_C_IMP_LEVEL_ANONYMOUS, None, EOAC_NONE)
        return (int(info.auth_type), RPC_C_AUTHZ_NONE,
                getattr(info, "server_principal", None), int(info.auth_level),
                int(info.impersonation_level), info.principal, EOAC_NONE)

    def ImpersonateClient(self) -> int:
        """S_OK, or COMError: E_FAIL below CONNECT, RPC_E_CALL_COMPLETE after the call
        or, for a call served by a server call object, once its Signal returned (F60)."""
        from .servercall import impersonation_closed

        if impersonation_closed(self._call):
            raise COMError(RPC_E_CALL_COMPLETE, "the server call object has signalled")
        status = _imp.impersonate(self._call)
        if status == st.RPC_S_OK:
            return hr.S_OK
        if status == st.RPC_S_INVALID_BINDING:
            raise COMError(RPC_E_CALL_COMPLETE, "the call has completed")
        raise COMError(hr.E_FAIL, "the caller is not authenticated (level < CONNECT)")

    def RevertToSelf(self) -> int:
        """One revert undoes any number of impersonations (F67)."""
        _imp.revert()
        return hr.S_OK

    def IsImpersonating(self) -> bool:
        token = _imp.impersonating()
        return token is not None and token.call is self._call


def CoGetCallContext(riid: Any = IID_IServerSecurity) -> ServerSecurity:
    """The call context of the COM call being served, as IServerSecurity."""
    if GUID(riid) != IID_IServerSecurity:
        raise COMError(hr.E_NOINTERFACE)
    from ..aio._callctx import current_call

    try:
        return ServerSecurity(current_call())
    except RpcError:
        raise COMError(RPC_E_NO_CONTEXT, "not inside a COM call") from None


def CoQueryClientBlanket() -> tuple[int, int, str | None, int, int, str | None, int]:
    """``CoGetCallContext(IID_IServerSecurity).QueryBlanket()``: (AuthnSvc, AuthzSvc,
    ServerPrincName, AuthnLevel, ImpLevel, Privs, Capabilities) of the caller."""
    return CoGetCallContext().QueryBlanket()


def CoImpersonateClient() -> int:
    return CoGetCallContext().ImpersonateClient()


def CoRevertToSelf() -> int:
    return CoGetCallContext().RevertToSelf()
