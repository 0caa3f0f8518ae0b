"""The threaded face: ``dcerpc.connect`` and ``dcerpc.Binding``.

All network I/O happens on one asyncio loop (DESIGN.md §4). Threaded users get a
*runtime loop thread*, started on first use (like grpc's poller thread); a blocking call
is ``run_coroutine_threadsafe`` + wait. Proxies and bindings hold no thread state, so
any number of threads may share one. The loop is uvloop's when uvloop is installed.
Calling a blocking method *on* the runtime loop thread (from an ``async def`` manager,
say) would deadlock and is refused.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
from collections.abc import Coroutine
from typing import Any

from . import status as st
from .aio._opcall import CallDriver, CausalLane, RpcCall
from .aio.client import AsyncProxy, _request_stub, parse_binding
from .errors import RpcError
from .ndr import operation_codec
from .ndr._pipestream import pipe_layout
from .ndr.types import Interface, Operation
from .runtime.binding import StringBinding
from .runtime.calls import ClientCall

__all__ = ["Binding", "SyncProxy", "connect", "run_sync", "runtime_loop"]

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def runtime_loop() -> asyncio.AbstractEventLoop:
    """The runtime loop, started on a daemon thread on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            loop = _new_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            _thread = threading.Thread(target=run, name="dcerpc-runtime", daemon=True)
            _thread.start()
            ready.wait()
            _loop = loop
        return _loop


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when it is installed (DESIGN.md §7), else asyncio's."""
    try:
        import uvloop  # type: ignore[import-not-found]
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()  # type: ignore[no-any-return]


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` on the runtime loop and block until it ends."""
    loop = runtime_loop()
    if threading.current_thread() is _thread:
        coro.close()
        raise RpcError("a blocking RPC call cannot be made on the runtime loop thread; "
                       "use dcerpc.aio there", st.RPC_S_WRONG_KIND_OF_BINDING)
    return asyncio.run_coroutine_threadsafe(coro, loop).result()


def call_sync(proxy: AsyncProxy, op: Operation, args: Any) -> Any:
    """One blocking call through ``proxy``: sent from the runtime loop, waited for here.

    The hot path costs one loop wake-up and no task: the loop sends the request
    (:meth:`AsyncProxy._start_call`) and the reply releases a lock this thread waits on.
    When the call has to wait for a connection it runs as a task (:meth:`_invoke`).
    """
    loop = runtime_loop()
    if threading.current_thread() is _thread:
        raise RpcError("a blocking RPC call cannot be made on the runtime loop thread; "
                       "use dcerpc.aio there", st.RPC_S_WRONG_KIND_OF_BINDING)
    lock = threading.Lock()
    lock.acquire()
    box: list[Any] = []

    def done(outcome: Any) -> None:
        box.append(outcome)
        lock.release()

    def start() -> None:
        try:
            call = proxy._start_call(op, args)
        except BaseException as exc:
            done(exc)
            return
        if call is not None:
            call.add_done_callback(done)
        else:
            loop.create_task(proxy._invoke(op, args)).add_done_callback(done)

    loop.call_soon_threadsafe(start)
    lock.acquire()
    outcome = box[0]
    if isinstance(outcome, ClientCall):
        return outcome.outcome()
    if isinstance(outcome, asyncio.Future):
        return outcome.result()
    raise outcome


@atexit.register
def _stop_loop() -> None:
    loop = _loop
    if loop is not None and loop.is_running():
        loop.call_soon_threadsafe(loop.stop)


class _SyncMethod:
    __slots__ = ("_op", "_proxy")

    def __init__(self, proxy: SyncProxy, op: Operation) -> None:
        self._proxy, self._op = proxy, op

    def __call__(self, *args: Any) -> Any:
        if self._proxy._deadline is not None:  # a per-proxy deadline: a started call
            return self.start(*args).result()
        return call_sync(self._proxy._aproxy, self._op, args)

    def start(self, *args: Any, deadline: float | None = None,
              cancel_timeout: float | None = None) -> RpcCall:
        """Start the call without blocking; the returned :class:`RpcCall` is waited on,
        cancelled or given callbacks from any thread.

        ``deadline`` seconds from now the call is cancelled non-abortively, and
        abortively ``cancel_timeout`` seconds after that if it has not ended
        (:mod:`dcerpc.aio._opcall`); the proxy's defaults apply when not given."""
        return RpcCall.begin(self._proxy._aproxy, self._op, args, runtime_loop(),
                             deadline=deadline, cancel_timeout=cancel_timeout)

    def stream(self, *args: Any) -> Any:
        """A call whose pipes stream, for threads: ``with proxy.Op.stream(...) as call``
        (:class:`dcerpc.aio._pipe_client.SyncStreamCall`)."""
        from .aio._pipe_client import SyncStreamCall

        return SyncStreamCall(self._proxy._aproxy, self._op, args, runtime_loop())

    def __repr__(self) -> str:
        return f"<RPC method {self._proxy.spec.name}.{self._op.name}>"


class SyncProxy:
    """A thread-safe blocking proxy: methods named as the operations.

    Besides the options of :func:`dcerpc.aio.connect`, ``deadline`` and ``cancel_timeout``
    (seconds) set a per-call deadline for every call of the proxy, blocking or started:
    non-abortive cancel at the deadline, abortive ``cancel_timeout`` later, the call then
    ending with ``CallCancelled`` (RPC_S_CALL_CANCELLED).
    """

    def __init__(self, binding: Any, spec: Any, *, deadline: float | None = None,
                 cancel_timeout: float | None = None, **options: Any) -> None:
        self._aproxy = AsyncProxy(binding, spec, deadline=deadline,
                                  cancel_timeout=cancel_timeout, **options)
        self._deadline = deadline
        self.spec: Interface = self._aproxy.spec
        self.binding: StringBinding = self._aproxy.binding
        self._methods: dict[str, _SyncMethod] = {}

    def __getattr__(self, name: str) -> _SyncMethod:
        if name.startswith("_"):
            raise AttributeError(name)
        method = self._methods.get(name)
        if method is None:
            try:
                op = self.spec.operation(name)
            except KeyError:
                raise AttributeError(f"{self.spec.name} has no operation {name!r}") from None
            method = self._methods[name] = _SyncMethod(self, op)
        return method

    def connect(self) -> SyncProxy:
        run_sync(self._aproxy.connect())
        return self

    def close(self) -> None:
        run_sync(self._aproxy.aclose())

    def __enter__(self) -> SyncProxy:
        try:
            return self.connect()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SyncProxy {self.spec.name} at {self.binding}>"


def connect(binding: Any, spec: Any, **options: Any) -> SyncProxy:
    """A thread-safe synchronous proxy for ``spec`` at ``binding``."""
    return SyncProxy(binding, spec, **options)


class Binding:
    """A MIDL-style binding handle for the generated module functions ``Op(hBinding, …)``.

    It shares pooled connections with :func:`connect` (same endpoint and options).
    Options are those of :func:`dcerpc.aio.connect`.

    Binding options (``RpcBindingSetOption``, :mod:`dcerpc.win32._binding`):

    * ``noncausal`` (RPC_C_OPT_BINDING_NONCAUSAL) — False by default: the async calls of
      one thread are sent in issue order on one connection and the server starts their
      ``[async]`` routines in that order (seed-semantics F12).  True: each async call
      takes a connection of its own from the pool while it has room, so the server
      dispatches them independently.
    * ``call_timeout`` (RPC_C_OPT_CALL_TIMEOUT, seconds or None) — a deadline for every
      call: non-abortive cancel, then abortive ``cancel_timeout`` seconds later
      (RPC_S_CALL_CANCELLED).

    :meth:`free` (``RpcBindingFree``) closes the binding for good: using it afterwards
    raises ``RPC_S_INVALID_BINDING``.
    """

    def __init__(self, string_binding: Any, **options: Any) -> None:
        self.string_binding = parse_binding(string_binding)
        self.options = options
        self._proxies: dict[int, tuple[Interface, AsyncProxy]] = {}
        self._lock = threading.Lock()
        self.noncausal = False
        self.call_timeout: float | None = None
        self.cancel_timeout: float | None = None
        self.freed = False
        #: one causal lane per issuing thread (used on the loop only)
        self._lanes: dict[int, CausalLane] = {}

    def _lane(self) -> CausalLane:
        tid = threading.get_ident()
        lane = self._lanes.get(tid)
        if lane is None:
            with self._lock:
                lane = self._lanes.setdefault(tid, CausalLane())
        return lane

    def _check(self) -> None:
        if self.freed:
            raise RpcError("the binding was freed", st.RPC_S_INVALID_BINDING)

    def _proxy(self, interface: Interface) -> AsyncProxy:
        self._check()
        with self._lock:
            hit = self._proxies.get(id(interface))
            if hit is None or hit[0] is not interface:
                hit = (interface, AsyncProxy(self.string_binding, interface, **self.options))
                self._proxies[id(interface)] = hit
            return hit[1]

    def _rpc_invoke(self, interface: Interface, operation: Operation, args: Any) -> Any:
        proxy = self._proxy(interface)
        if self.call_timeout is not None:
            return RpcCall.begin(proxy, operation, tuple(args), runtime_loop(),
                                 deadline=self.call_timeout,
                                 cancel_timeout=self.cancel_timeout).result()
        return call_sync(proxy, operation, tuple(args))

    def _rpc_invoke_async(self, async_state: Any, interface: Interface, operation: Operation,
                          args: Any) -> None:
        """Start ``operation`` as an MS-RPC async call completed through ``async_state``
        (an ``RPC_ASYNC_STATE``); returns None at once, like a MIDL async stub (F6).

        The handle is validated first, so a bad or busy handle raises without touching the
        call already pending on it (F3).  The request is marshalled here, on the caller's
        thread: a failure to issue the call raises and no notification ever comes (F6).
        Everything later (connecting, a comm failure, a fault, a cancel) ends the call
        through the one completion notification (F11)."""
        from .win32._async import RpcNotificationTypeCallback, async_call_begin, async_call_failed

        if pipe_layout(operation).streams:  # pipes stream (F36-F41): dcerpc.win32._pipes
            from .win32._pipes import invoke_async_pipes

            return invoke_async_pipes(self, async_state, interface, operation, tuple(args))
        proxy = self._proxy(interface)
        loop = runtime_loop()
        ac = _AsyncCall(async_state, proxy, operation, loop)
        async_call_begin(async_state, ac.on_cancel)
        # F22: a notification routine runs on a runtime thread, never on the caller's and
        # never on the loop thread (it may block or wait for another call).
        ac.via_pool = async_state.NotificationType == RpcNotificationTypeCallback
        if self.noncausal:
            ac.noncausal = True
        else:
            ac.lane = self._lane()  # F12: issue order per (binding, thread)
        ac.deadline, ac.cancel_timeout = self.call_timeout, self.cancel_timeout
        try:
            if proxy._closed:
                raise RpcError("the binding is closed", st.RPC_S_INVALID_BINDING)
            codec = operation_codec(operation)
            stub = _request_stub(codec, tuple(args))
            loop.call_soon_threadsafe(ac.start, codec, stub)
        except BaseException:
            async_call_failed(async_state)
            raise

    def close(self) -> None:
        """Release the pooled connections (the binding stays usable; it reconnects)."""
        with self._lock:
            proxies, self._proxies = list(self._proxies.values()), {}
        for _iface, proxy in proxies:
            run_sync(proxy.aclose())

    def free(self) -> None:
        """RpcBindingFree: close, and refuse every later use (RPC_S_INVALID_BINDING)."""
        self.freed = True
        self.close()

    def __enter__(self) -> Binding:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Binding {self.string_binding}>"


class _AsyncCall(CallDriver):
    """One call issued by :meth:`Binding._rpc_invoke_async`, driven by
    :class:`~dcerpc.aio._opcall.CallDriver` (F13: a cancel is scheduled after the call's
    ``start``).  Its one completion ends the ``RPC_ASYNC_STATE`` for *this* call: a late
    reply of an orphaned call never completes a later call on a re-used handle.
    """

    __slots__ = ("async_state", "via_pool")

    def __init__(self, async_state: Any, proxy: AsyncProxy, operation: Operation,
                 loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(proxy, operation, loop)
        self.async_state = async_state
        self.via_pool = False

    def _complete(self, result: Any, exc: BaseException | None) -> None:
        from .win32._async import async_call_complete

        status = st.RPC_S_OK if exc is None else getattr(exc, "status", st.RPC_S_CALL_FAILED)
        if self.via_pool:
            fut = self.loop.run_in_executor(None, async_call_complete, self.async_state,
                                            result, status)
            fut.add_done_callback(_consume)
        else:
            async_call_complete(self.async_state, result, status)

    def on_cancel(self, abortive: bool) -> None:
        """RpcAsyncCancelCall (seed-semantics §5.1)."""
        self.request_cancel(abortive)


def _consume(fut: Any) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        logging.getLogger("dcerpc.client").error(
            "async call notification failed", exc_info=fut.exception())
