"""Server call objects (seed-semantics F58-F61, §3.4).

When a served object implements ``ICallFactory`` (a ``CreateCall`` method) and the
interface has ``[async_uuid]``, the runtime serves every call of that interface through a
server call object, whichever kind of call the client made (F52: the wire is the same):

1. ``obj.CreateCall(IID_AsyncIX, control, IID_IUnknown)`` - ``control`` is the
   controlling unknown the runtime supplies; it implements ISynchronize and
   ICancelMethodCalls. ``CreateCall`` may raise ``COMError(E_NOINTERFACE)`` (or return
   None) to have this interface served synchronously (F58).
2. ``callobj.Begin_M(*inputs)`` on a worker thread; it may return at once and finish the
   work on any thread, then call ``control.Signal()``.
3. After the signal, ``callobj.Finish_M()`` returns the ``[out]`` values (or raises
   ``COMError``) exactly as a synchronous method would, and the runtime sends the reply.

``control.TestCancel()`` answers RPC_E_CALL_CANCELED once the client cancelled
(co_cancel or orphaned) and RPC_S_CALLPENDING before (F61); ``control.Cancel()`` answers
CO_E_CANCEL_DISABLED: cancelling is the client's side of the call (F64, §5.2).

Impersonation window (F60): ``CoImpersonateClient`` / ``IServerSecurity`` work from
Begin_ until ``control.Signal()`` *returns*; afterwards ImpersonateClient fails with
RPC_E_CALL_COMPLETE (F67 [D]). A token taken before the signal stays until
``RevertToSelf`` or until Begin_ returns, when the runtime reverts it.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
import weakref
from typing import Any

from . import hresult as hr
from .guids import IID_ICancelMethodCalls, IID_ISynchronize, IID_IUnknown
from .hresult import COMError
from .sync import ManualResetEvent

__all__ = ["ServerCallControl", "create_server_call", "impersonation_closed"]

#: Calls whose server call object has signalled: no new impersonation (F60).
_signalled: weakref.WeakSet[Any] = weakref.WeakSet()


def impersonation_closed(call: Any) -> bool:
    """True once ``call``'s server call object has signalled (F60)."""
    try:
        return call in _signalled
    except TypeError:  # a call context that cannot be weakly referenced
        return False


class ServerCallControl:
    """The runtime's controlling unknown of one server call object."""

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx
        self._event = ManualResetEvent()
        self._lock = threading.Lock()
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    def QueryInterface(self, iid: Any) -> ServerCallControl:
        if iid in (IID_IUnknown, IID_ISynchronize, IID_ICancelMethodCalls):
            return self
        raise COMError(hr.E_NOINTERFACE)

    def AddRef(self) -> int:
        return 1

    def Release(self) -> int:
        return 1

    # ISynchronize
    def Signal(self) -> int:
        if self._ctx is not None:
            # F60: the window closes when Signal returns, i.e. before anyone else runs
            _signalled.add(self._ctx)
        self._event.Signal()
        with self._lock:
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            loop, fut = waiter
            loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(None))
        return hr.S_OK

    def Wait(self, dwFlags: int, dwMilliseconds: int) -> int:
        return self._event.Wait(dwFlags, dwMilliseconds)

    def Reset(self) -> int:
        return self._event.Reset()

    # ICancelMethodCalls
    def TestCancel(self) -> int:
        cancelled = self._ctx is not None and self._ctx.cancelled.is_set()
        return hr.RPC_E_CALL_CANCELED if cancelled else hr.RPC_S_CALLPENDING

    def Cancel(self, ulSeconds: int) -> int:
        return hr.CO_E_CANCEL_DISABLED  # only the client side cancels (F64)

    async def signalled(self) -> None:
        """Wait on the server loop, holding no thread, until Signal()."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._event._is_set():
                return
            self._waiter = (loop, fut)
        await fut


def create_server_call(obj: Any, async_iid: uuid.UUID, ctx: Any
                       ) -> tuple[Any, ServerCallControl] | None:
    """The object's server call object for ``async_iid``, or None (serve synchronously)."""
    factory = getattr(obj, "CreateCall", None)
    if not callable(factory):
        return None
    control = ServerCallControl(ctx)
    try:
        callobj = factory(async_iid, control, IID_IUnknown)
    except COMError as exc:
        if exc.hresult == hr.E_NOINTERFACE:
            return None
        raise
    return (callobj, control) if callobj is not None else None
