"""Client credentials bound to a quality of service: the impersonation level the client
allows and the server principal name it addresses (a COM blanket's ImpLevel and
ServerPrincName, ``RpcBindingSetAuthInfoEx``'s ``SecurityQos`` and ``ServerPrincName``).

How Windows carries the level ([MS-RPCE] 3.3.1.5.2, [MS-NLMP] 2.2.2.5): NTLM sets
NTLMSSP_NEGOTIATE_IDENTIFY in NEGOTIATE/AUTHENTICATE for RPC_C_IMP_LEVEL_IDENTIFY and
nothing for IMPERSONATE; Kerberos asks for a delegated ticket (GSS_C_DELEG_FLAG) for
DELEGATE.  The server principal becomes the Kerberos target and NTLM's MsvAvTargetName.

:func:`with_qos` returns one wrapper per (credentials, level, principal), kept on the
credentials object, so that the runtime's connection sets — keyed by the identity of the
credentials — are shared by every proxy with the same settings.
"""

from __future__ import annotations

from typing import Any

from .base import Credentials, SecurityContext

__all__ = ["QosCredentials", "with_qos"]

RPC_C_IMP_LEVEL_IMPERSONATE = 3


class QosCredentials(Credentials):
    """``inner`` credentials with an impersonation level and a server principal name."""

    def __init__(self, inner: Any, imp_level: int, server_principal: str | None) -> None:
        self.inner = inner
        self.imp_level = int(imp_level)
        self.server_principal = server_principal
        self.auth_type = int(inner.auth_type)

    def __repr__(self) -> str:
        return (f"QosCredentials({self.inner!r}, imp_level={self.imp_level}, "
                f"server_principal={self.server_principal!r})")

    def client_context(self, level: int, context_id: int, target: str | None
                       ) -> SecurityContext:
        where = self.server_principal or target
        ex = getattr(self.inner, "client_context_ex", None)
        if ex is None:  # credentials not derived from Credentials: no level to carry
            return self.inner.client_context(level, context_id, where)  # type: ignore
        return ex(level, context_id, where, self.imp_level)  # type: ignore[no-any-return]

    def client_context_ex(self, level: int, context_id: int, target: str | None,
                          imp_level: int) -> SecurityContext:
        return self.client_context(level, context_id, target)


def with_qos(creds: Any, imp_level: int, server_principal: str | None) -> Any:
    """``creds`` carrying ``imp_level`` and ``server_principal``; ``creds`` itself for
    IMPERSONATE with no principal (what every package does by default)."""
    if isinstance(creds, QosCredentials):
        creds = creds.inner
    if int(imp_level) in (0, RPC_C_IMP_LEVEL_IMPERSONATE) and not server_principal:
        return creds
    key = (int(imp_level), server_principal)
    try:
        # dict.setdefault is atomic under the GIL: concurrent callers share one cache and
        # one wrapper without a lock (this layer is sans-IO).  __dict__ directly: frozen
        # dataclasses (NTLM, Negotiate) too.
        cache = vars(creds).setdefault("_dcerpc_qos", {})
    except TypeError:  # __slots__ credentials: no sharing, still correct
        return QosCredentials(creds, imp_level, server_principal)
    got = cache.get(key)
    if got is None:
        got = cache.setdefault(key, QosCredentials(creds, imp_level, server_principal))
    return got
