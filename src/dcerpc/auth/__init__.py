"""Authentication for DCE/RPC: NTLM, SPNEGO (Negotiate) and the provider interface.

Client: ``dcerpc.connect(binding, spec, auth=dcerpc.auth.NTLM(user, password, domain),
level="privacy")``. Server: ``dcerpc.Server(auth=[dcerpc.auth.NTLMAcceptor(
dcerpc.auth.UserTable({"DOMAIN\\\\user": "password"}))])``. See docs/security.md.

``current_identity()`` is the caller's identity while impersonating
(``with dcerpc.current_call().impersonate():``), None otherwise;
``set_os_identity_mapper(fn)`` maps it onto OS credentials.

The providers (and pyspnego, python-gssapi under them) are imported on first use, so that importing
the runtime does not pay for them.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._impersonation import current_identity, set_os_identity_mapper
from .base import (
    Acceptor,
    AuthLevel,
    AuthType,
    ClientIdentity,
    Credentials,
    SecurityContext,
    normalize_level,
)

_LAZY = {
    "NTLM": ".ntlm",
    "NTLMAcceptor": ".ntlm",
    "UserTable": ".ntlm",
    "Negotiate": ".negotiate",
    "NegotiateAcceptor": ".negotiate",
    # python-gssapi is imported only by Kerberos users.
    "Kerberos": ".kerberos",
    "KerberosAcceptor": ".kerberos",
}

__all__ = [
    "NTLM",
    "Acceptor",
    "AuthLevel",
    "AuthType",
    "ClientIdentity",
    "Credentials",
    "Kerberos",
    "KerberosAcceptor",
    "NTLMAcceptor",
    "Negotiate",
    "NegotiateAcceptor",
    "SecurityContext",
    "UserTable",
    "current_identity",
    "normalize_level",
    "set_os_identity_mapper",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
