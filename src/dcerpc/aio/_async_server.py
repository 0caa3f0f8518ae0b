"""The server side of an ``[async]`` operation: the ``pAsync`` a manager receives.

An operation marked ``[async]`` in the ACF (seed-semantics F24, ``op.is_async``) is served
as ``impl.Op(pAsync, *in_args)``; the manager's return value is ignored and the call stays
OUTSTANDING (§3.2) until some thread calls ``RpcAsyncCompleteCall(pAsync, result)`` —
``result`` shaped exactly as a synchronous manager's — or ``RpcAsyncAbortCall(pAsync,
code)``.  No thread is held while a call is outstanding: the state is this object and an
entry in the server's in-flight table.

:class:`ServerAsyncState` is an :class:`~dcerpc.win32.RPC_ASYNC_STATE` (same field names)
whose ``RuntimeInfo`` is the call's :class:`~dcerpc.aio.CallContext`, the server call
handle, so ``RpcServerTestCancel(RpcAsyncGetCallHandle(pAsync))`` works from any thread
(F29, F30).

Outcomes of RpcAsyncCompleteCall / RpcAsyncAbortCall on a server handle (an ``int``, since
on the server ``Reply`` is an input and nothing comes back):

* RPC_S_OK: the reply / fault is marshalled to the server's loop with
  ``call_soon_threadsafe`` and sent there (F26, F27).
* RPC_S_INVALID_ASYNC_HANDLE (1914) for a second Complete/Abort (§3.2 [D], T33).
* RPC_S_INVALID_ARG (87) for Abort with code 0; the call stays outstanding (F27 [D], T36).
* The client's connection died, or the server stopped, before completion: the call was
  dropped from the in-flight table then; a later Complete/Abort returns RPC_S_OK and its
  result is discarded, as after an abortive cancel (F35 [D]: "returns RPC_S_OK, its results
  are discarded ... the server's handle is destroyed as usual").  Before that, the call's
  disconnect hooks and RpcClientDisconnect subscriptions are notified
  (:mod:`dcerpc.aio._callctx`, :mod:`dcerpc.win32._server_notify`), and nothing of the
  runtime keeps the handle alive once the manager lets go of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..auth._impersonation import release as release_impersonation
from ..status import RPC_S_INVALID_ARG, RPC_S_INVALID_ASYNC_HANDLE, RPC_S_OK
from ..win32._async import (
    RPC_ASYNC_NOTIFICATION_INFO,
    RPC_ASYNC_SIGNATURE,
    RPC_ASYNC_STATE,
    RPC_ASYNC_STATE_SIZE,
)
from ._callctx import context_for, is_async_callable, run_manager

if TYPE_CHECKING:
    from ..runtime.dispatch import PreparedCall
    from ._callctx import CallContext
    from ._server_proto import ServerProtocol
    from .server import Server

__all__ = ["FAULT", "REPLY", "ServerAsyncState", "start_async_op"]

log = logging.getLogger("dcerpc.server")

#: ``finish(kind, value)`` kinds: a result to encode, or a fault status.
REPLY = 0
FAULT = 1

Finish = Callable[[int, Any], None]

#: One lock for every server handle: its sections only flip a flag, and a lock per
#: pending call would cost ~90 bytes each (bench/async_calls.py).
_STATE_LOCK = threading.Lock()
#: RPC_ASYNC_STATE's initial field values, read lazily by ServerAsyncState.__getattr__;
#: the mutable ones are made afresh per handle.
_INITIAL = RPC_ASYNC_STATE()
_LAZY: dict[str, Callable[[], Any]] = {"u": RPC_ASYNC_NOTIFICATION_INFO,
                                       "Reserved": lambda: [0, 0, 0, 0]}


class ServerAsyncState(RPC_ASYNC_STATE):
    """The server's async handle for one call (see the module docstring)."""

    # __weakref__: lets a test (and a leak hunt) watch a handle being freed.
    __slots__ = ("__weakref__", "_done", "_finish", "_loop")

    def __init__(self, call: Any, loop: asyncio.AbstractEventLoop, finish: Finish) -> None:
        # RPC_ASYNC_STATE.__init__ is not called: its notification union ``u`` (four
        # objects) and ``Reserved`` mean nothing on a server handle, and every pending
        # call has one of these, so they are made only if read (__getattr__).
        # Initialised by the runtime, not by the manager (F25): the fields a client would
        # get from RpcAsyncInitializeHandle.
        self.Size = RPC_ASYNC_STATE_SIZE
        self.Signature = RPC_ASYNC_SIGNATURE
        self.RuntimeInfo = call  # RpcAsyncGetCallHandle(p) == p.RuntimeInfo (F30)
        self._loop = loop
        self._finish: Finish | None = finish
        self._done = False

    def __getattr__(self, name: str) -> Any:
        # Only reached for a slot not set yet: give it RPC_ASYNC_STATE's initial value.
        make = _LAZY.get(name)
        value = make() if make is not None else getattr(_INITIAL, name)
        setattr(self, name, value)
        return value

    def __repr__(self) -> str:
        state = "ended" if self._done else "outstanding"
        return f"<ServerAsyncState {state} call={getattr(self.RuntimeInfo, 'call_id', None)}>"

    # -- RpcAsyncCompleteCall / RpcAsyncAbortCall (any thread) ------------------------
    def server_complete(self, reply: Any) -> int:
        return self._end(REPLY, reply)

    def server_abort(self, code: Any) -> int:
        if not isinstance(code, int) or isinstance(code, bool) or code == 0:
            return RPC_S_INVALID_ARG  # F27 [D]: the call stays outstanding
        return self._end(FAULT, code & 0xFFFFFFFF)

    def _end(self, kind: int, value: Any) -> int:
        with _STATE_LOCK:
            if self._done:
                return RPC_S_INVALID_ASYNC_HANDLE
            self._done = True
            finish, self._finish = self._finish, None
        # Completing ends the impersonation of this call on the completing thread
        # (seed-semantics §6.2); other threads' tokens die with the call.
        release_impersonation(self.RuntimeInfo)
        if finish is None:
            return RPC_S_OK  # dropped: results discarded (F35 [D])
        # A closed loop (RuntimeError) means the server, and the call with it, are gone.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(finish, kind, value)
        return RPC_S_OK

    # -- runtime side (on the server's loop) ----------------------------------------
    def claim(self) -> bool:
        """End the call for the runtime (the manager raised before completing, F28):
        True if it was still outstanding; a later Complete then returns 1914."""
        with _STATE_LOCK:
            if self._done:
                return False
            self._done = True
            self._finish = None
            return True

    def drop(self) -> bool:
        """The connection died: forget how to answer (a later Complete returns RPC_S_OK
        and sends nothing).  True if the call was still outstanding."""
        with _STATE_LOCK:
            outstanding = self._finish is not None
            self._finish = None
            return outstanding

    @property
    def outstanding(self) -> bool:
        return not self._done


def start_async_op(server: Server, proto: ServerProtocol, call: CallContext,
                   prepared: PreparedCall) -> asyncio.Future[Any]:
    """An ``[async]`` operation (seed-semantics F24-F28): run ``method(pAsync, *args)``
    and leave the call outstanding until ``pAsync`` is completed or aborted (see
    :mod:`dcerpc.aio._async_server`).  The returned future is the manager's run only."""
    loop = proto.loop

    def finish(kind: int, value: Any) -> None:  # on the loop, once
        if kind == REPLY:
            server._complete(proto, call, prepared, False, None, value)
        elif server._settle(call):
            server._answer_fault(proto, call, value)

    state = ServerAsyncState(call, loop, finish)
    call.extra["async_state"] = state

    def manager_done(fut: asyncio.Future[Any]) -> None:
        # The return value is ignored; raising before the hand-off faults the call
        # as for a synchronous manager (F28).  Raising after completing is a manager
        # bug: logged, the reply already went.
        if fut.cancelled():  # stop() cancelled it and already faulted the call
            if call in server._inflight and state.claim():
                server._complete(proto, call, prepared, True, None, None)
            return
        exc = fut.exception()
        if exc is None:
            return
        if state.claim():
            server._complete(proto, call, prepared, False, exc, None)
        else:
            log.error("%s: [async] manager raised after completing the call: %r",
                      prepared.operation.name, exc)

    def gone() -> None:
        # The connection died (or the client orphaned the call): drop the call now
        # rather than wait for a Complete that may never come (no leak).
        # (Both paths that orphan a call take it out of proto.calls themselves;
        # popping here would change that dict while _teardown iterates it.)
        if call.orphaned and state.drop():
            server._settle(call)

    call.cancelled.add_callback(gone)
    method = prepared.method
    if is_async_callable(method):
        fut: asyncio.Future[Any] = loop.create_task(method(state, *prepared.manager_args),
                                                    context=context_for(call))
    else:
        assert server._pool is not None
        fut = loop.run_in_executor(server._pool, context_for(call).run, run_manager,
                                   method, state, *prepared.manager_args)
    fut.add_done_callback(manager_done)
    return fut
