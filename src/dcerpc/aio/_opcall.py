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

Deadlines (``deadline=`` seconds, ``cancel_timeout=`` seconds; seed-semantics §5.1 "timeout
pattern": non-abortive, then the client's own timer, then abortive — Trio's two-phase
cancellation): at the deadline the call is cancelled non-abortively (co_cancel; the
manager sees ``test_cancel()``); if it has not ended ``cancel_timeout`` later it is
cancelled abortively and ends with ``CallCancelled`` (RPC_S_CALL_CANCELLED, 1818, which
also means "the call timed out" in Win32).  The server's own answer to the co_cancel, if
it comes first, is the outcome.

Causal ordering (seed-semantics F12): the ``RPC_ASYNC_STATE`` calls of one binding and
one thread go through one :class:`CausalLane`, which sends them in issue order on one
connection; the server starts ``[async]`` routines of a connection in arrival order
(:mod:`dcerpc.aio._async_lanes`).  A NONCAUSAL binding (``RPC_C_OPT_BINDING_NONCAUSAL``)
has no lane: each async call takes an idle connection of the pool, opening one while the
pool has room (``connections``), so its calls are dispatched independently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

from .. import status as st
from ..errors import CallCancelled, CommFailure, LocalProtocolError, RpcError, RpcTimeout
from ..ndr import operation_codec
from ..ndr.types import Operation
from ..runtime.calls import ClientCall
from .client import AsyncProxy, _request_stub, _syntax, check_seconds

__all__ = ["DEFAULT_CANCEL_TIMEOUT", "CallDriver", "CausalLane", "RpcCall"]

log = logging.getLogger("dcerpc.client")

#: Seconds between the non-abortive and the abortive cancel of a call whose deadline
#: passed, unless ``cancel_timeout`` says otherwise.
DEFAULT_CANCEL_TIMEOUT = 1.0


class CallDriver:
    """One started call (see the module docstring)."""

    __slots__ = ("abort", "call", "cancel_requested", "cancel_timeout", "deadline", "finished",
                 "lane", "lock", "loop", "noncausal", "operation", "proto", "proxy", "task")

    def __init__(self, proxy: AsyncProxy, operation: Operation,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.proxy, self.operation, self.loop = proxy, operation, loop
        self.proto: Any = None
        self.call: ClientCall | None = None
        self.task: asyncio.Task[None] | None = None
        self.abort = self.cancel_requested = self.finished = False
        self.lock = threading.Lock()
        #: seconds after start for the non-abortive cancel, then the abortive one
        self.deadline: float | None = None
        self.cancel_timeout: float | None = None
        #: causal ordering (F12): the lane of this call's (binding, thread), if any
        self.lane: CausalLane | None = None
        #: RPC_C_OPT_BINDING_NONCAUSAL: send on a connection of its own when possible
        self.noncausal = False

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
        if self.lane is not None:
            self.lane.submit(self, codec, stub)
        elif self.noncausal:
            self._start_alone(codec, stub)
        else:
            self._start_pooled(codec, stub)
        timeout = proxy.options.timeout
        if timeout is not None:
            self.loop.call_later(timeout, self._timed_out, timeout)
        if self.deadline is not None:
            self.loop.call_later(self.deadline, self._deadline_passed)

    def _start_pooled(self, codec: Any, stub: Any) -> bool:
        """Send on any connection with room; True if sent now, False if a task connects."""
        proxy = self.proxy
        channel = proxy._channel
        got = None
        if channel is not None and not proxy._closed:
            got = channel.acquire_now(_syntax(proxy.spec))
        if got is not None:
            self._send(got, codec, stub)
            return True
        self.task = self.loop.create_task(self._connect_and_send(codec, stub))
        return False

    def _start_alone(self, codec: Any, stub: Any) -> None:
        """NONCAUSAL: an idle bound connection of the pool, else a new one while the pool
        has room, else any connection with room (then calls share it)."""
        channel = self.proxy._channel
        if channel is not None and not self.proxy._closed:
            syntax = _syntax(self.proxy.spec)
            for proto in channel.conns:
                if proto.usable() and proto.in_flight == 0 and syntax in proto.contexts:
                    self._send((proto, proto.contexts[syntax]), codec, stub)
                    return
        self.task = self.loop.create_task(self._connect_and_send(codec, stub, alone=True))

    async def _connect_and_send(self, codec: Any, stub: Any, alone: bool = False) -> None:
        try:
            await self._connect_then_send(codec, stub, alone)
        finally:
            # The lane's later calls go only after this one is on the wire (or failed).
            if self.lane is not None:
                self.lane.connected(self)

    async def _connect_then_send(self, codec: Any, stub: Any, alone: bool) -> None:
        try:
            channel = await self.proxy._get_channel()
            syntax = _syntax(self.proxy.spec)
            got = None
            if alone:
                got = await _acquire_alone(channel, syntax)
            if got is None:
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
            if self.lane is not None and self.call is not None:
                self.lane.pin(got[0])

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

    def _deadline_passed(self) -> None:
        """The deadline: non-abortive cancel now, abortive ``cancel_timeout`` later."""
        if self.finished:
            return
        self._cancel_on_loop(False)
        wait = self.cancel_timeout
        self.loop.call_later(DEFAULT_CANCEL_TIMEOUT if wait is None else wait,
                             self._cancel_timeout_passed)

    def _cancel_timeout_passed(self) -> None:
        if not self.finished:
            self.request_cancel(True)

    def _timed_out(self, timeout: float) -> None:
        if not self.finished:
            err = RpcTimeout(f"{self.operation.name}: no reply within {timeout} s")
            self._drop(err)
            self._finish(None, err)


async def _acquire_alone(channel: Any, syntax: Any) -> tuple[Any, int] | None:
    """A connection of ``channel`` with no call in flight, opened if the pool has room;
    None when the pool is full (the caller then shares a connection)."""
    async with channel._open_lock:
        for proto in channel.conns:
            if proto.usable() and proto.in_flight == 0 and syntax in proto.contexts:
                return proto, proto.contexts[syntax]
        channel.conns = [c for c in channel.conns if not c.dead]
        if len(channel.conns) >= channel.key.connections:
            return None
        return await channel._open(syntax)  # type: ignore[no-any-return]


class CausalLane:
    """Issue-order sending for the async calls of one (binding, thread) (F12).

    Lives on the loop.  While a call of the lane is still connecting, later calls queue
    behind it; once sent, the lane is pinned to that connection and later calls follow
    it there as long as it is usable, so the server receives them in issue order.  A
    full or dead pinned connection releases the pin (the calls then go wherever the pool
    puts them: causal order holds per connection only).
    """

    __slots__ = ("busy", "proto", "queue")

    def __init__(self) -> None:
        self.proto: Any = None
        self.busy = False
        self.queue: deque[tuple[CallDriver, Any, Any]] = deque()

    def submit(self, driver: CallDriver, codec: Any, stub: Any) -> None:
        if self.busy:
            self.queue.append((driver, codec, stub))
            return
        self._go(driver, codec, stub)

    def _go(self, driver: CallDriver, codec: Any, stub: Any) -> None:
        if driver.finished or driver.abort:
            return  # cancelled abortively (or timed out) while it waited its turn
        proto = self.proto
        if proto is not None:
            syntax = _syntax(driver.proxy.spec)
            limit = proto.conn.config.max_concurrent_calls if proto.conn.conc_mpx else 1
            if proto.usable() and syntax in proto.contexts and proto.in_flight < limit \
                    and not driver.proxy._closed:
                driver._send((proto, proto.contexts[syntax]), codec, stub)
                return
            self.proto = None
        if driver._start_pooled(codec, stub):
            if driver.call is not None:
                self.proto = driver.proto
        else:
            self.busy = True  # later calls wait until this one is on a connection

    def pin(self, proto: Any) -> None:
        self.proto = proto

    def connected(self, _driver: CallDriver) -> None:
        """The connecting call of the lane is sent (or failed): release the queue."""
        self.busy = False
        while self.queue and not self.busy:
            d, codec, stub = self.queue.popleft()
            self._go(d, codec, stub)


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
              loop: asyncio.AbstractEventLoop, *, deadline: float | None = None,
              cancel_timeout: float | None = None) -> RpcCall:
        """Start ``operation`` on ``loop`` (from any thread) without waiting.

        ``deadline`` (seconds from now): cancel non-abortively then, abortively
        ``cancel_timeout`` seconds later (see the module docstring).  Without them the
        proxy's defaults apply (``dcerpc.connect(..., deadline=, cancel_timeout=)``)."""
        check_seconds(deadline=deadline, cancel_timeout=cancel_timeout)
        opts = proxy.options
        deadline = opts.deadline if deadline is None else deadline
        cancel_timeout = opts.cancel_timeout if cancel_timeout is None else cancel_timeout
        codec, stub = prepare(proxy, operation, args)
        self = cls(proxy, operation, loop)
        self.deadline, self.cancel_timeout = deadline, cancel_timeout
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
