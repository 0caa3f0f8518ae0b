"""Impersonation: the caller's identity as the *current identity* of the running code.

``RpcImpersonateClient`` / ``RpcRevertToSelf(Ex)`` and ``with current_call().impersonate():``
(seed-semantics §6.2, F68) end here.  The current identity is held in a
:mod:`contextvars` variable: a worker thread that is not inside a copied context has its
own value (so it is thread-local there), and every asyncio task has its own (so an
``async def`` manager's impersonation does not leak into other tasks on the loop).

What is stored is an :class:`Impersonation` token that names the call, not just the
identity: :func:`current_identity` returns the identity only while that call is still
OUTSTANDING (§3.2).  Once the call is completed or aborted the token is dead, on every
thread that still holds it, without the runtime having to reach into those threads —
"COM/RPC always reverts at the end of the call" (§6.1, §6.2).

Level limits ([MS-RPCE] 2.2.1.1.9 ``RPC_C_IMP_LEVEL_*``; §6.1): the caller's
impersonation level is part of its :class:`ClientIdentity`.  ANONYMOUS gives the server
nothing to impersonate (RPC_S_NO_CONTEXT_AVAILABLE); IDENTIFY lets the server see who the
caller is but not act as it, so the OS identity mapper (below) is not invoked;
IMPERSONATE and DELEGATE are full impersonation.

The optional OS mapper (:func:`set_os_identity_mapper`) is called as ``fn(identity,
True)`` when an impersonation starts on a thread or task and ``fn(identity, False)`` when
it is reverted (explicitly or by the end of the ``with`` block); it is how a deployment
maps a caller onto OS credentials (``os.seteuid`` in a forked worker, a database role
...).  There is none by default: impersonation changes no OS state.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from typing import Any

from .. import status as st
from ..errors import RpcError
from .base import ClientIdentity

__all__ = [
    "RPC_C_IMP_LEVEL_ANONYMOUS",
    "RPC_C_IMP_LEVEL_DEFAULT",
    "RPC_C_IMP_LEVEL_DELEGATE",
    "RPC_C_IMP_LEVEL_IDENTIFY",
    "RPC_C_IMP_LEVEL_IMPERSONATE",
    "Impersonation",
    "current_identity",
    "impersonate",
    "revert",
    "set_os_identity_mapper",
]

log = logging.getLogger("dcerpc.auth")

RPC_C_IMP_LEVEL_DEFAULT = 0
RPC_C_IMP_LEVEL_ANONYMOUS = 1
RPC_C_IMP_LEVEL_IDENTIFY = 2
RPC_C_IMP_LEVEL_IMPERSONATE = 3
RPC_C_IMP_LEVEL_DELEGATE = 4

Mapper = Callable[[ClientIdentity, bool], Any]
#: One module global, replaced by a single assignment (atomic under the GIL): no lock.
_mapper: Mapper | None = None


class Impersonation:
    """One impersonation of ``call``'s caller (what the context variable holds)."""

    __slots__ = ("call", "identity", "mapped")

    def __init__(self, call: Any, identity: ClientIdentity) -> None:
        self.call = call
        self.identity = identity
        self.mapped = False

    @property
    def alive(self) -> bool:
        return bool(getattr(self.call, "active", False))


_current: contextvars.ContextVar[Impersonation | None] = contextvars.ContextVar(
    "dcerpc_impersonation", default=None)


def set_os_identity_mapper(fn: Mapper | None) -> Mapper | None:
    """Install ``fn(identity, entering)`` (see the module docstring); returns the old one.
    ``None`` removes it."""
    global _mapper
    old, _mapper = _mapper, fn
    return old


def caller_identity(call: Any) -> ClientIdentity | None:
    """The identity a call may be impersonated as: the authenticated caller, else the
    peer's OS credentials on ncalrpc (``call.local_identity``), else None."""
    info = getattr(call, "auth_info", None)
    if info is not None and getattr(info, "auth_level", 1) >= 2:
        return info  # type: ignore[no-any-return]
    return getattr(call, "local_identity", None)


def impersonate(call: Any) -> int:
    """Make ``call``'s caller the current identity here; an RPC_STATUS.

    RPC_S_INVALID_BINDING once the call has ended (§6.2 [D]); RPC_S_NO_CONTEXT_AVAILABLE
    for an unauthenticated or anonymous caller.
    """
    if not getattr(call, "active", False):
        return st.RPC_S_INVALID_BINDING
    identity = caller_identity(call)
    if identity is None or identity.impersonation_level == RPC_C_IMP_LEVEL_ANONYMOUS:
        return st.RPC_S_NO_CONTEXT_AVAILABLE
    _leave(_current.get())  # impersonating again replaces the previous token
    token = Impersonation(call, identity)
    _current.set(token)
    mapper = _mapper
    if mapper is not None and identity.impersonation_level >= RPC_C_IMP_LEVEL_IMPERSONATE:
        try:
            mapper(identity, True)
        except Exception as exc:
            # Failing to take on the caller's OS identity must not leave the code running
            # as the server while it believes it is the caller (F68: "check the return").
            _current.set(None)
            log.error("the OS identity mapper refused %s: %r", identity.principal, exc)
            return st.RPC_S_NO_CONTEXT_AVAILABLE
        token.mapped = True
    return st.RPC_S_OK


def revert(call: Any = None) -> int:
    """End the impersonation in effect here (of ``call`` when given); an RPC_STATUS.

    Reverting when not impersonating is RPC_S_OK, as on Windows; with ``call`` given, an
    impersonation of another call is left alone and RPC_S_INVALID_BINDING returned.
    """
    token = _current.get()
    if token is None:
        return st.RPC_S_OK
    if call is not None and token.call is not call:
        return st.RPC_S_INVALID_BINDING
    _current.set(None)
    _leave(token)
    return st.RPC_S_OK


def release(call: Any = None) -> None:
    """The runtime's automatic revert: at the end of a manager (``call`` None: whatever
    is in effect in its context) and when an ``[async]`` call is completed on the
    completing thread (``call`` given).  Runs the mapper's exit for a mapped token."""
    token = _current.get()
    if token is not None and (call is None or token.call is call):
        _current.set(None)
        _leave(token)


def _leave(token: Impersonation | None) -> None:
    if token is None or not token.mapped:
        return
    token.mapped = False
    mapper = _mapper
    if mapper is not None:
        try:
            mapper(token.identity, False)
        except Exception:
            log.exception("the OS identity mapper failed to revert %s",
                          token.identity.principal)


def current_token() -> Impersonation | None:
    """The token in effect here, live or not (cheap: for the runtime's checks)."""
    return _current.get()


def impersonating() -> Impersonation | None:
    """The live impersonation token of this thread / task, if any."""
    token = _current.get()
    return token if token is not None and token.alive else None


def current_identity() -> ClientIdentity | None:
    """The identity in effect on this thread or task: the impersonated caller's, or None
    when not impersonating (or once the impersonated call has ended)."""
    token = _current.get()
    if token is None:
        return None
    if not token.alive:
        # The call ended: the token is dead; drop it (and undo any OS mapping) lazily.
        _current.set(None)
        _leave(token)
        return None
    return token.identity


class ImpersonationScope:
    """``with call.impersonate() as identity:`` (raises :class:`RpcError` on failure)."""

    __slots__ = ("_call", "_prev")

    def __init__(self, call: Any) -> None:
        self._call = call
        self._prev: Impersonation | None = None

    def __enter__(self) -> ClientIdentity:
        self._prev = _current.get()
        if self._prev is not None:
            # Nested scopes: keep the outer token (without running its exit mapping).
            _current.set(None)
        status = impersonate(self._call)
        if status != st.RPC_S_OK:
            _current.set(self._prev)
            raise RpcError("cannot impersonate the caller", status)
        token = _current.get()
        assert token is not None
        return token.identity

    def __exit__(self, *exc: object) -> None:
        token = _current.get()
        _current.set(self._prev)
        _leave(token)
