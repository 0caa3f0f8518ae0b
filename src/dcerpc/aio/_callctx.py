"""``dcerpc.current_call()``: what a manager can learn about the call it is serving.

The server sets a :class:`CallContext` in a :mod:`contextvars` context per call and runs
the manager inside that context — on the loop for ``async def`` managers, on a worker
thread for plain ones — so ``current_call()`` works in both (like RpcServerInqCallAttributes
and RpcServerTestCancel, [MS-RPCE] / MSDN).

Cancel and disconnect hooks (seed-semantics F31, F34): ``call.on_cancel(fn)`` and
``call.on_disconnect(fn)`` run ``fn()`` at most once — when the client cancels the call
(co_cancel, C706 §12.6.4.6, or orphaned, §12.6.4.8: an abortive cancel, §5.1) or when its
connection goes away.  The hook runs on the server's loop thread and must not block; if
the event already happened it runs at once on the registering thread.  A lost connection
is a disconnect, not a cancel (RpcServerSubscribeForNotification reports the two apart,
RpcClientDisconnect vs RpcClientCancel), although ``test_cancel()`` reports both.

Memory: every pending call has a CallContext and a CancelSignal, so both use
``__slots__`` and allocate nothing else until a thread waits or a hook is registered.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from .. import status as st
from ..auth import _impersonation as _imp
from ..errors import RpcError
from ..ndr.types import Interface, Operation

__all__ = ["CallContext", "CancelSignal", "Hook", "current_call"]

log = logging.getLogger("dcerpc.server")
_current: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar(
    "dcerpc_current_call", default=None)


#: One lock for every signal (a lock per pending call would cost ~100 bytes each): it
#: orders set()/disconnect() against hook registration and the lazy threading.Event.
_EVENT_LOCK = threading.Lock()

#: Hook kinds (bit values, as RPC_NOTIFICATIONS spells them: RpcNotificationClientDisconnect
#: = 1, RpcNotificationCallCancel = 2).
DISCONNECT = 1
CANCEL = 2


class Hook:
    """One registration made by ``on_cancel``/``on_disconnect``; fires at most once."""

    __slots__ = ("fired", "fn", "kind", "signal")

    def __init__(self, signal: CancelSignal, kind: int, fn: Callable[[], Any]) -> None:
        self.signal: CancelSignal | None = signal
        self.kind = kind
        self.fn = fn
        self.fired = False

    def remove(self) -> bool:
        """Unregister; True if the hook had not fired (and now never will)."""
        with _EVENT_LOCK:
            signal, self.signal = self.signal, None
            if signal is not None and signal._hooks is not None:
                with contextlib.suppress(ValueError):
                    signal._hooks.remove(self)
            return not self.fired

    def _run(self) -> None:
        try:
            self.fn()
        except Exception:
            log.exception("server call %s hook failed",
                          "cancel" if self.kind == CANCEL else "disconnect")


class CancelSignal:
    """Set once when the client cancels (co_cancel), orphans the call, or goes away.

    Usable from any thread: ``is_set()``, blocking ``wait_sync(timeout)``, ``await
    wait()`` (asyncio.Event-like, on the server's loop), and ``add_callback(fn)`` — the
    callback runs on the server's loop thread, at once if already set, and must not block.
    """

    __slots__ = ("_callbacks", "_disconnected", "_event", "_flag", "_hooks", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._flag = False
        self._disconnected = False
        # The threading.Event (a Condition and a lock), the callback list and the hook
        # list are made only when needed: almost no call is ever cancelled.
        self._event: threading.Event | None = None
        self._callbacks: list[Callable[[], Any]] | None = None
        self._hooks: list[Hook] | None = None

    def is_set(self) -> bool:
        return self._flag

    @property
    def disconnected(self) -> bool:
        return self._disconnected

    def set(self) -> None:
        """Called by the server on its loop."""
        with _EVENT_LOCK:
            if self._flag:
                return
            self._flag = True
            event = self._event
            callbacks, self._callbacks = self._callbacks, None
            # A lost connection fired the disconnect hooks just before: no cancel hooks.
            hooks = None if self._disconnected else self._take(CANCEL)
        if event is not None:
            event.set()
        for hook in hooks or ():
            hook._run()
        for fn in callbacks or ():
            self._run(fn)

    def disconnect(self) -> None:
        """The client's connection is gone (called on the loop, before :meth:`set`)."""
        with _EVENT_LOCK:
            if self._disconnected:
                return
            self._disconnected = True
            hooks = self._take(DISCONNECT)
        for hook in hooks:
            hook._run()

    def _take(self, kind: int) -> list[Hook]:
        """Under the lock: detach the not-yet-fired hooks of ``kind``, marked fired."""
        hooks = self._hooks
        if not hooks:
            return []
        out = [h for h in hooks if h.kind == kind]
        if out:
            self._hooks = [h for h in hooks if h.kind != kind] or None
            for h in out:
                h.fired = True
                h.signal = None
        return out

    def hook(self, kind: int, fn: Callable[[], Any]) -> Hook:
        """Register ``fn`` for ``kind`` (CANCEL or DISCONNECT): it runs at most once, on
        the loop when the event happens, or here and now if it already happened."""
        hook = Hook(self, kind, fn)
        with _EVENT_LOCK:
            if kind == DISCONNECT:
                now = self._disconnected
            else:
                now = self._flag and not self._disconnected
            if now:
                hook.fired = True
                hook.signal = None
            elif self._hooks is None:
                self._hooks = [hook]
            else:
                self._hooks.append(hook)
        if now:
            hook._run()
        return hook

    def add_callback(self, fn: Callable[[], Any]) -> None:
        with _EVENT_LOCK:
            flag = self._flag
            if not flag:
                if self._callbacks is None:
                    self._callbacks = [fn]
                else:
                    self._callbacks.append(fn)
        if flag:  # already set: still on the loop thread, as documented
            self._loop.call_soon_threadsafe(self._run, fn)

    def remove_callback(self, fn: Callable[[], Any]) -> None:
        with _EVENT_LOCK:
            if self._callbacks is not None and fn in self._callbacks:
                self._callbacks.remove(fn)

    @staticmethod
    def _run(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception:
            log.exception("cancel callback failed")

    def wait_sync(self, timeout: float | None = None) -> bool:
        """Block the calling (worker) thread until set or ``timeout``; True if set."""
        with _EVENT_LOCK:
            if self._event is None:
                self._event = threading.Event()
                if self._flag:
                    self._event.set()
            event = self._event
        return event.wait(timeout)

    async def wait(self) -> bool:
        """Wait on the server's loop until the call is cancelled."""
        if self._flag:
            return True
        fut = self._loop.create_future()
        self.add_callback(lambda: fut.done() or fut.set_result(True))
        return await fut


class CallContext:
    """Attributes of the call being served (see ``dcerpc.current_call``).

    ``client_address`` is ``(host, port)`` for TCP, the socket name for ncalrpc;
    ``auth_info`` is the caller's ``dcerpc.auth.ClientIdentity`` (principal, user, domain,
    auth_type, auth_level) on an authenticated connection, None otherwise.  ``link`` is the
    server connection the call arrived on (set by the server; used to tell a lost
    connection from an orphaned call).
    """

    __slots__ = ("__weakref__", "_cancel", "_ended", "_loop", "_orphaned", "assoc_group_id",
                 "auth_info", "call_id", "client_address", "extra", "interface", "link",
                 "local_identity", "object_uuid", "operation", "peer_credentials", "protseq")

    def __init__(self, client_address: Any, protseq: str, object_uuid: uuid.UUID | None,
                 interface: Interface, operation: Operation, call_id: int,
                 assoc_group_id: int, cancelled: CancelSignal | None, auth_info: Any = None,
                 orphaned: bool = False, extra: dict[str, Any] | None = None, *,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.client_address = client_address
        self.protseq = protseq
        self.object_uuid = object_uuid
        self.interface = interface
        self.operation = operation
        self.call_id = call_id
        self.assoc_group_id = assoc_group_id
        # The CancelSignal is made on first use (``loop`` is then its loop): almost no
        # call is ever cancelled, hooked or asked about it.
        self._cancel = cancelled
        self._loop = loop if cancelled is None else None
        self.auth_info = auth_info
        self._orphaned = orphaned
        self.extra: dict[str, Any] = {} if extra is None else extra
        self.link: Any = None
        self._ended = False
        #: ncalrpc: the peer's ``(uid, gid, pid)`` from SO_PEERCRED
        #: (:class:`dcerpc.transport.lrpc.PeerCredentials`); None on other transports.
        self.peer_credentials: Any = None
        #: ncalrpc: the ClientIdentity made from ``peer_credentials`` (principal
        #: ``uid:<n>``), what impersonating an unauthenticated local caller gives.
        self.local_identity: Any = None

    def __repr__(self) -> str:
        return (f"<CallContext {self.interface.name}.{self.operation.name} "
                f"call_id={self.call_id} from {self.client_address}>")

    @property
    def cancelled(self) -> CancelSignal:
        """The call's :class:`CancelSignal` (made here on first use)."""
        sig = self._cancel
        if sig is None:
            with _EVENT_LOCK:  # a worker thread and the loop may both ask first
                sig = self._cancel
                if sig is None:
                    sig = self._cancel = CancelSignal(self._loop)  # type: ignore[arg-type]
        return sig

    @cancelled.setter
    def cancelled(self, signal: CancelSignal) -> None:
        self._cancel = signal

    @property
    def orphaned(self) -> bool:
        """True once the client abandoned the call or its connection went away: no
        reply is sent."""
        return self._orphaned

    @orphaned.setter
    def orphaned(self, value: bool) -> None:
        self._orphaned = bool(value)
        # The server marks a call orphaned both for an orphaned PDU (the client gave up
        # on the call: a cancel, §5.1) and when the connection dies; only the second is a
        # disconnect.  The connection core is closed first in the second case.
        if value and self._connection_lost():
            self.cancelled.disconnect()

    def _connection_lost(self) -> bool:
        link = self.link
        if link is None:
            return False
        conn = getattr(link, "conn", None)
        return conn is None or bool(getattr(conn, "closed", False))

    @property
    def active(self) -> bool:
        """True while the call is OUTSTANDING (seed-semantics §3.2): not yet answered,
        completed, aborted or dropped.  Impersonation is possible only then (§6.2)."""
        if self._ended:
            return False
        state = self.extra.get("async_state")
        return state is None or bool(state.outstanding)

    def end(self) -> None:
        """The runtime is done with the call (set by the server when it settles it)."""
        self._ended = True

    def impersonate(self) -> Any:
        """``with call.impersonate() as identity:`` runs the block as the caller
        (``dcerpc.auth.current_identity()``); reverts at the end of the block.  Raises
        :class:`RpcError` RPC_S_NO_CONTEXT_AVAILABLE for an unauthenticated caller and
        RPC_S_INVALID_BINDING once the call has ended (seed-semantics §6.2)."""
        from ..auth._impersonation import ImpersonationScope

        return ImpersonationScope(self)

    @property
    def disconnected(self) -> bool:
        """True once the client's connection went away (RpcClientDisconnect)."""
        sig = self._cancel
        return sig is not None and sig.disconnected

    def test_cancel(self) -> bool:
        """True once the client sent co_cancel or orphaned the call (RpcServerTestCancel)."""
        sig = self._cancel
        return sig is not None and sig._flag

    def on_cancel(self, fn: Callable[[], Any]) -> Hook:
        """Run ``fn()`` once when the client cancels this call (see the module
        docstring); returns a :class:`Hook` whose ``remove()`` unregisters it."""
        return self.cancelled.hook(CANCEL, fn)

    def on_disconnect(self, fn: Callable[[], Any]) -> Hook:
        """Run ``fn()`` once when the client's connection goes away before the call
        ends (see the module docstring)."""
        return self.cancelled.hook(DISCONNECT, fn)


def current_call() -> CallContext:
    """The call the calling manager is serving.

    Raises :class:`RpcError` ``RPC_S_NO_CALL_ACTIVE`` outside a manager.
    """
    ctx = _current.get()
    if ctx is None:
        raise RpcError("current_call() outside an RPC manager", st.RPC_S_NO_CALL_ACTIVE)
    return ctx


def run_manager(method: Callable[..., Any], *args: Any) -> Any:
    """Run a plain manager (in the call's context) and revert any impersonation it left
    in effect: the end of the manager ends it (seed-semantics §6.1/§6.2)."""
    try:
        return method(*args)
    finally:
        if _imp.current_token() is not None:
            _imp.release()


def set_current(call: CallContext) -> None:
    """Make ``call`` what ``current_call()`` returns in the running context (a task's)."""
    _current.set(call)


def context_for(call: CallContext) -> contextvars.Context:
    """A fresh :class:`contextvars.Context` in which ``current_call()`` is ``call``."""
    ctx = contextvars.copy_context()
    ctx.run(_current.set, call)
    return ctx


#: is_async_callable() answers, by underlying function.
ASYNC_CACHE: dict[Any, bool] = {}


def is_async_callable(method: Any) -> bool:
    """``inspect.iscoroutinefunction(method)``, remembered per underlying function."""
    func = getattr(method, "__func__", None)
    if func is None:
        return inspect.iscoroutinefunction(method)
    hit = ASYNC_CACHE.get(func)
    if hit is None:
        if len(ASYNC_CACHE) > 4096:  # bounded: managers are few, but functions may be made
            ASYNC_CACHE.clear()
        hit = ASYNC_CACHE[func] = inspect.iscoroutinefunction(method)
    return hit
