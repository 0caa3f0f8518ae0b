"""``dcerpc.current_call()``: what a manager can learn about the call it is serving.

The server sets a :class:`CallContext` in a :mod:`contextvars` context per call and runs
the manager inside that context — on the loop for ``async def`` managers, on a worker
thread for plain ones — so ``current_call()`` works in both (like RpcServerInqCallAttributes
and RpcServerTestCancel, [MS-RPCE] / MSDN).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import status as st
from ..errors import RpcError
from ..ndr.types import Interface, Operation

__all__ = ["CallContext", "CancelSignal", "current_call"]

log = logging.getLogger("dcerpc.server")
_current: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar(
    "dcerpc_current_call", default=None)


#: Orders set() against the lazy creation of a signal's threading.Event in wait_sync().
_EVENT_LOCK = threading.Lock()


class CancelSignal:
    """Set once when the client cancels (co_cancel), orphans the call, or goes away.

    Usable from any thread: ``is_set()``, blocking ``wait_sync(timeout)``, ``await
    wait()`` (asyncio.Event-like, on the server's loop), and ``add_callback(fn)`` — the
    callback runs on the server's loop thread, at once if already set, and must not block.
    """

    __slots__ = ("_callbacks", "_event", "_flag", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._flag = False
        # The threading.Event (a Condition and a lock) is made only when a worker thread
        # waits: almost no call is ever cancelled, and every call has a signal.
        self._event: threading.Event | None = None
        self._callbacks: list[Callable[[], Any]] = []

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        """Called by the server on its loop."""
        with _EVENT_LOCK:
            if self._flag:
                return
            self._flag = True
            event = self._event
        if event is not None:
            event.set()
        callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            self._run(fn)

    def add_callback(self, fn: Callable[[], Any]) -> None:
        if self._flag:
            self._loop.call_soon_threadsafe(self._run, fn)
        else:
            self._loop.call_soon_threadsafe(self._add, fn)

    def _add(self, fn: Callable[[], Any]) -> None:
        if self._flag:
            self._run(fn)
        else:
            self._callbacks.append(fn)

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
        self._callbacks.append(lambda: fut.done() or fut.set_result(True))
        return await fut


@dataclass(eq=False)
class CallContext:
    """Attributes of the call being served (see ``dcerpc.current_call``).

    ``client_address`` is ``(host, port)`` for TCP, the socket name for ncalrpc;
    ``auth_info`` is the caller's ``dcerpc.auth.ClientIdentity`` (principal, user, domain,
    auth_type, auth_level) on an authenticated connection, None otherwise.
    """

    client_address: Any
    protseq: str
    object_uuid: uuid.UUID | None
    interface: Interface
    operation: Operation
    call_id: int
    assoc_group_id: int
    cancelled: CancelSignal
    auth_info: Any = None
    orphaned: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def test_cancel(self) -> bool:
        """True once the client sent co_cancel or orphaned the call (RpcServerTestCancel)."""
        return self.cancelled.is_set()


def current_call() -> CallContext:
    """The call the calling manager is serving.

    Raises :class:`RpcError` ``RPC_S_NO_CALL_ACTIVE`` outside a manager.
    """
    ctx = _current.get()
    if ctx is None:
        raise RpcError("current_call() outside an RPC manager", st.RPC_S_NO_CALL_ACTIVE)
    return ctx


def set_current(call: CallContext) -> None:
    """Make ``call`` what ``current_call()`` returns in the running context (a task's)."""
    _current.set(call)


def context_for(call: CallContext) -> contextvars.Context:
    """A fresh :class:`contextvars.Context` in which ``current_call()`` is ``call``."""
    ctx = contextvars.copy_context()
    ctx.run(_current.set, call)
    return ctx
