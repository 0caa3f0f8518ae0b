"""Authentication for DCE/RPC: NTLM, SPNEGO (Negotiate) and the provider interface.

Client: ``dcerpc.connect(binding, spec, auth=dcerpc.auth.NTLM(user, password, domain),
level="privacy")``. Server: ``dcerpc.Server(auth=[dcerpc.auth.NTLMAcceptor(
dcerpc.auth.UserTable({"DOMAIN\\\\user": "password"}))])``. See docs/security.md.

The providers (and pyspnego under them) are imported on first use, so that importing
the runtime does not pay for them.
"""

from __future__ import annotations

import importlib
from typing import Any

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
}

__all__ = [
    "NTLM",
    "Acceptor",
    "AuthLevel",
    "AuthType",
    "ClientIdentity",
    "Credentials",
    "NTLMAcceptor",
    "Negotiate",
    "NegotiateAcceptor",
    "SecurityContext",
    "UserTable",
    "normalize_level",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
