"""Started calls: ``proxy.Op.start(...)`` and the machinery under MS-RPC async handles.

:class:`CallDriver` drives one call on a proxy's event loop: it sends the request (waiting
for a connection if it must), arms the proxy's timeout, and cancels — non-abortively by
co_cancel (C706 §12.6.4.2), the outcome staying the server's, or abortively by ending the
call at once with ``CallCancelled`` and orphaning it on the wire ([MS-RPCE] 3.3.1.5.10).
The call ends exactly once through :meth:`CallDriver._complete`, which subclasses
implement: the ``RPC_ASYNC_STATE`` binding in :mod:`dcerpc._sync`, and :class:`RpcCall`,
the ``concurrent.futures``-style handle returned by ``Op.start``.

Threading: the wire side runs on the loop; other threads only schedule work there, so
``call_soon_threadsafe``'s FIFO order puts a cancel after the call's ``start``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Generator
from typing import Any

from .. import status as st
from ..errors import CallCancelled, CommFailure, LocalProtocolError, RpcError, RpcTimeout
from ..ndr import operation_codec
from ..ndr.types import Operation
from ..runtime.calls import ClientCall
from .client import AsyncProxy, _request_stub, _syntax

__all__ = ["CallDriver", "RpcCall"]

log = logging.getLogger("dcerpc.client")


class CallDriver:
    """One started call (see the module docstring)."""

    __slots__ = ("abort", "call", "cancel_requested", "finished", "lock", "loop", "operation",
                 "proto", "proxy", "task")

    def __init__(self, proxy: AsyncProxy, operation: Operation,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.proxy, self.operation, self.loop = proxy, operation, loop
        self.proto: Any = None
        self.call: ClientCall | None = None
        self.task: asyncio.Task[None] | None = None
        self.abort = self.cancel_requested = self.finished = False
        self.lock = threading.Lock()

    # -- completion (any thread) -------------------------------------------------------
    def _finish(self, result: Any, exc: BaseException | None) -> None:
        """End the call once: a late reply of an orphaned call is ignored."""
        with self.lock:
            if self.finished:
                return
            self.finished = True
        self._complete(result, exc)

    def _complete(self, result: Any, exc: BaseException | None) -> None:
        raise NotImplementedError

    def _call_done(self, call: ClientCall) -> None:
        self._finish(call.result, call.exception)

    def request_cancel(self, abortive: bool) -> None:
        """Abortive ends the call now with CallCancelled and orphans it; non-abortive sends
        co_cancel and the outcome stays the server's (seed-semantics §5.1)."""
        if abortive:
            self._finish(None, CallCancelled(f"{self.operation.name}: cancelled (abortive)"))
        self.loop.call_soon_threadsafe(self._cancel_on_loop, abortive)

    # -- on the loop ---------------------------------------------------------------------
    def start(self, codec: Any, stub: Any) -> None:
        proxy = self.proxy
        channel = proxy._channel
        got = None
        if channel is not None and not proxy._closed:
            got = channel.acquire_now(_syntax(proxy.spec))
        if got is not None:
            self._send(got, codec, stub)
        else:
            self.task = self.loop.create_task(self._connect_and_send(codec, stub))
        timeout = proxy.options.timeout
        if timeout is not None:
            self.loop.call_later(timeout, self._timed_out, timeout)

    async def _connect_and_send(self, codec: Any, stub: Any) -> None:
        try:
            channel = await self.proxy._get_channel()
            syntax = _syntax(self.proxy.spec)
            got = channel.acquire_now(syntax)
            if got is None:
                got = await channel.acquire(syntax)
        except asyncio.CancelledError:
            return  # abortive cancel or timeout: the call is already complete
        except RpcError as exc:
            self._finish(None, exc)
            return
        except OSError as exc:
            self._finish(None, CommFailure(f"{self.operation.name}: {exc}"))
            return
        if not self.abort:
            self._send(got, codec, stub)

    def _send(self, got: Any, codec: Any, stub: Any) -> None:
        proto, p_cont_id = got
        call = ClientCall(self.proxy.spec, self.operation)
        obj = self.proxy._object_uuid or self.proxy.options.object_uuid
        try:
            proto.send(call, codec, p_cont_id, stub, obj)
        except LocalProtocolError as exc:  # the connection died after acquire
            self._finish(None, CommFailure(f"{self.operation.name}: {exc}"))
            return
        self.proto, self.call = proto, call
        call.add_done_callback(self._call_done)
        if self.cancel_requested:
            self._co_cancel()

    def _cancel_on_loop(self, abortive: bool) -> None:
        if abortive:
            self.abort = True
            self._drop(CallCancelled(f"{self.operation.name}: cancelled (abortive)"))
        else:
            self.cancel_requested = True
            self._co_cancel()

    def _co_cancel(self) -> None:
        """Send co_cancel (C706 §12.6.4.2) for the call in flight, if it still is."""
        call, proto = self.call, self.proto
        if call is not None and call.call_id is not None and not call.done() \
                and proto.conn.cancel(call.call_id, now=self.loop.time()):
            proto.flush()

    def _drop(self, exc: RpcError) -> None:
        """Orphan the call on the wire ([MS-RPCE] 3.3.1.5.10), or stop it connecting."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
        if self.call is not None and not self.call.done():
            self.proto.abandon(self.call, exc)

    def _timed_out(self, timeout: float) -> None:
        if not self.finished:
            err = RpcTimeout(f"{self.operation.name}: no reply within {timeout} s")
            self._drop(err)
            self._finish(None, err)


def prepare(proxy: AsyncProxy, operation: Operation, args: Any) -> tuple[Any, Any]:
    """Marshal the request on the caller's thread: a call that cannot be issued raises
    here, before anything is started."""
    if proxy._closed:
        raise RpcError("the proxy is closed", st.RPC_S_INVALID_BINDING)
    codec = operation_codec(operation)
    return codec, _request_stub(codec, tuple(args))


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class RpcCall(CallDriver):
    """A started call: ``concurrent.futures``-style and awaitable.

    ``result(timeout)`` returns the operation's result or raises the RpcError the call
    ended with (``CallFault``, ``CallCancelled``, ``CommFailure``, ``RpcTimeout`` …); a
    ``TimeoutError`` means only that the wait ended — the call keeps running.
    ``cancel(abortive=False)`` sends co_cancel and the outcome stays the server's;
    ``cancel(abortive=True)`` ends the call at once with ``CallCancelled`` (1818) and
    orphans it. Done callbacks run exactly once, on a runtime (executor) thread — never
    on the event loop, so they may block — or at once on the caller's thread when the
    call is already done.

    ``await call`` gives the result. Cancelling the awaiting task sends a non-abortive
    cancel for the call and re-raises ``CancelledError`` at once (the server's late
    outcome is still kept by the call object).
    """

    __slots__ = ("_callbacks", "_event", "_exc", "_loop_tid", "_published", "_result",
                 "_waiters")

    def __init__(self, proxy: AsyncProxy, operation: Operation,
                 loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(proxy, operation, loop)
        self._event = threading.Event()
        self._result: Any = None
        self._exc: BaseException | None = None
        self._published = False
        self._callbacks: list[Callable[[RpcCall], Any]] = []
        self._waiters: list[Callable[[], Any]] = []
        self._loop_tid: int | None = None

    @classmethod
    def begin(cls, proxy: AsyncProxy, operation: Operation, args: Any,
              loop: asyncio.AbstractEventLoop) -> RpcCall:
        """Start ``operation`` on ``loop`` (from any thread) without waiting."""
        codec, stub = prepare(proxy, operation, args)
        self = cls(proxy, operation, loop)
        if _running_loop() is loop:
            self._start_here(codec, stub)
        else:
            loop.call_soon_threadsafe(self._start_here, codec, stub)
        return self

    def _start_here(self, codec: Any, stub: Any) -> None:
        self._loop_tid = threading.get_ident()
        try:
            self.start(codec, stub)
        except Exception as exc:  # never leave the call pending
            self._finish(None, exc if isinstance(exc, RpcError)
                         else CommFailure(f"{self.operation.name}: {exc}"))

    # -- completion ----------------------------------------------------------------------
    def _complete(self, result: Any, exc: BaseException | None) -> None:
        with self.lock:
            self._result, self._exc, self._published = result, exc, True
            callbacks, self._callbacks = self._callbacks, []
            waiters, self._waiters = self._waiters, []
        self._event.set()
        for wake in waiters:  # awaiting tasks: woken straight from the completion
            with contextlib.suppress(RuntimeError):  # that task's loop is closed
                wake()
        if callbacks:
            self._dispatch(callbacks)

    def _dispatch(self, callbacks: list[Callable[[RpcCall], Any]]) -> None:
        """Run the callbacks off the loop (they may block, or wait for another call)."""
        def to_pool() -> None:
            self.loop.run_in_executor(None, self._run_all, callbacks)

        try:
            self.loop.call_soon_threadsafe(to_pool)
        except RuntimeError:  # the loop is closed: nothing else can run them
            self._run_all(callbacks)

    def _run_all(self, callbacks: list[Callable[[RpcCall], Any]]) -> None:
        for fn in callbacks:
            self._run(fn)

    def _run(self, fn: Callable[[RpcCall], Any]) -> None:
        try:
            fn(self)
        except Exception:  # a callback must not break the runtime (style-anchors §11.6)
            log.exception("call done callback failed")

    # -- the concurrent.futures face -----------------------------------------------------
    def done(self) -> bool:
        return self._event.is_set()

    def cancelled(self) -> bool:
        return self.done() and isinstance(self._exc, CallCancelled)

    def running(self) -> bool:
        return not self.done()

    def _wait(self, timeout: float | None) -> None:
        if self._event.is_set():
            return
        if self._loop_tid == threading.get_ident() and (timeout is None or timeout > 0):
            raise RpcError("a blocking wait cannot be made on the call's event loop thread; "
                           "await the call there", st.RPC_S_WRONG_KIND_OF_BINDING)
        if not self._event.wait(timeout):
            raise TimeoutError(f"{self.operation.name}: still pending after {timeout} s")

    def result(self, timeout: float | None = None) -> Any:
        self._wait(timeout)
        if self._exc is not None:
            raise self._exc
        return self._result

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._wait(timeout)
        return self._exc

    def cancel(self, abortive: bool = False) -> bool:
        """Request a cancel; False if the call is already done."""
        if self.done():
            return False
        self.request_cancel(abortive)
        return True

    def add_done_callback(self, fn: Callable[[RpcCall], Any]) -> None:
        with self.lock:
            if not self._published:
                self._callbacks.append(fn)
                return
        self._run(fn)

    # -- the asyncio face ----------------------------------------------------------------
    def __await__(self) -> Generator[Any, None, Any]:
        return self._await().__await__()

    async def _await(self) -> Any:
        if not self.done():
            loop = asyncio.get_running_loop()
            fut: asyncio.Future[None] = loop.create_future()

            def wake() -> None:
                if not fut.done():
                    fut.set_result(None)

            with self.lock:
                if not self._published:
                    self._waiters.append(lambda: loop.call_soon_threadsafe(wake))
                else:
                    wake()
            try:
                await fut
            except asyncio.CancelledError:
                self.cancel(abortive=False)
                raise
        return self.result(0)

    def __repr__(self) -> str:
        state = "pending" if not self.done() else (
            "finished" if self._exc is None else f"raised {type(self._exc).__name__}")
        return f"<RpcCall {self.proxy.spec.name}.{self.operation.name} {state}>"
