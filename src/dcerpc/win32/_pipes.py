"""Asynchronous RPC pipes, faithful face (seed-semantics F36-F41, T45-T49).

A pipe parameter of an ``[async]`` operation is an :class:`RPC_PIPE` — MIDL's
``pipe_t`` structure ``{pull, push, alloc, state}`` — passed by reference on both sides
(F36)::

    inp = RPC_PIPE()                                   # client, [in] pipe
    Sum(Async, hBinding, 5, inp)                       # returns at once
    status = inp.push(inp.state, [1, 2], 2)            # RPC_S_OK; the buffer is free again
    status = inp.push(inp.state, None, 0)              # count 0 ends the pipe (F37)
    status, ecount = outp.pull(outp.state, buf, 64)    # [out] pipe: 997 while nothing came

* ``push(state, buf, count)`` sends ``buf[:count]`` (a sequence of elements, or octets
  for a byte pipe) and returns RPC_S_OK once the octets are queued; ``count == 0`` ends
  the pipe. With ``Async.Flags & RPC_C_NOTIFY_ON_SEND_COMPLETE`` a ``RpcSendComplete``
  notification follows when the sends have reached the transport; pushes made while one
  is pending are reported by that same notification (F37, T47).
* ``pull(state, buf, esize)`` → ``(status, ecount)``: fills ``buf[:ecount]`` with at most
  ``esize`` elements; ``ecount == 0`` with RPC_S_OK marks the end. With nothing there it
  returns ``RPC_S_ASYNC_CALL_PENDING`` (997) and the arrival of data is notified once as
  ``RpcReceiveComplete`` through the handle's mechanism (event, APC on ``u.APC.hThread``,
  completion port, window message, callback) — F38, T46.
* Order (F39): pulling or pushing out of order returns ``RPC_X_WRONG_PIPE_ORDER`` (1831,
  T49). A call that ended (fault, cancel, lost connection) makes every later push/pull
  return its status; no further call is needed.
* Server: a streamed manager receives :class:`~dcerpc.aio._pipes.Pipe` objects;
  ``RPC_PIPE.wrap(pipe, pAsync)`` is their faithful view, notifying through ``pAsync``
  (set its ``NotificationType`` and ``u`` first, F40). ``RpcAsyncCompleteCall(pAsync,
  reply)`` before the ``[in]`` pipes are drained returns ``RPC_X_PIPE_DISCIPLINE_ERROR``
  (1917) and the call stays outstanding (T48 [D]); a pull past a pipe's end returns
  ``RPC_X_PIPE_EMPTY`` (1918).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from .. import status as st
from ..errors import RpcError
from ._async import (
    RPC_C_NOTIFY_ON_SEND_COMPLETE,
    RpcNotificationTypeApc,
    RpcNotificationTypeCallback,
    RpcNotificationTypeEvent,
    RpcNotificationTypeHwnd,
    RpcNotificationTypeIoc,
    RpcReceiveComplete,
    RpcSendComplete,
    _snapshot,
)

__all__ = ["RPC_PIPE", "invoke_async_pipes", "notify_event"]

log = logging.getLogger("dcerpc.client")


def notify_event(Async: Any, event: int) -> None:
    """Deliver a pipe notification (``RpcSendComplete`` / ``RpcReceiveComplete``) through
    the handle's mechanism; ``Async.Event`` says which (seed §4)."""
    from . import _kernel, _messages, _ports

    sel = Async._selection if getattr(Async, "_selection", None) is not None \
        else _snapshot(Async)
    Async.Event = event
    kind = sel[0]
    try:
        if kind == RpcNotificationTypeEvent:
            _kernel.SetEvent(sel[1])
        elif kind == RpcNotificationTypeApc:
            routine = sel[1]
            _kernel.queue_user_apc(lambda _d: routine(Async, None, event), sel[2])
        elif kind == RpcNotificationTypeIoc:
            _ports.PostQueuedCompletionStatus(sel[1], sel[2], sel[3], sel[4])
        elif kind == RpcNotificationTypeHwnd:
            if sel[1] is not None:
                _messages.PostMessage(sel[1], sel[2], 0, Async)
        elif kind == RpcNotificationTypeCallback:
            sel[1](Async, None, event)
    except Exception:  # a failed delivery never affects the call
        log.exception("pipe notification (type %s) failed", kind)


class RPC_PIPE:
    """One pipe parameter (see the module docstring). ``state`` is the object itself, as
    MIDL passes ``pipe.state`` back to ``pipe.push``/``pipe.pull``."""

    def __init__(self) -> None:
        self.state = self
        self._pipe: Any = None  # the dcerpc.aio._pipes.Pipe once the call started
        self._async: Any = None
        self._rest: Any = None  # elements of a chunk larger than the last pull took
        self._drainer: asyncio.Task[None] | None = None
        self._error: int = 0
        self._lock = threading.Lock()

    @classmethod
    def wrap(cls, pipe: Any, Async: Any) -> RPC_PIPE:
        p = cls()
        p._bind(pipe, Async)
        return p

    def _bind(self, pipe: Any, Async: Any) -> None:
        self._pipe, self._async = pipe, Async

    def alloc(self, state: Any, bsize: int) -> tuple[Any, int]:
        """MIDL's ``alloc``: a buffer for ``bsize`` octets (the runtime needs none)."""
        return bytearray(bsize), bsize

    # -- loop plumbing ----------------------------------------------------------------
    def _run(self, fn: Any, *args: Any) -> Any:
        pipe = self._pipe
        if pipe is None:
            return st.RPC_S_INVALID_ASYNC_CALL, None
        loop = pipe._call.loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return fn(*args)

        async def hop() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(hop(), loop).result()

    # -- pull (F38) ---------------------------------------------------------------------
    def pull(self, state: Any, buf: Any, esize: int) -> tuple[int, int]:
        status, items = self._run(self._pull_on_loop, esize)
        if status != st.RPC_S_OK or items is None:
            return status, 0
        n = len(items)
        if buf is not None:
            buf[:n] = items
        return st.RPC_S_OK, n

    def _pull_on_loop(self, esize: int) -> tuple[int, Any]:
        pipe = self._pipe
        if self._rest:
            chunk, self._rest = self._rest, None
        else:
            try:
                chunk = pipe.pull_nowait()
            except RpcError as exc:
                return int(exc.status), None
            if chunk is None:
                pipe.on_arrival = self._arrived
                return st.RPC_S_ASYNC_CALL_PENDING, None
        if esize > 0 and len(chunk) > esize:
            chunk, self._rest = chunk[:esize], chunk[esize:]
        return st.RPC_S_OK, chunk

    def _arrived(self) -> None:  # loop: data (or the end, or an error) for a pending pull
        self._pipe.on_arrival = None
        if self._async is not None:
            notify_event(self._async, RpcReceiveComplete)

    # -- push (F37) ---------------------------------------------------------------------
    def push(self, state: Any, buf: Any, count: int) -> int:
        pipe = self._pipe
        if pipe is None:
            return st.RPC_S_INVALID_ASYNC_CALL
        if count:
            items = bytes(buf[:count]) if pipe.is_bytes else list(buf[:count])
        else:
            items = b"" if pipe.is_bytes else []
        status: int = self._run(self._push_on_loop, items)
        return status

    def _push_on_loop(self, items: Any) -> int:
        try:
            self._pipe.push_nowait(items)
        except RpcError as exc:
            return int(exc.status)
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        return st.RPC_S_OK

    async def _drain(self) -> None:
        try:
            with contextlib.suppress(RpcError):
                await self._pipe._call.drain()
        finally:
            self._drainer = None
        Async = self._async
        if Async is not None and Async.Flags & RPC_C_NOTIFY_ON_SEND_COMPLETE:
            notify_event(Async, RpcSendComplete)


def invoke_async_pipes(binding: Any, Async: Any, interface: Any, operation: Any,
                       args: tuple[Any, ...]) -> None:
    """``Op(Async, hBinding, ...)`` for an ``[async]`` operation with pipes: ``args`` are
    the ``[in]`` and pipe parameters in IDL order; a pipe is an :class:`RPC_PIPE` (an
    ``[in]`` pipe may also be a list / octets sent whole). Returns at once after the
    request's non-pipe part went out; the call completes through ``Async``."""
    from .._sync import run_sync
    from ..ndr._pipestream import pipe_layout
    from ._async import async_call_begin, async_call_complete, async_call_failed

    layout = pipe_layout(operation)
    proxy = binding._proxy(interface)
    pipe_names = {pp.name for pp in layout.pipes}
    params = [p for p in operation.params
              if p.name in pipe_names or p in layout.in_order]
    if len(args) != len(params):
        raise TypeError(f"{operation.name}: expected {len(params)} arguments "
                        f"({', '.join(p.name for p in params)}), got {len(args)}")
    handles = {p.name: a for p, a in zip(params, args, strict=True)
               if p.name in pipe_names and isinstance(a, RPC_PIPE)}
    call_args = tuple(None if isinstance(a, RPC_PIPE) else a
                      for p, a in zip(params, args, strict=True) if p in layout.in_order)
    state: dict[str, Any] = {}

    def on_cancel(abortive: bool) -> None:
        sc = state.get("call")
        if sc is not None:
            sc.loop_call(sc.cancel, abortive)

    async_call_begin(Async, on_cancel)
    try:
        sc = run_sync(_start(proxy, operation, call_args))
    except BaseException:
        async_call_failed(Async)
        raise
    state["call"] = sc
    for name, handle in handles.items():
        handle._bind(sc.pc.pipes[name], Async)

    def done(record: Any) -> None:
        exc = record.exception
        status = st.RPC_S_OK if exc is None else getattr(exc, "status", st.RPC_S_CALL_FAILED)
        async_call_complete(Async, record.result if exc is None else None, status)

    sc.loop_call(sc.record.add_done_callback, done)


async def _start(proxy: Any, operation: Any, call_args: tuple[Any, ...]) -> Any:
    from ..aio._pipe_client import StreamCall

    sc = StreamCall(proxy, operation, call_args)
    await sc.start()
    loop = asyncio.get_running_loop()

    def loop_call(fn: Any, *a: Any) -> None:
        loop.call_soon_threadsafe(fn, *a)

    sc.loop_call = loop_call  # type: ignore[attr-defined]
    return sc
