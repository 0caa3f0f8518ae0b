"""``RpcImpersonateClient``, ``RpcRevertToSelf(Ex)`` and ``RpcBindingInqAuthClient``.

The Win32 names over :mod:`dcerpc.auth._impersonation` (seed-semantics §6.2, F68).  A
server binding handle is the call's :class:`dcerpc.aio.CallContext` — what an ``[in]
handle_t`` parameter receives and what ``RpcAsyncGetCallHandle(pAsync)`` returns — and
``None`` means the call the calling manager is serving (``current_call()``).

Statuses:

* RPC_S_NO_CALL_ACTIVE (1725): ``None`` outside a manager.
* RPC_S_INVALID_BINDING (1702): the call has been completed or aborted (§6.2 [D], T79),
  or the handle is not a binding handle at all.
* RPC_S_WRONG_KIND_OF_BINDING (1701): a client binding handle (:class:`dcerpc.Binding`).
* RPC_S_NO_CONTEXT_AVAILABLE (1765): the caller is not authenticated (level NONE) or
  allowed only anonymous impersonation.
* RPC_S_BINDING_HAS_NO_AUTH (1746): ``RpcBindingInqAuthClient`` on an unauthenticated
  call.

Deviations: the impersonation changes no OS token (see
``dcerpc.auth.set_os_identity_mapper``); ``RpcBindingInqAuthClient``'s ``Privs`` is the
caller's principal name (AuthzSvc RPC_C_AUTHZ_NONE, as Windows reports for NTLM and
Kerberos) and ``ServerPrincName`` is the name the client addressed the server by when its
package carries one (NTLM's MsvAvTargetName, the Kerberos service principal), else None.
"""

from __future__ import annotations

from typing import Any

from .. import status as st
from ..auth import _impersonation as _imp

__all__ = [
    "RPC_C_AUTHZ_NAME",
    "RPC_C_IMP_LEVEL_ANONYMOUS",
    "RPC_C_IMP_LEVEL_DEFAULT",
    "RPC_C_IMP_LEVEL_DELEGATE",
    "RPC_C_IMP_LEVEL_IDENTIFY",
    "RPC_C_IMP_LEVEL_IMPERSONATE",
    "RpcBindingInqAuthClient",
    "RpcImpersonateClient",
    "RpcRevertToSelf",
    "RpcRevertToSelfEx",
]

RPC_C_IMP_LEVEL_DEFAULT = _imp.RPC_C_IMP_LEVEL_DEFAULT
RPC_C_IMP_LEVEL_ANONYMOUS = _imp.RPC_C_IMP_LEVEL_ANONYMOUS
RPC_C_IMP_LEVEL_IDENTIFY = _imp.RPC_C_IMP_LEVEL_IDENTIFY
RPC_C_IMP_LEVEL_IMPERSONATE = _imp.RPC_C_IMP_LEVEL_IMPERSONATE
RPC_C_IMP_LEVEL_DELEGATE = _imp.RPC_C_IMP_LEVEL_DELEGATE
RPC_C_AUTHZ_NONE = 0
RPC_C_AUTHZ_NAME = 1


def _call_of(handle: Any) -> tuple[int, Any]:
    """``(status, CallContext)`` for a server binding handle (None = the current call)."""
    from ..aio._callctx import CallContext, _current

    if handle is None:
        call = _current.get()
        if call is None:
            return st.RPC_S_NO_CALL_ACTIVE, None
        return st.RPC_S_OK, call
    if isinstance(handle, CallContext):
        return st.RPC_S_OK, handle
    from .._sync import Binding

    if isinstance(handle, Binding):
        return st.RPC_S_WRONG_KIND_OF_BINDING, None
    return st.RPC_S_INVALID_BINDING, None


def RpcImpersonateClient(BindingHandle: Any = None) -> int:
    """Make the caller of ``BindingHandle``'s call the current identity of this thread
    (or task) until ``RpcRevertToSelf(Ex)`` or the end of the call."""
    status, call = _call_of(BindingHandle)
    if status != st.RPC_S_OK:
        return status
    return _imp.impersonate(call)


def RpcRevertToSelf() -> int:
    """End this thread's impersonation; RPC_S_NO_CALL_ACTIVE when the thread is neither
    serving a call nor impersonating."""
    from ..aio._callctx import _current

    if _imp._current.get() is None and _current.get() is None:
        return st.RPC_S_NO_CALL_ACTIVE
    return _imp.revert()


def RpcRevertToSelfEx(BindingHandle: Any) -> int:
    """End the impersonation made with ``RpcImpersonateClient(BindingHandle)`` on this
    thread (F68: a worker thread reverts through the same call handle)."""
    status, call = _call_of(BindingHandle)
    if status != st.RPC_S_OK:
        return status
    return _imp.revert(call)


def RpcBindingInqAuthClient(ClientBinding: Any = None
                            ) -> tuple[int, str | None, str | None, int, int, int]:
    """``(status, Privs, ServerPrincName, AuthnLevel, AuthnSvc, AuthzSvc)`` of the
    caller of a call (see the module docstring)."""
    none = (None, None, 1, 0, 0)
    status, call = _call_of(ClientBinding)
    if status != st.RPC_S_OK:
        return (status, *none)
    if not call.active:
        return (st.RPC_S_INVALID_BINDING, *none)
    identity = _imp.caller_identity(call)
    if identity is None:
        return (st.RPC_S_BINDING_HAS_NO_AUTH, *none)
    return (st.RPC_S_OK, identity.principal, getattr(identity, "server_principal", None),
            int(identity.auth_level), int(identity.auth_type), RPC_C_AUTHZ_NONE)
